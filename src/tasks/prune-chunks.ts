import { z } from 'zod';
import { defineTask, sqlLiteral } from '../core/task/define.js';
import { duration, durationInterval } from '../core/task/args.js';

export interface PruneChunksResult {
  files: number;
  chunks: number;
}

export default defineTask({
  name: 'prune-chunks',
  summary: 'Delete for good the code files that ingest marked deleted, with their chunks, in batches',
  description:
    'Ingest marks files that vanished (code_files.deleted_at) instead of deleting them, so that a file that comes ' +
    'back can keep its embeddings. This deletes the files marked at least --deleted-for ago together with their ' +
    'chunks, and any chunk left without a file (prune_chunks()), committing after each batch.',
  engine: 'sql',
  schedule: '0 2 * * 0',
  args: z.object({
    // 0s: every marked file. The weekly schedule (02:00, four hours before the weekly ingest) already
    // keeps a marked file about a week; raise this to keep them longer.
    deletedFor: duration().default('0s').describe('delete files marked deleted at least this long ago (0s: all of them)'),
    batchSize: z.number().int().min(1).max(100_000).default(5000).describe('chunks deleted per committed batch (a file goes whole)'),
  }),
  timeoutMs: 60 * 60_000,
  // The procedure commits after each batch, which PostgreSQL allows only outside a transaction block.
  transaction: false,
  sql: ({ deletedFor, batchSize }) =>
    `call prune_chunks(${sqlLiteral(durationInterval(deletedFor))}::interval, ${sqlLiteral(batchSize)}, null)`,
  summarize: (r: PruneChunksResult) => `removed ${r.files} files marked deleted and ${r.chunks} chunks`,
});
