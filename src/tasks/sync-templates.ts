import { z } from 'zod';
import { checkCentralLink } from '../central/link.js';
import { summarizeCentralTemplates, syncTemplatesFromCentral, type CentralTemplatesResult } from '../central/templates.js';
import type { Config } from '../core/config.js';
import { runKnowledgeLoad, summarizeKnowledgeRun, type KnowledgeRunResult } from '../knowledge/run.js';
import { defineTask } from '../core/task/define.js';
import { checkKnowledgeFolder, knowledgeArgs } from './knowledge-args.js';

/** With a central database (and no --path), the central owns the templates and the instance pulls them. */
const fromCentral = (config: Config, args: { path?: string }) => Boolean(config.central.url && config.role === 'instance' && !args.path);

export default defineTask({
  name: 'sync-templates',
  summary: 'Bring the knowledge base in line with templates_data/ (or the central database): add, update, and delete',
  description:
    'Loads every file as load-templates does, then deletes the rows of artifacts whose file is gone. Only rows that ' +
    'came from files are deleted, never learned artifacts, and never the row of a file that is still there but ' +
    'invalid now (fix the file and the next sync updates it). With CENTRAL_DATABASE_URL set (and no --path), pulls ' +
    "the central database's artifacts instead, as source 'central', adding, updating and deleting only those.",
  engine: 'node',
  schedule: '0 2 * * *',
  args: z.object(knowledgeArgs),
  check: (ctx) => (fromCentral(ctx.config, ctx.args) ? checkCentralLink(ctx.db, ctx.config) : checkKnowledgeFolder(ctx)),
  timeoutMs: 60 * 60_000,
  run: (ctx) => fromCentral(ctx.config, ctx.args)
    ? syncTemplatesFromCentral(ctx.db, ctx.config, { dryRun: ctx.args.dryRun, signal: ctx.signal })
    : runKnowledgeLoad(ctx, { ...ctx.args, include: 'all', deleteVanished: true, embed: false }),
  summarize: (r: KnowledgeRunResult | CentralTemplatesResult) =>
    'source' in r && r.source === 'central' ? summarizeCentralTemplates(r) : summarizeKnowledgeRun(r as KnowledgeRunResult),
});
