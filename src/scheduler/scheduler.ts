// run-scheduler's engine: turns crontab entries into runs, exactly one per tick however many schedulers
// share the database (the run history's unique dedupe key decides every race), applies the missed-tick
// policies after an outage or a clock jump, reaps and retries runs whose process died, and shuts down
// without losing track of a run.
import { statSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Config } from '../core/config.js';
import type { Database } from '../core/database.js';
import { carryRun, claimRun, runTask, type Executor, type RunRequest } from '../core/runner.js';
import * as runs from '../core/runs.js';
import type { Run } from '../core/runs.js';
import * as registry from '../core/schedulers.js';
import type { TaskDefinition } from '../core/task/define.js';
import type { TaskSet } from '../core/task/registry.js';
import { Notifier, ping } from '../notify/index.js';
import { syncPgCronHistory } from '../pgcron/history.js';
import { tasksInPgCron } from '../pgcron/placement.js';
import { listPauses, pauseReason, type Pause } from '../schedule/pauses.js';
import { endExpiredPauses } from '../steering/steer.js';
import { childExecutor } from './child-executor.js';
import type { Crontab, CrontabEntry } from '../schedule/crontab.js';
import { nextTick, periodMs, ticksBetween } from '../schedule/ticks.js';

/** The scheduler's notion of time; tests inject one they can move. */
export interface Clock {
  now(): Date;
  /** Resolves after `ms` of this clock's time, or early when `signal` aborts. */
  sleep(ms: number, signal: AbortSignal): Promise<void>;
}

export const systemClock: Clock = {
  now: () => new Date(),
  sleep: (ms, signal) => sleep(ms, undefined, { signal }).catch(() => {}),
};

export type LogLevel = 'info' | 'warn' | 'error';
export type Log = (level: LogLevel, message: string, fields?: Record<string, unknown>) => void;

export interface SchedulerOptions {
  db: Database;
  config: Config;
  tasks: TaskSet;
  crontab: Crontab;
  version: string;
  clock?: Clock;
  /** 'child' (default): every attempt in its own process. 'in-process' trades isolation for speed. */
  isolation?: 'child' | 'in-process';
  log?: Log;
  /** Re-read the crontab (SIGHUP, a changed file); throws when the new one has problems. */
  reloadCrontab?: () => Promise<Crontab>;
  /** The longest the loop sleeps between looks at the clock, so that a wall-clock jump is noticed. */
  maxSleepMs?: number;
}

/** A tick this close to now is run as on time; older ones are missed and follow the entry's policy. */
const ON_TIME_MS = 60_000;
/** At most this many ticks of one entry are looked at in one pass (a long outage of a frequent entry). */
const MAX_TICKS_PER_PASS = 1_000;
const MAX_SLEEP_MS = 30_000;

export class Scheduler {
  private readonly db: Database;
  private readonly config: Config;
  private readonly clock: Clock;
  private readonly log: Log;
  private readonly executor?: Executor;
  private readonly killAll: () => void;
  private crontab: Crontab;
  private entries: CrontabEntry[] = [];
  private readonly cursors = new Map<string, Date>();
  private readonly periods = new Map<string, number>();
  private placed = new Map<string, string>();
  /** The pauses in the database, read at each pass of the loop. */
  private pauses = new Map<string, Pause>();
  private readonly inFlight = new Set<Promise<unknown>>();
  private readonly stopping = new AbortController();
  private readonly interrupt = new AbortController();
  private record?: registry.SchedulerRecord;
  private stopReason = 'stopped';
  private crontabStamp?: string;
  private maintaining = false;
  private readonly timers: NodeJS.Timeout[] = [];
  /** Alerts: every housekeeping pass turns the status into incidents and delivers their messages. */
  private readonly notifier: Notifier;

  constructor(private readonly options: SchedulerOptions) {
    this.db = options.db;
    this.config = options.config;
    this.clock = options.clock ?? systemClock;
    this.log = options.log ?? (() => {});
    const children = options.isolation === 'in-process' ? undefined : childExecutor();
    this.executor = children?.executor;
    this.killAll = children ? () => children.killAll() : () => {};
    this.crontab = options.crontab;
    this.entries = options.crontab.entries.filter((e) => !e.onStart);
    this.notifier = new Notifier({ db: this.db, config: this.config, tasks: options.tasks, crontab: async () => this.crontab, log: this.log });
  }

