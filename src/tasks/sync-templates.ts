import { z } from 'zod';
import { runKnowledgeLoad, summarizeKnowledgeRun } from '../knowledge/run.js';
import { defineTask } from '../core/task/define.js';
import { checkKnowledgeFolder, knowledgeArgs } from './knowledge-args.js';

export default defineTask({
  name: 'sync-templates',
  summary: 'Bring the knowledge base in line with templates_data/: add, update, and delete what left the folder',
  description:
    'Loads every file as load-templates does, then deletes the rows of artifacts whose file is gone. Only rows that ' +
    'came from files are deleted, never learned artifacts, and never the row of a file that is still there but ' +
    'invalid now (fix the file and the next sync updates it).',
  engine: 'node',
  schedule: '0 2 * * *',
  args: z.object(knowledgeArgs),
  check: checkKnowledgeFolder,
  timeoutMs: 60 * 60_000,
  run: (ctx) => runKnowledgeLoad(ctx, { ...ctx.args, include: 'all', deleteVanished: true, embed: false }),
  summarize: summarizeKnowledgeRun,
});
