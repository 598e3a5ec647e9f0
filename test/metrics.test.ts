// aggregate-metrics on real databases: finished runs and events at known times become metrics per period
// with the numbers worked out by hand; aggregating again changes nothing, a late row is counted once;
// prune-runs prunes old events; status's trend and doctor's metrics check read the metrics; the CLI.
import { beforeEach, describe, expect, it } from 'vitest';
import type { Database } from '../src/core/database.js';
import { UsageError } from '../src/core/errors.js';
import { runTask } from '../src/core/runner.js';
import { checkMetrics } from '../src/doctor/metrics.js';
import { aggregateMetrics } from '../src/metrics/aggregate.js';
import { emitEvent } from '../src/metrics/events.js';
import { defaultCrontab } from '../src/schedule/crontab.js';
import { collectStatus } from '../src/status/status.js';
import aggregateMetricsTask from '../src/tasks/aggregate-metrics.js';
import { loadTasks } from '../src/tasks/index.js';
import pruneRuns from '../src/tasks/prune-runs.js';
import { backendNames, onBackend, type Backend } from './support/backends.js';
import { runCli } from './support/cli.js';

interface MetricRow {
  period: string;
  bucket_start: Date;
  name: string;
  task: string;
  count: number;
  sum: number | null;
  avg: number | null;
  min: number | null;
  max: number | null;
  p95: number | null;
  computed_at: Date;
}

const at = (iso: string) => new Date(iso);

