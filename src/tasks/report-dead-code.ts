import { z } from 'zod';
import { codebasesToAnalyse } from '../analysis/codebase.js';
import { reportDeadCode, type DeadCodeReport } from '../analysis/dead-code-report.js';
import { renderDeadCodeReport, REPORT_FORMATS } from '../analysis/format.js';
import { duration, durationMs } from '../core/task/args.js';
import { plural } from '../core/format.js';
import { defineTask } from '../core/task/define.js';

export default defineTask({
  name: 'report-dead-code',
  summary: 'Summarise the dead-code checks of a week: the trend, new and resolved candidates, the biggest ones',
  description:
    'Reads the checks check-dead-code recorded within --within (default a week): candidates per day, those new within ' +
    'the window, those resolved, and the longest that remain. A codebase without checks gets an empty report that says so.',
  engine: 'node',
  schedule: '0 9 * * 1',
  args: z.object({
    codebase: z.string().min(1).optional().describe('only this codebase (default: every ingested codebase)'),
    within: duration().default('7d').describe('the window the report covers, ending now (7d, 30d, ...)'),
    format: z.enum(REPORT_FORMATS).default('text').describe('how the report is printed: text, markdown or json'),
  }),
  // A typo in --codebase is refused before a run is recorded.
  check: async ({ args, db }) => void (await codebasesToAnalyse(db, args.codebase)),
  timeoutMs: 10 * 60_000,
  async run({ args, db }) {
    return reportDeadCode(db, { codebase: args.codebase, days: durationMs(args.within) / 86_400_000 });
  },
  summarize: (reports: DeadCodeReport[]) =>
    reports.map((r) => (r.note && !r.total ? `${r.codebase}: no checks yet` : `${r.codebase}: ${plural(r.total, 'candidate')}, ${r.added.length} new and ${r.resolved.length} resolved`)).join('; '),
  report: (reports: DeadCodeReport[], args) => renderDeadCodeReport(reports, args.format),
});
