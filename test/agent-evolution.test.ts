// The agent loop on each backend: analyze-feedback turns finished agent_tasks into suggestions with their
// evidence, evolve-agents applies the accepted ones as configuration versions and rolls them back, and the
// command line refuses what cannot be done with exit 2 and no recorded run.
import { beforeAll, describe, expect, it } from 'vitest';
import { backendNames, onBackend, type Backend } from './support/backends.js';
import { runCli } from './support/cli.js';
import type { Database } from '../src/core/database.js';
import { runTask } from '../src/core/runner.js';
import type { TaskDefinition } from '../src/core/task/define.js';
import analyzeFeedback, { type FeedbackResult } from '../src/tasks/analyze-feedback.js';
import evolveAgents, { type EvolveResult } from '../src/tasks/evolve-agents.js';

describe('the task definitions', () => {
  it('are instance sql tasks with the schedules of the task catalogue', () => {
    expect([analyzeFeedback, evolveAgents].map((t) => [t.name, t.engine, t.schedule, t.roles])).toEqual([
      ['analyze-feedback', 'sql', '*/30 * * * *', ['instance']],
      ['evolve-agents', 'sql', '0 * * * *', ['instance']],
    ]);
  });

  it('render their flags as SQL literals', () => {
    expect(analyzeFeedback.sql(analyzeFeedback.args.parse({}))).toBe(`select analyze_feedback('7 days'::interval) as result`);
    expect(evolveAgents.sql(evolveAgents.args.parse({}))).toBe(
      `select evolve_agents('{}'::bigint[], '{}'::bigint[], '{}'::text[], null) as result`,
    );
    expect(evolveAgents.sql(evolveAgents.args.parse({ accept: '3,7', autoAccept: 'add_retry', rollback: "o'neil" }))).toBe(
      `select evolve_agents('{3,7}'::bigint[], '{}'::bigint[], '{add_retry}'::text[], 'o''neil') as result`,
    );
    expect(() => evolveAgents.args.parse({ accept: '3; drop table agents' })).toThrow();
    expect(() => evolveAgents.args.parse({ autoAccept: 'Add-Retry' })).toThrow();
    expect(() => analyzeFeedback.args.parse({ window: 'a week' })).toThrow();
  });
});

