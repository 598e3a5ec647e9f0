// What every doctor check returns: a verdict, what it found, and (for anything not ok) what to do.

export type Verdict = 'ok' | 'warn' | 'fail';

export interface Check {
  id: string;
  title: string;
  verdict: Verdict;
  detail: string;
  /** What to do about it; present whenever the verdict is not ok. */
  fix?: string;
  /** Structured facts behind the verdict, for --json readers (the schedule check: each task's state). */
  data?: unknown;
}

export interface DoctorReport {
  /** No check failed (warnings allowed). */
  ok: boolean;
  checks: Check[];
}

export const ok = (id: string, title: string, detail: string): Check => ({ id, title, verdict: 'ok', detail });
export const warn = (id: string, title: string, detail: string, fix: string): Check => ({ id, title, verdict: 'warn', detail, fix });
export const fail = (id: string, title: string, detail: string, fix: string): Check => ({ id, title, verdict: 'fail', detail, fix });

/** Run a check; an error it did not expect becomes a failed check instead of ending the diagnosis. */
export async function guarded(id: string, title: string, check: () => Promise<Check> | Check): Promise<Check> {
  try {
    return await check();
  } catch (error) {
    return fail(id, title, `the check itself failed: ${(error as Error).message}`, 'Run the check again; if it keeps failing, report it with this message.');
  }
}
