// A server database's dump: pg_dump -Fc into the partial file, while the same snapshot's row counts are
// taken. The snapshot is exported by a repeatable-read transaction of our own and handed to pg_dump
// (--snapshot), so the counts are exactly those of the rows in the dump.
import { BackupError } from './errors.js';
import { withServerClient } from './load.js';
import { parseVersion, runTool, toolVersion } from './pg-tools.js';
import { countRows, type RowCounts } from '../core/row-counts.js';

export interface Dumped {
  serverVersion: string;
  pgDumpVersion: string;
  tables: RowCounts;
}

export async function dumpServer(url: string, partial: string, signal: AbortSignal): Promise<Dumped> {
  const pgDumpVersion = toolVersion('pg_dump'); // asked while connecting
  return withServerClient(url, async (client) => {
    const [pgDump, versionRows] = await Promise.all([pgDumpVersion, client.query<{ server_version: string }>('show server_version')]);
    const server = parseVersion(versionRows.rows[0]!.server_version);
    if (!pgDump) {
      throw new BackupError(`pg_dump is not on PATH: install postgresql-client-${server.major} (Debian) and put it on PATH`);
    }
    // Refused before anything is written: pg_dump itself would refuse a newer server, less clearly.
    if (pgDump.major < server.major) {
      throw new BackupError(`pg_dump ${pgDump.version} is older than the server (${server.version}) and cannot dump it: install ` +
        `postgresql-client-${server.major} (or newer) and put its pg_dump first on PATH`);
    }
    await client.query('begin isolation level repeatable read read only');
    const snapshot = (await client.query<{ id: string }>('select pg_export_snapshot() as id')).rows[0]!.id;
    const [tables] = await Promise.all([
      countRows(async (sql) => (await client.query(sql)).rows),
      runTool('pg_dump', ['--format=custom', `--file=${partial}`, `--snapshot=${snapshot}`], { url, signal }),
    ]);
    await client.query('commit');
    return { serverVersion: server.version, pgDumpVersion: pgDump.version, tables };
  });
}