  /** Runs until stop() and every run has ended. */
  async run(): Promise<void> {
    try {
      await this.refreshPlacement();
      this.record = await registry.registerScheduler(this.db, this.describe());
      this.crontabStamp = this.stampOf(this.crontab.source);
      this.log('info', `scheduler ${this.record.id} started (pid ${process.pid}): ${this.entries.length} scheduled entries from ${this.crontab.source}`);
      for (const [task, job] of this.placed) this.log('info', `${task}: runs in pg_cron (job ${job}); this scheduler leaves it alone`);
      this.timers.push(setInterval(() => void this.heartbeat(), this.config.runs.heartbeatMs));
      this.timers.push(setInterval(() => void this.maintain(), this.config.scheduler.pollMs));
      await this.initCursors(this.entries);
      await this.runOnStart();
      await this.loop();
      await this.drain();
    } finally {
      this.timers.forEach(clearInterval);
      if (this.record) await registry.stopScheduler(this.db, this.record.id, this.stopReason).catch(() => {});
    }
  }

  /** First call: stop taking ticks, give running runs the shutdown grace. Second call: stop them now. */
  stop(why: string): void {
    if (!this.stopping.signal.aborted) {
      this.stopReason = why;
      const grace = this.config.scheduler.shutdownGraceMs;
      this.log('info', `${why}: taking no new ticks; ${this.inFlight.size} run(s) executing get up to ${grace} ms to finish`);
      this.stopping.abort();
      const timer = setTimeout(() => this.interruptRuns(`interrupted: the scheduler shut down (${why}) before the run finished within the ${grace} ms shutdown grace`), grace);
      timer.unref();
      return;
    }
    this.log('warn', `${why} again: stopping every run now`);
    this.interruptRuns(`interrupted: the scheduler was stopped at once (${why} twice)`);
    this.killAll();
  }

  /** Re-read the crontab; a crontab with problems is refused and the one in force stays. */
  async reload(why: string): Promise<boolean> {
    if (!this.options.reloadCrontab) return false;
    let next: Crontab;
    // A refused file is not read again until it changes again.
    this.crontabStamp = this.stampOf(this.crontab.source);
    try {
      next = await this.options.reloadCrontab();
    } catch (error) {
      this.log('error', `${why}: the new crontab was refused; the one in force stays.\n${(error as Error).message}`);
      return false;
    }
    const before = new Map(this.entries.map((e) => [e.id, e]));
    const entries = next.entries.filter((e) => !e.onStart);
    const now = this.clock.now();
    const kept = entries.filter((e) => sameSchedule(before.get(e.id), e));
    for (const entry of entries) if (!kept.includes(entry)) this.cursors.set(entry.id, now);
    for (const id of before.keys()) if (!entries.some((e) => e.id === id)) this.cursors.delete(id);
    this.crontab = next;
    this.entries = entries;
    await this.refreshPlacement().catch(() => {});
    if (this.record) await registry.updateSchedulerEntries(this.db, this.record.id, next.source, ...this.summary()).catch(() => {});
    this.log('info', `${why}: crontab reloaded: ${entries.length} scheduled entries (${entries.length - kept.length} new or changed, ${before.size - kept.length} removed or changed)`);
    return true;
  }

  /** Resolves when no run is in flight (tests, shutdown). */
  async drain(): Promise<void> {
    while (this.inFlight.size) await Promise.allSettled([...this.inFlight]);
  }

  get executing(): number {
    return this.inFlight.size;
  }

  get id(): number | undefined {
    return this.record?.id;
  }

  private describe() {
    const [entries, placedInPgCron] = this.summary();
    return { version: this.options.version, crontab: this.crontab.source, entries, placedInPgCron };
  }

  private summary(): [registry.SchedulerEntrySummary[], string[]] {
    const entries = this.crontab.entries.map((e) => ({ id: e.id, schedule: e.schedule, task: e.task, timezone: e.timezone, args: e.args }));
    return [entries, [...this.placed.keys()]];
  }

