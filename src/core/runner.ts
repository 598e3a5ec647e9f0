// Executes a task and records it: one row of the run history per run, a heartbeat while it executes,
// the timeout (AbortSignal first, then a hard stop), retries with backoff, and the overlap rule.
import { setTimeout as sleep } from 'node:timers/promises';
import type { Config } from './config.js';
import type { Database } from './database.js';
import { EXIT, HardStopError, isSingularityError, SingularityError, UsageError } from './errors.js';
import { redact } from './redact.js';
import * as runs from './runs.js';
import type { Run, RunError } from './runs.js';
import type { RunTrigger } from './run-states.js';
import { parseArgs } from './task/args.js';
import { concurrencyKeyOf, refusedInRole, type FlowDone, type NodeTask, type Progress, type RetryPolicy, type TaskDefinition } from './task/define.js';
import type { TaskSet } from './task/registry.js';
import { runFlow, type FlowStep, type StepHistory } from './flow.js';

export interface RunRequest {
  trigger: RunTrigger;
  /** Arguments already validated against the task's schema. */
  args: Record<string, unknown>;
  dedupeKey?: string;
  scheduledFor?: Date;
  retryOf?: number;
  /** The crontab entry whose tick this is. */
  entry?: string;
  /** The run this one is a step of. */
  parentRunId?: number;
  /** The steps the flow around this run has done (a flow task skips those of its own steps). */
  flowDone?: FlowDone[];
  /** Overrides the task's own timeout (a crontab entry's `timeout=`). */
  timeoutMs?: number;
  /** Overrides the task's overlap rule (a crontab entry's `overlap=`). */
  overlap?: 'skip' | 'allow';
  /** Aborting it cancels the run (Ctrl-C, a scheduler shutting down). */
  signal?: AbortSignal;
  onProgress?: Progress;
  /** Called when a failed attempt will be retried, before the backoff wait. */
  onRetry?: (run: Run, delayMs: number) => void;
  /** Called with the run this call recorded, when the history took it (not refused, not another's by dedupe key). */
  onClaimed?: (run: Run) => void;
}

export interface RunnerOptions {
  db: Database;
  config: Config;
  /** Where an attempt executes: in this process by default; the scheduler uses child processes. */
  executor?: Executor;
  /** The tasks a flow task's steps are found in (the built-in ones and the task modules'). */
  tasks?: TaskSet;
}

/** What an attempt needs to know of its run. */
export type AttemptRun = Pick<Run, 'id' | 'args' | 'attempt' | 'trigger'> & { flowDone?: FlowDone[] };

export interface AttemptHandle {
  /** Resolves with the task's result, rejects with its error. */
  done: Promise<unknown>;
  /** Stop the attempt by force once its grace has run out. Without it, only the whole process can stop it. */
  kill?: () => void;
}

/** Starts one attempt of a task. The signal fires on timeout or cancellation. */
export type Executor = (
  options: RunnerOptions,
  task: TaskDefinition,
  run: AttemptRun,
  signal: AbortSignal,
  onProgress?: Progress,
) => AttemptHandle;

export class TimeoutError extends Error {
  override name = 'TimeoutError';
}
export class CancelledError extends Error {
  override name = 'CancelledError';
}

/** Exponential backoff with ±20% jitter, so that retries of many runs do not arrive together. */
export function backoffDelay(policy: RetryPolicy, attempt: number): number {
  const base = Math.min(policy.maxBackoffMs, policy.backoffMs * 2 ** (attempt - 1));
  return Math.round(base * (0.8 + Math.random() * 0.4));
}

function toRunError(error: unknown): RunError {
  const e = error instanceof Error ? error : new Error(String(error));
  const usage = exitCodeOf(e) === EXIT.usage;
  const hint = (e as { hint?: unknown }).hint;
  return {
    name: e.name, message: redact(e.message), stack: e.stack ? redact(e.stack) : undefined, ...(usage && { exitCode: EXIT.usage }),
    ...(typeof hint === 'string' && { hint: redact(hint) }),
  };
}

/** The task's one-line summary of its result; a summarize() that throws must not fail a finished run. */
export function summarize(task: TaskDefinition, result: unknown): string | null {
  if (!task.summarize) return null;
  try {
    return redact(task.summarize(result));
  } catch {
    return null;
  }
}

/** Errors of usage or configuration will fail the same way again: never retried. */
function isRetryable(error: unknown): boolean {
  if (error instanceof CancelledError) return false;
  return exitCodeOf(error) !== EXIT.usage;
}

