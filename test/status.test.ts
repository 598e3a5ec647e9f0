// `singularity status`: overdue detection for every kind of schedule with an injected clock, failing
// and stuck runs, health and exit codes (the database stopped included), the Prometheus file, and
// the plan of its query on a large history.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Database } from '../src/core/database.js';
import { defaultCrontab } from '../src/schedule/crontab.js';
import { collectStatus, graceMs, tasksQuery } from '../src/status/status.js';
import { loadTasks } from '../src/tasks/index.js';
import type { TaskSet } from '../src/core/task/registry.js';
import { backendNames, createBackend, type Backend } from './support/backends.js';
import { runCli } from './support/cli.js';

const MIN = 60_000;
const HOUR = 60 * MIN;
const DAY = 24 * HOUR;

describe('graceMs', () => {
  it('is a tenth of the period, at least a minute and at most an hour', () => {
    expect(graceMs(2 * MIN)).toBe(MIN);
    expect(graceMs(HOUR)).toBe(6 * MIN);
    expect(graceMs(DAY)).toBe(HOUR);
    expect(graceMs(7 * DAY)).toBe(HOUR);
  });
});

describe.each(backendNames)('status on %s', (backendName) => {
  let backend: Backend;
  let db: Database;
  let tasks: TaskSet;
  let dir: string;

  beforeAll(async () => {
    backend = await createBackend(backendName);
    db = await backend.open();
    tasks = await loadTasks(backend.config);
    dir = mkdtempSync(join(tmpdir(), 'sg-status-'));
  });
  afterAll(async () => {
    await db?.close();
    await backend?.dispose();
    rmSync(dir, { recursive: true, force: true });
  });
  beforeEach(async () => {
    await db.query('delete from task_runs');
    await db.query('delete from schedulers');
  });

  /** A live scheduler (fresh heartbeat) serving these entries since `since`. */
  async function liveScheduler(entries: Array<{ id: string; schedule: string; task: string; timezone?: string }>, since: Date) {
    await db.query(
      `insert into schedulers (host, pid, version, crontab, entries, started_at, heartbeat_at) values ('test-host', 1, 'test', 'test', $1, $2, now())`,
      [JSON.stringify(entries.map((e) => ({ timezone: 'UTC', ...e }))), since],
    );
  }
  async function ran(task: string, at: Date, state = 'completed') {
    await db.query(
      `insert into task_runs (task, trigger, state, inserted_at, started_at, finished_at, duration_ms, error)
       values ($1, 'scheduler', $2, $3, $3, $3::timestamptz + interval '1 second', 1000, $4)`,
      [task, state, at, state === 'discarded' ? JSON.stringify({ name: 'Error', message: 'it broke' }) : null],
    );
  }
  const statusAt = (now: Date) => collectStatus(db, backend.config, { tasks, crontab: async () => defaultCrontab(tasks), now });
  const taskAt = async (task: string, now: Date) => (await statusAt(now)).tasks.find((t) => t.task === task)!;

  // Each schedule: a moment just after a tick plus its grace, that tick, and the one before it.
  const cases = [
    { task: 'assign-tasks', schedule: '*/2 * * * *', tick: '2026-03-10T10:04:00Z', previous: '2026-03-10T10:02:00Z', grace: MIN },
    { task: 'refresh-cache', schedule: '0 * * * *', tick: '2026-03-10T10:00:00Z', previous: '2026-03-10T09:00:00Z', grace: 6 * MIN },
    { task: 'rank-graph', schedule: '0 3 * * *', tick: '2026-03-10T03:00:00Z', previous: '2026-03-09T03:00:00Z', grace: HOUR },
    { task: 'reindex', schedule: '0 3 * * 0', tick: '2026-03-08T03:00:00Z', previous: '2026-03-01T03:00:00Z', grace: HOUR },
    { task: 'archive-backups', schedule: '0 5 1 * *', tick: '2026-03-01T05:00:00Z', previous: '2026-02-01T05:00:00Z', grace: HOUR },
  ];

  for (const c of cases) {
    it(`${c.schedule}: overdue only once a due tick is past its grace with no run since`, async () => {
      const tick = new Date(c.tick);
      await liveScheduler([{ id: c.task, schedule: c.schedule, task: c.task }], new Date('2026-01-01T00:00:00Z'));
      await ran(c.task, new Date(new Date(c.previous).getTime() + 5_000)); // the previous tick ran

      // Within the grace of the new tick: not overdue; the previous tick is the one due, and it ran.
      const within = await taskAt(c.task, new Date(tick.getTime() + c.grace - 1_000));
      expect(within).toMatchObject({ placement: 'scheduler', overdue: false, lastDue: new Date(c.previous) });
      expect(within.nextDue!.getTime()).toBeGreaterThan(tick.getTime());

      // Past it with no run: overdue, by how long since the tick.
      const past = await taskAt(c.task, new Date(tick.getTime() + c.grace + 1_000));
      expect(past).toMatchObject({ overdue: true, lastDue: tick, overdueByMs: c.grace + 1_000 });

      // A run that started after the tick clears it.
      await ran(c.task, new Date(tick.getTime() + 30_000));
      expect(await taskAt(c.task, new Date(tick.getTime() + c.grace + 1_000))).toMatchObject({ overdue: false, lastDue: tick });
    });
  }

  it('ticks from before the first scheduler started are nobody\'s: not overdue', async () => {
    await liveScheduler([{ id: 'rank-graph', schedule: '0 3 * * *', task: 'rank-graph' }], new Date('2026-03-10T05:00:00Z'));
    expect(await taskAt('rank-graph', new Date('2026-03-10T06:00:00Z'))).toMatchObject({ overdue: false, lastDue: null });
  });

  it('an executing run is not overdue; one whose heartbeat stopped is stuck, and that is a problem', async () => {
    await liveScheduler([{ id: 'refresh-cache', schedule: '0 * * * *', task: 'refresh-cache' }], new Date('2026-01-01T00:00:00Z'));
    const [{ id }] = (await db.query<{ id: number }>(
      `insert into task_runs (task, trigger, state, inserted_at, started_at, heartbeat_at, host, pid)
       values ('refresh-cache', 'scheduler', 'executing', '2026-03-10T08:00:00Z', '2026-03-10T08:00:00Z', now() - interval '1 hour', 'elsewhere', 4242)
       returning id`,
    )) as [{ id: number }];
    const report = await statusAt(new Date('2026-03-10T10:30:00Z'));
    const task = report.tasks.find((t) => t.task === 'refresh-cache')!;
    expect(task.overdue).toBe(false);
    expect(task.running).toEqual([expect.objectContaining({ runId: id, host: 'elsewhere', pid: 4242, stale: true, elapsedMs: 2.5 * HOUR })]);
    expect(report.health).toBe('degraded');
    expect(report.problems).toContainEqual(expect.stringMatching(new RegExp(`^run ${id} of refresh-cache is stuck: no heartbeat since \\d{4}-.*Z \\(pid 4242 on elsewhere\\)$`)));
  });

  it('failing: the latest finished run failed after the latest success; a later success clears it', async () => {
    await liveScheduler([], new Date('2026-01-01T00:00:00Z'));
    await ran('prune-runs', new Date('2026-03-01T00:00:00Z'));
    await ran('prune-runs', new Date('2026-03-08T00:00:00Z'), 'discarded');
    const report = await statusAt(new Date('2026-03-09T00:00:00Z'));
    const task = report.tasks.find((t) => t.task === 'prune-runs')!;
    expect(task).toMatchObject({ failing: true, placement: 'manual', lastFailure: expect.objectContaining({ error: 'it broke' }) });
    expect(report.problems).toContain(`prune-runs is failing: it broke (run ${task.lastFailure!.runId})`);
    await ran('prune-runs', new Date('2026-03-08T12:00:00Z'));
    expect((await taskAt('prune-runs', new Date('2026-03-09T00:00:00Z'))).failing).toBe(false);
  });

  it('without a live scheduler, the crontab\'s entries are run by nobody, and status says so', async () => {
    const report = await statusAt(new Date());
    expect(report.health).toBe('degraded');
    expect(report.problems[0]).toMatch(/^no run-scheduler has ever run against this database: \d+ scheduled entries are not being run$/);
    expect(report.tasks.find((t) => t.task === 'vacuum-analyze')!.schedules).toEqual([{ id: 'vacuum-analyze', schedule: '0 23 * * *', timezone: 'UTC', runBy: 'nobody', paused: null }]);
    // With no scheduler ever, no tick was anyone's to run: that one problem, and nothing overdue.
    expect(report.tasks.filter((t) => t.overdue)).toEqual([]);
    expect(report.problems).toHaveLength(1);
  });

  it('the CLI: exit 0 healthy, 1 degraded (with the problem), --json and --prometheus', async () => {
    await liveScheduler([], new Date());
    // The test's scheduler beats once: on a busy machine a CLI start can outlast the tests' short staleness.
    const env = { ...backend.env, SINGULARITY_STALE_AFTER_MS: '600000' };
    const healthy = await runCli(['status', '--json'], env);
    expect(healthy.code, healthy.stderr).toBe(0);
    const report = JSON.parse(healthy.stdout);
    expect(report).toMatchObject({ health: 'healthy', problems: [], schedulers: [expect.objectContaining({ host: 'test-host', alive: true })] });
    expect(report.tasks.map((t: { task: string }) => t.task)).toEqual(tasks.all.map((t) => t.name));

    await ran('prune-runs', new Date(), 'discarded');
    const file = join(dir, 'singularity.prom');
    const degraded = await runCli(['status', '--prometheus', file], env);
    expect(degraded.code).toBe(1);
    expect(degraded.stdout).toMatch(/^degraded {2}/);
    expect(degraded.stdout).toMatch(/prune-runs +sql +manual +never +- +failing: it broke/);
    expect(degraded.stdout).toContain('! prune-runs is failing: it broke');
    const prom = readFileSync(file, 'utf8');
    expect(prom).toContain('singularity_health{state="degraded"} 1');
    expect(prom).toContain('singularity_task_failing{task="prune-runs"} 1');
    expect(prom).toContain('singularity_schedulers_alive 1');
    expect(prom).toMatch(/^# TYPE singularity_task_overdue gauge$/m);
  });

  it('--prometheus says what --json says; a task that never completed has no last-success sample, and a never-succeeded gauge of 1', async () => {
    await liveScheduler([], new Date());
    const env = { ...backend.env, SINGULARITY_STALE_AFTER_MS: '600000' };
    await ran('vacuum-analyze', new Date(Date.now() - HOUR));
    await ran('prune-runs', new Date(), 'discarded');
    const file = join(dir, 'agree.prom');
    const result = await runCli(['status', '--json', '--prometheus', file], env);
    expect(result.code, result.stderr).toBe(1);
    const report = JSON.parse(result.stdout) as { health: string; problems: string[]; tasks: Array<{ task: string; lastSuccess: { at: string } | null; lastFailure: { at: string } | null; overdue: boolean; failing: boolean; running: unknown[]; nextDue: string | null }> };
    const prom = readFileSync(file, 'utf8');
    const sample = (name: string, task: string) => prom.match(new RegExp(`^${name}\\{task="${task}"\\} (\\S+)$`, 'm'))?.[1];
    // The alert a monitor would write, `time() - last_success > N`, must not fire for a task that never ran.
    expect(sample('singularity_task_last_success_timestamp_seconds', 'prune-runs')).toBeUndefined();
    expect(sample('singularity_task_never_succeeded', 'prune-runs')).toBe('1');
    expect(sample('singularity_task_never_succeeded', 'vacuum-analyze')).toBe('0');
    expect(prom).not.toMatch(/_timestamp_seconds\{[^}]*\} 0$/m);
    expect(prom).toContain(`singularity_health{state="${report.health}"} 1`);
    expect(prom).toContain(`singularity_problems ${report.problems.length}`);
    const seconds = (at: string | null | undefined) => (at ? String(new Date(at).getTime() / 1000) : undefined);
    for (const t of report.tasks) {
      expect(sample('singularity_task_last_success_timestamp_seconds', t.task), t.task).toBe(seconds(t.lastSuccess?.at));
      expect(sample('singularity_task_never_succeeded', t.task), t.task).toBe(t.lastSuccess ? '0' : '1');
      expect(sample('singularity_task_last_failure_timestamp_seconds', t.task), t.task).toBe(seconds(t.lastFailure?.at));
      expect(sample('singularity_task_next_due_timestamp_seconds', t.task), t.task).toBe(seconds(t.nextDue));
      expect(sample('singularity_task_overdue', t.task), t.task).toBe(t.overdue ? '1' : '0');
      expect(sample('singularity_task_failing', t.task), t.task).toBe(t.failing ? '1' : '0');
      expect(sample('singularity_task_running', t.task), t.task).toBe(String(t.running.length));
    }
  });
});

