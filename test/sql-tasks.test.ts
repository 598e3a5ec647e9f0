// The sql tasks, run through the library's runner against each backend: what they leave in the database.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { backendNames, onBackend, type Backend } from './support/backends.js';
import type { Database } from '../src/core/database.js';
import { runTask } from '../src/core/runner.js';
import { durationInterval, durationMs } from '../src/core/task/args.js';
import { builtInManifest } from '../src/tasks/manifest.js';
import analyzeStats from '../src/tasks/analyze-stats.js';
import pruneRuns from '../src/tasks/prune-runs.js';
import seedPlan from '../src/tasks/seed-plan.js';
import vacuumAnalyze from '../src/tasks/vacuum-analyze.js';

type Counts = Record<'themes' | 'epics' | 'capabilities' | 'features', { inserted: number; total: number }>;
const TABLES = ['themes', 'epics', 'capabilities', 'features'] as const;

/** How many rows each INSERT of seed_work_plan() lists in its VALUES, read from the migration itself. */
function seededRowsInMigration(): Record<(typeof TABLES)[number], number> {
  const sql = readFileSync(new URL('../drizzle/0001_seed_work_plan.sql', import.meta.url), 'utf8');
  const counts = {} as Record<(typeof TABLES)[number], number>;
  for (const table of TABLES) {
    const start = sql.indexOf(`INSERT INTO work_plan_${table} `);
    const end = sql.indexOf(') AS v(', start);
    expect(start, `INSERT INTO work_plan_${table} in the migration`).toBeGreaterThan(-1);
    counts[table] = sql.slice(start, end).split('\n').filter((line) => /^\s*\('/.test(line)).length;
  }
  return counts;
}

describe('the built task manifest', () => {
  it('equals what the registry derives (a stale build is caught)', async () => {
    const built = JSON.parse(readFileSync(new URL('../dist/tasks/manifest.json', import.meta.url), 'utf8'));
    // JSON drops undefined fields, as the build's JSON.stringify does.
    const derived = JSON.parse(JSON.stringify(await builtInManifest()));
    expect(built).toEqual(derived);
    expect(built.map((t: { name: string }) => t.name)).toEqual(
      expect.arrayContaining(['seed-plan', 'vacuum-analyze', 'analyze-stats', 'prune-runs']),
    );
  });
});

describe.each(backendNames)('sql tasks on %s', (backendName) => {
  let backend: Backend;
  let db: Database;
  const ctx = () => ({ db, config: backend.config });

  onBackend(backendName, (opened) => ({ backend, db } = opened));

  describe('seed-plan', () => {
    let first: Counts;

    it('inserts the whole work plan on its first run', async () => {
      const run = await runTask(ctx(), seedPlan, { trigger: 'cli', args: seedPlan.args.parse({}) });
      expect(run.state).toBe('completed');
      expect(run.error).toBeNull();
      first = run.result as Counts;
      const expected = seededRowsInMigration();
      for (const table of TABLES) {
        expect(first[table].total, table).toBeGreaterThan(0);
        expect(first[table].inserted, table).toBe(first[table].total);
        // Every row the migration lists arrived: none was dropped by a parent slug that does not match.
        expect(first[table].total, `${table} listed in the migration`).toBe(expected[table]);
      }
    });

    it('leaves the tables holding exactly those rows, each child under a parent', async () => {
      const [counts] = await db.query<Record<string, number>>(
        `select (select count(*) from work_plan_themes)::int as themes,
                (select count(*) from work_plan_epics)::int as epics,
                (select count(*) from work_plan_capabilities)::int as capabilities,
                (select count(*) from work_plan_features)::int as features`,
      );
      for (const table of TABLES) expect(counts![table], table).toBe(first[table].total);

      // Every level of the plan is filled in: no theme without epics, no epic without capabilities, ...
      const [empty] = await db.query<Record<string, number>>(
        `select
           (select count(*) from work_plan_themes t where not exists (select 1 from work_plan_epics e where e.theme_id = t.id))::int as themes,
           (select count(*) from work_plan_epics e where not exists (select 1 from work_plan_capabilities c where c.epic_id = e.id))::int as epics,
           (select count(*) from work_plan_capabilities c where not exists (select 1 from work_plan_features f where f.capability_id = c.id))::int as capabilities`,
      );
      expect(empty).toEqual({ themes: 0, epics: 0, capabilities: 0 });

      const themes = await db.query<{ slug: string }>('select slug from work_plan_themes order by position');
      expect(themes.map((t) => t.slug)).toContain('scheduling-and-runs');
      const [feature] = await db.query<{ status: string; capability: string; epic: string; theme: string }>(
        `select f.status, c.slug as capability, e.slug as epic, t.slug as theme
           from work_plan_features f
           join work_plan_capabilities c on c.id = f.capability_id
           join work_plan_epics e on e.id = c.epic_id
           join work_plan_themes t on t.id = e.theme_id
          where f.slug = 'prune-old-runs'`,
      );
      expect(feature).toEqual({ status: 'planned', capability: 'run-history-management', epic: 'run-history', theme: 'scheduling-and-runs' });
    });

    it('inserts nothing on a second run and reports the same totals', async () => {
      const run = await runTask(ctx(), seedPlan, { trigger: 'cli', args: {} });
      expect(run.state).toBe('completed');
      const second = run.result as Counts;
      for (const table of TABLES) {
        expect(second[table], table).toEqual({ inserted: 0, total: first[table].total });
      }
    });

    it('leaves rows already present alone', async () => {
      await db.query(`update work_plan_features set status = 'done', name = 'Renamed by hand' where slug = 'prune-old-runs'`);
      const run = await runTask(ctx(), seedPlan, { trigger: 'cli', args: {} });
      expect(run.state).toBe('completed');
      const [row] = await db.query<{ status: string; name: string }>(
        `select status, name from work_plan_features where slug = 'prune-old-runs'`,
      );
      expect(row).toEqual({ status: 'done', name: 'Renamed by hand' });
    });

    it('records each run in the run history', async () => {
      const rows = await db.query<{ state: string; trigger: string }>(
        `select state, trigger from task_runs where task = 'seed-plan' order by id`,
      );
      expect(rows).toEqual([
        { state: 'completed', trigger: 'cli' },
        { state: 'completed', trigger: 'cli' },
        { state: 'completed', trigger: 'cli' },
      ]);
    });
  });

  describe('prune-runs', () => {
    it('deletes exactly the finished runs older than 30 days, in batches, and nothing else', async () => {
      await db.query('delete from task_runs');
      // 2,500 finished runs, 40 days and more old, in every finished state.
      await db.query(
        `insert into task_runs (task, trigger, state, inserted_at, started_at, finished_at, duration_ms)
         select 'old-history', 'scheduler',
                (array['completed','discarded','cancelled','skipped','missed'])[1 + i % 5],
                t, t, t + interval '1 second', 1000
           from generate_series(1, 2500) as i,
                lateral (select now() - interval '40 days' - i * interval '1 minute' as t) as ts`,
      );
      // Recent finished runs: kept.
      await db.query(
        `insert into task_runs (task, trigger, state, inserted_at, started_at, finished_at)
         select 'recent-history', 'cli', (array['completed','discarded','cancelled'])[1 + i % 3],
                t, t, t
           from generate_series(1, 12) as i,
                lateral (select now() - i * interval '1 day' + interval '1 hour' as t) as ts`,
      );
      // Old runs that are not finished: kept, whatever their timestamps say.
      await db.query(
        `insert into task_runs (task, trigger, state, inserted_at, started_at, heartbeat_at, finished_at, run_after, host, pid, concurrency_key)
         values
           ('old-active', 'scheduler', 'executing', now() - interval '45 days', now() - interval '45 days',
            now() + interval '1 hour', null, null, 'another-host', 1, null),
           ('old-active', 'scheduler', 'retryable', now() - interval '45 days', now() - interval '45 days',
            now() - interval '45 days', null, now() - interval '44 days', null, null, null),
           ('old-active', 'scheduler', 'scheduled', now() - interval '45 days', null, null, null, null, null, null, null),
           ('old-active-stamped', 'scheduler', 'executing', now() - interval '50 days', now() - interval '50 days',
            now() + interval '1 hour', now() - interval '50 days', null, 'another-host', 2, null),
           ('old-active-stamped', 'scheduler', 'retryable', now() - interval '50 days', now() - interval '50 days',
            now() - interval '50 days', now() - interval '50 days', now() - interval '44 days', null, null, null),
           ('old-active-stamped', 'scheduler', 'scheduled', now() - interval '50 days', null, null,
            now() - interval '50 days', null, null, null, null)`,
      );
      const before = await db.query<{ task: string; state: string; n: number }>(
        `select task, state, count(*)::int as n from task_runs where task <> 'old-history' group by 1, 2 order by 1, 2`,
      );

      const args = pruneRuns.args.parse({ batchSize: 1000 });
      expect(args).toEqual({ olderThan: '30d', batchSize: 1000 });
      const run = await runTask(ctx(), pruneRuns, { trigger: 'cli', args });

      expect(run.state).toBe('completed');
      expect(run.error).toBeNull();
      expect(run.result).toEqual({ deleted: 2500, deleted_cron_details: 0 });
      expect(pruneRuns.summarize!(run.result)).toBe('deleted 2500 finished runs');
      const [old] = await db.query<{ n: number }>(`select count(*)::int as n from task_runs where task = 'old-history'`);
      expect(old!.n).toBe(0);
      const after = await db.query<{ task: string; state: string; n: number }>(
        `select task, state, count(*)::int as n from task_runs where task not in ('old-history', 'prune-runs')
          group by 1, 2 order by 1, 2`,
      );
      expect(after).toEqual(before);
      const pruneRows = await db.query<{ state: string }>(`select state from task_runs where task = 'prune-runs'`);
      expect(pruneRows).toEqual([{ state: 'completed' }]);
    });

    it('honours a shorter bound', async () => {
      // The recent runs are 1 to 12 days old: --older-than 7d takes the 5 older than a week.
      const run = await runTask(ctx(), pruneRuns, { trigger: 'cli', args: pruneRuns.args.parse({ olderThan: '7d', batchSize: 2 }) });
      expect(run.state).toBe('completed');
      expect(run.result).toEqual({ deleted: 5, deleted_cron_details: 0 });
      const [left] = await db.query<{ n: number }>(`select count(*)::int as n from task_runs where task = 'recent-history'`);
      expect(left!.n).toBe(7);
    });

    it('keeps completed set-up steps, however old, so that setup stays once-ever', async () => {
      await db.query(
        `insert into task_runs (task, trigger, state, inserted_at, started_at, finished_at)
         values ('old-setup-step', 'setup', 'completed', now() - interval '400 days', now() - interval '400 days', now() - interval '400 days'),
                ('old-setup-step', 'setup', 'discarded', now() - interval '400 days', now() - interval '400 days', now() - interval '400 days')`,
      );
      const run = await runTask(ctx(), pruneRuns, { trigger: 'cli', args: pruneRuns.args.parse({}) });
      expect(run.result).toEqual({ deleted: 1, deleted_cron_details: 0 });
      const left = await db.query<{ state: string }>(`select state from task_runs where task = 'old-setup-step'`);
      expect(left).toEqual([{ state: 'completed' }]);
    });

    it('prunes alert incidents resolved before the bound, with their messages; open and recent ones stay', async () => {
      const incidents = await db.query<{ id: number; task: string }>(
        `insert into alert_incidents (task, kind, opened_at, detail, resolved_at) values
           ('old-alert', 'failing', now() - interval '90 days', 'x', now() - interval '89 days'),
           ('recent-alert', 'failing', now() - interval '2 days', 'x', now() - interval '1 day'),
           ('open-alert', 'overdue', now() - interval '90 days', 'x', null)
         returning id, task`,
      );
      for (const { id } of incidents) {
        await db.query(`insert into alert_deliveries (incident_id, event, webhook, payload, created_at, next_attempt_at) values ($1, 'opened', 'ops', '{}', now(), now())`, [id]);
      }
      const run = await runTask(ctx(), pruneRuns, { trigger: 'cli', args: pruneRuns.args.parse({}) });
      expect(run.state).toBe('completed');
      expect(await db.query(`select task from alert_incidents order by task`)).toEqual([{ task: 'open-alert' }, { task: 'recent-alert' }]);
      expect(await db.query(`select count(*)::int as n from alert_deliveries`)).toEqual([{ n: 2 }]);
    });
  });

  describe('maintenance', () => {
    it('vacuum-analyze completes and records a completed run', async () => {
      const run = await runTask(ctx(), vacuumAnalyze, { trigger: 'cli', args: {} });
      expect(run.error).toBeNull();
      expect(run.state).toBe('completed');
      expect(vacuumAnalyze.summarize!(run.result)).toMatch(/vacuumed/);
      const [row] = await db.query<{ state: string }>('select state from task_runs where id = $1', [run.id]);
      expect(row!.state).toBe('completed');
      // The database itself says the tables were vacuumed and analyzed.
      const [stats] = await db.query<{ vacuumed: boolean; analyzed: boolean }>(
        `select last_vacuum is not null as vacuumed, last_analyze is not null as analyzed
           from pg_stat_user_tables where relname = 'work_plan_features'`,
      );
      expect(stats).toEqual({ vacuumed: true, analyzed: true });
    });

    it('analyze-stats completes and records a completed run', async () => {
      const [before] = await db.query<{ count: number }>(
        `select analyze_count::int as count from pg_stat_user_tables where relname = 'work_plan_epics'`,
      );
      const run = await runTask(ctx(), analyzeStats, { trigger: 'cli', args: {} });
      expect(run.error).toBeNull();
      expect(run.state).toBe('completed');
      const [row] = await db.query<{ state: string }>('select state from task_runs where id = $1', [run.id]);
      expect(row!.state).toBe('completed');
      const [after] = await db.query<{ count: number }>(
        `select analyze_count::int as count from pg_stat_user_tables where relname = 'work_plan_epics'`,
      );
      expect(after!.count).toBeGreaterThan(before!.count);
    });
  });

  it('renders durations as intervals PostgreSQL reads as the same length', async () => {
    for (const value of ['45s', '90m', '12h', '30d', '2w']) {
      const [row] = await db.query<{ ms: string }>(
        `select (extract(epoch from $1::interval) * 1000)::bigint as ms`,
        [durationInterval(value)],
      );
      expect(Number(row!.ms), value).toBe(durationMs(value));
    }
  });
});
