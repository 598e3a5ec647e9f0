import { z } from 'zod';
import { defineTask } from '../core/task/define.js';

export default defineTask({
  name: 'update-agent-knowledge',
  summary: "Update each agent's knowledge summary from its finished tasks and the patterns relevant to its skills",
  engine: 'sql',
  schedule: '0 * * * *',
  args: z.object({}),
  timeoutMs: 10 * 60_000,
  sql: () => 'select update_agent_knowledge() as result',
  summarize: (r: { updated: number; unchanged: number }) => `updated ${r.updated} agents; ${r.unchanged} unchanged`,
});
