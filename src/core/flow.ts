// The one orchestrator: a list of steps, each a recorded run of a task, in order. A step already done is
// skipped, a step that fails stops the flow, and the steps after it are not run. `singularity setup` runs
// the set-up tasks as a flow (core/setup.ts); a task with `steps` (setup-rag) runs its steps as a flow of
// runs that name its run as their parent, before its own work (core/runner.ts).
//
// Two flows at once (an operator and a scheduler's @setup) take turns: the run history refuses a second
// executing run of a task, and the flow that was refused waits for the other's run instead of going on.
import { setTimeout as sleep } from 'node:timers/promises';
import type { Config } from './config.js';
import type { Database } from './database.js';
import * as runs from './runs.js';
import type { Run } from './runs.js';
import type { FlowDone, Progress, TaskDefinition } from './task/define.js';
import { formatTime } from './format.js';

export interface FlowStep {
  task: TaskDefinition;
  /** Validated against the task's schema; absent when `problem` says why they could not be. */
  args?: Record<string, unknown>;
  /** Why the step cannot run (it fails when the flow reaches it). */
  problem?: string;
}

export interface StepResult {
  /** Position in this flow, from 1 (the `[order/total]` shown to the user). */
  order: number;
  task: string;
  status: 'completed' | 'skipped' | 'failed' | 'not-run';
  /** The run that completed or failed the step (for a skipped step: the run that had completed it). */
  run?: Run;
  reason?: string;
}

export interface FlowResult {
  ok: boolean;
  steps: StepResult[];
  failedStep?: StepResult;
}

export interface StepRequest {
  /** The run's dedupe key: two flows that start the same step at once get one run between them. */
  dedupeKey?: string;
  signal?: AbortSignal;
  /** What this flow (and the flows around it) has done so far: a step task of the run skips those. */
  flowDone: FlowDone[];
  /** Must be called with the run the step recorded, if it recorded one: that run is this flow's own. */
  onClaimed: (run: Run) => void;
}

/** Executes one step as a run and returns the run's final record. */
export type RunStep = (task: TaskDefinition, args: Record<string, unknown>, request: StepRequest) => Promise<Run>;

/** Where a flow looks for the runs of its steps. */
export interface StepHistory {
  /** The newest completed run of the step there is (it may or may not count: see `counts`). */
  completed(step: FlowStep): Promise<Run | undefined>;
  /** The newest run of the step, whatever its state: an executing one belongs to another flow, which is waited for. */
  latest(step: FlowStep): Promise<Run | undefined>;
  /** Does this completed run make the step done for this flow? */
  counts(run: Run): boolean;
  dedupeKey(step: FlowStep, latest: Run | undefined): string | undefined;
}

export interface FlowOptions {
  db: Database;
  config: Config;
  steps: FlowStep[];
  history: StepHistory;
  runStep: RunStep;
  /** What the flows around this one have done (a step task's flow inherits its parent flow's). */
  flowDone?: FlowDone[];
  /** Aborting it cancels the current step's run and stops the flow. */
  signal?: AbortSignal;
  /** 'wait': the step waits for another process's run of it (the step's `run`) to end. */
  onStep?: (event: { step: StepResult; phase: 'start' | 'wait' | 'end'; total: number }) => void;
  onProgress?: Progress;
}

/** The key under which a step is the same step: its task and its arguments. */
export function stepKey(task: string, args: Record<string, unknown>): string {
  return `${task} ${JSON.stringify(Object.fromEntries(Object.entries(args).filter(([, v]) => v !== undefined).sort(([a], [b]) => a.localeCompare(b))))}`;
}

