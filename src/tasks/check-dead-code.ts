import { z } from 'zod';
import { codebasesToAnalyse } from '../analysis/codebase.js';
import { checkDeadCode, type DeadCodeCheck } from '../analysis/dead-code.js';
import { mergeRules } from '../analysis/dead-code-rules.js';
import { renderDeadCodeCheck, REPORT_FORMATS } from '../analysis/format.js';
import { plural } from '../core/format.js';
import { defineTask } from '../core/task/define.js';
import { emitEvent } from '../metrics/events.js';

export default defineTask({
  name: 'check-dead-code',
  summary: "Record today's dead-code candidates of each ingested codebase, marking the new ones",
  description:
    'A candidate is a function, method, class or type whose name no file of the codebase mentions outside its own ' +
    'definition, and which its language\'s rules do not count as used (public API of an entry point, tests, framework ' +
    'callbacks, decorated or attributed definitions). Each check is recorded; candidates the last check did not have ' +
    'are marked new. The rules are in docs/code-analysis.md; the config file\'s "deadCode" section extends them.',
  engine: 'node',
  schedule: '0 9 * * *',
  args: z.object({
    codebase: z.string().min(1).optional().describe('only this codebase (default: every ingested codebase)'),
    keep: z.number().int().min(2).default(90).describe('checks kept per codebase (with their candidates); older ones are deleted'),
    format: z.enum(REPORT_FORMATS).default('text').describe('how the candidates are printed: text, markdown or json'),
  }),
  timeoutMs: 30 * 60_000,
  // A typo in --codebase or a bad pattern in the config file is refused before a run is recorded.
  async check({ args, config, db }) {
    mergeRules(config.deadCode, config.configPath);
    await codebasesToAnalyse(db, args.codebase);
  },
  async run({ args, db, config, runId, progress }) {
    progress('looking for definitions no file mentions');
    const checks = await checkDeadCode(db, { codebase: args.codebase, rules: mergeRules(config.deadCode, config.configPath), runId, keep: args.keep });
    // Telemetry: aggregate-metrics turns the counts into a trend per codebase.
    for (const c of checks) await emitEvent(db, `dead_code.candidates.${c.codebase}`, c.candidates.length, { runId, tags: { codebase: c.codebase, new: c.newCandidates } });
    return checks;
  },
  summarize: (checks: DeadCodeCheck[]) =>
    checks.map((c) => `${c.codebase}: ${plural(c.candidates.length, 'candidate')}` + (c.first ? ' (first check)' : ` (${c.newCandidates} new, ${c.resolved.length} resolved)`)).join('; '),
  report: (checks: DeadCodeCheck[], args) => renderDeadCodeCheck(checks, args.format),
});
