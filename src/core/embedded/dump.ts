// Dumping the embedded database for a backup. The server process holds the only PGlite instance, and
// PGlite's pg_dump (@electric-sql/pglite-tools) must run against that instance, so the server does it:
// a client sends a start-up packet with DUMP_REQUEST_CODE instead of a connection's, and gets back one JSON
// line (DumpHeader) and then the dump, plain SQL. The server takes the floor for it, so no client's
// transaction is half-done in the dump, and nothing changes between counting the rows and dumping them.
// (The pg_dump on PATH cannot do it over the socket: it refuses a server newer than itself, and PGlite
// is PostgreSQL 18.)
import type { PGlite } from '@electric-sql/pglite';
import { countRows, type RowCounts } from '../row-counts.js';

/** The special code of the dump request: like PostgreSQL's own (1234.5678 cancels), never a protocol version. */
export const DUMP_REQUEST_CODE = (1234 << 16) | 7391;

export type DumpHeader =
  | { ok: true; bytes: number; serverVersion: string; pgDumpVersion: string; tables: RowCounts }
  | { ok: false; error: string };

/** The whole answer to a dump request: the header line, then the dump. */
export async function answerDumpRequest(db: PGlite): Promise<Buffer> {
  try {
    const tables = await countRows(async (sql) => (await db.query<Record<string, unknown>>(sql)).rows);
    const [{ server_version: serverVersion }] = (await db.query<{ server_version: string }>('show server_version')).rows as [{ server_version: string }];
    const dump = Buffer.from(await (await dumpDatabase(db)).arrayBuffer());
    const pgDumpVersion = /^-- Dumped by pg_dump version (\S+)/m.exec(dump.subarray(0, 4096).toString('utf8'))?.[1] ?? 'unknown';
    const header: DumpHeader = { ok: true, bytes: dump.length, serverVersion, pgDumpVersion, tables };
    return Buffer.concat([Buffer.from(JSON.stringify(header) + '\n'), dump]);
  } catch (error) {
    const header: DumpHeader = { ok: false, error: (error as Error).message };
    return Buffer.from(JSON.stringify(header) + '\n');
  }
}

/** --clean --if-exists: the dump replaces what a restore target already has of its objects (a new home is migrated first). */
async function dumpDatabase(db: PGlite): Promise<File> {
  const { pgDump } = await import('@electric-sql/pglite-tools/pg_dump');
  try {
    return await pgDump({ pg: db, args: ['--clean', '--if-exists'] });
  } finally {
    // PGlite has one session, which every client shares: pg_dump leaves its transaction open and its
    // settings (search_path, DateStyle, ...) in place. End both before anyone else goes on.
    if (db.isInTransaction()) await db.exec('rollback');
    await db.exec('reset all');
  }
}
