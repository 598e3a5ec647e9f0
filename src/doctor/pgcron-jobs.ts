// pg_cron's jobs for this database: their state and recent failures, and the ticks pg_cron let pass.
import type { Database } from '../core/database.js';
import { managedJobPattern, type JobStatus, type PgCronSite } from '../pgcron/pgcron.js';
import { lastTickAtOrBefore, periodMs } from '../schedule/ticks.js';
import { graceMs } from '../status/status.js';
import { fail, ok, warn, type Check } from './types.js';
import { plural } from '../core/format.js';

const MINUTE_MS = 60_000;
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

export function checkPgCronJobs(jobs: JobStatus[], failures: JobFailures[]): Check {
  const id = 'pg_cron-jobs';
  const title = 'pg_cron jobs';
  if (!jobs.length) return ok(id, title, "no jobs installed for this database: run-scheduler runs the sql tasks ('singularity pgcron install' moves them to pg_cron)");
  const failed = new Map(failures.map((f) => [f.jobname, f.count]));
  const inactive = jobs.filter((j) => !j.active);
  const failing = jobs.filter((j) => j.lastRun?.status === 'failed');
  const failedBefore = jobs.filter((j) => failed.has(j.jobname) && !failing.includes(j));
  const summary = `${plural(jobs.length, 'job')} (${jobs.length - inactive.length} active); ` +
    `${plural(failures.reduce((n, f) => n + f.count, 0), 'failed run')} in the last 24 h`;
  const lines = [
    ...failing.map((j) => `${j.jobname} (${j.schedule}): last run failed at ${j.lastRun!.startedAt ? iso(j.lastRun!.startedAt) : '?'}` +
      ` (${plural(failed.get(j.jobname) ?? 1, 'failure')} in 24 h): ${(j.lastRun!.message ?? 'no message').replace(/\s+/g, ' ').trim()}`),
    ...failedBefore.map((j) => `${j.jobname} (${j.schedule}): ${plural(failed.get(j.jobname)!, 'failure')} in 24 h, last run ${j.lastRun?.status ?? 'unknown'}`),
    ...inactive.map((j) => `${j.jobname} (${j.schedule}): inactive`),
  ];
  const detail = [summary, ...lines].join('\n');
  if (failing.length) {
    return fail(id, title, detail,
      "Fix the cause the message names ('singularity pgcron status' shows each job's last run); " +
      "'singularity pgcron install' rewrites singularity's jobs from the crontab and removes those it does not know.");
  }
  if (lines.length) {
    return warn(id, title, detail,
      "'singularity pgcron status' shows each job's last run; 'singularity pgcron install' reactivates inactive jobs.");
  }
  return ok(id, title, `${summary}; 'singularity pgcron status' lists them`);
}

/**
 * Ticks pg_cron should have run and did not: an active job installed before its latest tick that passed
 * more than a grace ago (status's: a tenth of its period, at most 1 h; here at least 2 min, for pg_cron's
 * own start-up lag), with neither a run in the history
 * (trigger pg_cron) nor a row in cron.job_run_details since.
 */
export async function checkPgCronMissed(db: Database, jobs: JobStatus[], site: PgCronSite, now: Date): Promise<Check> {
  const id = 'pg_cron-missed';
  const title = 'pg_cron missed runs';
  const installed = new Map(
    (await db.query<{ jobname: string; installedAt: Date }>(
      'select jobname, installed_at as "installedAt" from pgcron_jobs',
    )).map((r) => [r.jobname, r.installedAt]),
  );
  const due: Array<{ job: JobStatus; tick: Date }> = [];
  for (const job of jobs) {
    const since = installed.get(job.jobname);
    if (!job.active || !since) continue;
    const entry = { expression: job.schedule, timezone: site.timezone };
    let period: number;
    try {
      period = periodMs(entry);
    } catch {
      continue; // pg_cron syntax cron-parser does not read ('30 seconds', '$'): cannot tell
    }
    const tick = lastTickAtOrBefore(entry, new Date(now.getTime() - Math.max(2 * MINUTE_MS, graceMs(period))));
    if (tick && tick > since) due.push({ job, tick });
  }
  if (!due.length) return ok(id, title, 'no tick of an installed job is overdue');
  const earliest = new Date(Math.min(...due.map((d) => d.tick.getTime())) - MINUTE_MS);
  const ran = new Map(
    (await db.query<{ task: string; at: Date }>(
      `select task, max(inserted_at) as at from task_runs where trigger = 'pg_cron' and task = any($1) and inserted_at >= $2 group by task`,
      [[...new Set(due.map((d) => d.job.task))], earliest],
    )).map((r) => [r.task, r.at]),
  );
  const slack = 1000; // the run's own clock may read a little before the tick's minute
  const missed = due.filter(({ job, tick }) =>
    !((job.lastRun?.startedAt && job.lastRun.startedAt.getTime() >= tick.getTime() - slack) ||
      (ran.get(job.task)?.getTime() ?? 0) >= tick.getTime() - slack));
  if (!missed.length) return ok(id, title, `each of ${plural(due.length, 'job')} ran at its latest tick`);
  return warn(id, title,
    `${plural(missed.length, 'job')} did not run at ${missed.length === 1 ? 'its' : 'their'} latest tick:\n` +
      missed.map(({ job, tick }) => `${job.jobname} (${job.schedule} ${site.timezone}): no run since its tick at ${iso(tick)}`).join('\n'),
    "pg_cron did not start them: check that pg_cron's launcher runs (the server log), and that cron.use_background_workers = on " +
      "or cron.host lets pg_cron connect (see docs/postgresql.md); 'singularity pgcron status' shows each job's last run.");
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
