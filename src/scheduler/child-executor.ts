// Runs each attempt in a child process, so that a crash, an out-of-memory kill or a hung native call
// takes down that child and never the scheduler. The child gets SIGTERM when the attempt's signal fires
// (timeout, cancellation, shutdown) and SIGKILL when its grace runs out (the runner decides when).
import { fork, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Config } from '../core/config.js';
import type { AttemptRun, Executor } from '../core/runner.js';

// The compiled child beside this file; when running from source (the tests), the built one in dist/.
const CHILD_SCRIPT = [new URL('../task-process.js', import.meta.url), new URL('../../dist/task-process.js', import.meta.url)]
  .map((url) => fileURLToPath(url))
  .find((path) => existsSync(path))!;

/** What the parent sends the child (src/task-process.ts), and what the child answers. */
export interface StartMessage {
  type: 'start';
  config: Config;
  task: string;
  run: AttemptRun;
}

export type ChildMessage =
  | { type: 'progress'; message: string; share?: number }
  | { type: 'done'; ok: true; result: unknown }
  | { type: 'done'; ok: false; error: { name: string; message: string; stack?: string; exitCode?: number; hint?: string } };

export class ChildExitError extends Error {
  override name = 'ChildExitError';
}

export interface ChildExecutor {
  executor: Executor;
  /** Children still running (for a shutdown that cannot wait). */
  readonly children: ReadonlySet<ChildProcess>;
  /** SIGKILL every running child at once. */
  killAll(): void;
}

/** An error that crossed the process boundary, rebuilt with its name, stack and exit code. */
function rebuild(error: { name: string; message: string; stack?: string; exitCode?: number; hint?: string }): Error {
  const rebuilt = Object.assign(new Error(error.message), { exitCode: error.exitCode, hint: error.hint });
  rebuilt.name = error.name;
  if (error.stack) rebuilt.stack = error.stack;
  return rebuilt;
}

function describeExit(code: number | null, signal: NodeJS.Signals | null): string {
  if (signal === 'SIGKILL') return 'was killed (SIGKILL: out of memory, or killed by hand)';
  if (signal === 'SIGABRT') return 'was aborted (SIGABRT: node does this when it runs out of memory)';
  if (signal) return `was killed by ${signal}`;
  return `exited with code ${code} before reporting a result (a crash)`;
}

export function childExecutor(): ChildExecutor {
  const children = new Set<ChildProcess>();
  const executor: Executor = ({ config }, task, run, signal, onProgress) => {
    const memory = config.scheduler.childMaxMemoryMb;
    const child = fork(CHILD_SCRIPT, [], {
      serialization: 'advanced',
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      execArgv: memory ? [`--max-old-space-size=${memory}`] : [],
    });
    children.add(child);
    const start: StartMessage = { type: 'start', config, task: task.name, run: { id: run.id, args: run.args, attempt: run.attempt, trigger: run.trigger, flowDone: run.flowDone } };
    child.send(start);
    const stop = () => child.kill('SIGTERM');
    signal.addEventListener('abort', stop, { once: true });
    const done = new Promise<unknown>((resolve, reject) => {
      let settled = false;
      child.on('message', (message: ChildMessage) => {
        if (message.type === 'progress') onProgress?.(message.message, message.share);
        else if (message.type === 'done' && !settled) {
          settled = true;
          if (message.ok) resolve(message.result);
          else reject(rebuild(message.error));
        }
      });
      child.once('error', (error) => {
        if (!settled) (settled = true), reject(error);
      });
      child.once('exit', (code, exitSignal) => {
        children.delete(child);
        signal.removeEventListener('abort', stop);
        if (!settled) (settled = true), reject(new ChildExitError(`the task's process (pid ${child.pid}) ${describeExit(code, exitSignal)}`));
      });
    });
    return { done, kill: () => child.kill('SIGKILL') };
  };
  return {
    executor,
    children,
    killAll: () => children.forEach((child) => child.kill('SIGKILL')),
  };
}
