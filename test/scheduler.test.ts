// The scheduler with an injected clock: exactly-once ticks under racing schedulers, missed-tick policies,
// overlap, DST, clock jumps, reload, isolation of runs in child processes, liveness. Real databases.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, beforeEach, describe, expect, it, onTestFinished } from 'vitest';
import type { Config } from '../src/core/config.js';
import type { Database } from '../src/core/database.js';
import type { Run } from '../src/core/runs.js';
import { parseCrontab, readCrontab } from '../src/schedule/crontab.js';
import { Scheduler } from '../src/scheduler/scheduler.js';
import { loadTasks } from '../src/tasks/index.js';
import { backendNames, createBackend, type Backend } from './support/backends.js';
import { FakeClock, until } from './support/clock.js';

export const FIXTURES = fileURLToPath(new URL('./fixtures/scheduler-tasks.mjs', import.meta.url));
const MINUTE = 60_000;
const at = (iso: string) => new Date(iso);

interface Started {
  scheduler: Scheduler;
  db: Database;
  logs: string[];
  done: Promise<void>;
  stop(): Promise<void>;
}

describe.each(backendNames)('scheduler on %s', (backendName) => {
  let backend: Backend;
  let db: Database;
  let dir: string;

  beforeAll(async () => {
    backend = await createBackend(backendName);
    db = await backend.open();
    dir = join(backend.config.home, '..');
  });
  afterAll(async () => {
    await db?.close();
    await backend?.dispose();
  });
  beforeEach(async () => {
    await db.query('delete from task_runs');
    await db.query('delete from schedulers');
  });

  function schedulerConfig(extra: Partial<Config['scheduler']> = {}): Config {
    return { ...backend.config, taskModules: [FIXTURES], scheduler: { ...backend.config.scheduler, pollMs: 200, shutdownGraceMs: 2_000, childMaxMemoryMb: 96, ...extra } };
  }

  async function start(
    crontabText: string,
    clock: FakeClock,
    options: { isolation?: 'child' | 'in-process'; crontabFile?: string; config?: Config } = {},
  ): Promise<Started> {
    const config = options.config ?? schedulerConfig();
    const tasks = await loadTasks(config);
    const crontab = options.crontabFile
      ? await readCrontab(options.crontabFile, tasks)
      : (() => {
          const { crontab, problems } = parseCrontab(crontabText, { source: 'test crontab', tasks });
          expect(problems).toEqual([]);
          return crontab;
        })();
    const schedulerDb = await backend.open();
    const logs: string[] = [];
    const scheduler = new Scheduler({
      db: schedulerDb,
      config,
      tasks,
      crontab,
      version: 'test',
      clock,
      isolation: options.isolation ?? 'in-process',
      log: (level, message) => logs.push(`${level} ${message}`),
      maxSleepMs: 365 * 24 * 60 * MINUTE,
      reloadCrontab: options.crontabFile ? () => readCrontab(options.crontabFile!, tasks) : undefined,
    });
    const done = scheduler.run();
    return {
      scheduler,
      db: schedulerDb,
      logs,
      done,
      async stop() {
        scheduler.stop('test over');
        await done;
        await schedulerDb.close();
      },
    };
  }

  /** Move the clock (to `to`, else to the earliest wake-up) and wait until every scheduler is idle again. */
  async function step(clock: FakeClock, schedulers: Started[], to?: Date): Promise<void> {
    clock.set(to ?? clock.nextWake);
    await until(() => clock.sleepers === schedulers.length, 20_000, 'the schedulers to sleep again');
    await Promise.all(schedulers.map((s) => s.scheduler.drain()));
  }

  async function idle(clock: FakeClock, schedulers: Started[]): Promise<void> {
    await until(() => clock.sleepers === schedulers.length, 20_000, 'the schedulers to start');
    await Promise.all(schedulers.map((s) => s.scheduler.drain()));
  }

  const runsOf = (entry?: string) =>
    db.query<Run>(
      `select id, task, state, trigger, entry, scheduled_for as "scheduledFor", reason, error, attempt, result, dedupe_key as "dedupeKey"
       from task_runs ${entry ? 'where entry = $1' : ''} order by scheduled_for, id`,
      entry ? [entry] : [],
    );

  it('three schedulers on one database over 200 ticks of an every-minute entry: exactly 200 runs, none twice', async () => {
    const clock = new FakeClock(at('2026-01-05T10:00:00Z'));
    const crontab = '* * * * * [id=minutely] fx-note\n';
    const schedulers = await Promise.all([1, 2, 3].map(() => start(crontab, clock)));
    await idle(clock, schedulers);
    for (let i = 0; i < 200; i++) await step(clock, schedulers);
    await Promise.all(schedulers.map((s) => s.stop()));

    const rows = await db.query<{ runs: number; ticks: number; completed: number; first: Date; last: Date }>(
      `select count(*)::int as runs, count(distinct scheduled_for)::int as ticks,
         count(*) filter (where state = 'completed')::int as completed, min(scheduled_for) as first, max(scheduled_for) as last
       from task_runs where entry = 'minutely'`,
    );
    expect(rows[0]).toEqual({ runs: 200, ticks: 200, completed: 200, first: at('2026-01-05T10:01:00Z'), last: at('2026-01-05T13:20:00Z') });
  }, 180_000);

  it('after a 3 h outage: skip records the ticks as missed, once runs one catch-up, all runs a bounded number', async () => {
    const crontab = [
      '*/10 * * * * [id=default overlap=allow] fx-note --label default',
      '*/10 * * * * [id=skip missed=skip overlap=allow] fx-note --label skip',
      '*/10 * * * * [id=once missed=once overlap=allow] fx-note --label once',
      '*/10 * * * * [id=all missed=all max=5 overlap=allow] fx-note --label all',
      '*/10 * * * * [id=late missed=all max=100 lateness=1h overlap=allow] fx-note --label late',
    ].join('\n');
    // Before the outage: every entry ran at 10:00.
    const clock = new FakeClock(at('2026-01-05T09:59:30Z'));
    const before = await start(crontab, clock);
    await idle(clock, [before]);
    await step(clock, [before], at('2026-01-05T10:00:00Z'));
    await before.stop();

    // Back at 13:05: the 18 ticks from 10:10 to 13:00 were missed.
    const after = await start(crontab, new FakeClock(at('2026-01-05T13:05:00Z')));
    await until(() => after.scheduler.executing === 0 && after.logs.some((l) => l.includes('late: catching up')), 20_000, 'the catch-up');
    await after.scheduler.drain();
    await after.stop();

    const summary = async (entry: string) => {
      const rows = (await runsOf(entry)).filter((r) => r.scheduledFor! > at('2026-01-05T10:00:00Z'));
      return {
        missed: rows.filter((r) => r.state === 'missed').length,
        caughtUp: rows.filter((r) => r.trigger === 'backfill' && r.state === 'completed').map((r) => r.scheduledFor!.toISOString().slice(11, 16)),
      };
    };
    expect(await summary('default')).toEqual({ missed: 18, caughtUp: [] }); // frequent entries default to skip
    expect(await summary('skip')).toEqual({ missed: 18, caughtUp: [] });
    expect(await summary('once')).toEqual({ missed: 17, caughtUp: ['13:00'] });
    expect(await summary('all')).toEqual({ missed: 13, caughtUp: ['12:20', '12:30', '12:40', '12:50', '13:00'] });
    expect(await summary('late')).toEqual({ missed: 12, caughtUp: ['12:10', '12:20', '12:30', '12:40', '12:50', '13:00'] });
    const [missed] = (await runsOf('skip')).filter((r) => r.state === 'missed');
    expect(missed!.reason).toMatch(/missed: no scheduler ran this tick in time \(policy missed=skip\)/);
  }, 60_000);

  it('a tick that finds its task still running is recorded as skipped, with the reason', async () => {
    const clock = new FakeClock(at('2026-01-05T10:00:00Z'));
    const s = await start('* * * * * [id=gated] fx-gate\n', clock);
    const gate = (globalThis as { fxGate?: { open(): void; close(): void } }).fxGate!; // the task module is loaded now
    gate.close();
    await idle(clock, [s]);
    clock.set(at('2026-01-05T10:01:00Z'));
    await until(async () => (await runsOf('gated')).some((r) => r.state === 'executing'), 10_000, 'the first run');
    clock.set(at('2026-01-05T10:02:00Z'));
    await until(async () => (await runsOf('gated')).length === 2, 10_000, 'the second tick');
    gate.open();
    await s.scheduler.drain();
    await s.stop();
    const [first, second] = await runsOf('gated');
    expect(first).toMatchObject({ state: 'completed' });
    expect(second).toMatchObject({ state: 'skipped' });
    expect(second!.reason).toMatch(new RegExp(`^overlap: run ${first!.id} of fx-gate is executing since`));
  });

  it('a 02:30 Europe/Berlin entry runs once on the spring-forward day and once on the fall-back day', async () => {
    for (const [from, to, expected] of [
      ['2026-03-28T00:00:00Z', '2026-03-31T00:00:00Z', ['2026-03-28T01:30:00.000Z', '2026-03-29T01:30:00.000Z', '2026-03-30T00:30:00.000Z']],
      ['2026-10-24T00:00:00Z', '2026-10-27T00:00:00Z', ['2026-10-24T00:30:00.000Z', '2026-10-25T00:30:00.000Z', '2026-10-26T01:30:00.000Z']],
    ] as const) {
      await db.query('delete from task_runs');
      const clock = new FakeClock(at(from));
      const s = await start('TZ=Europe/Berlin\n30 2 * * * [id=berlin] fx-note\n', clock);
      await idle(clock, [s]);
      while (clock.nextWake < at(to)) await step(clock, [s]);
      await s.stop();
      const rows = await runsOf('berlin');
      expect(rows.map((r) => r.scheduledFor!.toISOString())).toEqual(expected);
      expect(rows.every((r) => r.state === 'completed' && r.trigger === 'scheduler')).toBe(true);
    }
  });

  it('a clock jumping forward makes missed ticks; a clock jumping back repeats none', async () => {
    const clock = new FakeClock(at('2026-01-05T10:00:00Z'));
    const s = await start('*/5 * * * * [id=jumpy] fx-note\n', clock);
    await idle(clock, [s]);
    await step(clock, [s]); // 10:05
    await step(clock, [s], at('2026-01-05T13:05:00Z')); // forward 3 h: 13:05 on time, 10:10 to 13:00 missed
    await step(clock, [s], at('2026-01-05T11:00:00Z')); // back 2 h 5 min: nothing is due again
    expect(clock.nextWake).toEqual(at('2026-01-05T13:10:00Z'));
    await step(clock, [s]); // 13:10
    await s.stop();
    const rows = await runsOf('jumpy');
    const ran = rows.filter((r) => r.state === 'completed').map((r) => r.scheduledFor!.toISOString().slice(11, 16));
    expect(ran).toEqual(['10:05', '13:05', '13:10']);
    expect(rows.filter((r) => r.state === 'missed')).toHaveLength(35);
  });

  it('@setup runs the set-up flow before the first tick, once ever', async () => {
    // The flow ingests the working folder: an empty one here, not this repository.
    const cwd = process.cwd();
    process.chdir(mkdtempSync(join(tmpdir(), 'sg-setup-cwd-')));
    onTestFinished(() => process.chdir(cwd));
    const crontab = '@setup setup\n* * * * * [id=after-setup] fx-note\n';
    const first = await start(crontab, new FakeClock(at('2026-01-05T10:00:00Z')), { isolation: 'child' });
    await until(() => first.logs.some((l) => l.includes('setup step 6')), 60_000, 'the set-up flow');
    await first.stop();
    const steps = await db.query<{ task: string; state: string }>(`select task, state from task_runs where trigger = 'setup' and parent_run_id is null order by id`);
    expect(steps).toEqual(['migrate-knowledge', 'load-templates', 'seed-plan', 'ingest', 'populate-graph', 'setup-rag'].map((task) => ({ task, state: 'completed' })));
    expect(first.logs.join('\n')).toContain('setup step 3 seed-plan: completed');

    const second = await start(crontab, new FakeClock(at('2026-01-05T11:00:00Z')), { isolation: 'child' });
    await until(() => second.logs.some((l) => l.includes('setup step 6')), 60_000, 'the set-up flow');
    await second.stop();
    expect(second.logs.join('\n')).toMatch(/setup step 3 seed-plan: skipped/);
    expect(await db.query(`select id from task_runs where trigger = 'setup' and parent_run_id is null`)).toHaveLength(6);
  });

  it('a paused entry: each tick is recorded as skipped (paused), none runs; resumed, the next tick runs', async () => {
    await db.query('delete from schedule_pauses');
    onTestFinished(async () => void (await db.query('delete from schedule_pauses')));
    const clock = new FakeClock(at('2026-01-05T10:00:30Z'));
    const s = await start('* * * * * [id=minutely] fx-note\n', clock);
    await idle(clock, [s]);
    await db.query(`insert into schedule_pauses (entry, paused_by, reason) values ('minutely', 'ops@test', 'maintenance window')`);
    await step(clock, [s]);
    await step(clock, [s]);
    const paused = await runsOf('minutely');
    expect(paused.map((r) => [r.state, r.scheduledFor?.toISOString()])).toEqual([
      ['skipped', '2026-01-05T10:01:00.000Z'], ['skipped', '2026-01-05T10:02:00.000Z'],
    ]);
    expect(paused[0]!.reason).toMatch(/^paused by ops@test at .*: maintenance window$/);
    await db.query('delete from schedule_pauses');
    await step(clock, [s]);
    await s.stop();
    expect((await runsOf('minutely')).at(-1)).toMatchObject({ state: 'completed', trigger: 'scheduler', scheduledFor: at('2026-01-05T10:03:00Z') });
  });

  it('alerts: a failing entry over 5 ticks sends one webhook message, its recovery one more; ping= hears start, success and fail', async () => {
    const received: Array<{ path: string; body: { event?: string; kind?: string; task?: string } | null }> = [];
    const server = createServer((req, res) => {
      let body = '';
      req.on('data', (d) => (body += d));
      req.on('end', () => {
        received.push({ path: req.url!, body: body ? JSON.parse(body) : null });
        res.end('ok');
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    onTestFinished(() => new Promise<void>((resolve) => server.close(() => resolve())));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    await db.query('delete from alert_deliveries');
    await db.query('delete from alert_incidents');
    const config = { ...schedulerConfig(), notify: { webhooks: [{ name: 'ops', url: `${base}/hook`, headers: {} }] } };
    const hooks = () => received.filter((r) => r.path === '/hook').map((r) => [r.body!.event, r.body!.kind, r.body!.task]);
    const pings = () => received.filter((r) => r.path.startsWith('/ping/')).map((r) => r.path);

    (globalThis as { fxBroken?: boolean }).fxBroken = true;
    onTestFinished(() => void ((globalThis as { fxBroken?: boolean }).fxBroken = false));
    const clock = new FakeClock(at('2026-01-05T10:00:30Z'));
    const s = await start(`* * * * * [id=flaky ping=${base}/ping/abc] fx-flaky\n`, clock, { config });
    await idle(clock, [s]);
    for (let i = 0; i < 5; i++) await step(clock, [s]);
    expect((await runsOf('flaky')).map((r) => r.state)).toEqual(Array(5).fill('discarded'));
    await expect.poll(hooks, { timeout: 15_000 }).toEqual([['opened', 'failing', 'fx-flaky']]);

    (globalThis as { fxBroken?: boolean }).fxBroken = false;
    await step(clock, [s]);
    await expect.poll(hooks, { timeout: 15_000 }).toEqual([['opened', 'failing', 'fx-flaky'], ['resolved', 'failing', 'fx-flaky']]);
    await s.stop();
    // One message per incident, whatever the number of housekeeping passes: the outbox says the same.
    expect(await db.query(`select event, state from alert_deliveries order by id`)).toEqual([
      { event: 'opened', state: 'delivered' }, { event: 'resolved', state: 'delivered' },
    ]);
    await expect.poll(() => pings().length, { timeout: 10_000 }).toBe(12);
    expect(pings().filter((p) => p === '/ping/abc/start')).toHaveLength(6);
    expect(pings().filter((p) => p === '/ping/abc/fail')).toHaveLength(5);
    expect(pings().filter((p) => p === '/ping/abc')).toHaveLength(1);
  });

  it('registers itself with its entries and heartbeat, and signs off when it stops', async () => {
    const clock = new FakeClock(at('2026-01-05T10:00:00Z'));
    const s = await start('TZ=Europe/Paris\n0 * * * * [id=hourly] fx-note\n', clock);
    await idle(clock, [s]);
    const [live] = await db.query<{ pid: number; version: string; entries: unknown; stoppedAt: Date | null; beat: Date }>(
      `select pid, version, entries, stopped_at as "stoppedAt", heartbeat_at as beat from schedulers`,
    );
    expect(live).toMatchObject({ pid: process.pid, version: 'test', stoppedAt: null });
    expect(live!.entries).toEqual([{ id: 'hourly', schedule: '0 * * * *', task: 'fx-note', timezone: 'Europe/Paris', args: { label: '' } }]);
    await until(async () => {
      const [row] = await db.query<{ beat: Date }>('select heartbeat_at as beat from schedulers');
      return row!.beat > live!.beat;
    }, 5_000, 'a heartbeat');
    await s.stop();
    const [stopped] = await db.query<{ stoppedAt: Date | null; stopReason: string }>(`select stopped_at as "stoppedAt", stop_reason as "stopReason" from schedulers`);
    expect(stopped!.stoppedAt).not.toBeNull();
    expect(stopped!.stopReason).toBe('test over');
  });

  it('reloads a changed crontab without losing a tick, and refuses a broken one, keeping the old', async () => {
    const file = join(dir, 'reload.crontab');
    writeFileSync(file, '*/5 * * * * [id=steady] fx-note\n');
    const clock = new FakeClock(at('2026-01-05T10:04:59Z'));
    const s = await start('', clock, { crontabFile: file });
    await idle(clock, [s]);

    writeFileSync(file, '*/5 * * * * [id=steady] fx-note\n0 0 * * * nosuch-task\n*/7 * * * * fx-note --label x\n');
    expect(await s.scheduler.reload('SIGHUP')).toBe(false);
    expect(s.logs.join('\n')).toMatch(/SIGHUP: the new crontab was refused; the one in force stays[\s\S]*:2:\d+: .*nosuch-task/);
    // The refused file is not read again and again by the housekeeping polls.
    await new Promise((r) => setTimeout(r, 700));
    expect(s.logs.filter((l) => l.includes('was refused'))).toHaveLength(1);

    writeFileSync(file, '*/5 * * * * [id=steady] fx-note\n* * * * * [id=added overlap=allow] fx-note --label added\n');
    expect(await s.scheduler.reload('SIGHUP')).toBe(true);
    await step(clock, [s], at('2026-01-05T10:05:00Z'));
    await s.stop();
    expect((await runsOf('steady')).map((r) => r.scheduledFor!.toISOString())).toEqual(['2026-01-05T10:05:00.000Z']);
    expect((await runsOf('added')).map((r) => r.scheduledFor!.toISOString())).toEqual(['2026-01-05T10:05:00.000Z']);
  });

  it('runs each attempt in a child process: a crash, a hang and an out-of-memory kill are recorded, and the scheduler carries on', async () => {
    const clock = new FakeClock(at('2026-01-05T10:00:00Z'));
    const crontab = [
      '* * * * * [id=exits overlap=allow] fx-crash --mode exit',
      '* * * * * [id=hangs overlap=allow timeout=4s] fx-crash --mode hang',
      '* * * * * [id=hogs overlap=allow] fx-crash --mode memory',
      '* * * * * [id=fine overlap=allow] fx-note',
    ].join('\n');
    const s = await start(crontab, clock, { isolation: 'child' });
    await idle(clock, [s]);
    await step(clock, [s]);
    await step(clock, [s]);
    await s.stop();

    const [exits] = await runsOf('exits');
    expect(exits).toMatchObject({ state: 'discarded' });
    expect(exits!.error).toMatchObject({ name: 'ChildExitError', message: expect.stringMatching(/exited with code 7/) });
    const [hangs] = await runsOf('hangs');
    expect(hangs).toMatchObject({ state: 'discarded' });
    expect(hangs!.error!.message).toMatch(/^timeout of 4000 ms; it did not stop within 500 ms and was killed \(SIGKILL\)/);
    const [hogs] = await runsOf('hogs');
    expect(hogs).toMatchObject({ state: 'discarded' });
    expect(hogs!.error!.message).toMatch(/out of memory/);
    const fine = await runsOf('fine');
    expect(fine.map((r) => r.state)).toEqual(['completed', 'completed']);
    expect((fine[0]!.result as { pid: number }).pid).not.toBe(process.pid);
  }, 60_000);
});