describe.each(backendNames)('the agent loop on %s', (backendName) => {
  let backend: Backend;
  let db: Database;
  onBackend(backendName, (opened) => ({ backend, db } = opened));

  async function run<R>(task: TaskDefinition, flags: Record<string, unknown> = {}): Promise<R> {
    const result = await runTask({ db, config: backend.config }, task, { trigger: 'cli', args: task.args.parse(flags) });
    expect(result.error).toBeNull();
    expect(result.state).toBe('completed');
    return result.result as R;
  }
  const analyze = (flags: Record<string, unknown> = {}) => run<FeedbackResult>(analyzeFeedback, flags);
  const evolve = (flags: Record<string, unknown> = {}) => run<EvolveResult>(evolveAgents, flags);
  const rows = <T extends Record<string, any>>(text: string, params?: unknown[]) => db.query<T>(text, params);
  const agent = async (name: string) =>
    (await rows<{ capacity: number; skills: string[]; config: any; config_version: number }>(
      'select capacity, skills, config, config_version from agents where name = $1', [name]))[0]!;
  const versions = (name: string) =>
    rows<{ version: number; config: any; reason: string; suggestion_id: number | null }>(
      `select v.version, v.config, v.reason, v.suggestion_id from agent_config_versions v join agents a on a.id = v.agent_id
        where a.name = $1 order by v.version`, [name]);
  const suggestion = async (id: number) =>
    (await rows<{ status: string; reason: string | null; applied_version: number | null }>(
      'select status, reason, applied_version from agent_suggestions where id = $1', [id]))[0]!;

  /**
   * Finished tasks of an agent: `ok` completed, then `failed` failed, a minute apart, the newest `hoursAgo`
   * ago; durations[i] for the i-th (the last one repeats), each costing `cost`.
   */
  async function addTasks(name: string, kind: string, skill: string | null,
    t: { ok: number; failed?: number; durations?: number[]; cost?: number; hoursAgo?: number }) {
    const n = t.ok + (t.failed ?? 0);
    const durations = Array.from({ length: n }, (_, i) => t.durations?.[Math.min(i, t.durations.length - 1)] ?? 1000);
    await db.query(
      `insert into agent_tasks (kind, skill, status, assigned_agent_id, assigned_at, completed_at, duration_ms, cost)
       select $2, $3, case when i <= $4 then 'completed' else 'failed' end, a.id,
              now() - $6 * interval '1 hour' - i * interval '1 minute' - ($7::int[])[i] * interval '1 millisecond',
              now() - $6 * interval '1 hour' - i * interval '1 minute', ($7::int[])[i], $8
       from agents a, generate_series(1, $5) i where a.name = $1`,
      [name, kind, skill, t.ok, n, t.hoursAgo ?? 2, durations, t.cost ?? null],
    );
  }

  beforeAll(async () => {
    await db.query(`insert into agents (name, capacity, skills) values
      ('ada', 3, '{typescript,rust}'), ('bob', 2, '{typescript}'), ('cy', 2, '{python}'), ('dee', 1, '{go}')`);
    // ada: reviews succeed 14 times in 20; every one of 6 rust ports fails; builds are quick.
    await addTasks('ada', 'review', 'typescript', { ok: 14, failed: 6, durations: [40_000], cost: 0.05 });
    await addTasks('ada', 'port', 'rust', { ok: 0, failed: 6, durations: [90_000], cost: 0.2 });
    await addTasks('ada', 'build', 'typescript', { ok: 10, durations: [2_000], cost: 0.01 });
    // Ten days ago ada failed reviews all the time: outside the default window of 7 days.
    await addTasks('ada', 'review', 'typescript', { ok: 0, failed: 30, hoursAgo: 240 });
    // bob: 4 of 20 builds take 15 s where the others' take 2 s; 2 reviews, one failed: too few to judge.
    await addTasks('bob', 'build', 'typescript', { ok: 20, durations: [...Array(16).fill(2_500), 15_000], cost: 0.01 });
    await addTasks('bob', 'review', 'typescript', { ok: 1, failed: 1, durations: [30_000] });
    // cy: lint succeeds 9 times in 30; with its builds, under half of all its tasks.
    await addTasks('cy', 'lint', 'python', { ok: 9, failed: 21, durations: [5_000], cost: 0.02 });
    await addTasks('cy', 'build', null, { ok: 10, durations: [2_000], cost: 0.01 });
    // Still running: not finished, never counted.
    await db.query(`insert into agent_tasks (kind, status, assigned_agent_id) select 'review', 'running', id from agents where name = 'bob'`);
  });

  it('analyze-feedback records each suggestion the rules make, with its evidence', async () => {
    const result = await analyze();
    expect(result.window).toBe('7 days');
    expect(result.proposed).toEqual([1, 2, 3, 4, 5]);
    expect(result.open.map((s) => [s.id, s.agent, s.kind, s.change, s.why])).toEqual([
      [1, 'ada', 'add_retry', { path: '/kinds/review/max_retries', from: null, to: 1 }, 'review: success rate 0.7 < 0.9 over 20 tasks'],
      [2, 'ada', 'remove_skill', { path: '/skills', from: ['typescript', 'rust'], to: ['typescript'] },
        'skill rust: success rate 0 <= 0 over 6 tasks'],
      [3, 'bob', 'set_timeout', { path: '/kinds/build/timeout_ms', from: null, to: 6000 },
        'build: p95 15000 ms > 3 x the fleet median 2000 ms (20 tasks; the fleet 20)'],
      [4, 'cy', 'add_retry', { path: '/kinds/lint/max_retries', from: null, to: 1 }, 'lint: success rate 0.3 < 0.9 over 30 tasks'],
      [5, 'cy', 'lower_capacity', { path: '/capacity', from: 2, to: 1 }, 'success rate 0.475 < 0.5 over 40 tasks of all kinds'],
    ]);
    const [evidence] = await rows<{ evidence: any }>('select evidence from agent_suggestions where id = 1');
    expect(evidence!.evidence).toEqual({
      agent: 'ada', kind: 'review', tasks: 20, completed: 14, failed: 6, success_rate: 0.7, timed: 20,
      mean_duration_ms: 40_000, p95_duration_ms: 40_000, cost_total: 1, cost_per_task: 0.05,
      why: 'review: success rate 0.7 < 0.9 over 20 tasks', window: '7 days', sample: 20,
      rule: { min_tasks: 10, threshold: 0.9, bound: 3 },
    });
    // The metrics per agent and kind, cost included; bob's 2 reviews are measured but suggest nothing.
    expect(result.metrics.find((m) => m.agent === 'bob' && m.kind === 'review')).toMatchObject({ tasks: 2, success_rate: 0.5 });
    expect(result.metrics.find((m) => m.agent === 'bob' && m.kind === 'build')).toMatchObject({
      tasks: 20, mean_duration_ms: 5_000, p95_duration_ms: 15_000, cost_total: 0.2,
    });
    expect(analyzeFeedback.summarize!(result)).toBe('7 agents and kinds over 7 days; 5 proposed, 0 superseded; 5 suggestions open');
  });

  it('a second run with the same data records nothing new', async () => {
    const again = await analyze();
    expect(again.proposed).toEqual([]);
    expect(again.superseded).toEqual([]);
    expect(again.open.map((s) => s.id)).toEqual([1, 2, 3, 4, 5]);
    expect(await rows('select id from agent_suggestions')).toHaveLength(5);
  });

  it('a proposed suggestion whose evidence no longer holds is superseded', async () => {
    // 40 more successful reviews: ada's success rate on reviews is 54 in 60, 0.9, no longer below 0.9.
    await addTasks('ada', 'review', 'typescript', { ok: 40, durations: [40_000], hoursAgo: 1 });
    const result = await analyze();
    expect(result.superseded).toEqual([{ id: 1, agent: 'ada', kind: 'add_retry', reason: 'the evidence no longer holds' }]);
    expect(result.proposed).toEqual([]);
    expect((await suggestion(1)).status).toBe('superseded');
  });

  it('evolve-agents applies an accepted suggestion as a new version and keeps the history', async () => {
    const result = await evolve({ accept: '2' });
    expect(result.accepted).toEqual([2]);
    expect(result.applied).toEqual([
      { id: 2, agent: 'ada', kind: 'remove_skill', change: { path: '/skills', from: ['typescript', 'rust'], to: ['typescript'] }, version: 2 },
    ]);
    expect(evolveAgents.summarize!(result)).toBe('applied 1 suggestion (#2 ada v2)');
    expect(await agent('ada')).toMatchObject({ skills: ['typescript'], config_version: 2, capacity: 3 });
    expect(await versions('ada')).toEqual([
      { version: 1, config: { capacity: 3, skills: ['typescript', 'rust'] }, reason: 'as it was before the first change', suggestion_id: null },
      { version: 2, config: { capacity: 3, skills: ['typescript'] }, reason: 'suggestion 2 (remove_skill): /skills ["typescript", "rust"] -> ["typescript"]', suggestion_id: 2 },
    ]);
    expect(await suggestion(2)).toMatchObject({ status: 'applied', applied_version: 2 });
    // Nothing else was accepted: the others wait, and a run with nothing accepted changes nothing.
    expect((await evolve()).applied).toEqual([]);
    expect((await suggestion(3)).status).toBe('proposed');
  });

  it('a suggestion made for a value the agent no longer has is superseded, not applied', async () => {
    await db.query(`update agents set config = '{"kinds": {"lint": {"max_retries": 2}}}' where name = 'cy'`);
    const result = await evolve({ accept: '4' });
    expect(result.applied).toEqual([]);
    expect(result.superseded).toEqual([
      { id: 4, agent: 'cy', kind: 'add_retry', reason: 'the configuration changed since it was proposed: /kinds/lint/max_retries is 2, not null' },
    ]);
    expect(await agent('cy')).toMatchObject({ config: { kinds: { lint: { max_retries: 2 } } }, config_version: 1 });
  });

  it('--auto-accept applies every proposed suggestion of the named kinds', async () => {
    const result = await evolve({ autoAccept: 'set_timeout,lower_capacity' });
    expect(result.accepted).toEqual([3, 5]);
    expect(result.applied.map((a) => [a.id, a.agent, a.version])).toEqual([[3, 'bob', 2], [5, 'cy', 2]]);
    expect(await agent('bob')).toMatchObject({ config: { kinds: { build: { timeout_ms: 6000 } } }, config_version: 2 });
    // cy's capacity goes down and its hand-made lint setting stays.
    expect(await agent('cy')).toMatchObject({ capacity: 1, config: { kinds: { lint: { max_retries: 2 } } }, config_version: 2 });
    expect((await rows<{ reason: string }>('select reason from agent_suggestions where id = 5'))[0]!.reason).toBe('auto-accepted: lower_capacity');
  });

  it('--rollback restores the previous version as a new version, which can itself be rolled back', async () => {
    const back = await evolve({ rollback: 'ada' });
    expect(back.rolled_back).toEqual({ agent: 'ada', from_version: 2, restored_version: 1, version: 3 });
    expect(evolveAgents.summarize!(back)).toBe('rolled ada back from version 2: version 3 restores version 1');
    expect(await agent('ada')).toMatchObject({ skills: ['typescript', 'rust'], config_version: 3 });
    const again = await evolve({ rollback: 'ada' });
    expect(again.rolled_back).toMatchObject({ from_version: 3, restored_version: 2, version: 4 });
    expect(await agent('ada')).toMatchObject({ skills: ['typescript'], config_version: 4 });
    expect((await versions('ada')).map((v) => [v.version, v.config.skills, v.reason])).toEqual([
      [1, ['typescript', 'rust'], 'as it was before the first change'],
      [2, ['typescript'], 'suggestion 2 (remove_skill): /skills ["typescript", "rust"] -> ["typescript"]'],
      [3, ['typescript', 'rust'], 'rollback of version 2 to version 1'],
      [4, ['typescript'], 'rollback of version 3 to version 2'],
    ]);
  });

  it('judges an agent by the tasks since its configuration changed, and a rejected change stays away', async () => {
    // cy's 40 tasks were all before its version 2: nothing to judge it by yet.
    expect((await analyze()).open.filter((s) => s.agent === 'cy')).toEqual([]);
    // An hour later, 10 more lint tasks, half of them failed.
    await db.query(`update agent_config_versions set created_at = created_at - interval '1 hour'
                     where agent_id = (select id from agents where name = 'cy')`);
    await addTasks('cy', 'lint', 'python', { ok: 5, failed: 5, durations: [5_000], hoursAgo: 0 });
    const result = await analyze();
    const [lint] = result.open.filter((s) => s.agent === 'cy');
    expect(lint).toMatchObject({ kind: 'add_retry', change: { path: '/kinds/lint/max_retries', from: 2, to: 3 }, why: 'lint: success rate 0.5 < 0.9 over 10 tasks' });
    expect((await evolve({ reject: String(lint!.id) })).rejected).toEqual([lint!.id]);
    expect((await suggestion(lint!.id)).status).toBe('rejected');
    expect((await analyze()).proposed).toEqual([]);
  });

  it('the command line lists open suggestions, and refuses what cannot be done with exit 2 and no run', async () => {
    await addTasks('dee', 'fmt', 'go', { ok: 6, failed: 4, durations: [1_000], hoursAgo: 1 });
    const listed = await runCli(['analyze-feedback'], backend.env);
    expect(listed.code).toBe(0);
    expect(listed.stdout).toMatch(/^#\d+ +dee +add_retry +proposed +\/kinds\/fmt\/max_retries: null -> 1 +fmt: success rate 0.6 < 0.9 over 10 tasks$/m);
    expect(listed.stderr).toContain('analyze-feedback completed');

    const runsBefore = await rows('select id from task_runs where task = $1', ['evolve-agents']);
    const refused: Array<[string[], string]> = [
      [['--rollback', 'zed'], "no agent is named 'zed'"],
      [['--rollback', 'dee'], "agent 'dee' has no earlier configuration version (it is at version 1)"],
      [['--accept', '999'], 'no suggestion has id 999'],
      [['--accept', '2'], 'only open suggestions can be accepted or rejected: suggestion 2 is applied'],
      [['--accept', '3', '--reject', '3'], 'suggestion 3 is both accepted and rejected'],
      [['--auto-accept', 'more_cache'], 'no kind of suggestion is named more_cache'],
      [['--rollback', 'ada', '--accept', '3'], 'a rollback runs alone'],
      [['--accept', 'latest'], 'expected suggestion ids'],
    ];
    for (const [flags, message] of refused) {
      const cli = await runCli(['evolve-agents', ...flags], backend.env);
      expect([cli.code, cli.stderr], flags.join(' ')).toEqual([2, expect.stringContaining(message)]);
    }
    expect(await rows('select id from task_runs where task = $1', ['evolve-agents'])).toEqual(runsBefore);

    // A change made by hand as a version: dee's open suggestion is judged again on the tasks after it.
    await db.query(`select set_agent_config(id, agent_config_document(a) || '{"capacity": 2}', 'two at once, by hand') from agents a where name = 'dee'`);
    const [dee] = (await analyze()).superseded;
    expect(dee).toMatchObject({ agent: 'dee', kind: 'add_retry', reason: 'the agent has a new configuration version (2): it is judged again on the tasks after it' });
    expect(await agent('dee')).toMatchObject({ capacity: 2, config: {}, config_version: 2 });

    const central = await runCli(['analyze-feedback', '--role', 'central'], backend.env);
    expect(central.code).toBe(2);

    const rolled = await runCli(['evolve-agents', '--rollback', 'bob', '--json'], backend.env);
    expect(rolled.code).toBe(0);
    expect(JSON.parse(rolled.stdout).result.rolled_back).toEqual({ agent: 'bob', from_version: 2, restored_version: 1, version: 3 });
  });
});
