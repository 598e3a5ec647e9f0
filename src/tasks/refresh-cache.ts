import { z } from 'zod';
import { defineTask } from '../core/task/define.js';

export default defineTask({
  name: 'refresh-cache',
  summary: 'Refresh the hot-entries view of the analysis cache: the 100 live entries ranked by hits and recency',
  engine: 'sql',
  schedule: '0 * * * *',
  args: z.object({}),
  timeoutMs: 5 * 60_000,
  sql: () => 'select refresh_cache() as result',
  summarize: (r: { hot_entries: number; hot_bytes: number }) =>
    `${r.hot_entries} hot cache entries (${r.hot_bytes} bytes)`,
});