  private async loop(): Promise<void> {
    while (!this.stopping.signal.aborted) {
      const now = this.clock.now();
      let failed = false;
      try {
        this.pauses = new Map((await listPauses(this.db)).map((p) => [p.entry, p]));
      } catch (error) {
        // The last pauses read stay in force; a claim this pass will most likely fail the same way.
        failed = true;
        this.log('warn', `could not read the schedule's pauses (${(error as Error).message}); the last ones read stay in force`);
      }
      for (const entry of this.entries) {
        if (this.stopping.signal.aborted) break;
        try {
          await this.handleDue(entry, now);
        } catch (error) {
          failed = true;
          this.log('warn', `${entry.id}: could not claim its tick (${(error as Error).message}); trying again`);
        }
      }
      // After a failure (the database is away) wait a real second, whatever the scheduler's clock says.
      if (failed) await systemClock.sleep(1_000, this.stopping.signal);
      else await this.clock.sleep(Math.max(Math.min(this.msUntilNextTick(now), this.options.maxSleepMs ?? MAX_SLEEP_MS), 0), this.stopping.signal);
    }
  }

  private msUntilNextTick(now: Date): number {
    let soonest = Infinity;
    for (const entry of this.entries) {
      const cursor = this.cursors.get(entry.id)!;
      soonest = Math.min(soonest, nextTick(entry, cursor > now ? cursor : now).getTime() - now.getTime());
    }
    return soonest;
  }

  private period(entry: CrontabEntry): number {
    let period = this.periods.get(entry.expression!);
    if (period === undefined) this.periods.set(entry.expression!, (period = periodMs(entry)));
    return period;
  }

  /** Where each entry resumes: its latest recorded tick (so an outage shows as missed ticks), else now. */
  private async initCursors(entries: CrontabEntry[]): Promise<void> {
    const latest = await runs.latestTicks(this.db, entries.map((e) => e.id));
    const now = this.clock.now();
    for (const entry of entries) this.cursors.set(entry.id, latest.get(entry.id) ?? now);
  }

  /** @setup / @reboot entries, in file order, before the first tick. */
  private async runOnStart(): Promise<void> {
    for (const entry of this.crontab.entries.filter((e) => e.onStart)) {
      if (this.stopping.signal.aborted) return;
      if (entry.task === 'setup') {
        await this.runSetupFlow();
        continue;
      }
      const task = this.options.tasks.find(entry.task)!;
      const { run, claimed } = await claimRun(this.runner(), task, this.request(entry, this.clock.now(), 'scheduler', false));
      if (claimed) await this.track(this.carry(task, run, entry));
      else this.log('info', `${entry.id} (on start): ${run.reason ?? `run ${run.id} already exists`}`);
    }
  }

  private async runSetupFlow(): Promise<void> {
    const { runSetup } = await import('../core/setup.js');
    this.log('info', 'setup: running the set-up flow');
    const result = await runSetup({
      db: this.db,
      config: this.config,
      tasks: this.options.tasks,
      signal: this.interrupt.signal,
      runStep: (task, args, { dedupeKey, flowDone, onClaimed }) => runTask(this.runner(), task, { trigger: 'setup', args, dedupeKey, flowDone, onClaimed, signal: this.interrupt.signal }),
    });
    for (const step of result.steps) this.log(step.status === 'failed' ? 'error' : 'info', `setup step ${step.order} ${step.task}: ${step.status}${step.reason ? ` (${step.reason})` : ''}`);
    if (!result.ok) this.log('error', 'setup did not finish; the scheduler carries on with its entries, and the next start resumes set-up at the failed step');
  }

