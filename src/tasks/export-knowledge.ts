import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { z } from 'zod';
import { exportToRepository, type ExportResult } from '../central/export.js';
import { promotedPatterns } from '../central/promote.js';
import type { Config } from '../core/config.js';
import { UsageError } from '../core/errors.js';
import { defineTask } from '../core/task/define.js';

export interface ExportKnowledgeResult extends ExportResult {
  qualifying: number;
  minUses: number;
  minSuccessRate: number;
}

/** --repo, else central.repo: a scheduled run has no check() before it, so run() asks again. */
function exportRepo(args: { repo?: string }, config: Config): string {
  const repo = args.repo ?? config.central.repo;
  if (!repo) throw new UsageError('export-knowledge needs a git repository', { hint: 'Pass --repo DIR, or set "central": {"repo": "..."} in the config file.' });
  return repo;
}

export default defineTask({
  name: 'export-knowledge',
  summary: 'Promote merged patterns used 100+ times with 95%+ success to templates_data/learned/ on a new git branch',
  description:
    "Reads the central database's merged patterns (central_patterns, over every instance) and writes those above " +
    'the thresholds to templates_data/learned/learned_pattern/<id>.json in the git repository --repo, on a new ' +
    'branch learned-patterns-YYYYMMDD-N with one commit. The current branch, index and working tree are never ' +
    'touched; nothing qualifies (or nothing changed): no branch. Pushes only with --push. Central role only: one ' +
    'export for all instances, so no two instances open conflicting branches. See docs/central.md.',
  engine: 'node',
  roles: ['central'],
  schedule: '0 0 * * *',
  args: z.object({
    repo: z.string().min(1).optional().describe('the git repository to export to (default: central.repo in the config file)'),
    push: z.boolean().default(false).describe('push the new branch to --remote'),
    remote: z.string().min(1).default('origin').describe('where --push sends the branch'),
    minUses: z.number().int().min(1).default(100).describe('uses over all instances a pattern needs'),
    minSuccessRate: z.number().min(0).max(1).default(0.95).describe('share of successful uses a pattern needs (0 to 1)'),
  }),
  check: ({ args, config }) => {
    const repo = exportRepo(args, config);
    if (!existsSync(resolve(repo))) throw new UsageError(`--repo ${repo} does not exist`);
  },
  timeoutMs: 10 * 60_000,
  run: async ({ db, config, args, signal }): Promise<ExportKnowledgeResult> => {
    const repo = exportRepo(args, config);
    const artifacts = await promotedPatterns(db, args);
    const result = await exportToRepository({ repo, artifacts, push: args.push, remote: args.remote, signal });
    return { ...result, qualifying: artifacts.length, minUses: args.minUses, minSuccessRate: args.minSuccessRate };
  },
  summarize: (r: ExportKnowledgeResult) =>
    r.branch
      ? `${r.qualifying} patterns qualify; branch ${r.branch} (commit ${r.commit!.slice(0, 12)}) with ${r.files.length} files` +
        (r.pushed ? ', pushed' : ' (not pushed: --push)')
      : `no branch: ${r.reason} (${r.qualifying} patterns with ${r.minUses}+ uses and ${Math.round(r.minSuccessRate * 100)}%+ success)`,
});
