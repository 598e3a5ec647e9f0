// Typed errors. The library throws these; the one handler in cli.ts turns them into a message and an exit code.

/** 2 is also `status`'s and `doctor`'s code for a database that cannot be reached (health down). */
export const EXIT = { ok: 0, failed: 1, usage: 2, unreachable: 2 } as const;

export class SingularityError extends Error {
  /** 1: the task failed or the system is unhealthy; 2: bad usage or configuration. */
  readonly exitCode: number = EXIT.failed;
  /** What the user can do about it, printed under the message. */
  readonly hint?: string;

  constructor(message: string, options?: { hint?: string; cause?: unknown }) {
    super(message, { cause: options?.cause });
    this.name = new.target.name;
    this.hint = options?.hint;
  }
}

/** Bad flags, unknown task, bad arguments. */
export class UsageError extends SingularityError {
  override readonly exitCode = EXIT.usage;
}

/** A configuration file or environment variable that cannot be used. */
export class ConfigError extends SingularityError {
  override readonly exitCode = EXIT.usage;
}

/** The database cannot be reached or opened: a configuration problem from the user's side. */
export class DatabaseUnavailableError extends SingularityError {
  override readonly exitCode = EXIT.usage;
}

/** A task run ended in failure (after its retries). Carries the run so the handler can show it. */
export class TaskFailedError extends SingularityError {
  override readonly exitCode = EXIT.failed;
  constructor(
    message: string,
    readonly run: unknown,
    options?: { hint?: string; cause?: unknown },
  ) {
    super(message, options);
  }
}

/** A run id or other record that does not exist. */
export class NotFoundError extends SingularityError {
  override readonly exitCode = EXIT.usage;
}

/** A run could not be stopped cooperatively within its grace period; the process must exit to stop it. */
export class HardStopError extends TaskFailedError {}

export function isSingularityError(error: unknown): error is SingularityError {
  return error instanceof SingularityError;
}

/** A crontab file with problems; the message lists each as PATH:LINE:COL: message. */
export class CrontabError extends SingularityError {
  override readonly exitCode = EXIT.usage;
  constructor(
    readonly source: string,
    readonly problems: ReadonlyArray<{ line: number; column: number; message: string }>,
  ) {
    super(
      `${problems.length} problem${problems.length === 1 ? '' : 's'} in the crontab ${source}:\n` +
        problems.map((p) => `${source}:${p.line}:${p.column}: ${p.message}`).join('\n'),
      { hint: "Fix these lines; 'singularity crontab check FILE' checks a crontab without running anything." },
    );
  }
}
