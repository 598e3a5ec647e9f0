import { z } from 'zod';
import { defineTask } from '../core/task/define.js';

export default defineTask({
  name: 'vacuum-analyze',
  summary: 'VACUUM (ANALYZE) the database: reclaim dead rows and refresh planner statistics',
  engine: 'sql',
  schedule: '0 23 * * *',
  args: z.object({}),
  timeoutMs: 2 * 60 * 60_000,
  // VACUUM cannot run inside a transaction block.
  transaction: false,
  sql: () => 'vacuum (analyze)',
  summarize: () => 'vacuumed and analyzed every table',
});
