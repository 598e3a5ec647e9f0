import { join } from 'node:path';
import { z } from 'zod';
import { defineTask } from '../core/task/define.js';
import { checkPatternsOut, syncPatterns, type SyncPatternsResult } from '../knowledge/patterns.js';

export default defineTask({
  name: 'sync-patterns',
  summary: 'Publish learned patterns to the knowledge base and the cache, to listeners (NOTIFY) and to JSON files',
  description:
    'A learned pattern qualifies with a confidence of at least --min-confidence and at least --min-occurrences ' +
    "occurrences. Each is published as a learned knowledge artifact (type learned_pattern) that agents read and " +
    "record uses against, listed per kind in the analysis cache (patterns:<kind>) and in <kind>.json under --out; " +
    'each kind with a change gets a NOTIFY on singularity_patterns. Patterns that stopped qualifying are withdrawn ' +
    '(their artifacts and uses stay; prune-artifacts deletes unused ones). Nothing unchanged is written. ' +
    'See docs/learned-patterns.md.',
  engine: 'node',
  // Instances learn and publish; the central database aggregates what they send.
  roles: ['instance'],
  schedule: '*/5 * * * *',
  args: z.object({
    minConfidence: z.number().min(0).max(1).default(0.7).describe('publish patterns whose mean confidence is at least this'),
    minOccurrences: z.number().int().min(1).default(3).describe('publish patterns learned from at least this many results'),
    out: z.string().min(1).optional().describe('the folder of the JSON files, one per kind (default: <home>/patterns)'),
  }),
  timeoutMs: 10 * 60_000,
  check: ({ args }) => (args.out === undefined ? undefined : checkPatternsOut(args.out)),
  run: ({ args, db, config, signal, progress }) => {
    progress('publishing the learned patterns');
    return syncPatterns(db, { ...args, out: args.out ?? join(config.home, 'patterns'), signal });
  },
  summarize: (r: SyncPatternsResult) =>
    `${r.changed} changed (${r.new} new, ${r.updated} updated, ${r.withdrawn} withdrawn), ${r.published} published; ` +
    `files: ${r.files.written.length} written, ${r.files.removed.length} removed, ${r.files.unchanged} unchanged`,
});