  /** Claim and start what is due for one entry; record what was missed. */
  private async handleDue(entry: CrontabEntry, now: Date): Promise<void> {
    const cursor = this.cursors.get(entry.id)!;
    if (now <= cursor) return; // the clock went back: nothing is due until it passes the last tick handled
    const found = ticksBetween(entry, cursor, now, MAX_TICKS_PER_PASS);
    const { dropped } = found;
    if (found.ticks.length === 0) return;
    if (this.placed.has(entry.task)) {
      this.cursors.set(entry.id, found.ticks.at(-1)!);
      return;
    }
    // While a pause holds, every tick that comes due is recorded as skipped: not run, not missed, not caught up later.
    const pause = this.pauses.get(entry.id);
    if (pause && (!pause.until || pause.until > now)) {
      const recorded = await runs.insertMissedRuns(this.db, this.unservedRun(entry), found.ticks, pauseReason(pause), 'skipped');
      if (recorded) this.log('info', `${entry.id}: ${recorded} tick(s) skipped: ${pauseReason(pause)}`);
      this.cursors.set(entry.id, found.ticks.at(-1)!);
      return;
    }
    const ticks = found.ticks;
    const latest = ticks.at(-1)!;
    const onTime = now.getTime() - latest.getTime() < Math.min(this.period(entry), ON_TIME_MS) ? latest : undefined;
    const late = onTime ? ticks.slice(0, -1) : ticks;
    const eligible = late.filter((tick) => now.getTime() - tick.getTime() <= entry.maxLatenessMs);
    const backfill =
      entry.missed === 'all' ? eligible.slice(-entry.maxCatchUp)
      : entry.missed === 'once' && !onTime ? eligible.slice(-1)
      : [];
    const missed = late.filter((tick) => !backfill.includes(tick));

    if (missed.length) {
      const recorded = await runs.insertMissedRuns(
        this.db,
        this.unservedRun(entry),
        missed,
        `missed: no scheduler ran this tick in time (policy missed=${entry.missed}` +
          (dropped ? `; ${dropped} older ticks were not recorded` : '') + ')',
      );
      if (recorded) this.log('warn', `${entry.id}: ${recorded} tick(s) missed, ${missed[0]!.toISOString()} to ${missed.at(-1)!.toISOString()} (missed=${entry.missed})`);
    }
    this.cursors.set(entry.id, missed.at(-1) ?? cursor);

    // Catch-up runs go first, oldest first, one after another (they would overlap otherwise).
    if (backfill.length) {
      const queue = [...backfill.map((tick) => ({ tick, trigger: 'backfill' as const })), ...(onTime ? [{ tick: onTime, trigger: 'scheduler' as const }] : [])];
      this.cursors.set(entry.id, latest);
      this.log('info', `${entry.id}: catching up ${backfill.length} missed tick(s) (missed=${entry.missed})`);
      void this.track(this.runQueue(entry, queue));
      return;
    }
    if (onTime) {
      await this.fire(entry, onTime, 'scheduler'); // a claim that throws leaves the cursor before this tick: retried
      this.cursors.set(entry.id, onTime);
    }
  }

  private async runQueue(entry: CrontabEntry, queue: Array<{ tick: Date; trigger: 'backfill' | 'scheduler' }>): Promise<void> {
    for (const { tick, trigger } of queue) {
      if (this.stopping.signal.aborted) return;
      try {
        await (await this.fire(entry, tick, trigger)).finished;
      } catch (error) {
        this.log('warn', `${entry.id}: catch-up of ${tick.toISOString()} failed to start: ${(error as Error).message}`);
      }
    }
  }

  /** Claim one tick; the run continues in the background. Resolves once claimed; `finished` at the run's end. */
  private async fire(entry: CrontabEntry, tick: Date, trigger: 'scheduler' | 'backfill'): Promise<{ finished: Promise<unknown> }> {
    if (entry.task === 'setup') return { finished: this.track(this.runSetupFlow()) };
    const task = this.options.tasks.find(entry.task)!;
    const { run, claimed } = await claimRun(this.runner(), task, this.request(entry, tick, trigger, true));
    if (!claimed) {
      if (run.state === 'skipped' && run.dedupeKey === runs.tickKey(entry.id, tick)) this.log('warn', `${entry.id} @ ${tick.toISOString()}: skipped: ${run.reason}`);
      return { finished: Promise.resolve() };
    }
    this.log('info', `${entry.id} @ ${tick.toISOString()}: run ${run.id} started${trigger === 'backfill' ? ' (catch-up)' : ''}`);
    return { finished: this.track(this.carry(task, run, entry)) };
  }

  private async carry(task: TaskDefinition, run: Run, entry?: CrontabEntry): Promise<void> {
    const request: RunRequest = { trigger: run.trigger, args: run.args, signal: this.interrupt.signal, entry: entry?.id };
    // Dead-man pings (healthchecks.io style), off the run's path: a slow monitor never delays a run.
    const pingTo = (phase: 'start' | 'success' | 'fail') => entry?.ping && void ping(entry.ping, phase, this.log);
    pingTo('start');
    try {
      const final = await carryRun(this.runner(), task, run, request);
      pingTo(final.state === 'completed' ? 'success' : 'fail');
      const outcome = final.state === 'completed' ? `completed in ${final.durationMs} ms${final.summary ? `: ${final.summary}` : ''}`
        : `${final.state}${final.error ? `: ${final.error.message}` : final.reason ? `: ${final.reason}` : ''}`;
      this.log(final.state === 'completed' ? 'info' : 'warn', `run ${final.id} ${final.task}: ${outcome}`);
    } catch (error) {
      pingTo('fail');
      this.log('error', `run ${run.id} ${task.name}: its record could not be written (${(error as Error).message}); a live scheduler will mark it when its heartbeat goes stale`);
    }
  }

