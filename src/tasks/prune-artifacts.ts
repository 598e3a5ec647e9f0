import { z } from 'zod';
import { defineTask, sqlLiteral } from '../core/task/define.js';
import { duration, durationInterval } from '../core/task/args.js';

export interface PruneArtifactsResult {
  deleted: number;
  kept_learned: number;
}

export default defineTask({
  name: 'prune-artifacts',
  summary: 'Delete unused learned knowledge artifacts (never those loaded from files)',
  description:
    'Deletes the learned rows of knowledge_artifacts that were never used and are older than --min-age, or were ' +
    'last used longer ago than --unused-for (prune_artifacts()). Rows loaded from templates_data/ are never ' +
    'deleted here: sync-templates keeps those.',
  engine: 'sql',
  schedule: '0 1 * * 0',
  args: z.object({
    unusedFor: duration().default('90d').describe('delete learned artifacts last used longer ago than this'),
    // A new artifact has had no chance to be used yet: give it this long.
    minAge: duration().default('30d').describe('delete never-used learned artifacts older than this'),
  }),
  timeoutMs: 10 * 60_000,
  sql: ({ unusedFor, minAge }) =>
    `select prune_artifacts(${sqlLiteral(durationInterval(unusedFor))}::interval, ${sqlLiteral(durationInterval(minAge))}::interval) as result`,
  summarize: (r: PruneArtifactsResult) => `deleted ${r.deleted} unused learned artifacts (${r.kept_learned} kept)`,
});
