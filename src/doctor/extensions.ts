// Extensions: pg_cron (where, and whether the crontab's zones suit it), pgvector, postgres_fdw.
import type { Database } from '../core/database.js';
import { locatePgCron, PgCronUnavailableError, wantedJobs, type PgCronSite } from '../pgcron/pgcron.js';
import type { Crontab } from '../schedule/crontab.js';
import type { TaskSet } from '../core/task/registry.js';
import { fail, ok, warn, type Check } from './types.js';
import { plural } from '../core/format.js';

/** Where pg_cron is, or why it cannot be used (with the fix). */
export async function findPgCron(db: Database): Promise<PgCronSite | PgCronUnavailableError> {
  try {
    return await locatePgCron(db);
  } catch (error) {
    if (error instanceof PgCronUnavailableError) return error;
    throw error;
  }
}

export async function checkPgCron(db: Database, located: PgCronSite | PgCronUnavailableError | undefined, schedule?: { tasks: TaskSet; crontab: Crontab }): Promise<Check> {
  const title = 'pg_cron';
  if (db.kind === 'embedded') return ok('pg_cron', title, 'does not apply: the embedded database has no pg_cron; run-scheduler runs the sql tasks');
  if (!located || located instanceof PgCronUnavailableError) {
    if (!located) throw new Error('pg_cron was not looked for');
    const fix = located.hint ?? 'See docs/postgresql.md.';
    // Jobs recorded by an earlier install: run-scheduler leaves their tasks to pg_cron, which cannot run them.
    const [{ recorded }] = (await db.query<{ recorded: number }>(
      `select case when to_regclass('pgcron_jobs') is null then 0 else (select count(*) from pgcron_jobs) end::int as recorded`,
    )) as [{ recorded: number }];
    if (recorded) {
      return fail('pg_cron', title, `${located.message}, yet 'pgcron install' recorded ${plural(recorded, 'job')} here: run-scheduler leaves their tasks to pg_cron, so they run nowhere`, fix);
    }
    return warn('pg_cron', title, `${located.message}; run-scheduler runs the sql tasks`, fix);
  }
  const site = located;
  const detail = `pg_cron ${site.version} in database '${site.cronDatabase}' (cron.database_name); ` +
    `its jobs for singularity run in '${site.database}'; schedules read in ${site.timezone}`;
  const problems = schedule ? wantedJobs(schedule.tasks, schedule.crontab, site).problems : [];
  if (problems.length) {
    return warn('pg_cron', title, `${detail}; the crontab has ${plural(problems.length, 'entry', 'entries')} in another zone:\n${problems.join('\n')}`,
      `Write those entries for ${site.timezone} (TZ=UTC where pg_cron reads GMT), or set cron.timezone on the server; 'pgcron install' refuses them as written.`);
  }
  return ok('pg_cron', title, detail);
}

async function extension(db: Database, name: string): Promise<{ available: string | null; installed: string | null }> {
  const [row] = await db.query<{ available: string | null; installed: string | null }>(
    `select (select default_version from pg_available_extensions where name = $1) as available,
            (select extversion from pg_extension where extname = $1) as installed`,
    [name],
  );
  return row!;
}

export async function checkPgvector(db: Database, serverMajor: number): Promise<Check> {
  const { available, installed } = await extension(db, 'vector');
  const loses = 'without it, vector search is exact (a scan of every vector of the model), with no HNSW index: fine for thousands of rows, slow for millions';
  if (installed) return ok('pgvector', 'pgvector', `pgvector ${installed} installed`);
  if (available) {
    return warn('pgvector', 'pgvector', `pgvector ${available} is available but not created in this database; ${loses}`,
      'Run CREATE EXTENSION vector; in this database.');
  }
  return warn('pgvector', 'pgvector', `pgvector is not available on this server; ${loses}`,
    `Install pgvector on the server (Debian: apt-get install postgresql-${serverMajor}-pgvector), then CREATE EXTENSION vector; in this database.`);
}

export async function checkPostgresFdw(db: Database): Promise<Check> {
  const { available, installed } = await extension(db, 'postgres_fdw');
  if (installed) return ok('postgres_fdw', 'postgres_fdw', `postgres_fdw ${installed} installed (for the central role)`);
  if (available) return ok('postgres_fdw', 'postgres_fdw', `postgres_fdw ${available} available, not created (only the central role needs it)`);
  return warn('postgres_fdw', 'postgres_fdw', 'postgres_fdw is not available: this database cannot take the central role (sharing with a central database)',
    db.kind === 'embedded'
      ? 'Only the central role needs it: point DATABASE_URL at a PostgreSQL server with postgres_fdw (in postgresql-contrib).'
      : 'Only the central role needs it: install the server\'s contrib modules (postgresql-contrib), then CREATE EXTENSION postgres_fdw;.');
}
