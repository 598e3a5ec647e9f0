// The once-ever set-up flow: every task with a `setupOrder`, in that order, each a recorded run with
// trigger 'setup'. A step is done once a set-up run of its task has completed; done steps are skipped
// (unless forced), so a flow that failed resumes at the failed step. Two flows at once (an operator and
// a scheduler's @setup) take turns: the run history refuses a second executing run of a task, and the
// flow that was refused waits for the other's run instead of going on to the next step.
import { setTimeout as sleep } from 'node:timers/promises';
import type { Config } from './config.js';
import type { Database } from './db.js';
import { UsageError } from './errors.js';
import { runTask } from './runner.js';
import * as runs from './runs.js';
import type { Run } from './runs.js';
import { formatTime } from '../cli/output.js';
import { describeArgs, parseArgs } from '../tasks/args.js';
import type { Progress, TaskDefinition } from '../tasks/define.js';
import type { TaskSet } from '../tasks/load.js';

export interface SetupStepResult {
  /** Position in this flow, from 1 (the `[order/total]` shown to the user). */
  order: number;
  task: string;
  status: 'completed' | 'skipped' | 'failed' | 'not-run';
  /** The run that completed or failed the step (for a skipped step: the run that completed it). */
  run?: Run;
  reason?: string;
}

export interface SetupResult {
  ok: boolean;
  steps: SetupStepResult[];
  failedStep?: SetupStepResult;
}

export interface StepRequest {
  /**
   * Pass it on as the run's dedupe key: two flows that start the same step at the same moment then get
   * one run between them (the second is handed the first's run) instead of running it twice in a row.
   */
  dedupeKey: string;
  signal?: AbortSignal;
}

/** Executes one step as a run with trigger 'setup' and returns the run's final record. */
export type RunStep = (task: TaskDefinition, args: Record<string, unknown>, request: StepRequest) => Promise<Run>;

export interface SetupOptions {
  db: Database;
  config: Config;
  tasks: TaskSet;
  /** Re-run steps that completed before this flow started. */
  force?: boolean;
  /** Aborting it cancels the current step's run and stops the flow. */
  signal?: AbortSignal;
  runStep?: RunStep;
  /** The executing step's progress (the default runStep's; a custom one reports its own). */
  onProgress?: Progress;
  /** 'wait': the step waits for another process's run of it (the step's `run`) to end. */
  onStep?: (event: { step: SetupStepResult; phase: 'start' | 'wait' | 'end'; total: number }) => void;
}

/** The set-up tasks in their order (ties by name, so that every process agrees). */
export function setupTasks(tasks: TaskSet): TaskDefinition[] {
  return tasks.all
    .filter((t) => t.setupOrder !== undefined)
    .sort((a, b) => a.setupOrder! - b.setupOrder! || a.name.localeCompare(b.name));
}

export async function runSetup(options: SetupOptions): Promise<SetupResult> {
  const { db, config, signal, onStep } = options;
  const runStep: RunStep =
    options.runStep ?? ((task, args, request) => runTask({ db, config }, task, { trigger: 'setup', args, ...request, onProgress: options.onProgress }));
  const tasks = setupTasks(options.tasks);
  const total = tasks.length;
  // Forced, a step counts as done only if another flow completed it after this one started.
  const doneSince = options.force ? await dbNow(db) : undefined;
  // Runs of processes that died must not look like a flow executing a step.
  await runs.reapStaleRuns(db, config.runs);
  const steps: SetupStepResult[] = [];
  let failedStep: SetupStepResult | undefined;
  for (const [index, task] of tasks.entries()) {
    const order = index + 1;
    let step: SetupStepResult;
    if (failedStep || signal?.aborted) {
      step = { order, task: task.name, status: 'not-run', reason: failedStep ? `step ${failedStep.order} failed` : 'interrupted' };
    } else {
      const pending = { order, task: task.name, status: 'not-run' } as const;
      onStep?.({ step: pending, phase: 'start', total });
      const onWait = (run: Run) =>
        onStep?.({ step: { ...pending, run, reason: `run ${run.id} of another process (pid ${run.pid} on ${run.host}) is executing it` }, phase: 'wait', total });
      step = await runOneStep({ db, config, runStep, signal, doneSince, onWait }, order, task);
      if (step.status === 'failed') failedStep = step;
    }
    steps.push(step);
    onStep?.({ step, phase: 'end', total });
  }
  const ok = steps.every((s) => s.status === 'completed' || s.status === 'skipped');
  return failedStep ? { ok, steps, failedStep } : { ok, steps };
}

interface StepContext {
  db: Database;
  config: Config;
  runStep: RunStep;
  signal?: AbortSignal;
  doneSince?: Date;
  onWait: (run: Run) => void;
}