function exitCodeOf(error: unknown): unknown {
  // Errors from a child process arrive as plain errors that keep their exit code.
  return isSingularityError(error) ? error.exitCode : (error as { exitCode?: unknown }).exitCode;
}

/** Start a run of `task` now and carry it to its end. Returns the run's final record. */
export async function runTask(options: RunnerOptions, task: TaskDefinition, request: RunRequest): Promise<Run> {
  const refused = refusedInRole(task, options.config.role ?? 'instance');
  if (refused) throw new UsageError(refused);
  await runs.reapStaleRuns(options.db, options.config.runs);
  const { run, claimed } = await claimRun(options, task, request);
  if (!claimed) return run;
  request.onClaimed?.(run);
  return carryRun(options, task, run, request);
}

/**
 * Record the start of a run. `claimed` is false when the run history refused it: the tick (dedupe key)
 * already has its run, which is returned, or the task is executing elsewhere, recorded as skipped.
 */
export async function claimRun(options: RunnerOptions, task: TaskDefinition, request: RunRequest): Promise<{ run: Run; claimed: boolean }> {
  const { db } = options;
  const newRun: runs.NewRun = {
    task: task.name,
    args: request.args,
    trigger: request.trigger,
    maxAttempts: task.retry.maxAttempts,
    timeoutMs: request.timeoutMs ?? task.timeoutMs,
    concurrencyKey: request.overlap === 'allow' ? null : concurrencyKeyOf(task, request.args),
    dedupeKey: request.dedupeKey,
    scheduledFor: request.scheduledFor,
    retryOf: request.retryOf,
    entry: request.entry,
    parentRunId: request.parentRunId,
  };
  const run = await runs.insertExecutingRun(db, newRun);
  return run ? { run, claimed: true } : { run: await recordRefusedStart(db, newRun), claimed: false };
}

/** Execute a retryable run's next attempt now (`runs retry`, the scheduler). */
export async function resumeRun(options: RunnerOptions, task: TaskDefinition, runId: number, request: Omit<RunRequest, 'args' | 'trigger'>): Promise<Run | undefined> {
  await runs.reapStaleRuns(options.db, options.config.runs);
  const run = await runs.claimRetryableRun(options.db, runId);
  return run && carryRun(options, task, run, { ...request, args: run.args, trigger: run.trigger });
}

async function recordRefusedStart(db: Database, newRun: runs.NewRun): Promise<Run> {
  if (newRun.dedupeKey) {
    const existing = await runs.findByDedupeKey(db, newRun.dedupeKey);
    if (existing) return existing; // this tick or once-ever step already has its run
  }
  const executing = newRun.concurrencyKey ? await runs.findExecuting(db, newRun.concurrencyKey) : undefined;
  const reason = executing
    ? `overlap: run ${executing.id} of ${executing.task} is executing since ${executing.startedAt?.toISOString()} (pid ${executing.pid} on ${executing.host})`
    : 'overlap: another run of this task was executing';
  const skipped = await runs.insertSkippedRun(db, newRun, reason);
  if (skipped) return skipped;
  // The dedupe key was taken between our two inserts: that run is the answer.
  return (await runs.findByDedupeKey(db, newRun.dedupeKey!))!;
}

/** Attempts until success, cancellation, or the retry policy gives up. */
export async function carryRun(options: RunnerOptions, task: TaskDefinition, first: Run, request: RunRequest): Promise<Run> {
  const { db } = options;
  let run = first;
  for (;;) {
    const outcome = await attempt(options, task, run, request);
    if (outcome.ok) return runs.completeRun(db, run.id, outcome.result, summarize(task, outcome.result));
    if (outcome.error instanceof CancelledError) return runs.cancelledRun(db, run.id, outcome.error.message);

    const willRetry = isRetryable(outcome.error) && run.attempt < run.maxAttempts;
    const delay = willRetry ? backoffDelay(task.retry, run.attempt) : null;
    const failed = await runs.failRun(db, run.id, toRunError(outcome.error), delay);
    if (outcome.hardStop) {
      throw new HardStopError(
        `${task.name} did not stop within ${options.config.runs.stopGraceMs} ms of its ${outcome.error.message}; stopping the process`,
        failed,
      );
    }
    if (failed.state !== 'retryable' || delay === null) return failed;
    request.onRetry?.(failed, delay);
    // An abort ends the wait early; the check below then records the cancellation.
    await sleep(delay, undefined, { signal: request.signal }).catch(() => {});
    if (request.signal?.aborted) return runs.cancelledRun(db, run.id, 'cancelled while waiting to retry');
    const next = await runs.claimRetryableRun(db, run.id);
    if (!next) return runs.getRun(db, run.id); // another run of its key started meanwhile: left retryable
    run = next;
  }
}

