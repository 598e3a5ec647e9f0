// `backup restore ID --to TARGET`: a backup back into a database, which must not be a live one (the one
// singularity uses, the backup's own source, or one with open connections) unless forced. A server's backup (pg_dump -Fc) goes into
// the database TARGET on its server, created if missing. The embedded database's backup (plain SQL) goes
// into the embedded database of the home folder TARGET, created if missing: a PGlite data directory, like
// the one it came from (a server of another major version might not take PGlite's SQL).
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import pg from 'pg';
import type { Config } from '../core/config.js';
import type { Database } from '../core/database.js';
import { ensureEmbeddedServer } from '../core/embedded/client.js';
import { embeddedPaths, SOCKET_PORT } from '../core/embedded/paths.js';
import { UsageError } from '../core/errors.js';
import { describeUrl } from '../core/redact.js';
import { readSidecar } from './files.js';
import { countRowsAt, loadPlainDump, quoteIdent, restoreArchive, withServerClient } from './load.js';
import { databaseNameOf, withDatabaseName } from './pg-tools.js';
import { getBackup, replaceRecords, snapshotRecords } from './records.js';
import { countDifferences, countRows, totalRows, type RowCounts } from '../core/row-counts.js';
import { serverOf } from './targets.js';
import { expectChecksum, notRestorable } from './verify.js';

export interface RestoreResult {
  backupId: number;
  /** Where it went, fit to print. */
  target: string;
  /** The target database did not exist and was created. */
  created: boolean;
  tables: RowCounts;
  rows: number;
  /** Tables whose rows differ from the backup's at dump time (none after a good restore). */
  differences: string[];
  /** Restored into singularity's own database: the backup records of now were kept (they describe the files on disk). */
  keptBackupRecords?: number;
  durationMs: number;
}

export interface RestoreOptions {
  to: string;
  force: boolean;
  signal: AbortSignal;
}

export async function restoreBackup(db: Database, id: number, options: RestoreOptions): Promise<RestoreResult> {
  const started = performance.now();
  const backup = await getBackup(db, id);
  if (backup.status !== 'succeeded') throw notRestorable(backup);
  const restore = backup.format === 'custom'
    ? intoServer(db.config, serverOf(db.config, backup.database, id), options)
    : intoEmbeddedHome(db.config, options);
  const { target, own } = restore;
  const live = await restore.live();
  if (live && !options.force) {
    throw new UsageError(`${target} is ${live}: restoring backup ${id} there would replace its data`, {
      hint: 'Restore into another database (--to NEW_NAME), or add --force if replacing it is what you want.',
    });
  }
  await expectChecksum(backup); // nothing is overwritten with a damaged file
  // The restored database would have the backup records of dump time, which no longer describe the files on
  // disk: the backups made since would be missing (their files never pruned), this very one running.
  const records = own ? await snapshotRecords(db) : undefined;
  const { created, tables } = await restore.load(backup.path);
  const expected = (await readSidecar(backup.path))?.tables;
  const differences = expected
    ? countDifferences(expected, Object.fromEntries(Object.entries(tables).filter(([t]) => t in expected)))
    : ['the row counts of dump time are missing (no sidecar file beside the backup)'];
  if (records) await replaceRecords(db, records);
  return {
    backupId: id, target, created, tables, rows: totalRows(tables), differences,
    keptBackupRecords: records?.length, durationMs: Math.round(performance.now() - started),
  };
}

interface Restore {
  target: string;
  /** Why the target is live, if it is. */
  live(): Promise<string | undefined>;
  /** The target is singularity's own database. */
  own: boolean;
  load(file: string): Promise<{ created: boolean; tables: RowCounts }>;
}

function intoServer(config: Config, sourceUrl: string, { to, signal }: RestoreOptions): Restore {
  const url = withDatabaseName(sourceUrl, to);
  const own = !!config.databaseUrl && sameDatabase(url, config.databaseUrl);
  return {
    target: `database '${to}' (${describeUrl(url)})`,
    async live() {
      if (own) return 'the database singularity uses';
      if (sameDatabase(url, sourceUrl)) return "the backup's own source";
      // Another name for one of those (localhost and 127.0.0.1), or a database someone else uses.
      const sessions = await withServerClient(sourceUrl, async (client) => (await client.query<{ n: number }>(
        'select count(*)::int as n from pg_stat_activity where datname = $1 and pid <> pg_backend_pid()', [to])).rows[0]!.n);
      return sessions ? `in use (${sessions} open ${sessions === 1 ? 'connection' : 'connections'})` : undefined;
    },
    own,
    async load(file) {
      const created = await withServerClient(sourceUrl, async (client) => {
        if ((await client.query('select 1 from pg_database where datname = $1', [to])).rowCount) return false;
        await client.query(`create database ${quoteIdent(to)}`);
        return true;
      });
      await restoreArchive(file, url, { clean: !created, signal });
      return { created, tables: await countRowsAt(url) };
    },
  };
}

function intoEmbeddedHome(config: Config, { to }: RestoreOptions): Restore {
  const home = resolve(to);
  // Backups of the embedded database come from the configured home.
  const own = home === config.home;
  return {
    target: `the embedded database in ${home}`,
    live: async () => (own ? (config.databaseUrl ? "the backup's own source" : 'the database singularity uses') : undefined),
    own: own && !config.databaseUrl,
    async load(file) {
      const created = !existsSync(join(embeddedPaths(home).dataDir, 'PG_VERSION'));
      // The home's server creates and migrates a new database; the dump (made with --clean) then replaces its objects.
      const { socketDir } = await ensureEmbeddedServer({ ...config, home });
      const client = new pg.Client({ host: socketDir, port: SOCKET_PORT, user: 'postgres', database: 'postgres' });
      await client.connect();
      try {
        const query = async (sql: string) => (await client.query(sql)).rows;
        await loadPlainDump(query, file);
        return { created, tables: await countRows(query) };
      } finally {
        await client.end().catch(() => {});
      }
    },
  };
}

function sameDatabase(a: string, b: string): boolean {
  const key = (url: string) => {
    const u = new URL(url);
    return `${u.hostname.toLowerCase()}:${u.port || '5432'}/${databaseNameOf(url)}`;
  };
  return key(a) === key(b);
}

