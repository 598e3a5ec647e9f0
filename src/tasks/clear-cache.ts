import { z } from 'zod';
import { checkClearCacheOptions, clearCaches, type ClearCacheResult } from '../cache/clear.js';
import { formatBytes } from '../core/format.js';
import { duration } from '../core/task/args.js';
import { defineTask } from '../core/task/define.js';

const count = (n: number) => n.toLocaleString('en-US');

export default defineTask({
  name: 'clear-cache',
  summary: 'Clear stale entries of the analysis and embedding caches (everything with --all) and report what that freed',
  description:
    'Stale: analysis-cache entries whose expires_at has passed, and embedding-cache entries made by a model other than ' +
    'the configured one (embedding.model), or made longer ago than --older-than. Deletes in short batches, then refreshes ' +
    'hot_cache_entries. Files are never touched: the embedding model on disk stays (an offline machine cannot download it ' +
    'again); see docs/caches.md.',
  engine: 'node',
  schedule: '0 3 * * *',
  args: z.object({
    all: z.boolean().default(false).describe('empty every cache, not only the stale entries'),
    olderThan: duration().optional().describe("also remove embedding-cache entries of the configured model made longer ago than this (30d, 12h, ...)"),
    dryRun: z.boolean().default(false).describe('report what would be removed; delete nothing'),
  }),
  timeoutMs: 60 * 60_000,
  check: ({ args }) => checkClearCacheOptions(args),
  run: ({ args, db, config, signal, progress }) =>
    clearCaches(db, { ...args, model: config.embedding.model, signal, progress }),
  summarize: (r: ClearCacheResult) =>
    `${r.dryRun ? 'would free' : 'freed'} ${count(r.removed)} entries (${formatBytes(r.bytesFreed)}): ` +
    r.caches.map((c) => `${c.cache} ${count(c.removed)} (${formatBytes(c.bytesFreed)})`).join(', ') +
    `; ${count(r.remaining)} remain`,
});
