// run-scheduler as the real, long-running process a process manager keeps alive: killed, stopped,
// restarted under, sharing the database with other commands.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { defaultConfig } from '../src/core/config.js';
import { openDatabase } from '../src/core/db.js';
import type { Database } from '../src/core/database.js';
import type { Run } from '../src/core/runs.js';
import { parseCrontab } from '../src/schedule/crontab.js';
import { Scheduler } from '../src/scheduler/scheduler.js';
import { loadTasks } from '../src/tasks/index.js';
import { backendNames, createBackend, type Backend } from './support/backends.js';
import { BIN, cleanEnv, runCli } from './support/cli.js';
import { FakeClock, until } from './support/clock.js';
import { canRunOwnServer, startOwnServer, type OwnServer } from './support/own-server.js';

const FIXTURES = fileURLToPath(new URL('./fixtures/scheduler-tasks.mjs', import.meta.url));

interface SchedulerProcess {
  child: ChildProcess;
  output(): string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

function spawnScheduler(env: Record<string, string>, crontab: string, extra: Record<string, string> = {}): SchedulerProcess {
  const child = spawn(process.execPath, [BIN, 'run-scheduler', '--crontab', crontab], {
    env: cleanEnv({ ...env, SINGULARITY_TASK_MODULES: FIXTURES, SINGULARITY_SCHEDULER_POLL_MS: '300', ...extra }),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (d) => (output += d));
  child.stderr!.on('data', (d) => (output += d));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('close', (code, signal) => resolve({ code, signal })),
  );
  return { child, output: () => output, exited };
}

describe.each(backendNames)('run-scheduler processes on %s', (backendName) => {
  let backend: Backend;
  let db: Database;
  let dir: string;
  const running: SchedulerProcess[] = [];

  beforeAll(async () => {
    backend = await createBackend(backendName);
    db = await backend.open();
    dir = mkdtempSync(join(tmpdir(), 'sg-crontab-'));
  });
  afterAll(async () => {
    for (const p of running) p.child.kill('SIGKILL');
    await db?.close();
    await backend?.dispose();
    rmSync(dir, { recursive: true, force: true });
  });
  beforeEach(async () => {
    await db.query('delete from task_runs');
  });

  function crontab(name: string, text: string): string {
    const path = join(dir, name);
    writeFileSync(path, text);
    return path;
  }

  function start(path: string, extra: Record<string, string> = {}): SchedulerProcess {
    const p = spawnScheduler(backend.env, path, extra);
    running.push(p);
    return p;
  }

  const runOf = async (task: string) => (await db.query<Run>(
    `select id, state, attempt, pid, reason, error, errors from task_runs where task = $1 order by id`, [task],
  ))[0];

  it('SIGKILL of a scheduler mid-run: another scheduler marks the run and retries it', async () => {
    const survivor = start(crontab('empty.crontab', '# nothing of its own to run\n'));
    const victim = start(crontab('victim.crontab', '@reboot fx-sleep --ms 2500\n'));
    await until(async () => (await runOf('fx-sleep'))?.state === 'executing', 30_000, 'the run to start');
    expect((await runOf('fx-sleep'))!.pid).toBe(victim.child.pid);
    victim.child.kill('SIGKILL');
    const killedAt = Date.now();
    await until(async () => (await runOf('fx-sleep'))?.state === 'completed', 30_000, 'the retried run to complete');
    const run = (await runOf('fx-sleep'))!;
    expect(run.attempt).toBe(2);
    expect(run.pid).toBe(survivor.child.pid);
    expect(run.errors[0]).toMatchObject({ name: 'StaleRunError', attempt: 1 });
    // Marked within a few heartbeats (200 ms) and polls (300 ms), then 2.5 s of work.
    expect(Date.now() - killedAt).toBeLessThan(10_000);
    survivor.child.kill('SIGTERM');
    expect((await survivor.exited).code).toBe(0);
  }, 60_000);

  it('SIGTERM: no new ticks, running runs get the grace, then are interrupted and recorded; exit 0', async () => {
    const p = start(crontab('long.crontab', '@reboot fx-sleep --ms 60000\n'), { SINGULARITY_SHUTDOWN_GRACE_MS: '1000' });
    await until(async () => (await runOf('fx-sleep'))?.state === 'executing', 30_000, 'the run to start');
    // Another command works against the same database while the scheduler runs (embedded mode too).
    const list = await runCli(['runs', 'list', '--json'], backend.env);
    expect(list.code).toBe(0);
    expect(JSON.parse(list.stdout)[0]).toMatchObject({ task: 'fx-sleep', state: 'executing' });

    const signalledAt = Date.now();
    p.child.kill('SIGTERM');
    const { code } = await p.exited;
    expect(code).toBe(0);
    expect(Date.now() - signalledAt).toBeGreaterThanOrEqual(1000);
    const run = (await runOf('fx-sleep'))!;
    expect(run.state).toBe('cancelled');
    expect(run.reason).toMatch(/^interrupted: the scheduler shut down \(SIGTERM\)/);
    expect(p.output()).toMatch(/SIGTERM: taking no new ticks; 1 run\(s\) executing get up to 1000 ms/);
  }, 60_000);

  it('a run that finishes within the grace completes; a run that ignores the stop is killed; a second signal stops at once', async () => {
    const finishes = start(crontab('short.crontab', '@reboot fx-sleep --ms 1500\n'), { SINGULARITY_SHUTDOWN_GRACE_MS: '10000' });
    await until(async () => (await runOf('fx-sleep'))?.state === 'executing', 30_000, 'the run to start');
    finishes.child.kill('SIGTERM');
    expect((await finishes.exited).code).toBe(0);
    expect((await runOf('fx-sleep'))!.state).toBe('completed');

    await db.query('delete from task_runs');
    // Signalled only once the task's code runs: one that had not started yet would stop at once, cooperatively.
    const stubbornStarted = join(dir, 'stubborn.started');
    const stubborn = start(crontab('stubborn.crontab', `@reboot fx-sleep --ms 60000 --ignore-signal --started-file ${stubbornStarted}\n`), { SINGULARITY_SHUTDOWN_GRACE_MS: '500' });
    await until(() => existsSync(stubbornStarted), 30_000, 'the task to start sleeping');
    stubborn.child.kill('SIGTERM');
    expect((await stubborn.exited).code).toBe(0);
    const killed = (await runOf('fx-sleep'))!;
    expect(killed.state).toBe('cancelled');
    expect(killed.reason).toMatch(/^interrupted: .*killed \(SIGKILL\)$/);

    await db.query('delete from task_runs');
    const twice = start(crontab('twice.crontab', '@reboot fx-sleep --ms 60000 --ignore-signal\n'), { SINGULARITY_SHUTDOWN_GRACE_MS: '60000' });
    await until(async () => (await runOf('fx-sleep'))?.state === 'executing', 30_000, 'the run to start');
    twice.child.kill('SIGTERM');
    await until(() => twice.output().includes('taking no new ticks'), 10_000, 'the first signal to be taken');
    const secondAt = Date.now();
    twice.child.kill('SIGINT');
    expect((await twice.exited).code).toBe(0);
    expect(Date.now() - secondAt).toBeLessThan(5_000);
    expect((await runOf('fx-sleep'))!.reason).toMatch(/^interrupted: the scheduler was stopped at once/);
  }, 90_000);

  it('refuses a crontab with problems before it starts: every problem with its line, exit 2', async () => {
    const path = crontab('bad.crontab', '0 0 * * * nosuch-task\n61 * * * * fx-note\n0 0 * * 0 prune-runs --older-than soon\n');
    const result = await runCli(['run-scheduler', '--crontab', path], { ...backend.env, SINGULARITY_TASK_MODULES: FIXTURES });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(`${path}:1:`);
    expect(result.stderr).toContain(`${path}:2:1:`);
    expect(result.stderr).toContain(`${path}:3:`);
    expect((await db.query('select id from task_runs')).length).toBe(0);
  });
});

describe.runIf(canRunOwnServer)('run-scheduler and a PostgreSQL server of its own', () => {
  let server: OwnServer;
  let dir: string;
  let url: string;
  let db: Database;

  beforeAll(async () => {
    server = await startOwnServer();
    ({ dir, url } = server);
    db = await openDatabase({ ...defaultConfig(dir), databaseUrl: url });
  }, 120_000);
  afterAll(async () => {
    await db?.close();
    server?.dispose();
  });

  async function startInProcess(text: string, clock: FakeClock) {
    const config = { ...defaultConfig(dir), databaseUrl: url, taskModules: [FIXTURES] };
    config.runs = { heartbeatMs: 200, staleAfterMs: 1500, stopGraceMs: 500 };
    config.scheduler = { ...config.scheduler, pollMs: 200 };
    const tasks = await loadTasks(config);
    const { crontab, problems } = parseCrontab(text, { source: 'test', tasks });
    expect(problems).toEqual([]);
    const schedulerDb = await openDatabase(config);
    const logs: string[] = [];
    const scheduler = new Scheduler({
      db: schedulerDb, config, tasks, crontab, version: 'test', clock, isolation: 'in-process',
      log: (level, message) => logs.push(`${level} ${message}`), maxSleepMs: 24 * 3600_000,
    });
    const done = scheduler.run();
    await until(() => clock.sleepers === 1, 20_000, 'the scheduler to start');
    return { scheduler, logs, done, db: schedulerDb };
  }

  it('keeps its schedule through a server restart, without a duplicate run', async () => {
    const clock = new FakeClock(new Date('2026-01-05T10:00:00Z'));
    const s = await startInProcess('* * * * * [id=through-restart] fx-note\n', clock);
    const step = async (iso: string) => {
      clock.set(new Date(iso));
      await until(() => clock.sleepers === 1, 60_000, 'the scheduler to sleep again');
      await s.scheduler.drain();
    };
    await step('2026-01-05T10:01:00Z');
    server.stop('fast');
    clock.set(new Date('2026-01-05T10:02:00Z')); // due while the server is down
    await until(() => s.logs.some((l) => l.includes('could not claim its tick')), 20_000, 'a failed claim');
    server.start();
    await until(async () => {
      const rows = await db.query<{ n: number }>(`select count(*)::int as n from task_runs where entry = 'through-restart' and state = 'completed'`).catch(() => [{ n: 0 }]);
      return rows[0]!.n === 2;
    }, 30_000, 'the delayed tick to run');
    await step('2026-01-05T10:03:00Z');
    s.scheduler.stop('test over');
    await s.done;
    await s.db.close();
    const rows = await db.query<{ tick: Date; state: string }>(
      `select scheduled_for as tick, state from task_runs where entry = 'through-restart' order by scheduled_for`,
    );
    expect(rows.map((r) => [r.tick.toISOString().slice(11, 16), r.state])).toEqual([
      ['10:01', 'completed'], ['10:02', 'completed'], ['10:03', 'completed'],
    ]);
  }, 120_000);

  it('leaves a sql task that pg_cron runs to pg_cron, and says so; runs it again once the job is gone', async () => {
    await db.query(`select cron.schedule('singularity:analyze-stats@postgres', '0 0 1 1 *', 'analyze')`);
    const clock = new FakeClock(new Date('2026-02-01T10:00:00Z'));
    const s = await startInProcess('* * * * * [id=stats] analyze-stats\n', clock);
    expect(s.logs.join('\n')).toContain('analyze-stats: runs in pg_cron (job singularity:analyze-stats@postgres); this scheduler leaves it alone');
    clock.set(new Date('2026-02-01T10:01:00Z'));
    await until(() => clock.sleepers === 1);
    await s.scheduler.drain();
    expect(await db.query(`select id from task_runs where entry = 'stats'`)).toHaveLength(0);

    await db.query(`select cron.unschedule('singularity:analyze-stats@postgres')`);
    await new Promise((r) => setTimeout(r, 600)); // a poll (200 ms) notices the job is gone
    clock.set(new Date('2026-02-01T10:02:00Z'));
    await until(async () => (await db.query<{ state: string }>(`select state from task_runs where entry = 'stats'`))[0]?.state === 'completed', 20_000, 'the run');
    s.scheduler.stop('test over');
    await s.done;
    await s.db.close();
  }, 60_000);
});
