// The run history: every query on task_runs, named. The database enforces the rules (one run per
// dedupe key, one executing run per concurrency key); this file only asks it.
import { hostname } from 'node:os';
import type { Database } from './database.js';
import { NotFoundError, UsageError } from './errors.js';
import { processAlive } from './embedded/lock.js';
import type { RunState, RunTrigger } from './run-states.js';

export interface RunError {
  name: string;
  message: string;
  stack?: string;
  attempt?: number;
  at?: string;
  /** Set when the error was bad usage or configuration (2), so the command exits as if it had failed to start. */
  exitCode?: number;
  /** What to do about it, when the task said. */
  hint?: string;
}

export interface Run {
  id: number;
  task: string;
  args: Record<string, unknown>;
  trigger: RunTrigger;
  state: RunState;
  attempt: number;
  maxAttempts: number;
  dedupeKey: string | null;
  concurrencyKey: string | null;
  scheduledFor: Date | null;
  runAfter: Date | null;
  insertedAt: Date;
  startedAt: Date | null;
  heartbeatAt: Date | null;
  finishedAt: Date | null;
  durationMs: number | null;
  timeoutMs: number | null;
  host: string | null;
  pid: number | null;
  reason: string | null;
  result: unknown;
  summary: string | null;
  error: RunError | null;
  errors: RunError[];
  cancelRequestedAt: Date | null;
  retryOf: number | null;
  parentRunId: number | null;
  entry: string | null;
}

export const FINISHED_STATES: readonly RunState[] = ['completed', 'discarded', 'cancelled', 'skipped', 'missed'];

const COLUMNS = `id, task, args, trigger, state, attempt, max_attempts as "maxAttempts", dedupe_key as "dedupeKey",
  concurrency_key as "concurrencyKey", scheduled_for as "scheduledFor", run_after as "runAfter",
  inserted_at as "insertedAt", started_at as "startedAt", heartbeat_at as "heartbeatAt",
  finished_at as "finishedAt", duration_ms as "durationMs", timeout_ms as "timeoutMs", host, pid, reason,
  result, summary, error, errors, cancel_requested_at as "cancelRequestedAt", retry_of as "retryOf", parent_run_id as "parentRunId", entry`;

// duration_ms of a run that finishes now.
const ELAPSED_MS = `(extract(epoch from (now() - coalesce(started_at, now()))) * 1000)::int`;

export interface NewRun {
  task: string;
  args: Record<string, unknown>;
  trigger: RunTrigger;
  maxAttempts: number;
  timeoutMs: number | null;
  concurrencyKey: string | null;
  dedupeKey?: string | null;
  scheduledFor?: Date | null;
  retryOf?: number | null;
  /** The crontab entry whose tick this is. */
  entry?: string | null;
  parentRunId?: number | null;
}

const HOST = hostname();

/**
 * Start a run: insert it as executing. Returns undefined when a unique index refuses it
 * (another run of the same concurrency key executes, or the dedupe key is taken).
 */
export async function insertExecutingRun(db: Database, run: NewRun): Promise<Run | undefined> {
  const rows = await db.query<Run>(
    `insert into task_runs (task, args, trigger, state, attempt, max_attempts, timeout_ms, concurrency_key,
       dedupe_key, scheduled_for, retry_of, entry, parent_run_id, started_at, heartbeat_at, host, pid)
     values ($1, $2, $3, 'executing', 1, $4, $5, $6, $7, $8, $9, $12, $13, now(), now(), $10, $11)
     on conflict do nothing
     returning ${COLUMNS}`,
    [run.task, run.args, run.trigger, run.maxAttempts, run.timeoutMs, run.concurrencyKey, run.dedupeKey ?? null,
      run.scheduledFor ?? null, run.retryOf ?? null, HOST, process.pid, run.entry ?? null, run.parentRunId ?? null],
  );
  return rows[0];
}

