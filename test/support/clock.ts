// A clock the test moves by hand: the scheduler's sleeps end when the test moves time past them.
import type { Clock } from '../../src/scheduler/scheduler.js';

interface Waiter {
  at: number;
  resolve: () => void;
  /** Takes the waiter's abort listener off its signal: a long test sleeps thousands of times on one. */
  detach: () => void;
}

export class FakeClock implements Clock {
  private time: number;
  private waiters: Waiter[] = [];

  constructor(start: Date) {
    this.time = start.getTime();
  }

  now(): Date {
    return new Date(this.time);
  }

  sleep(ms: number, signal: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      if (signal.aborted) return resolve();
      const onAbort = () => this.release(waiter);
      const waiter: Waiter = { at: this.time + ms, resolve, detach: () => signal.removeEventListener('abort', onAbort) };
      this.waiters.push(waiter);
      signal.addEventListener('abort', onAbort, { once: true });
    });
  }

  /** How many sleeps are pending: a scheduler that sleeps is idle. */
  get sleepers(): number {
    return this.waiters.length;
  }

  /** When the earliest pending sleep ends. */
  get nextWake(): Date {
    return new Date(Math.min(...this.waiters.map((w) => w.at)));
  }

  /** Move to `date` (forwards or backwards); sleeps that end by then end now. */
  set(date: Date): void {
    this.time = date.getTime();
    for (const waiter of this.waiters.filter((w) => w.at <= this.time)) this.release(waiter);
  }

  private release(waiter: Waiter): void {
    this.waiters = this.waiters.filter((w) => w !== waiter);
    waiter.detach();
    waiter.resolve();
  }
}

/** Poll `condition` until it holds (or fail after `timeoutMs`). */
export async function until(condition: () => boolean | Promise<boolean>, timeoutMs = 20_000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}
