import { z } from 'zod';
import { plural } from '../core/format.js';
import { UsageError } from '../core/errors.js';
import { defineTask, sqlLiteral } from '../core/task/define.js';

const ids = () =>
  z.string().regex(/^\d+(,\d+)*$/, 'expected suggestion ids, comma-separated: 3 or 3,7').optional();

type Args = { accept?: string; reject?: string; autoAccept?: string; rollback?: string };

/** The arguments of evolve_agents() and evolve_agents_check(), as SQL literals. */
function sqlArgs(a: Args): string {
  const list = (value: string | undefined, type: string) => `${sqlLiteral(`{${value ?? ''}}`)}::${type}[]`;
  return [list(a.accept, 'bigint'), list(a.reject, 'bigint'), list(a.autoAccept, 'text'), a.rollback === undefined ? 'null' : sqlLiteral(a.rollback)].join(', ');
}

export interface EvolveResult {
  accepted: number[];
  rejected: number[];
  applied: Array<{ id: number; agent: string; kind: string; change: { path: string; from: unknown; to: unknown }; version: number }>;
  superseded: Array<{ id: number; agent: string; kind: string; reason: string }>;
  rolled_back: { agent: string; from_version: number; restored_version: number; version: number } | null;
}

export default defineTask({
  name: 'evolve-agents',
  summary: 'Apply accepted suggestions to agents as new configuration versions; accept, reject, or roll an agent back',
  description:
    'Each accepted suggestion becomes a new version of its agent\'s configuration (agent_config_versions keeps them all); ' +
    'one made for a value the agent no longer has is superseded instead. --rollback AGENT restores the version before ' +
    'the current one, as a new version. See docs/agents.md.',
  engine: 'sql',
  roles: ['instance'],
  schedule: '0 * * * *',
  args: z.object({
    accept: ids().describe('accept these suggestions (ids, comma-separated), then apply them'),
    reject: ids().describe('reject these suggestions (ids, comma-separated)'),
    autoAccept: z
      .string()
      .regex(/^[a-z_]+(,[a-z_]+)*$/, 'expected kinds of suggestion, comma-separated: add_retry,set_timeout')
      .optional()
      .describe('accept every proposed suggestion of these kinds (comma-separated), as a standing policy in a crontab line'),
    rollback: z.string().min(1).optional().describe("make this agent's previous configuration version current again (runs alone)"),
  }),
  timeoutMs: 10 * 60_000,
  // Unknown ids, agents or kinds are refused before a run is recorded; evolve_agents_check() says why, with
  // SQLSTATE 22023, and evolve_agents() makes the same check when a scheduler starts it.
  async check({ args, db }) {
    try {
      await db.query(`select evolve_agents_check(${sqlArgs(args)})`);
    } catch (error) {
      if ((error as { code?: string }).code !== '22023') throw error;
      throw new UsageError(`evolve-agents: ${(error as Error).message}`, {
        hint: "'singularity analyze-feedback' lists the open suggestions; see docs/agents.md.",
      });
    }
  },
  sql: (args) => `select evolve_agents(${sqlArgs(args)}) as result`,
  summarize: (r: EvolveResult) => {
    if (r.rolled_back) {
      const b = r.rolled_back;
      return `rolled ${b.agent} back from version ${b.from_version}: version ${b.version} restores version ${b.restored_version}`;
    }
    const parts = [`applied ${plural(r.applied.length, 'suggestion')}`];
    if (r.applied.length) parts[0] += ` (${r.applied.map((a) => `#${a.id} ${a.agent} v${a.version}`).join(', ')})`;
    if (r.superseded.length) parts.push(`superseded ${r.superseded.map((s) => `#${s.id}`).join(', ')}`);
    if (r.rejected.length) parts.push(`rejected ${r.rejected.map((id) => `#${id}`).join(', ')}`);
    return parts.join('; ');
  },
});