/** Record a start that did not run (overlap, for instance) as a finished, skipped run. */
export async function insertSkippedRun(db: Database, run: NewRun, reason: string): Promise<Run | undefined> {
  const rows = await db.query<Run>(
    `insert into task_runs (task, args, trigger, state, max_attempts, timeout_ms, concurrency_key, dedupe_key,
       scheduled_for, retry_of, entry, parent_run_id, finished_at, duration_ms, host, pid, reason)
     values ($1, $2, $3, 'skipped', $4, $5, $6, $7, $8, $9, $13, $14, now(), 0, $10, $11, $12)
     on conflict do nothing
     returning ${COLUMNS}`,
    [run.task, run.args, run.trigger, run.maxAttempts, run.timeoutMs, run.concurrencyKey, run.dedupeKey ?? null,
      run.scheduledFor ?? null, run.retryOf ?? null, HOST, process.pid, reason, run.entry ?? null, run.parentRunId ?? null],
  );
  return rows[0];
}

/**
 * Record ticks that no run will serve: missed (the scheduler was down, or they were too late to run), or
 * skipped (a pause held them).
 */
export async function insertMissedRuns(
  db: Database,
  run: Omit<NewRun, 'scheduledFor' | 'dedupeKey'> & { entry: string },
  ticks: Date[],
  reason: string,
  state: 'missed' | 'skipped' = 'missed',
): Promise<number> {
  if (ticks.length === 0) return 0;
  const rows = await db.query<{ id: number }>(
    `insert into task_runs (task, args, trigger, state, max_attempts, timeout_ms, concurrency_key, entry,
       scheduled_for, dedupe_key, finished_at, duration_ms, host, pid, reason)
     select $1, $2, $3, $13, $4, $5, $6, $7, tick, key, now(), 0, $8, $9, $10
     from unnest($11::timestamptz[], $12::text[]) as t(tick, key)
     on conflict do nothing
     returning id`,
    [run.task, run.args, run.trigger, run.maxAttempts, run.timeoutMs, run.concurrencyKey, run.entry, HOST, process.pid,
      reason, ticks, ticks.map((tick) => tickKey(run.entry, tick)), state],
  );
  return rows.length;
}

/** The dedupe key of an entry's tick: one run per entry and scheduled time, whoever claims it. */
export const tickKey = (entry: string, tick: Date) => `${entry}@${tick.toISOString()}`;

/** Each entry's latest recorded tick (any state), so a starting scheduler knows what it missed. */
export async function latestTicks(db: Database, entries: string[]): Promise<Map<string, Date>> {
  const rows = await db.query<{ entry: string; tick: Date | null }>(
    `select e as entry, (select scheduled_for from task_runs where entry = e and scheduled_for is not null
       order by scheduled_for desc limit 1) as tick
     from unnest($1::text[]) as e`,
    [entries],
  );
  return new Map(rows.filter((r) => r.tick).map((r) => [r.entry, r.tick!]));
}

/** Retryable runs whose next attempt is due (and that no process is about to take back itself). */
export async function dueRetryableRuns(db: Database, slackMs: number): Promise<Array<{ id: number; task: string }>> {
  return db.query(
    `select id, task from task_runs where state = 'retryable' and attempt < max_attempts
       and run_after < now() - make_interval(secs => $1::int / 1000.0)
     order by run_after limit 100`,
    [slackMs],
  );
}

export async function findExecuting(db: Database, concurrencyKey: string): Promise<Run | undefined> {
  const rows = await db.query<Run>(
    `select ${COLUMNS} from task_runs where concurrency_key = $1 and state = 'executing'`,
    [concurrencyKey],
  );
  return rows[0];
}

export async function findByDedupeKey(db: Database, dedupeKey: string): Promise<Run | undefined> {
  const rows = await db.query<Run>(`select ${COLUMNS} from task_runs where dedupe_key = $1`, [dedupeKey]);
  return rows[0];
}

