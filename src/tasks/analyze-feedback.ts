import { z } from 'zod';
import { plural } from '../core/format.js';
import { duration, durationInterval } from '../core/task/args.js';
import { defineTask, sqlLiteral } from '../core/task/define.js';

export interface OpenSuggestion {
  id: number;
  agent: string;
  kind: string;
  status: 'proposed' | 'accepted';
  change: { path: string; from: unknown; to: unknown };
  why: string;
  created_at: string;
}

export interface FeedbackResult {
  window: string;
  metrics: Array<Record<string, unknown>>;
  proposed: number[];
  superseded: Array<{ id: number; agent: string; kind: string; reason: string }>;
  open: OpenSuggestion[];
}

/** The open suggestions, one line each, for the operator to accept or reject with evolve-agents. */
export function renderSuggestions(open: readonly OpenSuggestion[]): string {
  if (open.length === 0) return 'no open suggestions';
  const rows = open.map((s) => [
    `#${s.id}`,
    s.agent,
    s.kind,
    s.status,
    `${s.change.path}: ${JSON.stringify(s.change.from)} -> ${JSON.stringify(s.change.to)}`,
    s.why,
  ]);
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows.map((r) => r.map((cell, i) => (i === r.length - 1 ? cell : cell.padEnd(widths[i]!))).join('  ')).join('\n');
}

export default defineTask({
  name: 'analyze-feedback',
  summary: "Turn agents' task results (success rate, p95 duration, cost per kind) into suggested configuration changes",
  description:
    'Per agent and kind of task, over the window and since the agent\'s current configuration version: success rate, ' +
    'mean and p95 duration, cost. The rules of agent_suggestion_rules (thresholds, minimum samples) propose changes ' +
    'with their evidence into agent_suggestions; an open suggestion is never recorded twice, and a proposed one whose ' +
    'evidence no longer holds is superseded. Prints the open suggestions; accept them with evolve-agents. See docs/agents.md.',
  engine: 'sql',
  // Agents run on instances; the central database has none of its own.
  roles: ['instance'],
  schedule: '*/30 * * * *',
  args: z.object({
    window: duration().default('7d').describe('the finished tasks considered: those of this last stretch of time'),
  }),
  timeoutMs: 10 * 60_000,
  sql: ({ window }) => `select analyze_feedback(${sqlLiteral(durationInterval(window))}::interval) as result`,
  summarize: (r: FeedbackResult) =>
    `${plural(r.metrics.length, 'agent and kind', 'agents and kinds')} over ${r.window}; ` +
    `${r.proposed.length} proposed, ${r.superseded.length} superseded; ${plural(r.open.length, 'suggestion')} open`,
  report: (r: FeedbackResult) => renderSuggestions(r.open),
});
