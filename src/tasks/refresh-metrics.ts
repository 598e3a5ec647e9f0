import { z } from 'zod';
import { defineTask } from '../core/task/define.js';

export default defineTask({
  name: 'refresh-metrics',
  summary: 'Refresh the performance metrics of agents (per task kind) and of task runs over the last 7 days',
  engine: 'sql',
  schedule: '*/30 * * * *',
  args: z.object({}),
  timeoutMs: 10 * 60_000,
  // REFRESH MATERIALIZED VIEW CONCURRENTLY runs inside a function and a transaction (unlike CREATE INDEX
  // CONCURRENTLY), so this stays one transaction: both views change together or not at all.
  sql: () => 'select refresh_metrics() as result',
  summarize: (r: { agent_performance: number; task_run_performance: number }) =>
    `agent_performance: ${r.agent_performance} rows; task_run_performance: ${r.task_run_performance} rows`,
});