type Outcome = { ok: true; result: unknown } | { ok: false; error: Error; hardStop?: boolean; killed?: boolean };

/** One attempt: the task's work raced against its timeout, cancellation and the heartbeat. */
async function attempt(options: RunnerOptions, task: TaskDefinition, run: Run, request: RunRequest): Promise<Outcome> {
  const { db, config } = options;
  const controller = new AbortController();
  const abort = (reason: Error) => {
    if (!controller.signal.aborted) controller.abort(reason);
  };
  const timeoutMs = run.timeoutMs ?? task.timeoutMs;
  const timeout = setTimeout(() => abort(new TimeoutError(`timeout of ${timeoutMs} ms`)), timeoutMs);
  const onExternalAbort = () => {
    const reason = request.signal?.reason;
    abort(new CancelledError(reason instanceof Error && reason.name !== 'AbortError' ? reason.message : 'cancelled: the process was interrupted (SIGINT or SIGTERM)'));
  };
  if (request.signal?.aborted) onExternalAbort();
  request.signal?.addEventListener('abort', onExternalAbort, { once: true });
  const beat = setInterval(() => {
    runs.heartbeat(db, run.id).then(
      ({ executing, cancelRequested }) => {
        if (cancelRequested) abort(new CancelledError('cancelled by request'));
        else if (!executing) abort(new CancelledError('the run was taken for dead and marked by another process'));
      },
      () => {}, // a missed heartbeat is not fatal; staleness allows for several
    );
  }, config.runs.heartbeatMs);

  const attemptRun: AttemptRun = { id: run.id, args: run.args, attempt: run.attempt, trigger: run.trigger, flowDone: request.flowDone };
  const handle = (options.executor ?? inProcess)(options, task, attemptRun, controller.signal, request.onProgress);
  const work = handle.done.then(
    (result): Outcome => ({ ok: true, result }),
    (error): Outcome => ({ ok: false, error: error instanceof Error ? error : new Error(String(error)) }),
  );
  // Once aborted, the task has stopGraceMs to wind down before the run is given up as hard-stopped.
  let grace: NodeJS.Timeout | undefined;
  const stopped = new Promise<Outcome>((resolvePromise) => {
    controller.signal.addEventListener(
      'abort',
      () => {
        grace = setTimeout(() => {
          const reason = controller.signal.reason as Error;
          if (!handle.kill) return resolvePromise({ ok: false, error: reason, hardStop: true });
          handle.kill();
          // Same class, so a killed cancellation is still recorded as a cancellation.
          const killed = new (reason.constructor as new (message: string) => Error)(
            `${reason.message}; it did not stop within ${config.runs.stopGraceMs} ms and was killed (SIGKILL)`,
          );
          resolvePromise({ ok: false, error: killed, killed: true });
        }, config.runs.stopGraceMs);
      },
      { once: true },
    );
  });
  try {
    const outcome = await Promise.race([work, stopped]);
    // An aborted run ends as its abort reason says, even if the task returned normally.
    if (controller.signal.aborted && !(outcome.ok === false && (outcome.hardStop || outcome.killed))) {
      return { ok: false, error: controller.signal.reason as Error };
    }
    return outcome;
  } finally {
    clearTimeout(timeout);
    clearTimeout(grace);
    clearInterval(beat);
    request.signal?.removeEventListener('abort', onExternalAbort);
  }
}

const inProcess: Executor = (options, task, run, signal, onProgress) => ({
  done: executeTask(options, task, run, signal, onProgress),
});

/** The task's own work, in this process (a flow task's steps first). */
export async function executeTask(
  options: Pick<RunnerOptions, 'db' | 'config' | 'tasks'>,
  task: TaskDefinition,
  run: AttemptRun,
  signal: AbortSignal,
  onProgress?: Progress,
): Promise<unknown> {
  const { db, config } = options;
  const progress: Progress = (message, share) => onProgress?.(message, share);
  const context = { args: run.args as never, db, config, signal, runId: run.id, attempt: run.attempt, trigger: run.trigger, progress };
  if (task.engine === 'node') {
    const steps = task.steps ? await executeSteps(options, task, run, signal, progress) : undefined;
    return task.run({ ...context, ...(steps && { steps }) });
  }
  if (task.inProcess && (await task.inProcess.applies({ db, config }))) return task.inProcess.run(context);
  if (task.expands) return executeExpanding(db, task.sql(run.args as never), signal);
  return executeSql(db, task.sql(run.args as never), task.transaction, signal);
}

