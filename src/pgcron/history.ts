// pg_cron's side of the run history. Jobs that run outside the recording wrapper (VACUUM, committing
// procedures) leave their outcome only in cron.job_run_details, and a wrapper that could not even start
// leaves only a failed row there: both are read into task_runs, so that status, doctor, pgcron status and
// runs list tell one story. Completed wrapper runs get the task's one-line summary, which only the task's
// code can write; ticks of a paused pg_cron entry are recorded as skipped. Idempotent: any reader may call
// it, several at once (dedupe keys decide).
import type { Database } from '../core/database.js';
import { summarize } from '../core/runner.js';
import type { TaskSet } from '../core/task/registry.js';
import { insertMissedRuns } from '../core/runs.js';
import { listPauses, pauseReason } from '../schedule/pauses.js';
import { ticksBetween } from '../schedule/ticks.js';
import { openCronDatabaseNamed } from './pgcron.js';

/** A job `pgcron install` recorded, as this database keeps it. */
export interface RecordedJob {
  jobname: string;
  task: string;
  entry: string;
  schedule: string;
  timezone: string;
  args: Record<string, unknown>;
  direct: boolean;
  cronDatabase: string;
  installedAt: Date;
}

export async function recordedJobs(db: Database): Promise<RecordedJob[]> {
  if (db.kind !== 'postgres') return [];
  return db.query<RecordedJob>(
    `select jobname, task, entry, schedule, timezone, args, direct, cron_database as "cronDatabase", installed_at as "installedAt"
     from pgcron_jobs where jobname not like '%:cron-details@%' order by jobname`,
  );
}

interface Detail {
  runid: string;
  jobname: string;
  status: string;
  message: string | null;
  startedAt: Date | null;
  finishedAt: Date | null;
  pid: number | null;
}

const FINISHED = new Set(['succeeded', 'failed']);
/** Rows of cron.job_run_details read per pass: a long-unread history is caught up over several passes. */
const BATCH = 5_000;
/** At most this many skipped ticks of one paused entry are recorded per pass. */
const MAX_PAUSED_TICKS = 1_000;

export interface SyncResult {
  imported: number;
  summarized: number;
  pausedSkips: number;
}

export async function syncPgCronHistory(db: Database, tasks: TaskSet, now = new Date()): Promise<SyncResult> {
  const result: SyncResult = { imported: 0, summarized: 0, pausedSkips: 0 };
  if (db.kind !== 'postgres') return result;
  const jobs = await recordedJobs(db);
  if (jobs.length) {
    result.imported = await importDetails(db, jobs);
    result.pausedSkips = await recordPausedTicks(db, tasks, jobs, now);
  }
  result.summarized = await summarizeRuns(db, tasks);
  return result;
}

