// The crontab file: what run-scheduler runs, when, and how. Parsed into entries whose arguments went
// through the same flag parser and schema as the command line, so a line's command can be copied and run.

export type MissedPolicy = 'skip' | 'once' | 'all';

export interface CrontabEntry {
  /** Stable identity of the entry: its runs' dedupe keys and its history hang on it (`id=` or the command). */
  id: string;
  /** 1-based line number in the file. */
  line: number;
  /** The schedule as written: '0 1 * * *', '@daily', '@setup'. */
  schedule: string;
  /** The five-field expression cron-parser gets ('@daily' → '0 0 * * *'); undefined for on-start entries. */
  expression?: string;
  /** @setup / @reboot: run once each time a scheduler starts, before its first tick. */
  onStart: boolean;
  /** IANA time zone the expression is read in. */
  timezone: string;
  /** A task name, or 'setup' for the whole set-up flow. */
  task: string;
  /** The flag tokens as written after the task name. */
  argv: string[];
  /** The arguments, parsed and validated by the task's schema (defaults filled in). */
  args: Record<string, unknown>;
  /** The command as a user types it: 'backup --type daily --keep 7'. */
  command: string;
  missed: MissedPolicy;
  /** missed=all: at most this many catch-up runs per start. */
  maxCatchUp: number;
  /** A tick older than this is never run late, only recorded as missed. */
  maxLatenessMs: number;
  overlap: 'skip' | 'allow';
  timeoutMs: number;
}

export interface CrontabProblem {
  line: number;
  /** 1-based column of the offending token. */
  column: number;
  message: string;
}

export interface Crontab {
  /** Where it came from: a path, or '(default crontab)'. */
  source: string;
  entries: CrontabEntry[];
}