/** Take a retryable run back into execution as its next attempt. Undefined if it is not retryable or would overlap. */
export async function claimRetryableRun(db: Database, id: number): Promise<Run | undefined> {
  try {
    const rows = await db.query<Run>(
      `update task_runs set state = 'executing', attempt = attempt + 1, run_after = null, started_at = now(),
         heartbeat_at = now(), host = $2, pid = $3, finished_at = null, duration_ms = null
       where id = $1 and state = 'retryable' and attempt < max_attempts
       returning ${COLUMNS}`,
      [id, HOST, process.pid],
    );
    return rows[0];
  } catch (error) {
    if ((error as { code?: string }).code === '23505') return undefined; // another run of its key executes
    throw error;
  }
}

/** Write the heartbeat; returns what the runner must know: was cancellation asked, is the run still ours. */
export async function heartbeat(db: Database, id: number): Promise<{ executing: boolean; cancelRequested: boolean }> {
  const rows = await db.query<{ state: string; cancelRequested: boolean }>(
    `update task_runs set heartbeat_at = now() where id = $1
     returning state, cancel_requested_at is not null as "cancelRequested"`,
    [id],
  );
  const row = rows[0];
  return { executing: row?.state === 'executing', cancelRequested: row?.cancelRequested ?? true };
}

export async function completeRun(db: Database, id: number, result: unknown, summary: string | null): Promise<Run> {
  const rows = await db.query<Run>(
    `update task_runs set state = 'completed', result = $2, summary = $3, finished_at = now(), duration_ms = ${ELAPSED_MS}
     where id = $1 and state = 'executing' returning ${COLUMNS}`,
    [id, JSON.stringify(result ?? null), summary],
  );
  return rows[0] ?? (await getRun(db, id));
}

/**
 * Record a failed attempt: retryable (with the time of the next attempt) while attempts remain and the
 * error allows it, else discarded. Only an executing run changes; anything else is returned as it is.
 */
export async function failRun(
  db: Database,
  id: number,
  error: RunError,
  retryAfterMs: number | null,
): Promise<Run> {
  const rows = await db.query<Run>(
    `update task_runs set
       state = case when $3::int is not null and attempt < max_attempts then 'retryable' else 'discarded' end,
       run_after = case when $3::int is not null and attempt < max_attempts then now() + make_interval(secs => $3::int / 1000.0) end,
       finished_at = case when $3::int is not null and attempt < max_attempts then null else now() end,
       duration_ms = ${ELAPSED_MS},
       error = $2::jsonb,
       errors = errors || jsonb_build_array($2::jsonb || jsonb_build_object('attempt', attempt, 'at', now()))
     where id = $1 and state = 'executing' returning ${COLUMNS}`,
    [id, JSON.stringify(error), retryAfterMs],
  );
  return rows[0] ?? (await getRun(db, id));
}

export async function cancelledRun(db: Database, id: number, reason: string): Promise<Run> {
  const rows = await db.query<Run>(
    `update task_runs set state = 'cancelled', reason = $2, finished_at = now(), duration_ms = ${ELAPSED_MS}
     where id = $1 and state in ('executing', 'scheduled', 'retryable') returning ${COLUMNS}`,
    [id, reason],
  );
  return rows[0] ?? (await getRun(db, id));
}

export async function getRun(db: Database, id: number): Promise<Run> {
  const rows = await db.query<Run>(`select ${COLUMNS} from task_runs where id = $1`, [id]);
  if (!rows[0]) throw new NotFoundError(`no run with id ${id}`, { hint: "List runs with 'singularity runs list'." });
  return rows[0];
}

export interface RunFilter {
  task?: string;
  state?: RunState;
  since?: Date;
  limit?: number;
}

export async function listRuns(db: Database, filter: RunFilter = {}): Promise<Run[]> {
  const where: string[] = [];
  const params: unknown[] = [];
  if (filter.task) where.push(`task = $${params.push(filter.task)}`);
  if (filter.state) where.push(`state = $${params.push(filter.state)}`);
  if (filter.since) where.push(`inserted_at >= $${params.push(filter.since)}`);
  const limit = params.push(filter.limit ?? 50);
  return db.query<Run>(
    `select ${COLUMNS} from task_runs ${where.length ? 'where ' + where.join(' and ') : ''}
     order by inserted_at desc, id desc limit $${limit}`,
    params,
  );
}

