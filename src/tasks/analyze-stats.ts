import { z } from 'zod';
import { defineTask } from '../core/task/define.js';

export default defineTask({
  name: 'analyze-stats',
  summary: 'ANALYZE the database to keep planner statistics current',
  engine: 'sql',
  schedule: '0 */6 * * *',
  args: z.object({}),
  timeoutMs: 30 * 60_000,
  sql: () => 'analyze',
  summarize: () => 'planner statistics refreshed for every table',
});