async function runOneStep(ctx: StepContext, order: number, task: TaskDefinition): Promise<SetupStepResult> {
  const { db, config, signal } = ctx;
  const base = { order, task: task.name };
  let args: Record<string, unknown>;
  try {
    args = setupArgs(task);
  } catch (error) {
    return { ...base, status: 'failed', reason: (error as Error).message };
  }
  const counts = (run: Run) => !(ctx.doneSince && run.finishedAt! < ctx.doneSince);
  let waited = false;
  for (;;) {
    const done = await runs.findLatestRun(db, task.name, 'setup', 'completed');
    if (done && counts(done)) {
      const when = waited ? 'meanwhile' : `at ${formatTime(done.finishedAt)}`;
      return { ...base, status: 'skipped', run: done, reason: `completed by run ${done.id} ${when}` };
    }
    // The step's newest set-up run decides: executing means another flow has the step now (wait for
    // it); otherwise this flow runs the step with a dedupe key naming that run, so that flows which
    // saw the same history get one run between them, never two in a row.
    const latest = await runs.findLatestRun(db, task.name, 'setup');
    let other: Run | undefined;
    if (latest?.state === 'completed' && counts(latest)) continue; // completed between the two looks
    if (latest?.state === 'executing') other = latest;
    else {
      const before = await dbNow(db);
      const run = await ctx.runStep(task, args, { dedupeKey: `setup:${task.name}:after:${latest?.id ?? 0}`, signal });
      // A finished run inserted after `before` is this flow's own; anything else belongs to another process.
      if (run.state !== 'executing' && run.state !== 'skipped' && new Date(run.insertedAt).getTime() >= before.getTime()) {
        return run.state === 'completed'
          ? { ...base, status: 'completed', run }
          : { ...base, status: 'failed', run, reason: runFailure(run) };
      }
      // Refused as an overlap (wait for the executing run), or handed another flow's run by the dedupe key.
      if (run.state !== 'skipped') other = run;
      else if (run.concurrencyKey) other = await runs.findExecuting(db, run.concurrencyKey);
    }

    // Another process has this step: wait for its run to end, then look again. Its completion makes the
    // step done; its failure fails the step (unless its process died: then this flow runs the step).
    waited = true;
    if (!other) {
      // It ended between the refusal and the look-up: look again after a beat.
      if (!(await pause(config.runs.heartbeatMs, signal))) return { ...base, status: 'failed', reason: 'interrupted' };
      continue;
    }
    if (other.state === 'executing') ctx.onWait(other);
    const ended = await waitForEnd(ctx, other);
    if (!ended) return { ...base, status: 'failed', reason: `interrupted while waiting for run ${other.id} of another process` };
    if ((ended.state === 'discarded' || ended.state === 'cancelled') && ended.reason !== STALE) {
      return { ...base, status: 'failed', run: ended, reason: `run ${ended.id} of another process ended ${ended.state}: ${runFailure(ended)}` };
    }
    // Completed (a set-up run is done above; a run by hand is not, and the step runs again) or left retryable.
  }
}

// The reason reapStaleRuns gives a run whose process died.
const STALE = 'stale heartbeat';

/** A step runs with its schema's defaults: nobody is there to give a flag. */
function setupArgs(task: TaskDefinition): Record<string, unknown> {
  const missing = describeArgs(task.args).find((spec) => spec.required && spec.default === undefined);
  if (missing) {
    throw new UsageError(`${task.name}: --${missing.flag} is required and has no default; a set-up task must give every flag a default`);
  }
  return parseArgs(task.args, {}, task.name);
}

/** Poll another process's run until it is no longer executing (a dead process's run is reaped). Undefined if aborted. */
async function waitForEnd(ctx: StepContext, run: Run): Promise<Run | undefined> {
  while (run.state === 'executing') {
    if (!(await pause(ctx.config.runs.heartbeatMs, ctx.signal))) return undefined;
    await runs.reapStaleRuns(ctx.db, ctx.config.runs);
    run = await runs.getRun(ctx.db, run.id);
  }
  return run;
}

/** Sleep; false if the signal fired. */
async function pause(ms: number, signal?: AbortSignal): Promise<boolean> {
  if (signal?.aborted) return false;
  return sleep(ms, true, { signal }).catch(() => false);
}

/** Why a run did not complete, in its own words. */
function runFailure(run: Run): string {
  return run.error?.message ?? run.reason ?? run.state;
}

/** The database's clock: runs are stamped by it, and this process's clock may differ. */
async function dbNow(db: Database): Promise<Date> {
  const [row] = await db.query<{ now: Date }>('select now() as now');
  return row!.now;
}
