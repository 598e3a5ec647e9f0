// Which sql tasks pg_cron runs. `pgcron install` names its jobs `singularity:<task>` (or
// `singularity:<task>:<entry>`); a task with an active job there is not run by run-scheduler as well.
import type { Database } from '../core/db.js';

export const PGCRON_JOB_PREFIX = 'singularity:';

/** Task name → the pg_cron job that runs it. Empty where pg_cron is not installed in this database. */
export async function tasksInPgCron(db: Database): Promise<Map<string, string>> {
  if (db.kind !== 'postgres') return new Map();
  const [{ installed }] = (await db.query<{ installed: boolean }>(`select to_regclass('cron.job') is not null as installed`)) as [{ installed: boolean }];
  if (!installed) return new Map();
  const rows = await db.query<{ jobname: string }>(
    `select jobname from cron.job where active and jobname like $1 order by jobname`,
    [`${PGCRON_JOB_PREFIX}%`],
  );
  const placed = new Map<string, string>();
  for (const { jobname } of rows) {
    const task = jobname.slice(PGCRON_JOB_PREFIX.length).split(':')[0]!;
    if (!placed.has(task)) placed.set(task, jobname);
  }
  return placed;
}
