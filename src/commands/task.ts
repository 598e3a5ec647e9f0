// `singularity <task> [--flags]`: validate the flags, run the task, show the run, exit 0 only if it completed.
import { withDatabase, type GlobalOptions } from './context.js';
import { loadConfig, type Config } from '../core/config.js';
import type { Database } from '../core/database.js';
import { UsageError } from '../core/errors.js';
import { RUN_TRIGGERS, type RunTrigger } from '../core/run-states.js';
import type { Run } from '../core/runs.js';
import type { RunRequest } from '../core/runner.js';
import { refusedInRole, type TaskDefinition } from '../core/task/define.js';
import type { TaskSet } from '../core/task/registry.js';
import { err, fitLine, printJson, progressLine, terminalSpinner, write } from './output.js';
import { renderRunLine } from './render-run.js';
import { formatDuration } from '../core/format.js';

export function triggerFromEnv(env = process.env): RunTrigger {
  const named = env.SINGULARITY_TRIGGER;
  if (named) {
    if (!(RUN_TRIGGERS as readonly string[]).includes(named)) {
      throw new UsageError(`SINGULARITY_TRIGGER must be one of ${RUN_TRIGGERS.join(', ')}, not '${named}'`);
    }
    return named as RunTrigger;
  }
  return env.CI && env.CI !== 'false' && env.CI !== '0' ? 'ci' : 'cli';
}

export async function runTaskCommand(name: string, raw: Record<string, unknown>, globals: GlobalOptions): Promise<number> {
  const config = await loadConfig(globals);
  const [{ loadTasks }, { parseArgs }] = await Promise.all([import('../tasks/index.js'), import('../core/task/args.js')]);
  const tasks = await loadTasks(config);
  const task = tasks.find(name);
  if (!task) throw new UsageError(`unknown task '${name}'`);
  const refused = refusedInRole(task, config.role);
  if (refused) {
    throw new UsageError(refused, { hint: `The role comes from --role, SINGULARITY_ROLE or the config file's "role" (see docs/configuration.md).` });
  }
  const args = parseArgs(task.args, raw, name);
  const trigger = triggerFromEnv();
  return withTaskRun(task, { config, tasks }, globals, async (execute, db) => {
    // A person or a pipeline sees the exit code at once; a scheduler's run is recorded failing, where its operator looks.
    if (trigger === 'cli' || trigger === 'ci') await task.check?.({ args, config, db });
    return execute({ trigger, args });
  });
}

type Execute = (request: Pick<RunRequest, 'trigger' | 'args' | 'retryOf' | 'entry' | 'timeoutMs' | 'scheduledFor'>) => Promise<Run>;

/**
 * Open the database, give the run a spinner (on a terminal) and Ctrl-C handling, print the outcome.
 * `start` receives the function that runs the task and returns the run it produced.
 */
export async function withTaskRun(
  task: TaskDefinition,
  { config, tasks }: { config: Config; tasks: TaskSet },
  globals: GlobalOptions,
  start: (execute: Execute, db: Database) => Promise<Run | undefined>,
): Promise<number> {
  return withDatabase(config, async (db, signal) => {
    const spinner = globals.json ? undefined : (await terminalSpinner(task.name))?.start();
    try {
      const { runTask } = await import('../core/runner.js');
      const execute: Execute = (request) =>
        runTask({ db, config, tasks }, task, {
          ...request,
          signal,
          onProgress: (message, share) => spinner && (spinner.text = fitLine(`${task.name}: ${progressLine(message, share)}`)),
          onRetry: (failed, delay) => {
            const line = `${task.name} attempt ${failed.attempt}/${failed.maxAttempts} failed: ${failed.error?.message}; retrying in ${formatDuration(delay)}`;
            if (spinner) spinner.warn(line).start(fitLine(task.name));
            else if (!globals.json) err(line);
          },
        });
      const run = await start(execute, db);
      spinner?.stop();
      if (!run) return 1;
      if (globals.json) printJson(run);
      else if (run.state === 'completed' && task.report) {
        write(process.stdout, task.report(run.result, run.args as never).trimEnd());
        write(process.stderr, renderRunLine(run, process.stderr));
      } else {
        const stream = run.state === 'completed' ? process.stdout : process.stderr;
        write(stream, renderRunLine(run, stream));
      }
      return run.state === 'completed' ? 0 : (run.error?.exitCode ?? 1);
    } finally {
      spinner?.stop();
    }
  });
}
