// What the metrics say about each task over a window: runs, failures and the p95 duration, read from the
// hourly buckets (never the run history), for status's trend and doctor's check.
import type { Database } from '../core/database.js';

const HOUR_MS = 3_600_000;

export interface RunWindow {
  /** Runs that ran and finished: completed, failed (discarded) or cancelled. */
  runs: number;
  failed: number;
  /**
   * The hourly p95 durations weighted by their runs: an estimate, since percentiles of buckets do not add up
   * to the percentile of their union; null without a run that has a duration.
   */
  p95DurationMs: number | null;
}

export interface TaskTrend {
  /** The watermark of the last aggregation: the metrics count what finished before it. */
  asOf: Date;
  /** The hourly buckets of the last 24 h (the current hour included) ... */
  last24h: RunWindow;
  /** ... and of the 24 h before them. */
  previous24h: RunWindow;
}

/** The start of the hour holding `at` (UTC, as the buckets are). */
export const hourOf = (at: Date) => new Date(Math.floor(at.getTime() / HOUR_MS) * HOUR_MS);

/** The watermark of the last aggregation, or null if there has been none. */
export async function metricsWatermark(db: Database): Promise<{ watermark: Date; aggregatedAt: Date } | null> {
  const [row] = await db.query<{ watermark: Date; aggregatedAt: Date }>(
    `select watermark, aggregated_at as "aggregatedAt" from metrics_watermark`,
  );
  return row ?? null;
}

/**
 * Per window [from, to) of hourly buckets, each task's runs, failures and p95 duration. A task with no
 * run metric in a window is absent from its map.
 */
export async function runWindows(db: Database, windows: Array<{ from: Date; to: Date }>): Promise<Array<Map<string, RunWindow>>> {
  const rows = await db.query<{ i: number; task: string; runs: number; failed: number; p95: number | null }>(
    `select w.i, m.task,
       coalesce(sum(m.count) filter (where m.name in ('run.completed', 'run.failed', 'run.cancelled')), 0)::int as runs,
       coalesce(sum(m.count) filter (where m.name = 'run.failed'), 0)::int as failed,
       round(sum(m.p95 * m.count) filter (where m.name = 'run.duration_ms' and m.p95 is not null)
             / nullif(sum(m.count) filter (where m.name = 'run.duration_ms' and m.p95 is not null), 0))::float8 as p95
     from unnest($1::timestamptz[], $2::timestamptz[]) with ordinality as w(f, t, i)
     join metrics m on m.period = '1h' and m.bucket_start >= w.f and m.bucket_start < w.t and m.task <> ''
       and m.name in ('run.completed', 'run.failed', 'run.cancelled', 'run.duration_ms')
     group by w.i, m.task`,
    [windows.map((w) => w.from), windows.map((w) => w.to)],
  );
  const maps = windows.map(() => new Map<string, RunWindow>());
  for (const r of rows) maps[Number(r.i) - 1]!.set(r.task, { runs: r.runs, failed: r.failed, p95DurationMs: r.p95 });
  return maps;
}

const NONE: RunWindow = { runs: 0, failed: 0, p95DurationMs: null };

/**
 * Each task's trend at `now`: the last 24 h against the 24 h before. Null when no aggregation has run yet
 * (there are no metrics to tell); a task the metrics do not name ran not at all in those 48 h.
 */
export async function taskTrends(db: Database, now: Date): Promise<((task: string) => TaskTrend) | null> {
  const mark = await metricsWatermark(db);
  if (!mark) return null;
  const end = new Date(hourOf(now).getTime() + HOUR_MS);
  const middle = new Date(end.getTime() - 24 * HOUR_MS);
  const [last, previous] = await runWindows(db, [
    { from: middle, to: end },
    { from: new Date(middle.getTime() - 24 * HOUR_MS), to: middle },
  ]);
  return (task) => ({ asOf: mark.watermark, last24h: last!.get(task) ?? NONE, previous24h: previous!.get(task) ?? NONE });
}
