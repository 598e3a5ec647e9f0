import { z } from 'zod';
import { defineTask } from '../core/task/define.js';

export default defineTask({
  name: 'cleanup-cache',
  summary: 'Delete expired entries of the analysis cache',
  engine: 'sql',
  schedule: '*/15 * * * *',
  args: z.object({}),
  timeoutMs: 5 * 60_000,
  sql: () => 'select cleanup_cache() as result',
  summarize: (r: { deleted: number; remaining: number }) =>
    `deleted ${r.deleted} expired cache entries; ${r.remaining} remain`,
});
