// Flags the knowledge tasks share.
import { z } from 'zod';

export const knowledgeArgs = {
  path: z.string().min(1).optional().describe('the knowledge folder (default: knowledge.templatesDir, the shipped templates_data/)'),
  dryRun: z.boolean().default(false).describe('validate and show what would change; write nothing'),
  allowInvalid: z.boolean().default(false).describe('exit 0 even when some files were invalid (they are still skipped)'),
};
