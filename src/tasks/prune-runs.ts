import { z } from 'zod';
import { defineTask, sqlLiteral } from '../core/task/define.js';
import { duration, durationInterval } from '../core/task/args.js';

export default defineTask({
  name: 'prune-runs',
  summary: "Delete finished runs of the run history (and pg_cron's job_run_details) older than a bound, in batches",
  engine: 'sql',
  schedule: '0 0 * * 0',
  args: z.object({
    olderThan: duration().default('30d').describe('delete finished runs older than this (30d, 12h, 2w, ...)'),
    batchSize: z.number().int().min(1).max(100_000).default(1000).describe('rows deleted per committed batch'),
  }),
  timeoutMs: 30 * 60_000,
  // The procedure commits after each batch, which PostgreSQL allows only outside a transaction block.
  transaction: false,
  sql: ({ olderThan, batchSize }) =>
    `call prune_runs(${sqlLiteral(durationInterval(olderThan))}::interval, ${sqlLiteral(batchSize)}, null, null)`,
  summarize: (result: { deleted: number; deleted_cron_details: number }) =>
    `deleted ${result.deleted} finished runs` +
    (result.deleted_cron_details ? ` and ${result.deleted_cron_details} pg_cron run details` : ''),
});