/**
 * Find executing runs whose process died and mark them: retryable where attempts remain, else discarded.
 * Dead means: no heartbeat for staleAfterMs, or (sooner) a process of this host that no longer exists
 * and has missed two heartbeats.
 */
export async function reapStaleRuns(
  db: Database,
  options: { staleAfterMs: number; heartbeatMs: number },
): Promise<Run[]> {
  const local = await db.query<{ id: number; pid: number }>(
    `select id, pid from task_runs where state = 'executing' and host = $1
       and heartbeat_at < now() - make_interval(secs => $2::int / 1000.0)`,
    [HOST, options.heartbeatMs * 2],
  );
  const deadHere = local.filter((r) => r.pid !== process.pid && !processAlive(r.pid)).map((r) => r.id);
  const message = `the run's process stopped sending heartbeats (it was killed or its host went down)`;
  return db.query<Run>(
    `update task_runs set
       state = case when attempt < max_attempts then 'retryable' else 'discarded' end,
       run_after = case when attempt < max_attempts then now() end,
       finished_at = case when attempt < max_attempts then null else now() end,
       duration_ms = (extract(epoch from (heartbeat_at - started_at)) * 1000)::int,
       reason = 'stale heartbeat',
       error = jsonb_build_object('name', 'StaleRunError', 'message',
         format('%s; last heartbeat %s from pid %s on %s', $3::text, heartbeat_at, pid, host)),
       errors = errors || jsonb_build_array(jsonb_build_object('name', 'StaleRunError', 'message', $3::text,
         'attempt', attempt, 'at', now()))
     where state = 'executing'
       and (heartbeat_at < now() - make_interval(secs => $1::int / 1000.0) or id = any($2::bigint[]))
       -- A run pg_cron executes writes no heartbeat: it is alive while its backend is.
       and not (host = 'pg_cron' and exists (select 1 from pg_stat_activity a where a.pid = task_runs.pid))
     returning ${COLUMNS}`,
    [options.staleAfterMs, deadHere, message],
  );
}

/**
 * Cancel a run. Waiting runs are cancelled at once; an executing run is asked to stop (its heartbeat
 * sees the request and aborts the task). Returns the run as it is after the request.
 */
export async function requestCancel(db: Database, id: number): Promise<Run> {
  const run = await getRun(db, id);
  if (run.state === 'scheduled' || run.state === 'retryable') return cancelledRun(db, id, 'cancelled by request');
  if (run.state !== 'executing') {
    throw new UsageError(`run ${id} has already finished (${run.state}); there is nothing to cancel`);
  }
  const rows = await db.query<Run>(
    `update task_runs set cancel_requested_at = coalesce(cancel_requested_at, now())
     where id = $1 returning ${COLUMNS}`,
    [id],
  );
  return rows[0]!;
}

/**
 * The newest run of a task, optionally only one started by `trigger`, in `state`, with exactly these
 * `args` (set-up: is this step done?). Runs another run started as its steps (setup-rag's) do not count:
 * they are that run's.
 */
export async function findLatestRun(
  db: Database, task: string, filter: { trigger?: RunTrigger; state?: RunState; args?: unknown } = {},
): Promise<Run | undefined> {
  const rows = await db.query<Run>(
    `select ${COLUMNS} from task_runs where task = $1 and ($2::text is null or trigger = $2) and ($3::text is null or state = $3)
       and ($4::jsonb is null or args = $4::jsonb) and parent_run_id is null
     order by id desc limit 1`,
    [task, filter.trigger ?? null, filter.state ?? null, filter.args === undefined ? null : JSON.stringify(filter.args)],
  );
  return rows[0];
}
