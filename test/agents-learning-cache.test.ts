// The agent, learning, metrics and cache sql tasks, run through the runner against each backend on fixture
// data: what each leaves in the database, and that concurrent callers never do the same work twice.
import { setTimeout as sleep } from 'node:timers/promises';
import { beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { backendNames, onBackend, type Backend } from './support/backends.js';
import type { Database } from '../src/core/database.js';
import { runTask } from '../src/core/runner.js';
import type { TaskDefinition } from '../src/core/task/define.js';
import assignTasks from '../src/tasks/assign-tasks.js';
import cleanupCache from '../src/tasks/cleanup-cache.js';
import learnPatterns from '../src/tasks/learn-patterns.js';
import prewarmCache from '../src/tasks/prewarm-cache.js';
import refreshCache from '../src/tasks/refresh-cache.js';
import refreshMetrics from '../src/tasks/refresh-metrics.js';
import syncLearning from '../src/tasks/sync-learning.js';
import updateAgentKnowledge from '../src/tasks/update-agent-knowledge.js';

const ALL = [assignTasks, learnPatterns, syncLearning, cleanupCache, refreshMetrics, updateAgentKnowledge, refreshCache, prewarmCache];

describe('the task definitions', () => {
  it('are sql tasks with the schedules of the task catalogue', () => {
    expect(Object.fromEntries(ALL.map((t) => [t.name, [t.engine, t.schedule]]))).toEqual({
      'assign-tasks': ['sql', '*/2 * * * *'],
      'learn-patterns': ['sql', '*/5 * * * *'],
      'sync-learning': ['sql', '*/10 * * * *'],
      'cleanup-cache': ['sql', '*/15 * * * *'],
      'refresh-metrics': ['sql', '*/30 * * * *'],
      'update-agent-knowledge': ['sql', '0 * * * *'],
      'refresh-cache': ['sql', '0 * * * *'],
      'prewarm-cache': ['sql', '0 */6 * * *'],
    });
  });

  it('render their flags as SQL literals, with defaults', () => {
    expect(assignTasks.sql(assignTasks.args.parse({}))).toBe('select assign_tasks(100) as result');
    expect(learnPatterns.sql(learnPatterns.args.parse({}))).toBe('select learn_patterns(1000) as result');
    expect(syncLearning.sql(syncLearning.args.parse({ batchSize: 20 }))).toBe('select sync_learning(20) as result');
    expect(prewarmCache.sql(prewarmCache.args.parse({}))).toBe(`select prewarm_cache('1 days'::interval) as result`);
    expect(() => assignTasks.args.parse({ limit: 0 })).toThrow();
    expect(() => prewarmCache.args.parse({ extend: 'soon' })).toThrow();
  });
});

describe.each(backendNames)('agents, learning and cache on %s', (backendName) => {
  let backend: Backend;
  let db: Database;
  const ctx = () => ({ db, config: backend.config });

  onBackend(backendName, (opened) => ({ backend, db } = opened));

  /** Run a task through the runner as a user would; it must complete. */
  async function run<R = any>(task: TaskDefinition, flags: Record<string, unknown> = {}): Promise<R> {
    const result = await runTask(ctx(), task, { trigger: 'cli', args: task.args.parse(flags) });
    expect(result.error).toBeNull();
    expect(result.state).toBe('completed');
    return result.result as R;
  }

  const rows = <T extends Record<string, any>>(text: string, params?: unknown[]) => db.query<T>(text, params);
  const one = async <T extends Record<string, any>>(text: string, params?: unknown[]) => (await db.query<T>(text, params))[0]!;
  const call = async (text: string) => (await one<{ result: any }>(`select ${text} as result`)).result;

  /**
   * Two callers at once, on two connections: `first` runs in a transaction that stays open (holding its
   * locks) while `second` starts; then `first` commits. On the server, `second` either finishes meanwhile
   * (it skipped what `first` holds) or is seen waiting on a lock; PGlite serves one transaction at a time,
   * so there `second` simply runs after `first`.
   */
  async function concurrently(first: string, second: string) {
    const a = await db.pool.connect();
    const b = await db.pool.connect();
    try {
      await a.query('begin');
      const firstResult = (await a.query(`select ${first} as result`)).rows[0].result;
      let done = false;
      const secondRun = b.query(`select ${second} as result`).then((r) => ((done = true), r.rows[0].result));
      let secondWaited = false;
      if (backendName === 'postgres') {
        const pid = (b as unknown as { processID: number }).processID;
        for (let i = 0; i < 500 && !done && !secondWaited; i++) {
          const [activity] = await rows<{ wait: string | null }>('select wait_event_type as wait from pg_stat_activity where pid = $1', [pid]);
          secondWaited = activity?.wait === 'Lock';
          if (!secondWaited) await sleep(10);
        }
        expect(done || secondWaited, 'the second caller ran while the first held its locks').toBe(true);
      } else await sleep(50);
      const secondFinishedFirst = done;
      await a.query('commit');
      return { first: firstResult, second: await secondRun, secondFinishedFirst, secondWaited };
    } finally {
      a.release();
      b.release();
    }
  }

  describe('assign-tasks', () => {
    beforeEach(async () => {
      await db.query('truncate agents, agent_tasks restart identity cascade');
    });

    /** Tasks as (kind, skill, priority), inserted one second apart, oldest first. */
    async function addTasks(tasks: [string, string | null, number][]) {
      for (const [i, [kind, skill, priority]] of tasks.entries()) {
        await db.query(
          `insert into agent_tasks (kind, skill, priority, inserted_at) values ($1, $2, $3, now() - interval '1 hour' + $4 * interval '1 second')`,
          [kind, skill, priority, i],
        );
      }
    }
    const assignments = () =>
      rows<{ kind: string; agent: string | null; status: string }>(
        `select t.kind, a.name as agent, t.status from agent_tasks t left join agents a on a.id = t.assigned_agent_id order by t.id`,
      );
    const loads = () =>
      rows<{ name: string; capacity: number; load: number }>(
        `select a.name, a.capacity, count(t.id)::int as load from agents a
           left join agent_tasks t on t.assigned_agent_id = a.id and t.status in ('assigned', 'running')
          group by a.id order by a.id`,
      );

    it('assigns by priority, to agents with the skill, within capacity, never to paused or retired agents', async () => {
      await db.query(
        `insert into agents (name, status, capacity, skills) values
           ('ada', 'active', 2, '{typescript}'), ('bob', 'active', 4, '{typescript,sql}'),
           ('cy', 'paused', 5, '{typescript,sql}'), ('dee', 'retired', 5, '{typescript,sql,python,rust}'),
           ('eve', 'active', 1, '{python}')`,
      );
      await addTasks([
        ['ts-1', 'typescript', 0], ['ts-2', 'typescript', 0], ['ts-3', 'typescript', 0], ['ts-4', 'typescript', 0],
        ['ts-5', 'typescript', 0], ['sql-1', 'sql', 5], ['sql-2', 'sql', 5], ['rust-1', 'rust', 10],
        ['any-1', null, 1], ['any-2', null, 1], ['py-1', 'python', 0],
      ]);

      const result = await run(assignTasks);
      // 7 slots (ada 2, bob 4, eve 1): the 7 most urgent tasks an active agent can do. rust-1 comes first but
      // no active agent knows rust: it waits and does not block the others.
      expect(result).toEqual({ assigned: 7, pending_left: 4, agents: 3 });
      expect(assignTasks.summarize!(result)).toBe('assigned 7 tasks to 3 agents; 4 still pending');
      expect(await assignments()).toEqual([
        { kind: 'ts-1', agent: 'ada', status: 'assigned' }, // ada and bob both half full: the lighter load
        { kind: 'ts-2', agent: 'bob', status: 'assigned' },
        { kind: 'ts-3', agent: 'bob', status: 'assigned' },
        { kind: 'ts-4', agent: null, status: 'pending' },
        { kind: 'ts-5', agent: null, status: 'pending' },
        { kind: 'sql-1', agent: 'bob', status: 'assigned' }, // only bob (active) has sql
        { kind: 'sql-2', agent: 'bob', status: 'assigned' },
        { kind: 'rust-1', agent: null, status: 'pending' },
        { kind: 'any-1', agent: 'ada', status: 'assigned' }, // ada and eve empty: the lower id
        { kind: 'any-2', agent: 'eve', status: 'assigned' },
        { kind: 'py-1', agent: null, status: 'pending' }, // eve is full
      ]);
      expect(await loads()).toEqual([
        { name: 'ada', capacity: 2, load: 2 },
        { name: 'bob', capacity: 4, load: 4 },
        { name: 'cy', capacity: 5, load: 0 },
        { name: 'dee', capacity: 5, load: 0 },
        { name: 'eve', capacity: 1, load: 1 },
      ]);
      const [stamped] = await rows<{ n: number }>(`select count(*)::int as n from agent_tasks where status = 'assigned' and assigned_at is not null`);
      expect(stamped!.n).toBe(7);

      // Everyone is full: nothing moves.
      expect(await run(assignTasks)).toEqual({ assigned: 0, pending_left: 4, agents: 0 });

      // bob finishes two tasks and eve one (a running task still counts): the freed slots take the oldest
      // waiting tasks they can do.
      await db.query(
        `update agent_tasks set status = 'completed', completed_at = now(), duration_ms = 10 where kind in ('sql-1', 'sql-2', 'any-2')`,
      );
      await db.query(`update agent_tasks set status = 'running' where kind = 'ts-1'`);
      expect(await run(assignTasks)).toEqual({ assigned: 3, pending_left: 1, agents: 2 });
      const after = await assignments();
      expect(after.filter((t) => ['ts-4', 'ts-5', 'py-1', 'rust-1'].includes(t.kind))).toEqual([
        { kind: 'ts-4', agent: 'bob', status: 'assigned' },
        { kind: 'ts-5', agent: 'bob', status: 'assigned' },
        { kind: 'rust-1', agent: null, status: 'pending' },
        { kind: 'py-1', agent: 'eve', status: 'assigned' },
      ]);
      for (const agent of await loads()) expect(agent.load, agent.name).toBeLessThanOrEqual(agent.capacity);
    });

    it('spreads work in proportion to capacity and stops at --limit', async () => {
      await db.query(`insert into agents (name, capacity) values ('small', 4), ('large', 8)`);
      await addTasks(Array.from({ length: 20 }, (_, i) => [`t-${i}`, null, 0] as [string, null, number]));

      expect(await run(assignTasks, { limit: 6 })).toEqual({ assigned: 6, pending_left: 14, agents: 2 });
      // Half full each: 2 of 4 and 4 of 8 (first-fit would have filled small first).
      expect((await loads()).map((a) => a.load)).toEqual([2, 4]);
      // The 6 oldest tasks went first.
      const assigned = (await assignments()).filter((t) => t.status === 'assigned').map((t) => t.kind);
      expect(assigned).toEqual(['t-0', 't-1', 't-2', 't-3', 't-4', 't-5']);

      expect(await run(assignTasks)).toEqual({ assigned: 6, pending_left: 8, agents: 2 });
      expect((await loads()).map((a) => a.load)).toEqual([4, 8]);
    });

    it('never assigns a task twice or an agent beyond capacity when two callers run at once', async () => {
      await db.query(`insert into agents (name, capacity) values ('a1', 3), ('a2', 4), ('a3', 5)`);
      await addTasks(Array.from({ length: 30 }, (_, i) => [`c-${i}`, null, i % 3] as [string, null, number]));

      const { first, second, secondWaited } = await concurrently('assign_tasks(5)', 'assign_tasks(100)');
      expect(first.assigned).toBe(5);
      // The second caller waited for the first (its agents were locked), then counted its work.
      if (backendName === 'postgres') expect(secondWaited).toBe(true);
      expect(second.assigned).toBe(7);
      const [counts] = await rows<{ assigned: number; distinct_tasks: number; pending: number }>(
        `select count(*) filter (where status = 'assigned')::int as assigned,
                count(distinct id) filter (where status = 'assigned')::int as distinct_tasks,
                count(*) filter (where status = 'pending')::int as pending
           from agent_tasks`,
      );
      expect(counts).toEqual({ assigned: 12, distinct_tasks: 12, pending: 18 });
      expect((await loads()).map((a) => [a.load, a.capacity])).toEqual([[3, 3], [4, 4], [5, 5]]);
    });

    it.runIf(backendName === 'postgres')('skips a pending task that another transaction holds instead of waiting for it', async () => {
      await db.query(`insert into agents (name, capacity) values ('solo', 5)`);
      await addTasks([['held', null, 9], ['free-1', null, 0], ['free-2', null, 0]]);
      const { second, secondFinishedFirst } = await concurrently(
        `(select id from agent_tasks where kind = 'held' for update)`,
        'assign_tasks(100)',
      );
      expect(secondFinishedFirst).toBe(true);
      expect(second).toEqual({ assigned: 2, pending_left: 1, agents: 1 });
      expect((await assignments()).map((t) => t.status)).toEqual(['pending', 'assigned', 'assigned']);
    });
  });

  describe('learn-patterns', () => {
    beforeAll(async () => {
      await db.query('truncate analysis_results, learned_patterns restart identity cascade');
    });

    const pattern = (kind: string, key: string) =>
      one<{ occurrences: number; confidence: number; description: string | null; example: unknown; first_seen_at: Date; last_seen_at: Date; version: number }>(
        `select occurrences, confidence, description, example, first_seen_at, last_seen_at, version
           from learned_patterns where kind = $1 and pattern_key = $2`,
        [kind, key],
      );

    it('learns new results into patterns keyed by kind and pattern, averaging confidence', async () => {
      await db.query(
        `insert into analysis_results (codebase, kind, subject, finding, confidence, created_at) values
           ('web', 'framework', 'src/a.tsx', '{"pattern": "react-hooks", "description": "uses React hooks"}', 0.9, now() - interval '3 hours'),
           ('web', 'framework', 'src/b.tsx', '{"pattern": "react-hooks", "file": "b"}', 0.6, now() - interval '2 hours'),
           ('web', 'security', 'sql-injection', '{}', 0.8, now() - interval '2 hours'),
           ('api', 'framework', 'src/server.ts', '{"pattern": "express-router", "description": "Express routers"}', 0.5, now() - interval '1 hour'),
           ('api', 'security', 'src/hooks.ts', '{"pattern": "react-hooks"}', 0.4, now() - interval '1 hour')`,
      );
      const result = await run(learnPatterns);
      expect(result).toEqual({ learned: 5, new_patterns: 4, updated_patterns: 0, pending_left: 0 });
      expect(learnPatterns.summarize!(result)).toBe('learned 5 analysis results: 4 new patterns, 0 updated; 0 waiting');

      expect(await rows(`select kind, pattern_key, occurrences from learned_patterns order by kind, pattern_key`)).toEqual([
        { kind: 'framework', pattern_key: 'express-router', occurrences: 1 },
        { kind: 'framework', pattern_key: 'react-hooks', occurrences: 2 },
        { kind: 'security', pattern_key: 'react-hooks', occurrences: 1 }, // same key, other kind: its own pattern
        { kind: 'security', pattern_key: 'sql-injection', occurrences: 1 }, // no pattern named: the subject
      ]);
      const hooks = await pattern('framework', 'react-hooks');
      expect(hooks.confidence).toBeCloseTo((0.9 + 0.6) / 2, 12);
      expect(hooks.description).toBe('uses React hooks'); // the latest result has none: the one before
      expect(hooks.example).toEqual({ pattern: 'react-hooks', file: 'b' }); // the latest result's finding
      const [times] = await rows<{ first: Date; last: Date }>(
        `select min(created_at) as first, max(created_at) as last from analysis_results where finding->>'pattern' = 'react-hooks' and kind = 'framework'`,
      );
      expect([hooks.first_seen_at, hooks.last_seen_at]).toEqual([times!.first, times!.last]);
      const [unlearned] = await rows<{ n: number }>('select count(*)::int as n from analysis_results where learned_at is null');
      expect(unlearned!.n).toBe(0);
    });

    it('learns nothing on a second run', async () => {
      const before = await rows('select * from learned_patterns order by id');
      expect(await run(learnPatterns)).toEqual({ learned: 0, new_patterns: 0, updated_patterns: 0, pending_left: 0 });
      expect(await rows('select * from learned_patterns order by id')).toEqual(before);
    });

    it('adds later results to the running mean: 0.9, 0.6, then 0.3 give 0.6', async () => {
      await db.query(
        `insert into analysis_results (codebase, kind, subject, finding, confidence) values
           ('cli', 'framework', 'src/c.tsx', '{"pattern": "react-hooks", "description": "hooks everywhere"}', 0.3)`,
      );
      expect(await run(learnPatterns)).toEqual({ learned: 1, new_patterns: 0, updated_patterns: 1, pending_left: 0 });
      const hooks = await pattern('framework', 'react-hooks');
      expect(hooks.occurrences).toBe(3);
      expect(hooks.confidence).toBeCloseTo((0.75 * 2 + 0.3) / 3, 12);
      expect(hooks.confidence).toBeCloseTo(0.6, 12);
      expect(hooks.description).toBe('hooks everywhere');
      expect(hooks.version).toBe(2);
    });

    it('learns at most --batch-size results per run', async () => {
      await db.query(
        `insert into analysis_results (codebase, kind, subject, finding, confidence)
         select 'big', 'naming', 'file-' || i, jsonb_build_object('pattern', 'snake-case'), 0.5 from generate_series(1, 25) i`,
      );
      expect(await run(learnPatterns, { batchSize: 10 })).toEqual({ learned: 10, new_patterns: 1, updated_patterns: 0, pending_left: 15 });
      expect(await run(learnPatterns, { batchSize: 10 })).toEqual({ learned: 10, new_patterns: 0, updated_patterns: 1, pending_left: 5 });
      expect(await run(learnPatterns, { batchSize: 10 })).toEqual({ learned: 5, new_patterns: 0, updated_patterns: 1, pending_left: 0 });
      expect((await pattern('naming', 'snake-case')).occurrences).toBe(25);
    });

    it('learns each result exactly once when two callers run at once', async () => {
      // 200 results over 8 patterns, with confidences whose mean per pattern is known.
      await db.query(
        `insert into analysis_results (codebase, kind, subject, finding, confidence)
         select 'race', 'race', 'f' || i, jsonb_build_object('pattern', 'p' || (i % 8)), (i % 10) / 10.0
           from generate_series(1, 200) i`,
      );
      const expected = new Map<string, { n: number; sum: number }>();
      for (let i = 1; i <= 200; i++) {
        const entry = expected.get(`p${i % 8}`) ?? { n: 0, sum: 0 };
        entry.n += 1;
        entry.sum += (i % 10) / 10;
        expected.set(`p${i % 8}`, entry);
      }

      const { first, second } = await concurrently('learn_patterns(50)', 'learn_patterns(1000)');
      expect(first.learned).toBe(50);
      expect(first.learned + second.learned).toBe(200);
      const learned = await rows<{ pattern_key: string; occurrences: number; confidence: number }>(
        `select pattern_key, occurrences, confidence from learned_patterns where kind = 'race' order by pattern_key`,
      );
      expect(learned).toHaveLength(8);
      for (const p of learned) {
        const e = expected.get(p.pattern_key)!;
        expect(p.occurrences, p.pattern_key).toBe(e.n);
        expect(p.confidence, p.pattern_key).toBeCloseTo(e.sum / e.n, 12);
      }
      expect(await run(learnPatterns)).toMatchObject({ learned: 0, pending_left: 0 });
    });
  });

  describe('update-agent-knowledge', () => {
    beforeAll(async () => {
      await db.query('truncate agents, agent_tasks, learned_patterns restart identity cascade');
      await db.query(
        `insert into agents (name, status, capacity, skills) values
           ('kai', 'active', 4, '{framework,security}'), ('lin', 'paused', 2, '{framework}'),
           ('mo', 'retired', 2, '{framework}'), ('nia', 'active', 1, '{}')`,
      );
      await db.query(
        `insert into agent_tasks (kind, status, assigned_agent_id, assigned_at, completed_at, duration_ms) values
           ('review', 'completed', 1, now() - interval '5 hours', now() - interval '4 hours', 100),
           ('review', 'completed', 1, now() - interval '5 hours', now() - interval '3 hours', 200),
           ('review', 'completed', 1, now() - interval '5 hours', now() - interval '2 hours', 300),
           ('lint', 'failed', 1, now() - interval '5 hours', now() - interval '1 hour', 400),
           ('lint', 'assigned', 1, now(), null, null),
           ('lint', 'completed', 2, now() - interval '5 hours', now() - interval '90 minutes', 50),
           ('lint', 'completed', 3, now() - interval '5 hours', now() - interval '90 minutes', 70)`,
      );
      await db.query(
        `insert into learned_patterns (kind, pattern_key, occurrences, confidence, first_seen_at, last_seen_at) values
           ('framework', 'f1', 3, 0.91, now(), now()), ('framework', 'f2', 7, 0.80, now(), now()),
           ('framework', 'f3', 2, 0.80, now(), now()), ('framework', 'f4', 1, 0.30, now(), now()),
           ('framework', 'f5', 9, 0.20, now(), now()), ('framework', 'f6', 9, 0.10, now(), now()),
           ('security', 's1', 4, 0.85, now(), now()), ('style', 'x1', 99, 0.99, now(), now())`,
      );
    });

    const knowledge = () =>
      rows<{ name: string; knowledge: any; knowledge_updated_at: Date | null }>(
        'select name, knowledge, knowledge_updated_at from agents order by id',
      );
    const top = (...keys: [string, string, number, number][]) =>
      keys.map(([kind, pattern, confidence, occurrences]) => ({ kind, pattern, confidence, occurrences }));

    it("summarises each agent's finished tasks and the top patterns of its skills", async () => {
      const result = await run(updateAgentKnowledge);
      expect(result).toEqual({ updated: 3, unchanged: 0 });
      expect(updateAgentKnowledge.summarize!(result)).toBe('updated 3 agents; 0 unchanged');
      const [kai, lin, mo, nia] = await knowledge();

      const [kaiLast] = await rows<{ at: Date }>('select max(completed_at) as at from agent_tasks where assigned_agent_id = 1');
      expect(new Date(kai!.knowledge.last_finished_at)).toEqual(kaiLast!.at);
      expect(kai!.knowledge).toEqual({
        completed: 3,
        failed: 1,
        success_rate: 0.75,
        avg_duration_ms: 250,
        last_finished_at: kai!.knowledge.last_finished_at,
        by_kind: { review: { completed: 3, failed: 0 }, lint: { completed: 0, failed: 1 } },
        // framework and security patterns, by confidence then occurrences; 'style' is not kai's.
        top_patterns: top(['framework', 'f1', 0.91, 3], ['security', 's1', 0.85, 4], ['framework', 'f2', 0.8, 7],
          ['framework', 'f3', 0.8, 2], ['framework', 'f4', 0.3, 1]),
      });
      expect(lin!.knowledge).toMatchObject({
        completed: 1, failed: 0, success_rate: 1, avg_duration_ms: 50, by_kind: { lint: { completed: 1, failed: 0 } },
        top_patterns: top(['framework', 'f1', 0.91, 3], ['framework', 'f2', 0.8, 7], ['framework', 'f3', 0.8, 2],
          ['framework', 'f4', 0.3, 1], ['framework', 'f5', 0.2, 9]),
      });
      // A retired agent keeps what it had.
      expect(mo).toMatchObject({ knowledge: {}, knowledge_updated_at: null });
      expect(nia!.knowledge).toEqual({
        completed: 0, failed: 0, success_rate: null, avg_duration_ms: null, last_finished_at: null, by_kind: {}, top_patterns: [],
      });
      for (const agent of [kai, lin, nia]) expect(agent!.knowledge_updated_at).not.toBeNull();
    });

    it('rewrites only the agents whose inputs changed', async () => {
      const before = await knowledge();
      expect(await run(updateAgentKnowledge)).toEqual({ updated: 0, unchanged: 3 });
      expect(await knowledge()).toEqual(before);

      // lin finishes a task: only lin changes.
      await db.query(
        `insert into agent_tasks (kind, status, assigned_agent_id, assigned_at, completed_at, duration_ms)
         values ('lint', 'failed', 2, now(), now(), 150)`,
      );
      expect(await run(updateAgentKnowledge)).toEqual({ updated: 1, unchanged: 2 });
      let now = await knowledge();
      expect(now[1]!.knowledge).toMatchObject({ completed: 1, failed: 1, success_rate: 0.5, avg_duration_ms: 100 });
      expect(now[1]!.knowledge_updated_at!.getTime()).toBeGreaterThan(before[1]!.knowledge_updated_at!.getTime());
      for (const i of [0, 2, 3]) expect(now[i]).toEqual(before[i]);

      // A security pattern becomes the most confident: only kai has that skill.
      await db.query(
        `insert into learned_patterns (kind, pattern_key, occurrences, confidence, first_seen_at, last_seen_at)
         values ('security', 's2', 1, 0.97, now(), now())`,
      );
      const beforeKai = now;
      expect(await run(updateAgentKnowledge)).toEqual({ updated: 1, unchanged: 2 });
      now = await knowledge();
      expect(now[0]!.knowledge.top_patterns[0]).toEqual({ kind: 'security', pattern: 's2', confidence: 0.97, occurrences: 1 });
      expect(now[0]!.knowledge.top_patterns).toHaveLength(5);
      for (const i of [1, 2, 3]) expect(now[i]).toEqual(beforeKai[i]);

      // A pattern nobody's skills cover changes nothing.
      await db.query(
        `insert into learned_patterns (kind, pattern_key, occurrences, confidence, first_seen_at, last_seen_at)
         values ('style', 'x2', 1, 0.99, now(), now())`,
      );
      expect(await run(updateAgentKnowledge)).toEqual({ updated: 0, unchanged: 3 });
    });
  });

  describe('refresh-metrics', () => {
    beforeAll(async () => {
      await db.query('truncate agents, agent_tasks restart identity cascade');
      await db.query(`insert into agents (name, capacity) values ('p1', 5), ('p2', 5)`);
      await db.query(
        `insert into agent_tasks (kind, status, assigned_agent_id, assigned_at, completed_at, duration_ms) values
           ('review', 'completed', 1, now() - interval '2 days', now() - interval '1 day', 100),
           ('review', 'completed', 1, now() - interval '2 days', now() - interval '1 day', 200),
           ('review', 'completed', 1, now() - interval '2 days', now() - interval '1 day', 300),
           ('review', 'completed', 1, now() - interval '2 days', now() - interval '1 day', 400),
           ('review', 'completed', 1, now() - interval '2 days', now() - interval '1 day', 500),
           ('review', 'failed', 1, now() - interval '2 days', now() - interval '1 hour', 600),
           ('review', 'completed', 1, now() - interval '9 days', now() - interval '8 days', 10000),
           ('review', 'running', 1, now() - interval '2 days', null, null),
           ('lint', 'completed', 1, now() - interval '2 days', now() - interval '1 day', 40),
           ('review', 'failed', 2, now() - interval '2 days', now() - interval '1 day', 10),
           ('review', 'failed', 2, now() - interval '2 days', now() - interval '1 day', 30)`,
      );
      await db.query(
        `insert into task_runs (task, trigger, state, inserted_at, started_at, finished_at, duration_ms) values
           ('metric-a', 'scheduler', 'completed', now() - interval '5 hours', now() - interval '5 hours', now() - interval '1 hour', 100),
           ('metric-a', 'scheduler', 'completed', now() - interval '5 hours', now() - interval '5 hours', now() - interval '2 hours', 200),
           ('metric-a', 'scheduler', 'completed', now() - interval '5 hours', now() - interval '5 hours', now() - interval '3 hours', 300),
           ('metric-a', 'scheduler', 'completed', now() - interval '5 hours', now() - interval '5 hours', now() - interval '4 hours', 400),
           ('metric-a', 'scheduler', 'discarded', now() - interval '2 days', now() - interval '2 days', now() - interval '1 day', 1000),
           ('metric-a', 'cli', 'cancelled', now() - interval '2 days', now() - interval '2 days', now() - interval '1 day', 50),
           ('metric-a', 'scheduler', 'skipped', now() - interval '2 days', null, now() - interval '1 day', null),
           ('metric-a', 'scheduler', 'missed', now() - interval '2 days', null, now() - interval '1 day', null),
           ('metric-a', 'scheduler', 'completed', now() - interval '10 days', now() - interval '10 days', now() - interval '10 days', 99999),
           ('metric-b', 'scheduler', 'discarded', now() - interval '1 day', now() - interval '1 day', now() - interval '1 day', 500)`,
      );
    });

    it('shows nothing new until it runs, then numbers that match a hand count', async () => {
      expect(await rows('select * from agent_performance')).toEqual([]);
      expect(await rows(`select * from task_run_performance where task like 'metric-%'`)).toEqual([]);

      const result = await run(refreshMetrics);
      const [counts] = await rows<{ agents: number; tasks: number }>(
        `select (select count(*) from agent_performance)::int as agents, (select count(*) from task_run_performance)::int as tasks`,
      );
      expect(result).toEqual({ agent_performance: counts!.agents, task_run_performance: counts!.tasks });
      expect(refreshMetrics.summarize!(result)).toBe(
        `agent_performance: ${counts!.agents} rows; task_run_performance: ${counts!.tasks} rows`,
      );

      expect(
        await rows(
          `select agent_name, kind, completed, failed, success_rate, avg_duration_ms, p95_duration_ms
             from agent_performance order by agent_id, kind`,
        ),
      ).toEqual([
        // durations 40: mean 40, p95 40
        { agent_name: 'p1', kind: 'lint', completed: 1, failed: 0, success_rate: 1, avg_duration_ms: 40, p95_duration_ms: 40 },
        // 100..600 (the 8-day-old task and the running one are out): mean 350; p95 at rank 0.95 * 5 = 4.75,
        // between 500 and 600: 575
        { agent_name: 'p1', kind: 'review', completed: 5, failed: 1, success_rate: 0.8333, avg_duration_ms: 350, p95_duration_ms: 575 },
        // 10, 30: p95 at rank 0.95, 10 + 0.95 * 20 = 29
        { agent_name: 'p2', kind: 'review', completed: 0, failed: 2, success_rate: 0, avg_duration_ms: 20, p95_duration_ms: 29 },
      ]);

      const runs = await rows<Record<string, number | string>>(
        `select task, runs, completed, failed, success_rate, avg_duration_ms, p95_duration_ms
           from task_run_performance where task like 'metric-%' order by task`,
      );
      expect(runs).toHaveLength(2);
      // metric-a: 4 completed, 1 discarded, 1 cancelled (skipped, missed and 10-day-old runs are out);
      // durations 50, 100, 200, 300, 400, 1000: mean 2050 / 6; p95 at rank 4.75: 400 + 0.75 * 600 = 850.
      expect(runs[0]).toMatchObject({ task: 'metric-a', runs: 6, completed: 4, failed: 1, success_rate: 0.6667, p95_duration_ms: 850 });
      expect(runs[0]!.avg_duration_ms).toBeCloseTo(2050 / 6, 9);
      expect(runs[1]).toEqual({
        task: 'metric-b', runs: 1, completed: 0, failed: 1, success_rate: 0, avg_duration_ms: 500, p95_duration_ms: 500,
      });
      // The run history of the tasks this file ran is there too, counted the same way.
      const [history] = await rows<{ runs: number }>(
        `select count(*)::int as runs from task_runs where task = 'learn-patterns' and state in ('completed', 'discarded', 'cancelled')`,
      );
      const [learnRow] = await rows<{ runs: number; completed: number }>(
        `select runs, completed from task_run_performance where task = 'learn-patterns'`,
      );
      expect(learnRow).toEqual({ runs: history!.runs, completed: history!.runs });
    });

    it('picks up new work on its next run', async () => {
      await db.query(
        `insert into agent_tasks (kind, status, assigned_agent_id, assigned_at, completed_at, duration_ms)
         values ('lint', 'failed', 2, now(), now(), 70)`,
      );
      expect(await rows(`select * from agent_performance where agent_name = 'p2' and kind = 'lint'`)).toEqual([]);
      await run(refreshMetrics);
      expect(
        await rows(`select completed, failed, success_rate, avg_duration_ms from agent_performance where agent_name = 'p2' and kind = 'lint'`),
      ).toEqual([{ completed: 0, failed: 1, success_rate: 0, avg_duration_ms: 70 }]);
      const [refresh] = await rows<{ runs: number }>(`select runs from task_run_performance where task = 'refresh-metrics'`);
      expect(refresh!.runs).toBe(1); // the first refresh-metrics run had finished; this one had not
    });
  });

  // The outbox protocol under sync-learning: enqueue each pattern version once, take disjoint batches. The
  // transport to a central database is tested in central.test.ts.
  describe('the learning outbox', () => {
    beforeAll(async () => {
      await db.query('truncate analysis_results, learned_patterns, learning_outbox, learning_sync_batches restart identity cascade');
      await db.query(
        `insert into analysis_results (codebase, kind, subject, finding, confidence)
         select 'sync', 'sync', 'f' || i, jsonb_build_object('pattern', 'sp' || i), 0.7 from generate_series(1, 7) i`,
      );
      await run(learnPatterns);
      // One batch as a sender takes it, summed up.
      await db.query(`create or replace function take_test(p_batch integer) returns jsonb language sql as $$
        select jsonb_build_object('sent', count(*), 'batch_id', max(batch_id)) from take_learning_batch(p_batch, 'test') $$`);
    });
    const take = async (n: number) => (await rows<{ r: { sent: number; batch_id: number | null } }>(`select take_test(${n}) as r`))[0]!.r;
    const enqueue = async () => Number((await rows<{ n: number }>('select enqueue_learnings() as n'))[0]!.n);

    const outbox = () =>
      rows<{ pattern_id: number; pattern_version: number; batch_id: number | null; attempts: number; sent: boolean }>(
        `select pattern_id, pattern_version, batch_id, attempts, sent_at is not null as sent from learning_outbox order by id`,
      );

    it('sync-learning without a central database enqueues nothing and says so', async () => {
      const result = await run(syncLearning, { batchSize: 3 });
      expect(result).toEqual({ enqueued: 0, sent: 0, batch_id: null, unsent_left: 0, link: 'none' });
      expect(syncLearning.summarize!(result)).toBe('no central database linked (CENTRAL_DATABASE_URL): nothing enqueued');
      expect(await outbox()).toEqual([]);
    });

    it('enqueues every learned pattern once and hands it out in batches of the size asked', async () => {
      expect(await enqueue()).toBe(7);
      expect(await enqueue()).toBe(0);
      expect(await take(3)).toEqual({ sent: 3, batch_id: 1 });
      expect(await take(3)).toEqual({ sent: 3, batch_id: 2 });
      expect(await take(3)).toEqual({ sent: 1, batch_id: 3 });
      expect(await take(3)).toEqual({ sent: 0, batch_id: null });
      expect(await rows('select id, items, destination, sent_at is not null as sent from learning_sync_batches order by id')).toEqual([
        { id: 1, items: 3, destination: 'test', sent: true },
        { id: 2, items: 3, destination: 'test', sent: true },
        { id: 3, items: 1, destination: 'test', sent: true },
      ]);
      const entries = await outbox();
      expect(entries.map((e) => e.pattern_id)).toEqual([1, 2, 3, 4, 5, 6, 7]);
      expect(entries.map((e) => e.batch_id)).toEqual([1, 1, 1, 2, 2, 2, 3]);
      expect(entries.every((e) => e.sent && e.attempts === 1 && e.pattern_version === 1)).toBe(true);
      const [payload] = await rows<{ payload: any }>(`select payload from learning_outbox where pattern_id = 1`);
      expect(payload!.payload).toMatchObject({ kind: 'sync', pattern_key: 'sp1', occurrences: 1, confidence: 0.7, uses: 0, successes: 0, version: 1 });
    });

    it('enqueues a pattern again when it changes, and only that one', async () => {
      await db.query(
        `insert into analysis_results (codebase, kind, subject, finding, confidence)
         values ('sync', 'sync', 'again', '{"pattern": "sp2"}', 0.1)`,
      );
      await run(learnPatterns);
      expect(await enqueue()).toBe(1);
      expect(await take(500)).toEqual({ sent: 1, batch_id: 4 });
      const changed = await rows<{ pattern_version: number; batch_id: number; payload: any }>(
        `select pattern_version, batch_id, payload from learning_outbox where pattern_id = 2 order by id`,
      );
      expect(changed.map((e) => [e.pattern_version, e.batch_id])).toEqual([[1, 1], [2, 4]]);
      expect(changed[1]!.payload).toMatchObject({ pattern_key: 'sp2', occurrences: 2, version: 2 });
      expect(changed[1]!.payload.confidence).toBeCloseTo(0.4, 12);
      expect(await enqueue()).toBe(0);
    });

    it('never hands a learning out twice when two senders take batches at once', async () => {
      await db.query(
        `insert into analysis_results (codebase, kind, subject, finding, confidence)
         select 'sync', 'sync-race', 'f' || i, jsonb_build_object('pattern', 'r' || i), 0.5 from generate_series(1, 40) i`,
      );
      await run(learnPatterns);
      expect(await enqueue()).toBe(40);
      expect(await take(1)).toMatchObject({ sent: 1 });

      const { first, second, secondFinishedFirst } = await concurrently('take_test(10)', 'take_test(100)');
      // On the server the second caller skipped the first one's locked entries instead of waiting.
      if (backendName === 'postgres') expect(secondFinishedFirst).toBe(true);
      expect(first.sent).toBe(10);
      expect(first.sent + second.sent).toBe(39);
      expect(first.batch_id).not.toBe(second.batch_id);

      const [check] = await rows<{ entries: number; distinct_versions: number; unsent: number; max_attempts: number }>(
        `select count(*)::int as entries, count(distinct (pattern_id, pattern_version))::int as distinct_versions,
                count(*) filter (where sent_at is null)::int as unsent, max(attempts)::int as max_attempts from learning_outbox`,
      );
      expect(check).toEqual({ entries: 48, distinct_versions: 48, unsent: 0, max_attempts: 1 });
      const batches = await rows<{ items: number; counted: number }>(
        `select b.items, count(o.id)::int as counted from learning_sync_batches b join learning_outbox o on o.batch_id = b.id
          group by b.id order by b.id`,
      );
      for (const b of batches) expect(b.counted).toBe(b.items);
      expect(batches.slice(-2).map((b) => b.items).sort((x, y) => x - y)).toEqual([10, 29]);
    });

    it("deleting a pattern deletes its outbox entries, and emptying the patterns empties the outbox", async () => {
      const entriesOf = async (key: string) =>
        Number((await rows<{ n: number }>(
          `select count(*)::int as n from learning_outbox o join learned_patterns p on p.id = o.pattern_id where p.pattern_key = '${key}'`))[0]!.n);
      const total = async () => Number((await rows<{ n: number }>('select count(*)::int as n from learning_outbox'))[0]!.n);
      expect(await entriesOf('sp2')).toBe(2);
      const before = await total();
      await db.query(`delete from learned_patterns where pattern_key in ('sp2', 'sp3')`);
      expect(await total()).toBe(before - 3);
      expect(await rows(`select 1 from learning_outbox o where not exists (select 1 from learned_patterns p where p.id = o.pattern_id)`)).toEqual([]);
      await db.query('truncate learned_patterns cascade');
      expect(await total()).toBe(0);
    });
  });

  describe('the analysis cache', () => {
    beforeEach(async () => {
      await db.query('truncate analysis_cache');
    });

    it('cleanup-cache deletes exactly the expired entries', async () => {
      await db.query(
        `insert into analysis_cache (key, value, expires_at) values
           ('expired-minute', '{"a": 1}', now() - interval '1 minute'),
           ('expired-hour', '{"a": 2}', now() - interval '1 hour'),
           ('expired-week', '{"a": 3}', now() - interval '7 days'),
           ('live', '{"a": 4}', now() + interval '1 hour'),
           ('forever', '{"a": 5}', null)`,
      );
      const result = await run(cleanupCache);
      expect(result).toEqual({ deleted: 3, remaining: 2 });
      expect(cleanupCache.summarize!(result)).toBe('deleted 3 expired cache entries; 2 remain');
      expect((await rows<{ key: string }>('select key from analysis_cache order by key')).map((r) => r.key)).toEqual(['forever', 'live']);
      expect(await run(cleanupCache)).toEqual({ deleted: 0, remaining: 2 });
    });

    it('refresh-cache lists the live entries by hits and recency', async () => {
      await db.query(
        `insert into analysis_cache (key, value, expires_at, hits, last_hit_at) values
           ('hot-old', '{"v": "a"}', now() + interval '1 day', 100, now() - interval '1 hour'),
           ('hot-new', '{"v": "bb"}', null, 10, now()),
           ('stale', '{"v": "ccc"}', now() + interval '1 day', 1000, now() - interval '199 hours'),
           ('cold', '{"v": 1}', now() + interval '1 day', 0, null),
           ('expired-hot', '{"v": 2}', now() - interval '1 minute', 500, now())`,
      );
      expect(await rows('select * from hot_cache_entries')).toEqual([]);

      const result = await run(refreshCache);
      const hot = await rows<{ key: string; rank: number; score: number; size_bytes: number }>(
        'select key, rank, score, size_bytes from hot_cache_entries order by rank',
      );
      // score = hits / (1 + hours since the last hit): 100 / 2 = 50, 10 / 1 = 10, 1000 / 200 = 5.
      expect(hot.map((h) => [h.key, h.rank])).toEqual([['hot-old', 1], ['hot-new', 2], ['stale', 3]]);
      expect(hot[0]!.score).toBeCloseTo(50, 1);
      expect(hot[1]!.score).toBeCloseTo(10, 1);
      expect(hot[2]!.score).toBeCloseTo(5, 2);
      const bytes = hot.reduce((sum, h) => sum + h.size_bytes, 0);
      expect(bytes).toBe('{"v": "a"}'.length + '{"v": "bb"}'.length + '{"v": "ccc"}'.length);
      expect(result).toEqual({ hot_entries: 3, hot_bytes: bytes });
      expect(refreshCache.summarize!(result)).toBe(`3 hot cache entries (${bytes} bytes)`);
    });

    it('refresh-cache keeps the 100 hottest', async () => {
      await db.query(
        `insert into analysis_cache (key, value, hits, last_hit_at)
         select 'k' || i, '{}', i, now() - interval '1 hour' from generate_series(1, 150) i`,
      );
      expect(await run(refreshCache)).toMatchObject({ hot_entries: 100 });
      expect(await one('select min(hits)::int as min, max(hits)::int as max, count(*)::int as n from hot_cache_entries')).toEqual({
        min: 51,
        max: 150,
        n: 100,
      });
    });

    it('prewarm-cache renews the hot entries that would expire soon, and nothing else', async () => {
      await db.query(
        `insert into analysis_cache (key, value, expires_at, hits, last_hit_at) values
           ('hot-soon', '{}', now() + interval '10 minutes', 50, now()),
           ('hot-later', '{}', now() + interval '2 days', 40, now()),
           ('hot-forever', '{}', null, 30, now()),
           ('cold-soon', '{}', now() + interval '10 minutes', 0, null)`,
      );
      await run(refreshCache);
      // Expired after the refresh: stale, so it is not renewed.
      await db.query(
        `insert into analysis_cache (key, value, expires_at, hits, last_hit_at) values ('hot-expired', '{}', now() - interval '1 minute', 60, now())`,
      );
      const before = await rows<{ key: string; expires_at: Date | null }>('select key, expires_at from analysis_cache order by key');

      const result = await run(prewarmCache, { extend: '6h' });
      expect(result).toMatchObject({ renewed: 1 });
      const after = new Map(
        (await rows<{ key: string; expires_at: Date | null }>('select key, expires_at from analysis_cache')).map((r) => [r.key, r.expires_at]),
      );
      const renewed = after.get('hot-soon')!.getTime() - Date.now();
      expect(renewed).toBeGreaterThan(6 * 3600_000 - 60_000);
      expect(renewed).toBeLessThanOrEqual(6 * 3600_000 + 60_000);
      for (const { key, expires_at } of before) if (key !== 'hot-soon') expect(after.get(key), key).toEqual(expires_at);

      // The default renews to a day from now: the hot entry lives past the next prewarm, 6 hours later.
      expect(await run(prewarmCache)).toMatchObject({ renewed: 1 });
      const day = (await one<{ expires_at: Date }>(`select expires_at from analysis_cache where key = 'hot-soon'`)).expires_at;
      expect(day.getTime() - Date.now()).toBeGreaterThan(24 * 3600_000 - 60_000);
      expect(after.get('hot-later')).toEqual((await one<{ e: Date }>(`select expires_at as e from analysis_cache where key = 'hot-later'`)).e);
    });

    it('prewarm-cache loads the cache into memory where pg_prewarm is installed', async () => {
      await db.query(`insert into analysis_cache (key, value, expires_at, hits, last_hit_at) values ('hot', '{"x": 1}', null, 5, now())`);
      const [available] = await rows<{ n: number }>(`select count(*)::int as n from pg_available_extensions where name = 'pg_prewarm'`);
      if (backendName === 'embedded' || available!.n === 0) {
        // PGlite has no pg_prewarm: only the expiry part runs.
        const result = await run(prewarmCache);
        expect(result).toEqual({ renewed: 0, pg_prewarm: false, prewarmed_blocks: null });
        expect(prewarmCache.summarize!(result)).toBe('renewed 0 hot cache entries; pg_prewarm not installed');
        return;
      }
      await db.query('create extension if not exists pg_prewarm');
      const result = await run(prewarmCache);
      expect(result.pg_prewarm).toBe(true);
      expect(result.prewarmed_blocks).toBeGreaterThanOrEqual(2); // a table page and an index page at least
      expect(prewarmCache.summarize!(result)).toBe(`renewed 0 hot cache entries; prewarmed ${result.prewarmed_blocks} blocks`);
    });
  });
});
