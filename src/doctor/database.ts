// The database: can it be reached, which server is it, is its schema current.
import type { Config } from '../core/config.js';
import { openDatabase, type OpenOptions } from '../core/db.js';
import type { Database } from '../core/database.js';
import type { MigrationStatus } from '../core/migrate.js';
import { fail, ok, warn, type Check } from './types.js';

/** Open the database without migrating it (doctor changes nothing); a failure is the check's verdict. */
export async function checkReachable(config: Config, open: Pick<OpenOptions, 'onEmbeddedStart'> = {}): Promise<{ check: Check; db?: Database }> {
  try {
    const db = await openDatabase(config, { ...open, migrate: false, max: 2 });
    return { db, check: ok('database', 'database', `reachable: ${db.target}`) };
  } catch (error) {
    const e = error as Error & { hint?: string };
    return {
      check: fail('database', 'database', `${e.message}; the checks that need the database were skipped`,
        e.hint ?? 'Check DATABASE_URL (or the embedded database in SINGULARITY_HOME) and that the server is running.'),
    };
  }
}

export interface ServerVersion {
  /** '15.18', or '18.3 (PGlite 0.5.8)'. */
  text: string;
  major: number;
}

export async function serverVersion(db: Database): Promise<ServerVersion> {
  const [row] = await db.query<{ version: string; num: string; full: string }>(
    `select current_setting('server_version') as version, current_setting('server_version_num') as num, version() as full`,
  );
  const pglite = /\(PGlite ([^)]+)\)/.exec(row!.full)?.[1];
  const version = row!.version.split(' ')[0]!;
  return { text: pglite ? `${version} (PGlite ${pglite})` : version, major: Math.floor(Number(row!.num) / 10_000) };
}

export function checkServerVersion(version: ServerVersion): Check {
  const detail = `PostgreSQL ${version.text}`;
  if (version.major < 15) {
    return warn('server-version', 'server version', `${detail}: older than 15, the oldest version singularity is tested with`,
      'Upgrade the server to PostgreSQL 15 or newer.');
  }
  return ok('server-version', 'server version', detail);
}

export function checkMigrations(status: MigrationStatus): Check {
  if (status.pending.length) {
    return fail('migrations', 'migrations', `${status.applied} applied, ${status.pending.length} pending: ${status.pending.join(', ')}; ` +
      'the checks that need the schema (run history, pg_cron missed runs, backups) were skipped',
      "Run 'singularity migrate' (any task also migrates before it runs).");
  }
  if (status.ahead) {
    return warn('migrations', 'migrations', `${status.applied} applied, some of them unknown to this version of singularity: the database is newer`,
      'Upgrade singularity to the version that migrated this database.');
  }
  return ok('migrations', 'migrations', `schema current (${status.applied} migrations applied)`);
}
