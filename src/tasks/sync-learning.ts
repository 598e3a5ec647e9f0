import { z } from 'zod';
import { checkCentralLink, readCentralLink } from '../central/link.js';
import { sendOverConnection, type SyncLearningResult } from '../central/send.js';
import { defineTask, sqlLiteral } from '../core/task/define.js';

export default defineTask({
  name: 'sync-learning',
  summary: 'Send new and changed learned patterns to the central database, each version exactly once, in batches',
  description:
    'Learned patterns go through an outbox (learning_outbox); each run sends one batch (learning_sync_batches) to ' +
    'the central database of CENTRAL_DATABASE_URL: through postgres_fdw in one transaction where the database has ' +
    'it (pg_cron can then run this), over a connection of its own where not (the embedded database). The central ' +
    'database keys what it receives by instance and outbox entry, so nothing arrives twice. Without a central ' +
    'database, nothing is enqueued. See docs/central.md.',
  engine: 'sql',
  // An instance sends; the central database receives (seed 004: instances learn, the central aggregates).
  roles: ['instance'],
  schedule: '*/10 * * * *',
  args: z.object({
    batchSize: z.number().int().min(1).max(100_000).default(500).describe('most learnings sent per run (one batch)'),
  }),
  timeoutMs: 10 * 60_000,
  check: ({ db, config }) => checkCentralLink(db, config),
  sql: ({ batchSize }) => `select sync_learning(${sqlLiteral(batchSize)}) as result`,
  inProcess: {
    // A link through a connection, or one the configuration names and the database does not hold yet.
    applies: async ({ db, config }) => {
      const link = await readCentralLink(db);
      return link ? link.mode === 'connection' : Boolean(config.central.url && config.role === 'instance');
    },
    run: ({ db, config, args, signal }) => sendOverConnection(db, config, args.batchSize, signal),
  },
  summarize: (r: SyncLearningResult) =>
    r.link === 'none'
      ? 'no central database linked (CENTRAL_DATABASE_URL): nothing enqueued'
      : `enqueued ${r.enqueued} learnings; sent ${r.sent}` + (r.batch_id === null ? '' : ` in batch ${r.batch_id}`) +
        ` (${r.link === 'fdw' ? 'postgres_fdw' : 'connection'}); ${r.unsent_left} unsent`,
});
