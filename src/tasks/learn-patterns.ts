import { z } from 'zod';
import { defineTask, sqlLiteral } from '../core/task/define.js';

export interface LearnResult {
  learned: number;
  new_patterns: number;
  updated_patterns: number;
  pending_left: number;
}

export default defineTask({
  name: 'learn-patterns',
  summary: 'Learn patterns from new analysis results: each result once, occurrences counted, confidence averaged',
  engine: 'sql',
  schedule: '*/5 * * * *',
  args: z.object({
    batchSize: z.number().int().min(1).max(100_000).default(1000).describe('most analysis results learned per run'),
  }),
  timeoutMs: 10 * 60_000,
  sql: ({ batchSize }) => `select learn_patterns(${sqlLiteral(batchSize)}) as result`,
  summarize: (r: LearnResult) =>
    `learned ${r.learned} analysis results: ${r.new_patterns} new patterns, ${r.updated_patterns} updated; ${r.pending_left} waiting`,
});
