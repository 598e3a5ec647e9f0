// What every command shares: the global flags, and the one way a command opens the database (and
// closes it, also when Ctrl-C or a process manager's SIGTERM interrupts the work).
import type { Config } from '../core/config.js';
import { openDatabase, type OpenOptions } from '../core/db.js';
import type { Database } from '../core/database.js';
import { HardStopError } from '../core/errors.js';

/** The flags every command takes (the launcher defines them). */
export interface GlobalOptions {
  config?: string;
  home?: string;
  role?: string;
  json?: boolean;
}

/**
 * Open the database for a command. Starting the embedded server takes seconds (creating it, more): on a
 * terminal, one line says so, so that nobody takes the wait for a hang.
 */
export function openCommandDatabase(config: Config, options: Omit<OpenOptions, 'onEmbeddedStart'> = {}): Promise<Database> {
  return openDatabase(config, { ...options, onEmbeddedStart: announceEmbeddedStart });
}

export function announceEmbeddedStart({ home, creating }: { home: string; creating: boolean }): void {
  if (!process.stderr.isTTY) return;
  process.stderr.write(creating
    ? `creating the embedded database in ${home} (the first run takes about 10 s)...\n`
    : `starting the embedded database in ${home}...\n`);
}

/**
 * Run `work` with the database open and SIGINT/SIGTERM turned into `signal` (a task run in progress is
 * then recorded as cancelled). After a hard stop the task may still hold a connection: the database is
 * left for the process's exit to close.
 */
export async function withDatabase<T>(
  config: Config,
  work: (db: Database, signal: AbortSignal) => Promise<T>,
  options: Omit<OpenOptions, 'onEmbeddedStart'> = {},
): Promise<T> {
  const db = await openCommandDatabase(config, options);
  const interrupt = new AbortController();
  const onSignal = () => interrupt.abort();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  let hardStop = false;
  try {
    return await work(db, interrupt.signal);
  } catch (error) {
    hardStop = error instanceof HardStopError;
    throw error;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    if (!hardStop) await db.close();
  }
}
