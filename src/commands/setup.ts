// `singularity setup [--force]`: run the set-up flow (src/core/setup.ts), one line per step as it ends,
// then a closing line. Exit 0 when every step completed or was already done, 1 when a step failed.
import type { GlobalOptions } from './context.js';
import { loadConfig } from '../core/config.js';
import type { SetupResult, SetupStepResult } from '../core/setup.js';
import { fitLine, paint, printJson, progressLine, terminalSpinner, write } from './output.js';
import { runOutcome } from './render-run.js';
import { withDatabase } from './context.js';
import { formatDuration } from '../core/format.js';

export async function setupCommand(opts: { force?: boolean; json?: boolean }, globals: GlobalOptions): Promise<number> {
  const json = Boolean(opts.json ?? globals.json);
  const config = await loadConfig(globals);
  // Tasks before the database: a bad task module is a configuration error that needs no database.
  const { loadTasks } = await import('../tasks/index.js');
  const { runSetup, setupTasks } = await import('../core/setup.js');
  const tasks = await loadTasks(config);
  const width = Math.max(0, ...setupTasks(tasks).map((t) => t.name.length));
  return withDatabase(config, async (db, signal) => {
    const spinner = json ? undefined : await terminalSpinner();
    let head = '';
    try {
      const result = await runSetup({
        db,
        config,
        tasks,
        force: opts.force,
        // Ctrl-C or SIGTERM cancels the current step's run (recorded cancelled) and stops the flow.
        signal,
        // What the executing step says it is doing, beside its line (ingest: a bar of the files parsed).
        onProgress: (message, share) => {
          if (spinner && head) spinner.text = fitLine(head + progressLine(message, share));
        },
        onStep: ({ step, phase, total }) => {
          if (json) return;
          head = `[${step.order}/${total}] ${step.task.padEnd(width)}  `;
          if (phase === 'start') return void spinner?.start(fitLine(head.trimEnd()));
          if (phase === 'wait') {
            // Say why nothing moves: another process has this step, and it may take a while.
            if (spinner) spinner.text = fitLine(`${head}waiting: ${step.reason}`);
            else write(process.stderr, `${head}waiting: ${step.reason}`);
            return;
          }
          spinner?.stop();
          const stream = step.status === 'failed' ? process.stderr : process.stdout;
          write(stream, head + stepOutcome(step, stream));
        },
      });
      if (json) printJson(result);
      else if (result.ok) write(process.stdout, closingLine(result));
      else write(process.stderr, closingLine(result));
      return result.ok ? 0 : 1;
    } finally {
      spinner?.stop();
    }
  });
}

function stepOutcome(step: SetupStepResult, stream: NodeJS.WriteStream): string {
  const run = step.run;
  switch (step.status) {
    case 'completed': {
      const outcome = runOutcome(run!);
      return `${paint(stream, 'green', 'completed')} in ${formatDuration(run!.durationMs ?? 0)}${outcome ? `: ${outcome}` : ''} (run ${run!.id})`;
    }
    case 'skipped':
      return `${paint(stream, 'gray', 'skipped')}: ${step.reason}`;
    case 'failed':
      return `${paint(stream, 'red', 'failed')}: ${step.reason}${run ? ` (run ${run.id}, ${run.state})` : ''}`;
    case 'not-run':
      return `${paint(stream, 'gray', 'not run')} (${step.reason})`;
  }
}

function closingLine(result: SetupResult): string {
  const total = result.steps.length;
  const failed = result.failedStep;
  if (failed) {
    return `setup stopped at step ${failed.order}/${total} (${failed.task}): ${failed.reason}\n` +
      `  Fix the cause and run 'singularity setup' again: it resumes at step ${failed.order}.`;
  }
  if (!result.ok) return "setup interrupted; run 'singularity setup' again to finish it.";
  const count = (status: SetupStepResult['status']) => result.steps.filter((s) => s.status === status).length;
  return `setup complete: ${count('completed')} ran, ${count('skipped')} skipped`;
}