/**
 * A flow task's steps, each a run naming `run` as its parent, with its trigger. A step the flow around
 * this run did is skipped; the first that fails fails the run.
 */
async function executeSteps(options: Pick<RunnerOptions, 'db' | 'config' | 'tasks'>, task: NodeTask, run: AttemptRun, signal: AbortSignal, progress: Progress) {
  const { db, config, tasks } = options;
  if (!tasks) throw new Error(`${task.name} runs steps: the runner needs the task set to find them`);
  const planned = await task.steps!({ args: run.args as never, config });
  const steps: FlowStep[] = planned.map((spec) => {
    const step = tasks.find(spec.task);
    if (!step) throw new UsageError(`${task.name}: its step '${spec.task}' is no task this configuration knows`);
    try {
      return { task: step, args: parseArgs(step.args, spec.args ?? {}, step.name) };
    } catch (error) {
      return { task: step, problem: (error as Error).message };
    }
  });
  // Only what the flow around this run did counts as done: every other step runs (cheaply when nothing changed).
  const history: StepHistory = {
    completed: async () => undefined,
    latest: async () => undefined,
    counts: () => true,
    dedupeKey: () => undefined,
  };
  const outcome = await runFlow({
    db, config, steps, history, signal, flowDone: run.flowDone,
    onStep: ({ step, phase }) => phase === 'start' && progress(step.task),
    runStep: (stepTask, args, request) => runTask({ db, config, tasks }, stepTask, {
      trigger: run.trigger, parentRunId: run.id, args, signal: request.signal, flowDone: request.flowDone, onClaimed: request.onClaimed,
      onProgress: (message, share) => progress(`${stepTask.name}: ${message}`, share),
    }),
  });
  const failed = outcome.failedStep;
  if (failed) {
    throw new SingularityError(`${task.name} stopped at step ${failed.order} (${failed.task}${failed.run ? `, run ${failed.run.id}` : ''}): ${failed.reason}`, {
      hint: failed.run
        ? `Look at 'singularity runs show ${failed.run.id}', fix the cause, and run ${task.name} again: the done steps cost little.`
        : `Fix the cause and run ${task.name} again.`,
    });
  }
  if (signal.aborted) throw signal.reason;
  // Every step completed or was skipped as done.
  return { steps: outcome.steps.map((s) => ({ order: s.order, task: s.task, state: s.status as 'completed' | 'skipped', runId: s.run?.id, reason: s.reason })) };
}

/** Run the statements a query chooses, one by one, each on its own; stop between them when aborted. */
async function executeExpanding(db: Database, planning: string, signal: AbortSignal): Promise<unknown> {
  const planned = (await executeSql(db, planning, false, signal, true)) as Array<Record<string, unknown> & { statement: string }>;
  const ran: Array<Record<string, unknown>> = [];
  for (const row of planned) {
    if (signal.aborted) break;
    const started = performance.now();
    await executeSql(db, row.statement, false, signal);
    ran.push({ ...row, ms: Math.round(performance.now() - started) });
  }
  return { planned: planned.length, ran };
}

/** Run a sql task's statement on its own connection; cancel it server-side when the signal fires. */
async function executeSql(db: Database, statement: string, transaction: boolean, signal: AbortSignal, allRows = false): Promise<unknown> {
  return db.withClient(async (client) => {
    const backendPid = (client as unknown as { processID?: number }).processID;
    const cancel = () => {
      if (db.kind === 'postgres' && backendPid) void db.query('select pg_cancel_backend($1)', [backendPid]).catch(() => {});
    };
    signal.addEventListener('abort', cancel, { once: true });
    try {
      if (!transaction) {
        const { rows } = await client.query(statement);
        return allRows ? rows : rowsResult(rows);
      }
      await client.query('begin');
      try {
        const result = await client.query(statement);
        await client.query('commit');
        return rowsResult(result.rows);
      } catch (error) {
        await client.query('rollback').catch(() => {});
        throw error;
      }
    } finally {
      signal.removeEventListener('abort', cancel);
    }
  });
}

/** A statement's rows as a run result: one row of one column is that value; one row is that row. */
function rowsResult(rows: Record<string, unknown>[]): unknown {
  if (rows.length === 0) return null;
  if (rows.length === 1) {
    const values = Object.values(rows[0]!);
    return values.length === 1 && Object.keys(rows[0]!)[0] === 'result' ? values[0] : rows[0];
  }
  return rows;
}
