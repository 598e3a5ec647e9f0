// Metrics per period from the raw rows: the run history (task_runs) and the telemetry events. Each
// aggregation recomputes whole buckets of a window from what is in the tables and replaces the stored
// ones, so that running it twice over the same time gives the same numbers, and a row that arrives late in
// a bucket already aggregated is counted once the bucket is recomputed (never added on top).
import type { PoolClient } from 'pg';
import type { Database } from '../core/database.js';
import { parseDurationInterval } from '../core/duration.js';
import { UsageError } from '../core/errors.js';

export type Period = '5m' | '1h' | '1d';

/** The periods and their strides, finest first. Buckets are aligned in UTC (date_bin from 2000-01-01). */
export const PERIODS: ReadonlyArray<{ period: Period; stride: string }> = [
  { period: '5m', stride: '5 minutes' },
  { period: '1h', stride: '1 hour' },
  { period: '1d', stride: '1 day' },
];

export const ORIGIN = `timestamptz '2000-01-01 00:00:00+00'`;

/** Where the first aggregation starts: the metrics of older runs can be had with --since. */
export const FIRST_WINDOW = '2 days';
/**
 * How far before the last watermark the next aggregation starts: a run or event written with a time just
 * before it, by a transaction that committed just after, is still counted.
 */
export const SLACK = '5 minutes';

// pg_advisory_xact_lock key: the first 8 bytes of sha1('singularity:aggregate-metrics'). Two aggregations at
// once take turns instead of upserting the same buckets in different orders.
const LOCK_KEY = '-5171529959335537913';

export interface AggregateOptions {
  /** Also recompute this far back (a duration: 2h, 7d), for rows recorded late or with an earlier time. */
  since?: string;
  /** The aggregation's time (default: the database's now()): the window ends here, and it is the new watermark. */
  now?: Date;
  signal?: AbortSignal;
  progress?: (message: string, share?: number) => void;
}

export interface AggregateResult {
  /** The earliest time recomputed (each period's window starts at the bucket holding it). */
  from: Date;
  /** The end of the window, now the watermark. */
  to: Date;
  periods: Array<{ period: Period; from: Date; buckets: number }>;
  buckets: number;
  /** Finished runs and events read (in the widest window, the day's). */
  runs: number;
  events: number;
}

// Every finished run gives a row for its final state (run.failed for discarded: failed for good) and, when it
// ran, one for run.duration_ms; skipped and missed runs never ran, so their rows carry only a count.
const SAMPLES = `
  select date_bin($1::interval, r.finished_at, ${ORIGIN}) as bucket_start, m.name, r.task, m.value
  from task_runs r
  cross join lateral (values
    ('run.' || case r.state when 'discarded' then 'failed' else r.state end,
     case when r.state in ('skipped', 'missed') then null else r.duration_ms::float8 end),
    (case when r.state in ('completed', 'discarded', 'cancelled') and r.duration_ms is not null then 'run.duration_ms' end,
     r.duration_ms::float8)
  ) as m(name, value)
  where r.finished_at >= $2 and r.finished_at < $3
    and r.state in ('completed', 'discarded', 'cancelled', 'skipped', 'missed') and m.name is not null
  union all
  select date_bin($1::interval, e.at, ${ORIGIN}), e.name, '', e.value
  from telemetry_events e
  where e.at >= $2 and e.at < $3`;

const UPSERT = `
  with upserted as (
    insert into metrics (period, bucket_start, name, task, count, sum, avg, min, max, p95, computed_at)
    select $4, bucket_start, name, task, count(*), sum(value), avg(value), min(value), max(value),
           percentile_cont(0.95) within group (order by value), $3
    from (${SAMPLES}) samples
    group by bucket_start, name, task
    on conflict (period, bucket_start, name, task) do update set
      count = excluded.count, sum = excluded.sum, avg = excluded.avg, min = excluded.min, max = excluded.max,
      p95 = excluded.p95, computed_at = excluded.computed_at
    returning name, task, count
  )
  select count(*)::int as buckets,
         coalesce(sum(count) filter (where task <> '' and name <> 'run.duration_ms'), 0)::int as runs,
         coalesce(sum(count) filter (where task = ''), 0)::int as events
  from upserted`;

export async function aggregateMetrics(db: Database, options: AggregateOptions = {}): Promise<AggregateResult> {
  const since = options.since === undefined ? null : parseDurationInterval(options.since);
  if (since === undefined) {
    throw new UsageError(`'${options.since}' is not a duration`, { hint: 'Use a number and a unit: 90m, 24h, 7d, 2w.' });
  }
  return db.transaction(async (client: PoolClient) => {
    await client.query(`select pg_advisory_xact_lock(${LOCK_KEY})`);
    // Read after the lock: an aggregation that just finished has moved the watermark.
    const { rows: [window] } = await client.query<{ now: Date; from: Date }>(
      `select n as now,
              -- least() skips nulls: without --since, or before the first watermark, the other bound decides.
              least(case when w.watermark is null then n - interval '${FIRST_WINDOW}' else least(w.watermark, n) - interval '${SLACK}' end,
                    n - $2::interval) as from
       from (select coalesce($1::timestamptz, now()) as n) t
       left join metrics_watermark w on true`,
      [options.now ?? null, since],
    );
    const { now, from } = window!;
    const result: AggregateResult = { from, to: now, periods: [], buckets: 0, runs: 0, events: 0 };
    for (const [i, { period, stride }] of PERIODS.entries()) {
      options.signal?.throwIfAborted();
      options.progress?.(`aggregating the ${period} buckets`, i / PERIODS.length);
      const { rows: [start] } = await client.query<{ from: Date }>(`select date_bin($1::interval, $2::timestamptz, ${ORIGIN}) as from`, [stride, from]);
      const { rows: [counts] } = await client.query<{ buckets: number; runs: number; events: number }>(UPSERT, [stride, start!.from, now, period]);
      result.periods.push({ period, from: start!.from, buckets: counts!.buckets });
      result.buckets += counts!.buckets;
      // The day's window starts first and so holds every row the others read.
      if (period === '1d') ({ runs: result.runs, events: result.events } = counts!);
    }
    await client.query(
      `insert into metrics_watermark (id, watermark, aggregated_at) values (true, $1, now())
       on conflict (id) do update set watermark = excluded.watermark, aggregated_at = excluded.aggregated_at`,
      [now],
    );
    return result;
  });
}
