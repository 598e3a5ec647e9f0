import { z } from 'zod';
import { codebasesToAnalyse } from '../analysis/codebase.js';
import { renderRegistry, REPORT_FORMATS } from '../analysis/format.js';
import { syncRegistry, type RegistrySnapshot } from '../analysis/registry.js';
import { plural } from '../core/format.js';
import { defineTask } from '../core/task/define.js';

export default defineTask({
  name: 'sync-registry',
  summary: 'Store an architecture snapshot of each ingested codebase and what changed since the last',
  description:
    'Per codebase: files, lines and symbols per language; modules (folders) with their fan-in and fan-out; import ' +
    'cycles (strongly connected components of the file import graph); the highest-ranked files and symbols ' +
    '(PageRank, from rank-graph); size outliers; and the difference from the previous snapshot (files and symbols ' +
    'added and removed, files grown, cycles new and gone). See docs/code-analysis.md.',
  engine: 'node',
  schedule: '0 4 * * *',
  args: z.object({
    codebase: z.string().min(1).optional().describe('only this codebase (default: every ingested codebase)'),
    keep: z.number().int().min(1).default(90).describe('snapshots kept per codebase; older ones are deleted'),
    format: z.enum(REPORT_FORMATS).default('text').describe('how the snapshot is printed: text, markdown or json'),
  }),
  // A typo in --codebase is refused before a run is recorded.
  check: async ({ args, db }) => void (await codebasesToAnalyse(db, args.codebase)),
  timeoutMs: 30 * 60_000,
  async run({ args, db, runId, progress }) {
    progress('reading the graph');
    return syncRegistry(db, { codebase: args.codebase, keep: args.keep, runId });
  },
  summarize: (snapshots: RegistrySnapshot[]) =>
    snapshots.map(({ id, codebase, summary: s, diff: d }) => `${codebase}: snapshot ${id}, ${plural(s.totals.files, 'file')}, ${plural(s.cycles.count, 'import cycle')}` +
      (d.previous ? `; since snapshot ${d.previous.id}: +${d.files.added.length} -${d.files.removed.length} files, +${d.symbols.added.length} -${d.symbols.removed.length} symbols` : '')).join('; '),
  report: (snapshots: RegistrySnapshot[], args) => renderRegistry(snapshots, args.format),
});
