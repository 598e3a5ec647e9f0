import { z } from 'zod';
import { defineTask } from '../core/task/define.js';

export default defineTask({
  name: 'vector-stats',
  summary: 'Refresh planner statistics of the tables with vector columns; report each vector index',
  engine: 'sql',
  schedule: '0 4 * * 0',
  args: z.object({}),
  timeoutMs: 3600_000,
  sql: () => 'select vector_stats() as result',
  summarize: (result: { pgvector: boolean; tables: unknown[]; indexes: unknown[] }) =>
    result.pgvector
      ? `analyzed ${result.tables.length} table(s) with vector columns; ${result.indexes.length} vector index(es)`
      : 'pgvector is not installed in this database: no vector columns to analyze',
});