describe.each(backendNames)('metrics on %s', (backendName) => {
  let backend: Backend;
  let db: Database;

  onBackend(backendName, (opened) => ({ backend, db } = opened));

  beforeEach(async () => {
    for (const table of ['task_runs', 'telemetry_events', 'metrics', 'metrics_watermark', 'schedulers']) await db.query(`delete from ${table}`);
  });

  /** A run that finished at `finishedAt` after `durationMs`, in its final state. */
  async function finished(task: string, state: string, finishedAt: Date | string, durationMs: number | null) {
    await db.query(
      `insert into task_runs (task, trigger, state, inserted_at, started_at, finished_at, duration_ms)
       values ($1, 'scheduler', $2, $3::timestamptz - make_interval(secs => coalesce($4::int, 0) / 1000.0),
               $3::timestamptz - make_interval(secs => coalesce($4::int, 0) / 1000.0), $3, $4)`,
      [task, state, finishedAt, durationMs],
    );
  }
  const event = (name: string, value: number, when: string) => emitEvent(db, name, value, { at: at(when) });
  const metrics = () => db.query<MetricRow>(`select * from metrics order by period, bucket_start, name, task`);
  const metric = async (period: string, bucket: string, name: string, task = '') =>
    (await db.query<MetricRow>(`select * from metrics where period = $1 and bucket_start = $2 and name = $3 and task = $4`, [period, bucket, name, task]))[0];

  /** One 5-minute bucket of ingest runs and queue.depth events around it, every number known. */
  async function knownBucket() {
    for (const ms of [100, 200, 300, 400]) await finished('ingest', 'completed', `2026-03-10T10:0${ms / 100}:00Z`, ms);
    await finished('ingest', 'discarded', '2026-03-10T10:04:30Z', 1000);
    await finished('ingest', 'skipped', '2026-03-10T10:02:30Z', 0);
    await event('queue.depth', 3, '2026-03-10T10:01:00Z');
    await event('queue.depth', 7, '2026-03-10T10:04:00Z');
    await event('queue.depth', 5, '2026-03-10T10:06:00Z'); // the next 5-minute bucket, the same hour
    await event('queue.depth', 1, '2026-03-10T09:59:00Z'); // the hour before, the same day
  }
  const NOON = at('2026-03-10T12:00:00Z');

  it('computes each bucket from the raw rows: count, sum, avg, min, max and p95 as worked out by hand', async () => {
    await knownBucket();
    const result = await aggregateMetrics(db, { now: NOON });
    // The first aggregation reads the last 2 days.
    expect(result.from).toEqual(at('2026-03-08T12:00:00Z'));
    expect(result.to).toEqual(NOON);
    expect(result.periods.map((p) => [p.period, p.from.toISOString()])).toEqual([
      ['5m', '2026-03-08T12:00:00.000Z'], ['1h', '2026-03-08T12:00:00.000Z'], ['1d', '2026-03-08T00:00:00.000Z'],
    ]);
    expect(result).toMatchObject({ runs: 6, events: 4 });

    const bucket = '2026-03-10T10:00:00Z';
    // Durations 100, 200, 300, 400, 1000: p95 at 0.95 * 4 = 3.8 of the way, 400 + 0.8 * 600 = 880.
    const durations = (await metric('5m', bucket, 'run.duration_ms', 'ingest'))!;
    expect(durations).toMatchObject({ count: 5, sum: 2000, avg: 400, min: 100, max: 1000 });
    expect(durations.p95).toBeCloseTo(880, 9);
    // Completed: 100..400, p95 at 2.85: 300 + 0.85 * 100 = 385.
    const completed = (await metric('5m', bucket, 'run.completed', 'ingest'))!;
    expect(completed).toMatchObject({ count: 4, sum: 1000, avg: 250, min: 100, max: 400 });
    expect(completed.p95).toBeCloseTo(385, 9);
    expect(await metric('5m', bucket, 'run.failed', 'ingest')).toMatchObject({ count: 1, sum: 1000, p95: 1000 });
    // A skipped run never ran: a count and no values.
    expect(await metric('5m', bucket, 'run.skipped', 'ingest')).toMatchObject({ count: 1, sum: null, avg: null, min: null, max: null, p95: null });
    // Events 3 and 7: p95 3 + 0.95 * 4 = 6.8.
    const depth = (await metric('5m', bucket, 'queue.depth'))!;
    expect(depth).toMatchObject({ count: 2, sum: 10, avg: 5, min: 3, max: 7, computed_at: NOON });
    expect(depth.p95).toBeCloseTo(6.8, 9);
    expect(await metric('5m', '2026-03-10T10:05:00Z', 'queue.depth')).toMatchObject({ count: 1, sum: 5 });
    expect(await metric('1h', bucket, 'queue.depth')).toMatchObject({ count: 3, sum: 15, min: 3, max: 7 });
    expect(await metric('1h', '2026-03-10T09:00:00Z', 'queue.depth')).toMatchObject({ count: 1, sum: 1 });
    expect(await metric('1d', '2026-03-10T00:00:00Z', 'queue.depth')).toMatchObject({ count: 4, sum: 16, avg: 4, min: 1, max: 7 });
    expect((await metric('1d', '2026-03-10T00:00:00Z', 'run.duration_ms', 'ingest'))!.p95).toBeCloseTo(880, 9);
    // 5m: 4 run metrics + the events' 09:55, 10:00 and 10:05; 1h: 4 + 09:00 and 10:00; 1d: 4 + 1.
    expect(result.periods.map((p) => p.buckets)).toEqual([7, 6, 5]);
    expect(result.buckets).toBe(18);
    expect((await metrics()).length).toBe(18);
  });

  it('aggregating again, over the same time or further back, gives the very same rows', async () => {
    await knownBucket();
    await aggregateMetrics(db, { now: NOON });
    const first = await metrics();
    await aggregateMetrics(db, { now: NOON });
    expect(await metrics()).toEqual(first);
    // --since recomputes every bucket from the raw rows again: still the same numbers.
    const again = await aggregateMetrics(db, { now: NOON, since: '3d' });
    expect(again.from).toEqual(at('2026-03-07T12:00:00Z'));
    expect(again.buckets).toBe(18);
    expect(await metrics()).toEqual(first);
  });

  it('a run that lands in a bucket already aggregated updates it, never adds to it', async () => {
    await knownBucket();
    await aggregateMetrics(db, { now: NOON });
    // Finished just before the watermark, committed after it: the next aggregation starts 5 minutes back.
    await finished('ingest', 'completed', '2026-03-10T11:58:00Z', 50);
    const next = await aggregateMetrics(db, { now: at('2026-03-10T12:05:00Z') });
    expect(next.from).toEqual(at('2026-03-10T11:55:00Z'));
    expect(await metric('5m', '2026-03-10T11:55:00Z', 'run.completed', 'ingest')).toMatchObject({ count: 1, sum: 50 });
    expect(await metric('1d', '2026-03-10T00:00:00Z', 'run.completed', 'ingest')).toMatchObject({ count: 5, sum: 1050 });

    // A row older than the window is counted once --since reaches it: 5 runs become 6, not 11.
    await finished('ingest', 'completed', '2026-03-10T10:03:30Z', 600);
    await aggregateMetrics(db, { now: at('2026-03-10T12:10:00Z') });
    expect(await metric('5m', '2026-03-10T10:00:00Z', 'run.duration_ms', 'ingest')).toMatchObject({ count: 5, sum: 2000 });
    await aggregateMetrics(db, { now: at('2026-03-10T12:10:00Z'), since: '3h' });
    await aggregateMetrics(db, { now: at('2026-03-10T12:10:00Z'), since: '3h' });
    expect(await metric('5m', '2026-03-10T10:00:00Z', 'run.duration_ms', 'ingest')).toMatchObject({ count: 6, sum: 2600, max: 1000 });
    expect(await metric('1h', '2026-03-10T10:00:00Z', 'run.completed', 'ingest')).toMatchObject({ count: 5, sum: 1600 });
    expect(await metric('1d', '2026-03-10T00:00:00Z', 'run.completed', 'ingest')).toMatchObject({ count: 6, sum: 1650 });
  });

  it('emitEvent records a named value with its run and tags, and refuses the run metrics\' names', async () => {
    const id = await emitEvent(db, 'ingest.files', 42, { runId: 7, tags: { codebase: 'app' } });
    expect(await db.query(`select name, value, run_id, tags, at > now() - interval '1 minute' as fresh from telemetry_events where id = $1`, [id]))
      .toEqual([{ name: 'ingest.files', value: 42, run_id: 7, tags: { codebase: 'app' }, fresh: true }]);
    await expect(emitEvent(db, 'run.completed', 1)).rejects.toThrow(UsageError);
    await expect(emitEvent(db, 'x', Number.NaN)).rejects.toThrow(/finite number/);
    await expect(db.query(`insert into telemetry_events (name, value) values ('run.sneaky', 1)`)).rejects.toThrow(/check constraint/);
  });

  it('prune-runs also deletes the events older than its bound; the metrics made of them stay', async () => {
    await db.query(`insert into telemetry_events (name, value, at) select 'old.thing', g, now() - interval '40 days' - g * interval '1 minute' from generate_series(1, 25) g`);
    await db.query(`insert into telemetry_events (name, value, at) values ('new.thing', 1, now() - interval '1 day')`);
    await aggregateMetrics(db, { since: '60d' });
    const before = await metrics();
    const run = await runTask({ db, config: backend.config }, pruneRuns, { trigger: 'cli', args: pruneRuns.args.parse({ batchSize: 10 }) });
    expect(run.state, JSON.stringify(run.error)).toBe('completed');
    expect(await db.query(`select name from telemetry_events`)).toEqual([{ name: 'new.thing' }]);
    expect(await metrics()).toEqual(before);
  });

  describe('status and doctor', () => {
    const HOUR = 3_600_000;
    const STATUS_AT = at('2026-03-10T12:30:00Z');

    it("status: each task's trend, the last 24 h against the 24 h before; null before any aggregation", async () => {
      const tasks = await loadTasks(backend.config);
      const statusAt = (now: Date) => collectStatus(db, backend.config, { tasks, crontab: async () => defaultCrontab(tasks), now });
      // Within the last 24 h: hour 11:00 with 4 runs (p95 of 100, 200, 300, 1000 = 300 + 0.85 * 700 = 895) and
      // hour 02:00 with one of 500: weighted by runs, (4 * 895 + 500) / 5 = 816.
      for (const [ms, minute] of [[100, 10], [200, 20], [300, 30]] as const) await finished('rank-graph', 'completed', `2026-03-10T11:${minute}:00Z`, ms);
      await finished('rank-graph', 'discarded', '2026-03-10T11:40:00Z', 1000);
      await finished('rank-graph', 'completed', '2026-03-10T02:15:00Z', 500);
      await finished('rank-graph', 'skipped', '2026-03-10T02:16:00Z', 0); // not a run that ran
      // The 24 h before.
      await finished('rank-graph', 'completed', '2026-03-09T05:00:00Z', 100);
      await finished('rank-graph', 'completed', '2026-03-09T05:10:00Z', 100);

      const before = await statusAt(STATUS_AT);
      expect(before.tasks.every((t) => t.trend === null)).toBe(true);

      await aggregateMetrics(db, { now: STATUS_AT });
      const report = await statusAt(STATUS_AT);
      expect(report.tasks.find((t) => t.task === 'rank-graph')!.trend).toEqual({
        asOf: STATUS_AT,
        last24h: { runs: 5, failed: 1, p95DurationMs: 816 },
        previous24h: { runs: 2, failed: 0, p95DurationMs: 100 },
      });
      expect(report.tasks.find((t) => t.task === 'vacuum-analyze')!.trend).toEqual({
        asOf: STATUS_AT,
        last24h: { runs: 0, failed: 0, p95DurationMs: null },
        previous24h: { runs: 0, failed: 0, p95DurationMs: null },
      });
      // A day later the last 24 h are the previous ones.
      const later = await statusAt(new Date(STATUS_AT.getTime() + 24 * HOUR));
      expect(later.tasks.find((t) => t.task === 'rank-graph')!.trend).toMatchObject({
        last24h: { runs: 0, failed: 0, p95DurationMs: null }, previous24h: { runs: 5, failed: 1, p95DurationMs: 816 },
      });
    });

    it('doctor: ok with nothing to aggregate, a warning when it never ran, when it is stale, and when a task got over 2x slower', async () => {
      expect(await checkMetrics(db)).toMatchObject({ verdict: 'ok', detail: 'no finished runs and no events yet: nothing to aggregate' });

      // A week of 100 ms runs, then a day of 1 s ones.
      await db.query(
        `insert into task_runs (task, trigger, state, inserted_at, started_at, finished_at, duration_ms)
         select 'rank-graph', 'scheduler', 'completed', t, t, t, case when g <= 6 then 1000 else 100 end
         from generate_series(1, 20) g, lateral (select now() - case when g <= 6 then g * interval '1 hour' else g * interval '6 hours' end as t) ts`,
      );
      const never = await checkMetrics(db);
      expect(never).toMatchObject({ verdict: 'warn', detail: expect.stringMatching(/^aggregate-metrics has never run/), fix: expect.stringContaining("'singularity aggregate-metrics'") });

      // Aggregated two hours ago, with runs since: stale.
      const [{ twoHoursAgo }] = (await db.query<{ twoHoursAgo: Date }>(`select now() - interval '2 hours' as "twoHoursAgo"`)) as [{ twoHoursAgo: Date }];
      await aggregateMetrics(db, { now: twoHoursAgo, since: '30d' });
      const stale = await checkMetrics(db);
      expect(stale.verdict).toBe('warn');
      expect(stale.detail).toMatch(/^stale: last aggregated up to \S+ \(2h 0m ago\); newest 5m bucket \S+; since then 1 run finished and 0 events were recorded$/m);
      expect(stale.fix).toContain("'singularity aggregate-metrics'");

      await aggregateMetrics(db);
      const slower = await checkMetrics(db);
      expect(slower.verdict).toBe('warn');
      expect(slower.detail).not.toMatch(/stale/);
      expect(slower.detail).toBe(
        '1 task more than 2x slower over the last 24 h than over the 7 days before (p95 duration): rank-graph 1.00 s against 100 ms (10.0x)',
      );
      expect(slower.fix).toContain("'singularity runs list --task rank-graph'");

      // With too few runs in the last day it is no trend. (Metrics outlive their raw rows: start them afresh.)
      await db.query(`delete from task_runs where duration_ms = 1000 and finished_at < now() - interval '90 minutes'`);
      await db.query('delete from metrics');
      await aggregateMetrics(db, { since: '30d' });
      expect(await checkMetrics(db)).toMatchObject({ verdict: 'ok', detail: expect.stringMatching(/^aggregated up to \S+ \([^)]+ ago\); newest 5m bucket \S+; no task more than 2x slower/) });
    });
  });

  describe('the CLI', () => {
    it('aggregate-metrics --json: a completed run with its result and summary; status shows the last 24 h; doctor lists the check', async () => {
      await finished('rank-graph', 'completed', new Date(Date.now() - 60_000), 250);
      await emitEvent(db, 'queue.depth', 4);
      const result = await runCli(['aggregate-metrics', '--json'], backend.env);
      expect(result.code, result.stdout + result.stderr).toBe(0);
      const run = JSON.parse(result.stdout) as { task: string; state: string; summary: string; result: { runs: number; events: number; buckets: number; periods: unknown[] } };
      expect(run).toMatchObject({ task: 'aggregate-metrics', state: 'completed', result: { runs: 1, events: 1, buckets: 9 } });
      expect(run.result.periods).toHaveLength(3);
      expect(run.summary).toBe('aggregated 3 periods: 9 buckets (from 1 run and 1 event)');

      const status = await runCli(['status'], backend.env);
      expect(status.stdout).toMatch(/STATE +LAST 24 H/);
      expect(status.stdout).toMatch(/\n *rank-graph .* 1 run, p95 250 ms\n/);

      const doctor = await runCli(['doctor', '--json'], { ...backend.env, SINGULARITY_STALE_AFTER_MS: '600000' });
      const check = (JSON.parse(doctor.stdout) as { checks: Array<{ id: string; verdict: string }> }).checks.find((c) => c.id === 'metrics');
      expect(check).toMatchObject({ verdict: 'ok' });
    });

    it('--since nonsense: exit 2 and what a duration looks like; no run recorded', async () => {
      const result = await runCli(['aggregate-metrics', '--since', 'nonsense'], backend.env);
      expect(result.code, result.stdout + result.stderr).toBe(2);
      expect(result.stderr).toContain("aggregate-metrics: --since: expected a duration such as 30d, 12h, 90m, 45s or 2w (got 'nonsense')");
      expect(await db.query(`select id from task_runs where task = 'aggregate-metrics'`)).toEqual([]);
      expect(aggregateMetricsTask.args.safeParse({ since: '7d' }).success).toBe(true);
      await expect(aggregateMetrics(db, { since: 'soon' })).rejects.toThrow(UsageError);
    });
  });
});
