import { z } from 'zod';
import { defineTask } from '../core/task/define.js';

type Counts = Record<'themes' | 'epics' | 'capabilities' | 'features', { inserted: number; total: number }>;

export default defineTask({
  name: 'seed-plan',
  summary: 'Seed the work plan (themes, epics, capabilities, features); rows already present are left alone',
  engine: 'sql',
  setupOrder: 3,
  args: z.object({}),
  timeoutMs: 60_000,
  sql: () => 'select seed_work_plan() as result',
  summarize: (counts: Counts) =>
    (['themes', 'epics', 'capabilities', 'features'] as const)
      .map((table) => `${table}: ${counts[table].inserted} new, ${counts[table].total} in all`)
      .join('; '),
});
