// pg_cron's jobs for this database: their state, their tasks' real outcomes, jobs missing or deactivated.
// Ticks pg_cron let pass are the schedule check's (src/doctor/schedule.ts): overdue, as status says.
import type { Database } from '../core/database.js';
import { managedJobPattern, type JobStatus, type PgCronSite } from '../pgcron/pgcron.js';
import { fail, ok, warn, type Check } from './types.js';
import { plural } from '../core/format.js';

export const iso = (date: Date) => date.toISOString().replace(/\.\d+Z$/, 'Z');

export interface JobFailures {
  jobname: string;
  /** Failed runs in the last 24 hours. */
  count: number;
}

/** Failed runs of this database's managed jobs in the last 24 hours, from cron.job_run_details. */
export async function jobFailures(cronDb: Database, site: PgCronSite): Promise<JobFailures[]> {
  return cronDb.query<JobFailures>(
    `select j.jobname, count(*)::int as count from cron.job_run_details d join cron.job j using (jobid)
     where j.jobname like $1 and d.status = 'failed' and d.start_time > now() - interval '24 hours'
     group by j.jobname order by j.jobname`,
    [managedJobPattern(site)],
  );
}

/**
 * The jobs `pgcron install` wanted against those pg_cron has: a job whose task failed (its real outcome,
 * from the run history), a job missing (unscheduled by hand), a job deactivated outside `schedule pause`.
 */
export function checkPgCronJobs(jobs: JobStatus[], failures: JobFailures[], wanted: Array<{ jobname: string; entry: string }> = [], paused: string[] = []): Check {
  const id = 'pg_cron-jobs';
  const title = 'pg_cron jobs';
  const installed = new Set(jobs.map((j) => j.jobname));
  const missing = wanted.filter((w) => !installed.has(w.jobname));
  if (!jobs.length && !missing.length) return ok(id, title, "no jobs installed for this database: run-scheduler runs the sql tasks ('singularity pgcron install' moves them to pg_cron)");
  const failed = new Map(failures.map((f) => [f.jobname, f.count]));
  const isPaused = (j: JobStatus) => !!j.entry && paused.includes(j.entry);
  const inactive = jobs.filter((j) => !j.active && !isPaused(j));
  const pausedJobs = jobs.filter((j) => !j.active && isPaused(j));
  const failing = jobs.filter((j) => (j.lastRun ? j.lastRun.state === 'discarded' : j.cronRun?.status === 'failed'));
  const failedBefore = jobs.filter((j) => failed.has(j.jobname) && !failing.includes(j));
  const summary = `${plural(jobs.length, 'job')} (${jobs.length - inactive.length - pausedJobs.length} active, ${pausedJobs.length} paused); ` +
    `${plural(failures.reduce((n, f) => n + f.count, 0), 'failed run')} of pg_cron's own in the last 24 h`;
  const lines = [
    ...missing.map((w) => `${w.jobname}: installed by 'pgcron install' but missing from cron.job (unscheduled by hand?): entry ${w.entry} is not being run`),
    ...failing.map((j) => {
      const at = j.lastRun?.startedAt ?? j.cronRun?.startedAt;
      const message = j.lastRun ? `${j.lastRun.message ?? 'no message'} (run ${j.lastRun.runId})` : j.cronRun!.message ?? 'no message';
      return `${j.jobname} (${j.schedule}): last run failed at ${at ? iso(at) : '?'}: ${message.replace(/\s+/g, ' ').trim()}`;
    }),
    ...failedBefore.map((j) => `${j.jobname} (${j.schedule}): ${plural(failed.get(j.jobname)!, 'failure')} in 24 h, last run ${j.lastRun?.state ?? j.cronRun?.status ?? 'unknown'}`),
    ...inactive.map((j) => `${j.jobname} (${j.schedule}): inactive, but not paused by 'singularity schedule pause'`),
  ];
  const detail = [summary, ...lines].join('\n');
  if (failing.length || missing.length) {
    return fail(id, title, detail,
      (missing.length ? "'singularity pgcron install' restores the missing jobs. " : '') +
      "Fix the cause a failure names ('singularity pgcron status' shows each job's last run); " +
      "'singularity pgcron install' rewrites singularity's jobs from the crontab and removes those it does not know.");
  }
  if (lines.length) {
    return warn(id, title, detail,
      "'singularity pgcron status' shows each job's last run; 'singularity pgcron install' reactivates jobs deactivated by hand.");
  }
  return ok(id, title, `${summary}; 'singularity pgcron status' lists them`);
}

/**
 * Both engines' last 24 hours side by side: what run-scheduler (and hand runs) recorded, what pg_cron's
 * wrapper recorded in the run history, and what pg_cron itself says it ran. A gap between the last two
 * is pg_cron running jobs whose outcome only it knows (VACUUM, committing procedures) or failing early.
 */
export async function checkEnginesSideBySide(db: Database, cronDb: Database, site: PgCronSite): Promise<Check> {
  const counts = (rows: Array<{ key: string; n: number }>) => rows.map((r) => `${r.n} ${r.key}`).join(', ') || 'none';
  const [scheduler, pgCronRecorded, pgCronOwn] = await Promise.all([
    db.query<{ key: string; n: number }>(
      `select state as key, count(*)::int as n from task_runs
       where trigger <> 'pg_cron' and inserted_at > now() - interval '24 hours' group by state order by 2 desc`,
    ),
    db.query<{ key: string; n: number }>(
      `select state as key, count(*)::int as n from task_runs
       where trigger = 'pg_cron' and inserted_at > now() - interval '24 hours' group by state order by 2 desc`,
    ),
    cronDb.query<{ key: string; n: number }>(
      `select d.status as key, count(*)::int as n from cron.job_run_details d join cron.job j using (jobid)
       where j.jobname like $1 and d.start_time > now() - interval '24 hours' group by d.status order by 2 desc`,
      [managedJobPattern(site)],
    ),
  ]);
  return ok('engines', 'both engines, last 24 h',
    `run-scheduler and by hand: ${counts(scheduler)}\n` +
    `pg_cron, in the run history: ${counts(pgCronRecorded)}\n` +
    `pg_cron, in cron.job_run_details: ${counts(pgCronOwn)}`);
}
