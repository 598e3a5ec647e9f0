// How a run looks to a person: one status line, then the task's own summary or the error.
import type { Run, RunError } from '../core/runs.js';
import { paint, truncate, type Style } from './output.js';
import { formatDuration, formatTime } from '../core/format.js';

const STATE_STYLE: Record<string, Style> = {
  completed: 'green', executing: 'cyan', scheduled: 'blue', retryable: 'yellow', discarded: 'red',
  cancelled: 'magenta', skipped: 'gray', missed: 'yellow',
};
const STATE_MARK: Record<string, string> = {
  completed: '✔', discarded: '✖', cancelled: '✖', skipped: '-', retryable: '↻', executing: '…', missed: '!', scheduled: '·',
};

export const stateLabel = (stream: NodeJS.WriteStream, state: string) => paint(stream, STATE_STYLE[state] ?? 'bold', state);

/** A one-line description of what a run produced or why it failed. */
export function runOutcome(run: Run): string {
  if (run.state === 'completed') {
    if (run.summary) return run.summary;
    return run.result === null || run.result === undefined ? '' : truncate(JSON.stringify(run.result), 200);
  }
  if (run.error) return `${run.error.name}: ${run.error.message}`;
  return run.reason ?? '';
}

export function renderRunLine(run: Run, stream: NodeJS.WriteStream): string {
  const mark = paint(stream, STATE_STYLE[run.state] ?? 'bold', STATE_MARK[run.state] ?? '·');
  const attempts = run.maxAttempts > 1 ? `, attempt ${run.attempt}/${run.maxAttempts}` : '';
  const when = run.state === 'retryable' && run.runAfter ? `, next attempt at ${formatTime(run.runAfter)}` : '';
  const head = `${mark} ${run.task} ${stateLabel(stream, run.state)} in ${formatDuration(run.durationMs ?? 0)} (run ${run.id}${attempts}${when})`;
  const outcome = runOutcome(run) + (run.error?.hint ? `\n  ${run.error.hint.replace(/\n/g, '\n  ')}` : '');
  return outcome ? `${head}\n  ${outcome}` : head;
}

/** JavaScript's and Node's own kinds of error: what a bug, or a failure singularity did not foresee (a raw ENOENT), throws. */
const UNFORESEEN = new Set(['Error', 'TypeError', 'RangeError', 'ReferenceError', 'SyntaxError', 'EvalError', 'URIError',
  'AggregateError', 'AssertionError', 'SystemError']);

/**
 * Whether a person is shown a failed run's stack. Only for an unforeseen error, where the stack is where to
 * look; never for an expected one (singularity's typed errors, BackupError, ConfigError, ..., and the
 * runner's TimeoutError, CancelledError), whose message and hint say it all. SINGULARITY_DEBUG=1 shows
 * every stack, as it does for the errors of a command. The record (`runs show --json`) always keeps it.
 */
export function showsStack(error: Pick<RunError, 'name'>, env: NodeJS.ProcessEnv = process.env): boolean {
  return Boolean(env.SINGULARITY_DEBUG) || UNFORESEEN.has(error.name);
}

/** A failed attempt's error: the message, the hint under it, then (see showsStack) the stack's first frames. */
export function renderRunError(error: RunError, env: NodeJS.ProcessEnv = process.env): string[] {
  const lines = [`${error.name}: ${error.message}`];
  if (error.hint) lines.push(error.hint.replace(/^/gm, '  '));
  if (error.stack && showsStack(error, env)) lines.push(...error.stack.split('\n').filter((line) => /^\s+at /.test(line)).slice(0, 5));
  return lines;
}
