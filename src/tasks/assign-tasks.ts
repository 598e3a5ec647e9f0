import { z } from 'zod';
import { defineTask, sqlLiteral } from '../core/task/define.js';

export interface AssignResult {
  assigned: number;
  pending_left: number;
  agents: number;
}

export default defineTask({
  name: 'assign-tasks',
  summary: 'Assign pending tasks to active agents: by priority and age, within capacity, matching skills, spread fairly',
  description:
    'Each task goes to the active agent with the right skill and the lowest load for its capacity. ' +
    'Concurrent runs never assign a task twice or an agent beyond its capacity.',
  engine: 'sql',
  schedule: '*/2 * * * *',
  args: z.object({
    limit: z.number().int().min(1).max(100_000).default(100).describe('most tasks assigned per run'),
  }),
  timeoutMs: 5 * 60_000,
  sql: ({ limit }) => `select assign_tasks(${sqlLiteral(limit)}) as result`,
  summarize: (r: AssignResult) => `assigned ${r.assigned} tasks to ${r.agents} agents; ${r.pending_left} still pending`,
});