async function importDetails(db: Database, jobs: RecordedJob[]): Promise<number> {
  const cronDatabase = jobs[0]!.cronDatabase;
  const byName = new Map(jobs.map((j) => [j.jobname, j]));
  const cronDb = await openCronDatabaseNamed(db, cronDatabase);
  let details: Detail[];
  let from: number;
  try {
    const [cursor] = await db.query<{ next: string }>('select next_runid as next from pgcron_import where cron_database = $1', [cronDatabase]);
    from = Number(cursor?.next ?? 0);
    details = await cronDb.query<Detail>(
      `select d.runid, j.jobname, d.status, d.return_message as message, d.start_time as "startedAt", d.end_time as "finishedAt",
         d.job_pid as pid
       from cron.job_run_details d join cron.job j using (jobid)
       where j.jobname = any($1) and d.runid >= $2 order by d.runid limit ${BATCH}`,
      [[...byName.keys()], from],
    );
  } finally {
    if (cronDb !== db) await cronDb.close();
  }
  if (!details.length) return 0;
  // A wrapper job records its own runs; only its failures to start are pg_cron's alone to know.
  const rows = details
    .filter((d) => FINISHED.has(d.status) && (byName.get(d.jobname)!.direct || d.status === 'failed'))
    .map((d) => {
      const job = byName.get(d.jobname)!;
      const message = (d.message ?? '').trim();
      const failed = d.status === 'failed';
      return {
        task: job.task, args: job.args, entry: job.entry, key: `pg_cron-run:${cronDatabase}:${d.runid}`,
        state: failed ? 'discarded' : 'completed',
        started: d.startedAt ?? d.finishedAt, finished: d.finishedAt ?? d.startedAt, pid: d.pid,
        summary: failed ? null : `pg_cron ran it${message ? `: ${message}` : ''}`,
        error: failed ? { name: 'PgCronError', message: message || 'pg_cron reports the job failed, without a message' } : null,
      };
    });
  const unfinished = details.filter((d) => !FINISHED.has(d.status)).map((d) => Number(d.runid));
  const next = unfinished.length ? Math.min(...unfinished) : Number(details.at(-1)!.runid) + 1;
  return db.transaction(async (client) => {
    const inserted = rows.length
      ? (await client.query<{ id: number }>(
          `insert into task_runs (task, args, trigger, state, attempt, max_attempts, entry, scheduled_for, dedupe_key,
             inserted_at, started_at, finished_at, duration_ms, host, pid, summary, error, errors)
           select r.task, r.args, 'pg_cron', r.state, 1, 1, r.entry, date_trunc('minute', r.started), r.key,
             r.started, r.started, r.finished, (extract(epoch from (r.finished - r.started)) * 1000)::int, 'pg_cron', r.pid,
             r.summary, r.error, case when r.error is null then '[]'::jsonb
               else jsonb_build_array(r.error || jsonb_build_object('attempt', 1, 'at', r.finished)) end
           from jsonb_to_recordset($1::jsonb) as r(task text, args jsonb, entry text, key text, state text, started timestamptz,
             finished timestamptz, pid int, summary text, error jsonb)
           -- A wrapper whose backend died after it recorded its start: that run is the record, not this one.
           where r.error is null or not exists (
             select 1 from task_runs t where t.host = 'pg_cron' and t.pid = r.pid and t.task = r.task and t.started_at >= r.started - interval '1 minute')
           on conflict do nothing returning id`,
          [JSON.stringify(rows)],
        )).rows.length
      : 0;
    await client.query(
      `insert into pgcron_import (cron_database, next_runid) values ($1, $2)
       on conflict (cron_database) do update set next_runid = greatest(pgcron_import.next_runid, excluded.next_runid)`,
      [cronDatabase, Math.max(next, from)],
    );
    return inserted;
  });
}

/** A paused pg_cron job does not run: its ticks, since the pause began, are recorded as skipped. */
async function recordPausedTicks(db: Database, tasks: TaskSet, jobs: RecordedJob[], now: Date): Promise<number> {
  const pauses = new Map((await listPauses(db)).map((p) => [p.entry, p]));
  let recorded = 0;
  for (const job of jobs) {
    const pause = pauses.get(job.entry);
    if (!pause) continue;
    const end = pause.until && pause.until < now ? pause.until : now;
    let ticks: Date[];
    try {
      ({ ticks } = ticksBetween({ expression: job.schedule, timezone: job.timezone }, new Date(pause.pausedAt.getTime() - 1), end, MAX_PAUSED_TICKS));
    } catch {
      continue; // a schedule in pg_cron's own syntax ('30 seconds') has no ticks cron-parser can tell
    }
    if (!ticks.length) continue;
    recorded += await insertMissedRuns(
      db,
      { task: job.task, args: job.args, trigger: 'pg_cron', maxAttempts: 1, timeoutMs: tasks.find(job.task)?.timeoutMs ?? null, concurrencyKey: null, entry: job.entry },
      ticks, pauseReason(pause), 'skipped',
    );
  }
  return recorded;
}

/** The one-line summary of completed pg_cron runs, from the task's own summarize(). */
async function summarizeRuns(db: Database, tasks: TaskSet): Promise<number> {
  const pending = await db.query<{ id: number; task: string; result: unknown }>(
    `select id, task, result from task_runs where trigger = 'pg_cron' and state = 'completed' and summary is null order by id desc limit 500`,
  );
  if (!pending.length) return 0;
  // '' marks a run looked at whose task writes no summary, so it is not looked at again.
  const summaries = pending.map((r) => {
    const task = tasks.find(r.task);
    return (task && summarize(task, r.result)) ?? '';
  });
  await db.query(
    `update task_runs t set summary = s.summary from unnest($1::bigint[], $2::text[]) as s(id, summary) where t.id = s.id and t.summary is null`,
    [pending.map((r) => r.id), summaries],
  );
  return pending.length;
}
