// Metrics: does aggregate-metrics keep up with the run history, and did a task get much slower? A warning at
// most: metrics are for looking at trends, and nothing fails for want of them.
import type { Database } from '../core/database.js';
import { formatDuration, plural } from '../core/format.js';
import { hourOf, metricsWatermark, runWindows } from '../metrics/trends.js';
import { iso } from './pgcron-jobs.js';
import { ok, warn, type Check } from './types.js';

const ID = 'metrics';
const TITLE = 'metrics';
const HOUR_MS = 3_600_000;
/** An aggregation this old, with runs since, is stale: run-scheduler runs aggregate-metrics every 5 minutes. */
export const STALE_AFTER_MS = HOUR_MS;
/** A task whose p95 over the last day is more than this many times its p95 over the 7 days before... */
export const SLOWER = 2;
/** ... with at least this many runs in each, so that one slow run of a daily task is not a trend. */
export const MIN_RUNS = 5;

const FIX_RUN = "Run 'singularity aggregate-metrics'; run-scheduler runs it every 5 minutes from the default crontab.";

export async function checkMetrics(db: Database): Promise<Check> {
  const [clock, mark] = await Promise.all([db.query<{ now: Date }>('select now()'), metricsWatermark(db)]);
  const now = clock[0]!.now;
  if (!mark) {
    const [any] = await db.query<{ runs: boolean; events: boolean }>(
      `select exists (select 1 from task_runs where finished_at is not null) as runs, exists (select 1 from telemetry_events) as events`,
    );
    if (!any!.runs && !any!.events) return ok(ID, TITLE, 'no finished runs and no events yet: nothing to aggregate');
    return warn(ID, TITLE, 'aggregate-metrics has never run: the run history and the events are in no metrics, so status shows no trends', FIX_RUN);
  }

  const lines: string[] = [];
  const fixes: string[] = [];
  const behind = now.getTime() - mark.watermark.getTime();
  const [since] = await db.query<{ runs: number; events: number; newest: Date | null }>(
    `select (select count(*) from task_runs where finished_at >= $1)::int as runs,
            (select count(*) from telemetry_events where at >= $1)::int as events,
            (select max(bucket_start) from metrics where period = '5m') as newest`,
    [mark.watermark],
  );
  const newest = since!.newest ? `; newest 5m bucket ${iso(since!.newest)}` : '';
  if (behind > STALE_AFTER_MS && since!.runs + since!.events > 0) {
    lines.push(`stale: last aggregated up to ${iso(mark.watermark)} (${formatDuration(behind)} ago)${newest}; since then ` +
      `${plural(since!.runs, 'run')} finished and ${plural(since!.events, 'event')} were recorded`);
    fixes.push(`${FIX_RUN} If it runs but fails, 'singularity runs list --task aggregate-metrics' shows why.`);
  }

  // The last 24 hourly buckets against the 7 days of them before.
  const end = new Date(hourOf(now).getTime() + HOUR_MS);
  const middle = new Date(end.getTime() - 24 * HOUR_MS);
  const [day, week] = await runWindows(db, [{ from: middle, to: end }, { from: new Date(middle.getTime() - 7 * 24 * HOUR_MS), to: middle }]);
  const slower = [...day!]
    .map(([task, last]) => ({ task, last, before: week!.get(task) }))
    .filter(({ last, before }) => last.runs >= MIN_RUNS && (before?.runs ?? 0) >= MIN_RUNS && last.p95DurationMs !== null && before!.p95DurationMs)
    .map((t) => ({ ...t, ratio: t.last.p95DurationMs! / t.before!.p95DurationMs! }))
    .filter((t) => t.ratio > SLOWER)
    .sort((a, b) => b.ratio - a.ratio || a.task.localeCompare(b.task));
  if (slower.length) {
    lines.push(`${plural(slower.length, 'task')} more than ${SLOWER}x slower over the last 24 h than over the 7 days before (p95 duration): ` +
      slower.map((t) => `${t.task} ${formatDuration(t.last.p95DurationMs)} against ${formatDuration(t.before!.p95DurationMs)} (${t.ratio.toFixed(1)}x)`).join(', '));
    fixes.push(`'singularity runs list --task ${slower[0]!.task}' shows its recent runs: more data to process, a lock waited on or a missing index can make it slower.`);
  }
  if (lines.length) return warn(ID, TITLE, lines.join('\n'), fixes.join(' '));
  return ok(ID, TITLE, `aggregated up to ${iso(mark.watermark)} (${formatDuration(Math.max(0, behind))} ago)${newest}; ` +
    `no task more than ${SLOWER}x slower over the last 24 h than over the 7 days before`);
}
