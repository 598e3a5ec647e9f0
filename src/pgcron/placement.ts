// Which sql tasks pg_cron runs. `pgcron install` names its jobs `singularity:<task>[:<n>]@<database>`;
// a task with a job (active, or paused: inactive) is not run by run-scheduler as well.
import type { Database } from '../core/database.js';

export const PGCRON_JOB_PREFIX = 'singularity:';

/**
 * Task name → the pg_cron job that runs it. Where pg_cron lives in this database, cron.job is the truth;
 * where it lives in another (cron.database_name), the record `pgcron install` keeps here is.
 */
export async function tasksInPgCron(db: Database): Promise<Map<string, string>> {
  if (db.kind !== 'postgres') return new Map();
  const [{ cronHere, recorded }] = (await db.query<{ cronHere: boolean; recorded: boolean }>(
    `select to_regclass('cron.job') is not null as "cronHere", to_regclass('pgcron_jobs') is not null as recorded`,
  )) as [{ cronHere: boolean; recorded: boolean }];
  const rows = cronHere
    ? await db.query<{ jobname: string }>(
        `select jobname from cron.job where jobname like $1 and database = current_database() order by jobname`,
        [`${PGCRON_JOB_PREFIX}%`],
      )
    : recorded
      ? await db.query<{ jobname: string }>('select jobname from pgcron_jobs order by jobname')
      : [];
  const placed = new Map<string, string>();
  for (const { jobname } of rows) {
    const task = jobname.slice(PGCRON_JOB_PREFIX.length).split(/[:@]/)[0]!;
    if (!placed.has(task)) placed.set(task, jobname);
  }
  return placed;
}