  /** The record of an entry's tick that no run serves (missed, or skipped while paused). */
  private unservedRun(entry: CrontabEntry) {
    const task = this.options.tasks.find(entry.task);
    return { task: entry.task, args: entry.args, trigger: 'scheduler' as const, maxAttempts: task?.retry.maxAttempts ?? 1, timeoutMs: entry.timeoutMs, concurrencyKey: null, entry: entry.id };
  }

  private request(entry: CrontabEntry, tick: Date, trigger: 'scheduler' | 'backfill', dedupe: boolean): RunRequest {
    return {
      trigger,
      args: entry.args,
      dedupeKey: dedupe ? runs.tickKey(entry.id, tick) : undefined,
      scheduledFor: tick,
      entry: entry.id,
      timeoutMs: entry.timeoutMs,
      overlap: entry.overlap,
      signal: this.interrupt.signal,
    };
  }

  private runner() {
    return { db: this.db, config: this.config, executor: this.executor, tasks: this.options.tasks };
  }

  private track<T>(promise: Promise<T>): Promise<T> {
    this.inFlight.add(promise);
    void promise.finally(() => this.inFlight.delete(promise)).catch(() => {});
    return promise;
  }

  private interruptRuns(reason: string): void {
    if (!this.interrupt.signal.aborted) this.interrupt.abort(new Error(reason));
  }

  private async heartbeat(): Promise<void> {
    if (this.record) await registry.heartbeatScheduler(this.db, this.record.id).catch(() => {});
  }

  /** Every pollMs: mark dead runs, retry what is due, notice pg_cron placement and a changed crontab file. */
  private async maintain(): Promise<void> {
    if (this.maintaining) return;
    this.maintaining = true;
    void this.notifier.tick(); // never rejects; a pass still running is joined, not doubled
    try {
      for (const run of await runs.reapStaleRuns(this.db, this.config.runs)) {
        this.log('warn', `run ${run.id} ${run.task}: its process stopped (last heartbeat ${run.heartbeatAt?.toISOString()} from pid ${run.pid} on ${run.host}); now ${run.state}`);
      }
      if (this.stopping.signal.aborted) return;
      await this.refreshPlacement();
      for (const pause of await endExpiredPauses(this.db)) this.log('info', `${pause.entry}: its pause ended (until ${pause.until!.toISOString()}); runs again`);
      // pg_cron's direct-command jobs and paused jobs are recorded as soon as a scheduler looks.
      if (this.placed.size) await syncPgCronHistory(this.db, this.options.tasks);
      for (const { id, task: name } of await runs.dueRetryableRuns(this.db, this.config.runs.heartbeatMs * 2)) {
        const task = this.options.tasks.find(name);
        if (!task || this.placed.has(name)) continue;
        const run = await runs.claimRetryableRun(this.db, id);
        if (!run) continue;
        this.log('info', `run ${run.id} ${name}: attempt ${run.attempt} of ${run.maxAttempts} started (retry)`);
        void this.track(this.carry(task, run, this.entries.find((e) => e.id === run.entry)));
      }
      if (this.crontabStamp && this.stampOf(this.crontab.source) !== this.crontabStamp) await this.reload('the crontab file changed');
    } catch (error) {
      this.log('warn', `housekeeping failed (${(error as Error).message}); trying again in ${this.config.scheduler.pollMs} ms`);
    } finally {
      this.maintaining = false;
    }
  }

  private async refreshPlacement(): Promise<void> {
    const placed = await tasksInPgCron(this.db);
    for (const [task] of placed) {
      if (this.options.tasks.find(task)?.engine !== 'sql') placed.delete(task);
    }
    this.placed = placed;
  }

  /** A file's modification stamp, to notice edits without a signal. Undefined for the built-in crontab. */
  private stampOf(source: string): string | undefined {
    if (!this.options.reloadCrontab) return undefined;
    try {
      const stat = statSync(source);
      return `${stat.mtimeMs}:${stat.size}`;
    } catch {
      return undefined;
    }
  }
}

function sameSchedule(a: CrontabEntry | undefined, b: CrontabEntry): boolean {
  return !!a && a.expression === b.expression && a.timezone === b.timezone;
}
