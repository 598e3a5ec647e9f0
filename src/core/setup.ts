// The once-ever set-up flow: every task with a `setupOrder`, in that order, run by the one orchestrator
// (core/flow.ts), each step a recorded run with trigger 'setup'. A step is done once a run of its task with
// the step's flags has completed, whoever started it; done steps are skipped (unless forced), so a flow that failed resumes at the failed
// step. A flow task among the steps (setup-rag) skips those of its own steps that this flow did.
import type { Config } from './config.js';
import type { Database } from './database.js';
import { dbNow, runFlow, type FlowResult, type FlowStep, type RunStep, type StepHistory, type StepResult } from './flow.js';
import { runTask } from './runner.js';
import * as runs from './runs.js';
import { describeArgs, parseArgs } from './task/args.js';
import type { Progress, TaskDefinition } from './task/define.js';
import type { TaskSet } from './task/registry.js';

export type { FlowResult as SetupResult, StepResult as SetupStepResult, RunStep, StepRequest } from './flow.js';

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
  onStep?: (event: { step: StepResult; phase: 'start' | 'wait' | 'end'; total: number }) => void;
}

/** The set-up tasks in their order (ties by name, so that every process agrees). */
export function setupTasks(tasks: TaskSet): TaskDefinition[] {
  return tasks.all
    .filter((t) => t.setupOrder !== undefined)
    .sort((a, b) => a.setupOrder! - b.setupOrder! || a.name.localeCompare(b.name));
}

export async function runSetup(options: SetupOptions): Promise<FlowResult> {
  const { db, config, tasks, signal } = options;
  const runStep: RunStep =
    options.runStep ?? ((task, args, request) => runTask({ db, config, tasks }, task, { trigger: 'setup', args, ...request, onProgress: options.onProgress }));
  // Forced, a step counts as done only if another flow completed it after this one started.
  const doneSince = options.force ? await dbNow(db) : undefined;
  const history: StepHistory = {
    // Done whoever ran it (setup, a person, a scheduler), with the flags a step runs with.
    completed: (step) => runs.findLatestRun(db, step.task.name, { state: 'completed', args: step.args }),
    latest: (step) => runs.findLatestRun(db, step.task.name, { trigger: 'setup' }),
    counts: (run) => !(doneSince && run.finishedAt! < doneSince),
    // Flows that saw the same history get one run between them, never two in a row.
    dedupeKey: (step, latest) => `setup:${step.task.name}:after:${latest?.id ?? 0}`,
  };
  return runFlow({ db, config, steps: setupTasks(tasks).map(setupStep), history, runStep, signal, onStep: options.onStep });
}

/** A step runs with its schema's defaults: nobody is there to give a flag. */
function setupStep(task: TaskDefinition): FlowStep {
  const missing = describeArgs(task.args).find((spec) => spec.required && spec.default === undefined);
  if (missing) return { task, problem: `${task.name}: --${missing.flag} is required and has no default; a set-up task must give every flag a default` };
  try {
    return { task, args: parseArgs(task.args, {}, task.name) };
  } catch (error) {
    return { task, problem: (error as Error).message };
  }
}
