import { z } from 'zod';
import { runKnowledgeLoad, summarizeKnowledgeRun } from '../knowledge/run.js';
import { defineTask } from '../core/task/define.js';
import { checkKnowledgeFolder, knowledgeArgs } from './knowledge-args.js';

export default defineTask({
  name: 'migrate-knowledge',
  summary: 'Load the JSON artifacts of templates_data/ into the knowledge base, validated, and embed them',
  description:
    "Reads every *.json artifact of the knowledge folder (the artifact's type is its top-level folder), validates it " +
    'against its type\'s schema, and stores raw text and JSONB with a content hash, by (type, id, version), in batches ' +
    'of one transaction each. Unchanged artifacts are not written. An invalid file is reported (path, JSON pointer, ' +
    'reason) and skipped; the run then fails (exit 1) unless --allow-invalid. New and changed artifacts are embedded ' +
    'when a model is available; otherwise they stay pending for embed-templates.',
  engine: 'node',
  setupOrder: 1,
  args: z.object({
    ...knowledgeArgs,
    skipEmbedding: z.boolean().default(false).describe('load only; leave embeddings to embed-templates'),
  }),
  timeoutMs: 60 * 60_000,
  check: checkKnowledgeFolder,
  run: (ctx) =>
    runKnowledgeLoad(ctx, { ...ctx.args, include: 'json', deleteVanished: false, embed: !ctx.args.skipEmbedding }),
  summarize: summarizeKnowledgeRun,
});
