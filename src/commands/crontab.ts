import type { GlobalOptions } from '../cli.js';
export async function crontabPrint(_globals: GlobalOptions): Promise<number> {
  throw new Error('crontab: being written');
}
export async function crontabCheck(_file: string, _opts: { json?: boolean }, _globals: GlobalOptions): Promise<number> {
  throw new Error('crontab: being written');
}
export async function crontabNext(_file: string | undefined, _opts: { hours: string; json?: boolean }, _globals: GlobalOptions): Promise<number> {
  throw new Error('crontab: being written');
}
