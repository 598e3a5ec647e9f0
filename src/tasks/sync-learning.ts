import { z } from 'zod';
import { defineTask, sqlLiteral } from '../core/task/define.js';

export interface SyncResult {
  enqueued: number;
  sent: number;
  batch_id: number | null;
  unsent_left: number;
}

export default defineTask({
  name: 'sync-learning',
  summary: 'Send new and changed learned patterns to the central database, each version exactly once, in batches',
  description:
    'Learned patterns go through an outbox (learning_outbox); each run sends one batch (learning_sync_batches). ' +
    "No central database exists yet: a batch is recorded as sent with destination 'none'.",
  engine: 'sql',
  // An instance sends; the central database receives (seed 004: instances learn, the central aggregates).
  roles: ['instance'],
  schedule: '*/10 * * * *',
  args: z.object({
    batchSize: z.number().int().min(1).max(100_000).default(500).describe('most learnings sent per run (one batch)'),
  }),
  timeoutMs: 10 * 60_000,
  sql: ({ batchSize }) => `select sync_learning(${sqlLiteral(batchSize)}) as result`,
  summarize: (r: SyncResult) =>
    `enqueued ${r.enqueued} learnings; sent ${r.sent}` +
    (r.batch_id === null ? '' : ` in batch ${r.batch_id}`) +
    `; ${r.unsent_left} unsent`,
});