export async function runFlow(options: FlowOptions): Promise<FlowResult> {
  const { db, config, signal, onStep } = options;
  const total = options.steps.length;
  const flowDone = [...(options.flowDone ?? [])];
  // Runs of processes that died must not look like a flow executing a step.
  await runs.reapStaleRuns(db, config.runs);
  const steps: StepResult[] = [];
  let failedStep: StepResult | undefined;
  for (const [index, planned] of options.steps.entries()) {
    const order = index + 1;
    const base = { order, task: planned.task.name };
    let step: StepResult;
    if (failedStep || signal?.aborted) {
      step = { ...base, status: 'not-run', reason: failedStep ? `step ${failedStep.order} failed` : 'interrupted' };
    } else {
      onStep?.({ step: { ...base, status: 'not-run' }, phase: 'start', total });
      const onWait = (run: Run) =>
        onStep?.({ step: { ...base, status: 'not-run', run, reason: `run ${run.id} of another process (pid ${run.pid} on ${run.host}) is executing it` }, phase: 'wait', total });
      step = await runOneStep({ ...options, flowDone, onWait }, order, planned);
      if (step.status === 'failed') failedStep = step;
      if (step.run && step.status !== 'failed') flowDone.push({ key: stepKey(planned.task.name, planned.args!), runId: step.run.id });
    }
    steps.push(step);
    onStep?.({ step, phase: 'end', total });
  }
  const ok = steps.every((s) => s.status === 'completed' || s.status === 'skipped');
  return failedStep ? { ok, steps, failedStep } : { ok, steps };
}

interface StepContext extends FlowOptions {
  flowDone: FlowDone[];
  onWait: (run: Run) => void;
}

async function runOneStep(ctx: StepContext, order: number, step: FlowStep): Promise<StepResult> {
  const { db, config, signal, history } = ctx;
  const base = { order, task: step.task.name };
  if (!step.args) return { ...base, status: 'failed', reason: step.problem ?? 'no arguments' };
  const args = step.args;
  const key = stepKey(step.task.name, args);
  const inherited = ctx.flowDone.find((d) => d.key === key);
  if (inherited) return { ...base, status: 'skipped', run: await runs.getRun(db, inherited.runId), reason: `done by run ${inherited.runId} of this flow` };
  let waited = false;
  for (;;) {
    const done = await history.completed(step);
    if (done && history.counts(done)) {
      const when = waited ? 'meanwhile' : `at ${formatTime(done.finishedAt)}`;
      return { ...base, status: 'skipped', run: done, reason: `completed by run ${done.id} ${when}` };
    }
    // The step's newest run decides: executing means another flow has the step now (wait for it);
    // otherwise this flow runs the step, with a dedupe key naming that run where the history keeps one,
    // so that flows which saw the same history get one run between them, never two in a row.
    const latest = await history.latest(step);
    let other: Run | undefined;
    if (latest?.state === 'completed' && history.counts(latest)) continue; // completed between the two looks
    if (latest?.state === 'executing') other = latest;
    else {
      let ownRunId: number | undefined;
      const run = await ctx.runStep(step.task, args, {
        dedupeKey: history.dedupeKey(step, latest), signal, flowDone: ctx.flowDone, onClaimed: (claimed) => (ownRunId = claimed.id),
      });
      // Only the run this step recorded is this flow's own; any other belongs to another process.
      if (run.id === ownRunId && run.state !== 'executing') {
        return run.state === 'completed'
          ? { ...base, status: 'completed', run }
          : { ...base, status: 'failed', run, reason: runFailure(run) };
      }
      // Refused as an overlap (wait for the executing run), or handed another flow's run by the dedupe key.
      if (run.state !== 'skipped') other = run;
      else if (run.concurrencyKey) other = await runs.findExecuting(db, run.concurrencyKey);
    }

    // Another process has this step: wait for its run to end, then look again. Its completion makes the
    // step done where the history counts it; its failure fails the step (unless its process died: then
    // this flow runs the step).
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
    // Completed (counted above when the history counts it; otherwise the step runs again) or left retryable.
  }
}

// The reason reapStaleRuns gives a run whose process died.
const STALE = 'stale heartbeat';

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
export function runFailure(run: Run): string {
  return run.error?.message ?? run.reason ?? run.state;
}

/** The database's clock: runs are stamped by it, and this process's clock may differ. */
export async function dbNow(db: Database): Promise<Date> {
  const [row] = await db.query<{ now: Date }>('select now() as now');
  return row!.now;
}