describe('status when the database is down', () => {
  it('exit 2, health down, the reason; the password never shown', async () => {
    const result = await runCli(['status', '--json'], { DATABASE_URL: 'postgres://someone:hunter2secret@127.0.0.1:1/nowhere' });
    expect(result.code).toBe(2);
    const report = JSON.parse(result.stdout);
    expect(report).toMatchObject({ health: 'down', tasks: [], database: 'postgres://someone:***@127.0.0.1:1/nowhere' });
    expect(report.problems[0]).toMatch(/cannot connect/);
    expect(result.stdout + result.stderr).not.toContain('hunter2secret');
    const text = await runCli(['status'], { DATABASE_URL: 'postgres://someone:hunter2secret@127.0.0.1:1/nowhere' });
    expect(text.code).toBe(2);
    expect(text.stdout).toMatch(/^down {2}postgres:\/\/someone:\*\*\*@127\.0\.0\.1:1\/nowhere/);
  });
});

describe.runIf(!!process.env.TEST_DATABASE_URL)('status on a large history', () => {
  let backend: Backend;
  let db: Database;

  beforeAll(async () => {
    backend = await createBackend('postgres');
    db = await backend.open();
    // 1,000,000 runs over 25 tasks, mostly completed, some failed, a few missed.
    await db.query(
      `insert into task_runs (task, trigger, state, inserted_at, started_at, finished_at, duration_ms, error)
       select 'task-' || (i % 25), 'scheduler', (array['completed','completed','completed','discarded','missed'])[1 + i % 5],
              t, t, t + interval '1 second', 1000, case when i % 5 = 3 then '{"message":"x"}'::jsonb end
       from generate_series(1, 1000000) i, lateral (select now() - i * interval '1 minute' as t) ts`,
    );
    await db.query('analyze task_runs');
  }, 300_000);
  afterAll(async () => {
    await db?.close();
    await backend?.dispose();
  });

  it('reads each task\'s latest runs through indexes, never a scan of the history', async () => {
    const names = [...Array.from({ length: 25 }, (_, i) => `task-${i}`), 'never-ran'];
    const [{ 'QUERY PLAN': [plan] }] = (await db.query<{ 'QUERY PLAN': Array<{ Plan: unknown; 'Execution Time': number; 'Planning Time': number }> }>(
      `explain (analyze, format json) ${tasksQuery(names)}`,
    )) as [{ 'QUERY PLAN': Array<{ Plan: unknown; 'Execution Time': number; 'Planning Time': number }> }];
    const nodes: Array<{ 'Node Type': string; 'Relation Name'?: string; 'Index Name'?: string }> = [];
    const walk = (node: { Plans?: unknown[] }) => {
      nodes.push(node as never);
      for (const child of node.Plans ?? []) walk(child as { Plans?: unknown[] });
    };
    walk(plan!.Plan as { Plans?: unknown[] });
    const onRuns = nodes.filter((n) => n['Relation Name'] === 'task_runs');
    expect(onRuns.map((n) => n['Node Type'])).not.toContain('Seq Scan');
    // Every read of task_runs is driven by an index (a bitmap heap scan reads only what its index found).
    expect(onRuns.length).toBeGreaterThanOrEqual(3 * names.length);
    for (const node of onRuns) expect(['Index Scan', 'Index Only Scan', 'Bitmap Heap Scan']).toContain(node['Node Type']);
    expect(onRuns.map((n) => n['Index Name'])).toContain('task_runs_task_state_finished_idx');
    // How fast that is, bench/status measures (8.8 ms of database time over a million runs): a time
    // bound here would measure how busy the machine is.
  });
});
