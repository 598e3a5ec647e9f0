// Loading a dump into a database, for `restore` and for `verify --full`'s scratch database: a custom
// archive into a server database with pg_restore, plain SQL (the embedded database's) into PGlite.
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { runTool } from './pg-tools.js';
import { countRows, type Query, type RowCounts } from '../core/row-counts.js';

export const quoteIdent = (name: string) => `"${name.replace(/"/g, '""')}"`;

/** A connection of its own to `url`, for the length of `work`. */
export async function withServerClient<T>(url: string, work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url, application_name: 'singularity' });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end().catch(() => {});
  }
}

export const countRowsAt = (url: string) => withServerClient(url, (client) => countRows(async (sql) => (await client.query(sql)).rows));

// Extensions a server allows in one database only: pg_cron, in cron.database_name. A dump of that database
// carries the extension and its jobs (configuration rows); anywhere else CREATE EXTENSION fails, and the
// jobs belong to the server's cron database anyway. They are left out of every restore.
const ONE_DATABASE_EXTENSION = /^\d+; \d+ \d+ (EXTENSION - pg_cron |COMMENT - EXTENSION pg_cron |(TABLE DATA|SEQUENCE SET) cron )/;

/**
 * pg_restore an archive into a database, all or nothing (one transaction, stop at the first error).
 * `clean`: drop the archive's objects first where they exist (restoring over a database that has them).
 */
export async function restoreArchive(file: string, url: string, options: { clean: boolean; signal: AbortSignal }): Promise<void> {
  const toc = await runTool('pg_restore', ['--list', file], { signal: options.signal });
  const entries = toc.split('\n');
  const kept = entries.filter((line) => !ONE_DATABASE_EXTENSION.test(line));
  const folder = kept.length < entries.length ? await mkdtemp(join(tmpdir(), 'singularity-restore-')) : undefined;
  try {
    const list = folder ? join(folder, 'list') : undefined;
    if (list) await writeFile(list, kept.join('\n'), { mode: 0o600 });
    await runTool('pg_restore', [
      '--single-transaction', '--exit-on-error', '--no-owner',
      ...(options.clean ? ['--clean', '--if-exists'] : []),
      ...(list ? [`--use-list=${list}`] : []),
      file,
    ], { url, signal: options.signal });
  } finally {
    if (folder) await rm(folder, { recursive: true, force: true });
  }
}

/**
 * Run a plain SQL dump as one simple query: PostgreSQL runs it as one transaction, all or nothing. RESET ALL
 * in the same query: the dump's settings (search_path '') must not outlive it in a session others share.
 */
export async function loadPlainDump(query: Query, file: string): Promise<void> {
  await query(`${await readFile(file, 'utf8')}\nRESET ALL;`);
}

/** A plain dump loaded into a PGlite of its own, in memory: the embedded database's scratch database. */
export async function countRowsInScratchPglite(file: string): Promise<RowCounts> {
  const [{ PGlite }, { vector }] = await Promise.all([import('@electric-sql/pglite'), import('@electric-sql/pglite-pgvector')]);
  const scratch = await PGlite.create({ extensions: { vector } });
  try {
    const query: Query = async (sql) => (await scratch.exec(sql)).at(-1)?.rows ?? [];
    await loadPlainDump(query, file);
    return await countRows(query);
  } finally {
    await scratch.close();
  }
}
