// Flags the knowledge tasks share, and their check before a run is recorded.
import { z } from 'zod';
import type { Config } from '../core/config.js';
import { knowledgeRoot } from '../knowledge/scan.js';

export const knowledgeArgs = {
  path: z.string().min(1).optional().describe('the knowledge folder (default: knowledge.templatesDir, the shipped templates_data/)'),
  dryRun: z.boolean().default(false).describe('validate and show what would change; write nothing'),
  allowInvalid: z.boolean().default(false).describe('exit 0 even when some files were invalid (they are still skipped)'),
};

/** The knowledge folder (--path, else knowledge.templatesDir) must exist. */
export function checkKnowledgeFolder({ args, config }: { args: { path?: string }; config: Config }): void {
  knowledgeRoot(args.path ?? config.knowledge.templatesDir);
}
