import { z } from 'zod';
import { runKnowledgeLoad, summarizeKnowledgeRun } from '../knowledge/run.js';
import { defineTask } from '../core/task/define.js';
import { checkKnowledgeFolder, knowledgeArgs } from './knowledge-args.js';

export default defineTask({
  name: 'load-templates',
  summary: 'Load every template file of templates_data/ (JSON artifacts and text templates) into the knowledge base',
  description:
    'Like migrate-knowledge, and also the text templates under templates/ (.hbs, .lua, .md, .j2, .eex, ...), stored ' +
    'as text with their metadata (language, variables, lines). Deletes nothing and embeds nothing (embed-templates does).',
  engine: 'node',
  setupOrder: 2,
  args: z.object(knowledgeArgs),
  check: checkKnowledgeFolder,
  timeoutMs: 60 * 60_000,
  run: (ctx) => runKnowledgeLoad(ctx, { ...ctx.args, include: 'all', deleteVanished: false, embed: false }),
  summarize: summarizeKnowledgeRun,
});
