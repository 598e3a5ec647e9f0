import type { GlobalOptions } from '../cli.js';
export async function runSchedulerCommand(_opts: { crontab?: string; log: 'text' | 'json' }, _globals: GlobalOptions): Promise<number> {
  throw new Error('run-scheduler: being written');
}
