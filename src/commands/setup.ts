import type { GlobalOptions } from '../cli.js';
export async function setupCommand(_opts: { force?: boolean; json?: boolean }, _globals: GlobalOptions): Promise<number> {
  throw new Error('setup: being written');
}
