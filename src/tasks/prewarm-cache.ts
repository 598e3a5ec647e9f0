import { z } from 'zod';
import { defineTask, sqlLiteral } from '../core/task/define.js';
import { duration, durationInterval } from '../core/task/args.js';

export interface PrewarmResult {
  renewed: number;
  pg_prewarm: boolean;
  prewarmed_blocks: number | null;
}

export default defineTask({
  name: 'prewarm-cache',
  summary: "Prewarm the analysis cache from its hot entries: renew their expiry and, with pg_prewarm, load its pages",
  engine: 'sql',
  schedule: '0 */6 * * *',
  args: z.object({
    // Longer than the 6-hour schedule, so a renewed entry outlives the next prewarm.
    extend: duration().default('1d').describe('hot entries expiring sooner than this are renewed to now + this'),
  }),
  timeoutMs: 10 * 60_000,
  sql: ({ extend }) => `select prewarm_cache(${sqlLiteral(durationInterval(extend))}::interval) as result`,
  summarize: (r: PrewarmResult) =>
    `renewed ${r.renewed} hot cache entries; ` +
    (r.pg_prewarm ? `prewarmed ${r.prewarmed_blocks} blocks` : 'pg_prewarm not installed'),
});
