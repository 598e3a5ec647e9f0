import { z } from 'zod';
import { duration } from '../core/task/args.js';
import { defineTask } from '../core/task/define.js';
import { aggregateMetrics, type AggregateResult } from '../metrics/aggregate.js';

export default defineTask({
  name: 'aggregate-metrics',
  summary: 'Aggregate telemetry events and finished runs into metrics per period (5m, 1h, 1d), recomputing the recent buckets',
  description:
    'Recomputes every bucket since the last aggregation (the last 2 days on the first run) from task_runs and ' +
    'telemetry_events and replaces the stored ones: running it again gives the same numbers. See docs/metrics.md.',
  engine: 'node',
  schedule: '*/5 * * * *',
  args: z.object({
    since: duration().optional().describe('also recompute the buckets this far back (2h, 7d, ...), for events recorded late or with an earlier time'),
  }),
  timeoutMs: 4 * 60_000,
  async run({ args, db, signal, progress }) {
    return aggregateMetrics(db, { since: args.since, signal, progress });
  },
  summarize: (r: AggregateResult) =>
    `aggregated ${r.periods.length} periods: ${count(r.buckets, 'bucket')} (from ${count(r.runs, 'run')} and ${count(r.events, 'event')})`,
});

const count = (n: number, word: string) => `${n.toLocaleString('en-US')} ${n === 1 ? word : `${word}s`}`;
