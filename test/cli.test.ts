// The real CLI (bin/singularity, built by pretest) as a user, a CI pipeline or a monitor runs it.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { PoolClient } from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backendNames, createBackend, type Backend } from './support/backends.js';
import { runCli, type CliResult } from './support/cli.js';
import type { Database } from '../src/core/database.js';
import { journal } from '../src/core/migrate.js';
import { defaultSchedules, describeSchedules } from '../src/core/task/define.js';
import { describeArgs } from '../src/core/task/args.js';
import { tasks } from '../src/tasks/index.js';

// Every CLI call runs in an empty folder, so that no singularity.config.json around it is picked up.
let cwd: string;
beforeAll(() => {
  cwd = mkdtempSync(join(tmpdir(), 'sg-cli-cwd-'));
});
afterAll(() => {
  rmSync(cwd, { recursive: true, force: true });
});

const cli = (args: string[], env: Record<string, string | undefined> = {}) => runCli(args, env, { cwd });
const squash = (text: string) => text.replace(/\s+/g, ' ');
const escapeRegExp = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
const output = (r: CliResult) => `${r.stdout}\n${r.stderr}`;

function parseJson<T = any>(r: CliResult): T {
  try {
    return JSON.parse(r.stdout) as T;
  } catch {
    throw new Error(`stdout is not JSON (exit ${r.code}):\n${r.stdout}\nstderr:\n${r.stderr}`);
  }
}

/** The rows of a table printed by the CLI: cells split on runs of two or more spaces. */
function tableRows(text: string): string[][] {
  const lines = text.trimEnd().split('\n');
  return lines.slice(1).map((line) => line.split(/\s{2,}/));
}

describe('help and the task table (no database needed)', () => {
  const helpShowsEverything = (r: CliResult) => {
    expect(r.code, r.stderr).toBe(0);
    const text = squash(r.stdout);
    for (const task of tasks) {
      expect(text, task.name).toMatch(new RegExp(`\\b${escapeRegExp(task.name)}(?: \\[options\\])?(?: \\[[a-z-]+\\])? ${escapeRegExp(task.summary)}`));
    }
    for (const command of ['migrate', 'runs', 'tasks']) expect(text).toMatch(new RegExp(`\\b${command}\\b`));
    // The Tasks section lists exactly the registered tasks, no more.
    const section = r.stdout.split('Tasks:\n')[1]!.split('\n\n')[0]!;
    const listed = [...section.matchAll(/^ {2}([a-z][a-z0-9-]*)\b/gm)].map((m) => m[1]);
    expect(listed.sort()).toEqual(tasks.map((t) => t.name).sort());
  };

  it('--help lists every task with its summary, and the commands', async () => {
    helpShowsEverything(await cli(['--help']));
  });

  it('no arguments prints the same help and exits 0', async () => {
    const [bare, help] = await Promise.all([cli([]), cli(['--help'])]);
    helpShowsEverything(bare);
    expect(bare.stdout).toBe(help.stdout);
  });

  it("a task's --help shows the flags its argument schema defines, with defaults", async () => {
    const task = tasks.find((t) => describeArgs(t.args).length > 0)!;
    const r = await cli([task.name, '--help']);
    expect(r.code).toBe(0);
    for (const spec of describeArgs(task.args)) {
      expect(r.stdout).toContain(`--${spec.flag}`);
      if (spec.default !== undefined) expect(squash(r.stdout)).toContain(`default: ${JSON.stringify(spec.default)}`);
    }
    expect(r.stdout).toContain('--json');
  });

  it('`tasks` prints one row per task with its engine, roles and schedule', async () => {
    const r = await cli(['tasks']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.split('\n')[0]).toMatch(/^TASK\s+ENGINE\s+ROLES\s+SCHEDULE/);
    const rows = tableRows(r.stdout);
    expect(rows.map((row) => row[0])).toEqual(tasks.map((t) => t.name));
    expect(rows.find((cells) => cells[0] === 'sync-learning')![2]).toBe('instance');
    for (const task of tasks) {
      const row = rows.find((cells) => cells[0] === task.name)!;
      expect(row[1], task.name).toBe(task.engine);
      expect(row[2], task.name).toBe(task.roles?.join(', ') ?? 'any');
      expect(row[3], task.name).toBe(describeSchedules(defaultSchedules(task.schedule)) || '-');
      expect(row[4], task.name).toBe(task.setupOrder ? String(task.setupOrder) : '-');
      expect(row[5], task.name).toBe(task.summary);
    }
  });

  it('`tasks --json` lists every task with engine, schedule and flags', async () => {
    const r = await cli(['tasks', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const list = parseJson<Array<Record<string, any>>>(r);
    expect(list.map((t) => t.name)).toEqual(tasks.map((t) => t.name));
    for (const task of tasks) {
      const entry = list.find((t) => t.name === task.name)!;
      expect(entry.engine).toBe(task.engine);
      expect(entry.schedules).toEqual(defaultSchedules(task.schedule));
      expect(entry.summary).toBe(task.summary);
      expect(entry.maxAttempts).toBe(task.retry.maxAttempts);
      expect(entry.options.map((o: { flag: string }) => o.flag)).toEqual(describeArgs(task.args).map((s) => s.flag));
    }
  });
});

describe.each(backendNames)('the CLI on %s', (backendName) => {
  let backend: Backend;
  let db: Database;
  // Held open so that the embedded server does not idle out between two CLI calls.
  let held: PoolClient;
  const run = (args: string[], extra: Record<string, string | undefined> = {}) => cli(args, { ...backend.env, ...extra });
  const runIds = async () =>
    (await db.query<{ id: number }>('select id from task_runs order by inserted_at desc, id desc')).map((r) => r.id);
  const seeded: Array<{ id: number }> = [];

  beforeAll(async () => {
    backend = await createBackend(backendName);
    db = await backend.open();
    held = await db.pool.connect();
  });
  afterAll(async () => {
    held?.release();
    await db?.close();
    await backend?.dispose();
  });

  describe('running a task', () => {
    it('seed-plan exits 0 and prints one line naming the task, its state and the counts', async () => {
      const r = await run(['seed-plan']);
      expect(r.code, r.stderr).toBe(0);
      const [head, summary] = r.stdout.trimEnd().split('\n');
      expect(head).toMatch(/seed-plan completed in .* \(run \d+\)/);
      seeded.push({ id: Number(/\(run (\d+)\)/.exec(head!)![1]) });
      for (const table of ['themes', 'epics', 'capabilities', 'features']) {
        const m = new RegExp(`${table}: (\\d+) new, (\\d+) in all`).exec(summary ?? '');
        expect(m, `${table} in: ${summary}`).not.toBeNull();
        expect(Number(m![1])).toBeGreaterThan(0);
        expect(m![1]).toBe(m![2]);
      }
    });

    it('a second seed-plan reports 0 new', async () => {
      const r = await run(['seed-plan']);
      expect(r.code, r.stderr).toBe(0);
      seeded.push({ id: Number(/\(run (\d+)\)/.exec(r.stdout)![1]) });
      expect(r.stdout).toMatch(/themes: 0 new, [1-9]\d* in all; epics: 0 new, [1-9]\d* in all; capabilities: 0 new, [1-9]\d* in all; features: 0 new, [1-9]\d* in all/);
    });

    it('seed-plan --json prints exactly one JSON run: completed, with the counts', async () => {
      const r = await run(['seed-plan', '--json']);
      expect(r.code, r.stderr).toBe(0);
      const result = parseJson(r);
      expect(result).toMatchObject({ task: 'seed-plan', state: 'completed', trigger: 'cli', attempt: 1, error: null });
      expect(typeof result.id).toBe('number');
      for (const table of ['themes', 'epics', 'capabilities', 'features']) {
        expect(result.result[table].inserted, table).toBe(0);
        expect(result.result[table].total, table).toBeGreaterThan(0);
      }
      seeded.push({ id: result.id });
      expect(await runIds()).toEqual(seeded.map((s) => s.id).reverse());
    });
  });

  describe('runs list and show', () => {
    it('runs list shows every run: id, task, state and trigger cli, newest first', async () => {
      const r = await run(['runs', 'list']);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout.split('\n')[0]).toMatch(/^ID\s+TASK\s+STATE\s+TRIGGER/);
      const rows = tableRows(r.stdout);
      const ids = await runIds();
      expect(ids.length).toBeGreaterThanOrEqual(3);
      expect(rows.map((row) => Number(row[0]))).toEqual(ids);
      for (const row of rows) expect(row.slice(1, 4)).toEqual(['seed-plan', 'completed', 'cli']);
    });

    it('runs list --json is an array of the runs', async () => {
      const r = await run(['runs', 'list', '--json']);
      expect(r.code, r.stderr).toBe(0);
      const list = parseJson<any[]>(r);
      expect(Array.isArray(list)).toBe(true);
      expect(list.map((x) => x.id)).toEqual(await runIds());
      for (const x of list) expect(x).toMatchObject({ task: 'seed-plan', state: 'completed', trigger: 'cli' });
    });

    it('runs list filters by --task, --state, --since and --limit', async () => {
      // A run of another task, finished two days ago, for the filters to tell apart.
      const [old] = await db.query<{ id: number }>(
        `insert into task_runs (task, trigger, state, inserted_at, started_at, finished_at, duration_ms, error)
         values ('analyze-stats', 'scheduler', 'discarded', now() - interval '2 days', now() - interval '2 days',
                 now() - interval '2 days', 5, '{"name":"Error","message":"boom"}')
         returning id`,
      );
      const seedIds = (await db.query<{ id: number }>(`select id from task_runs where task = 'seed-plan' order by inserted_at desc, id desc`)).map((x) => x.id);
      const ids = async (args: string[]) => {
        const r = await run(['runs', 'list', ...args, '--json']);
        expect(r.code, r.stderr).toBe(0);
        return parseJson<Array<{ id: number }>>(r).map((x) => x.id);
      };
      const [byTask, byOtherTask, completed, discarded, recent, all, one] = await Promise.all([
        ids(['--task', 'seed-plan']),
        ids(['--task', 'analyze-stats']),
        ids(['--state', 'completed']),
        ids(['--state', 'discarded']),
        ids(['--since', '1h']),
        ids([]),
        ids(['--limit', '1']),
      ]);
      expect(byTask).toEqual(seedIds);
      expect(byOtherTask).toEqual([old!.id]);
      expect(completed).toEqual(seedIds);
      expect(discarded).toEqual([old!.id]);
      expect(recent).toEqual(seedIds);
      expect(all).toEqual([...seedIds, old!.id]);
      expect(one).toEqual([seedIds[0]]);

      const none = await run(['runs', 'list', '--task', 'no-such-task']);
      expect(none.code).toBe(0);
      expect(none.stdout).toMatch(/no runs recorded that match/);
      await db.query('delete from task_runs where id = $1', [old!.id]);
    });

    it('runs list refuses a bad --state, --since or --limit with exit 2', async () => {
      const [state, since, limit] = await Promise.all([
        run(['runs', 'list', '--state', 'finished']),
        run(['runs', 'list', '--since', 'yesterday']),
        run(['runs', 'list', '--limit', '0']),
      ]);
      expect(state.code).toBe(2);
      expect(state.stderr).toContain('finished');
      expect(since.code).toBe(2);
      expect(since.stderr).toContain('--since');
      expect(limit.code).toBe(2);
      expect(limit.stderr).toContain('--limit');
    });

    it('runs show ID shows the run in full', async () => {
      const id = seeded[0]!.id;
      const r = await run(['runs', 'show', String(id)]);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toMatch(new RegExp(`^run\\s+${id}$`, 'm'));
      expect(r.stdout).toMatch(/^task\s+seed-plan$/m);
      expect(r.stdout).toMatch(/^state\s+completed$/m);
      expect(r.stdout).toMatch(/^trigger\s+cli$/m);
      expect(r.stdout).toMatch(/^result\s+\{/m);
      expect(r.stdout).toContain('"themes"');
      const json = await run(['runs', 'show', String(id), '--json']);
      expect(json.code).toBe(0);
      expect(parseJson(json)).toMatchObject({ id, task: 'seed-plan', state: 'completed', trigger: 'cli' });
    });

    it('runs show of an id that does not exist exits 2 and says so', async () => {
      const r = await run(['runs', 'show', '999999']);
      expect(r.code).toBe(2);
      expect(r.stdout).toBe('');
      expect(r.stderr).toMatch(/no run with id 999999/);
      expect(r.stderr).toMatch(/runs list/);
      const json = await run(['runs', 'show', '999999', '--json']);
      expect(json.code).toBe(2);
      expect(parseJson(json)).toMatchObject({ error: { name: 'NotFoundError' }, exitCode: 2 });
    });

    it('runs show of something that is not an id exits 2 and says so', async () => {
      const r = await run(['runs', 'show', 'abc']);
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(/'abc' is not a run id/);
    });

    it('runs show of an id too large for any run exits 2 with a message, not a crash', async () => {
      const r = await run(['runs', 'show', '99999999999999999999']);
      expect(r.stderr).not.toMatch(/^\s+at /m); // no stack trace
      expect(r.code).toBe(2);
      expect(r.stderr).toContain('99999999999999999999');
    });
  });

  describe('the trigger', () => {
    it('CI=true records the run with trigger ci', async () => {
      const r = await run(['seed-plan', '--json'], { CI: 'true' });
      expect(r.code, r.stderr).toBe(0);
      const result = parseJson(r);
      expect(result.trigger).toBe('ci');
      const [row] = await db.query<{ trigger: string }>('select trigger from task_runs where id = $1', [result.id]);
      expect(row!.trigger).toBe('ci');
    });

    it('SINGULARITY_TRIGGER names the trigger; a bogus one exits 2 and records no run', async () => {
      const before = (await runIds()).length;
      const bogus = await run(['seed-plan'], { SINGULARITY_TRIGGER: 'bogus' });
      expect(bogus.code).toBe(2);
      expect(bogus.stderr).toContain('SINGULARITY_TRIGGER');
      expect(bogus.stderr).toContain('bogus');
      expect((await runIds()).length).toBe(before);

      const setup = await run(['seed-plan', '--json'], { SINGULARITY_TRIGGER: 'setup', CI: 'true' });
      expect(setup.code, setup.stderr).toBe(0);
      expect(parseJson(setup).trigger).toBe('setup');
    });
  });

  describe('migrate', () => {
    it('migrate exits 0 and says the schema is up to date', async () => {
      const r = await run(['migrate']);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toMatch(/up to date/);
      expect(r.stdout).toContain(`${journal().length} migrations applied`);
    });

    it('migrate --status --json reports nothing pending', async () => {
      const r = await run(['migrate', '--status', '--json']);
      expect(r.code, r.stderr).toBe(0);
      const status = parseJson(r);
      expect(status).toMatchObject({ pending: [], applied: journal().length, appliedNow: [], ahead: false });
      expect(typeof status.database).toBe('string');
    });
  });

  describe('prune-runs', () => {
    it.each([
      [['--batch-size', 'abc'], '--batch-size'],
      [['--batch-size', '0'], '--batch-size'],
      [['--older-than', '5 years'], '--older-than'],
    ])('prune-runs %j exits 2 naming the flag and records no run', async (flags, flag) => {
      const before = await runIds();
      const r = await run(['prune-runs', ...flags]);
      expect(r.code).toBe(2);
      expect(r.stderr).toContain(flag);
      expect(r.stderr).toContain(flags[1]!);
      expect(await runIds()).toEqual(before);
    });

    it('prune-runs with a bound too far back for PostgreSQL is bad usage (exit 2), not a failed run', async () => {
      const before = await runIds();
      const r = await run(['prune-runs', '--older-than', '999999999d']);
      expect(r.stderr).toContain('--older-than');
      expect(r.code).toBe(2);
      expect(await runIds()).toEqual(before);
    });

    it('prune-runs --older-than 0s deletes every finished run', async () => {
      const [{ n: finished }] = (await db.query<{ n: number }>(
        `select count(*)::int as n from task_runs where finished_at is not null
           and state in ('completed','discarded','cancelled','skipped','missed')
           and not (trigger = 'setup' and state = 'completed')`,
      )) as [{ n: number }];
      expect(finished).toBeGreaterThan(0);
      const setupSteps = (await db.query<{ id: number }>(`select id from task_runs where trigger = 'setup' and state = 'completed' order by id`)).map((r) => r.id);
      const r = await run(['prune-runs', '--older-than', '0s', '--json']);
      expect(r.code, r.stderr).toBe(0);
      const result = parseJson(r);
      expect(result).toMatchObject({ task: 'prune-runs', state: 'completed', args: { olderThan: '0s', batchSize: 1000 } });
      expect(result.result).toEqual({ deleted: finished, deleted_cron_details: 0 });
      // Only the prune run itself is left, and completed set-up steps (they keep setup once-ever).
      expect((await runIds()).sort((a, b) => a - b)).toEqual([...setupSteps, result.id]);

      const human = await run(['prune-runs', '--older-than', '0s']);
      expect(human.code, human.stderr).toBe(0);
      expect(human.stdout).toMatch(/prune-runs completed/);
      expect(human.stdout).toMatch(/deleted 1 finished runs/);
    });
  });

  describe('bad usage', () => {
    it('an unknown task exits 2 and names it', async () => {
      const before = await runIds();
      const r = await run(['nope']);
      expect(r.code).toBe(2);
      expect(r.stderr).toContain("'nope'");
      expect(await runIds()).toEqual(before);
    });

    it.each([
      [['ingest', '/nope'], 'the codebase root does not exist: /nope'],
      [['ingest', '--path', import.meta.filename], `the codebase root is not a folder: ${import.meta.filename}`],
      [['load-templates', '--path', '/nope'], 'knowledge folder not found: /nope'],
      [['sync-templates', '--path', '/nope'], 'knowledge folder not found: /nope'],
      [['migrate-knowledge', '--path', '/nope'], 'knowledge folder not found: /nope'],
    ])('%j exits 2 saying why and records no run, so status does not call the task failing', async (args, message) => {
      const before = await runIds();
      const r = await run(args);
      expect(r.code, r.stderr).toBe(2);
      expect(r.stderr).toContain(message);
      expect(await runIds()).toEqual(before);
      const status = JSON.parse((await run(['status', '--json'])).stdout) as { tasks: Array<{ task: string; state: string }> };
      expect(status.tasks.find((t) => t.task === args[0])!.state).not.toBe('failing');
    });

    it('started by a scheduler, ingest of a missing folder is recorded failing (exit 2), where its operator looks', async () => {
      const r = await run(['ingest', '/nope', '--json'], { SINGULARITY_TRIGGER: 'scheduler' });
      expect(r.code).toBe(2);
      expect(parseJson(r)).toMatchObject({ task: 'ingest', trigger: 'scheduler', state: 'discarded',
        error: { name: 'UsageError', message: 'the codebase root does not exist: /nope' } });
      await db.query(`delete from task_runs where id = $1`, [parseJson(r).id]);
    });

    it('an unknown flag exits 2, names it, and records no run', async () => {
      const before = await runIds();
      const r = await run(['seed-plan', '--bogus-flag']);
      expect(r.code).toBe(2);
      expect(r.stderr).toContain('--bogus-flag');
      expect(await runIds()).toEqual(before);
    });
  });
});

describe('a database that cannot be used', () => {
  const SECRET = 'VerySecret123';
  const unreachable = `postgres://someone:${SECRET}@127.0.0.1:1/x`;

  it('an unreachable server exits 2 naming host and port and what to check, never the password', async () => {
    const r = await cli(['runs', 'list'], { DATABASE_URL: unreachable });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('127.0.0.1:1');
    expect(r.stderr).toMatch(/server running|host and port|check/i);
    expect(output(r)).not.toContain(SECRET);
  });

  it('with --json the same failure is one JSON error object on stdout', async () => {
    const r = await cli(['runs', 'list', '--json'], { DATABASE_URL: unreachable });
    expect(r.code).toBe(2);
    const body = parseJson(r);
    expect(body).toMatchObject({ error: { name: 'DatabaseUnavailableError' }, exitCode: 2 });
    expect(body.error.message).toContain('127.0.0.1:1');
    expect(body.error.hint).toBeTruthy();
    expect(output(r)).not.toContain(SECRET);
  });

  it('a task against an unreachable server exits 2 without the password', async () => {
    const r = await cli(['seed-plan'], { DATABASE_URL: unreachable });
    expect(r.code).toBe(2);
    expect(output(r)).not.toContain(SECRET);
  });

  it.skipIf(!process.env.TEST_DATABASE_URL)('a wrong password against the real server exits 2 without showing it', async () => {
    const url = new URL(process.env.TEST_DATABASE_URL!);
    const wrong = `Wrong-${SECRET}`;
    url.password = wrong;
    const [human, json] = await Promise.all([
      cli(['runs', 'list'], { DATABASE_URL: url.toString() }),
      cli(['runs', 'list', '--json'], { DATABASE_URL: url.toString() }),
    ]);
    expect(human.code).toBe(2);
    expect(human.stderr).toContain(`${url.hostname}:${url.port}`);
    expect(human.stderr).toMatch(/password/i);
    expect(output(human)).not.toContain(SECRET);
    expect(json.code).toBe(2);
    expect(parseJson(json)).toMatchObject({ error: { name: 'DatabaseUnavailableError' }, exitCode: 2 });
    expect(output(json)).not.toContain(SECRET);
  });

  it('a DATABASE_URL of another database exits 2 without the password', async () => {
    const r = await cli(['runs', 'list'], { DATABASE_URL: `mysql://a:${SECRET}@h/db` });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('DATABASE_URL');
    expect(output(r)).not.toContain(SECRET);
  });

  it('a DATABASE_URL that is not a URL exits 2 without repeating it', async () => {
    const r = await cli(['runs', 'list'], { DATABASE_URL: `not a url ${SECRET}` });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('DATABASE_URL');
    expect(output(r)).not.toContain(SECRET);
  });

  it('a DATABASE_URL whose password holds a stray % exits 2 with a message, not a crash', async () => {
    const r = await cli(['runs', 'list'], { DATABASE_URL: `postgres://someone:Very%Secret123@127.0.0.1:1/x` });
    expect(output(r)).not.toContain('Secret123');
    expect(r.stderr).not.toMatch(/^\s+at /m); // no stack trace
    expect(r.code).toBe(2);
  });

  describe('config files', () => {
    it('a config file that is not JSON exits 2 naming the file', async () => {
      const file = join(cwd, 'broken.json');
      writeFileSync(file, '{ "databaseUrl": ');
      const r = await cli(['--config', 'broken.json', 'runs', 'list']);
      expect(r.code).toBe(2);
      expect(r.stderr).toContain(file);
      expect(r.stderr).toMatch(/JSON/);
    });

    it('a config file with an unknown key exits 2 naming the file and the JSON pointer', async () => {
      const file = join(cwd, 'unknown-key.json');
      writeFileSync(file, JSON.stringify({ runs: { heartbeatMs: 100, heartbeatEvery: 5 } }));
      const r = await cli(['--config', file, 'runs', 'list']);
      expect(r.code).toBe(2);
      expect(r.stderr).toContain(file);
      expect(r.stderr).toContain('/runs');
      expect(r.stderr).toContain('heartbeatEvery');
    });

    it('a config file with a value of the wrong type exits 2 naming its JSON pointer', async () => {
      const file = join(cwd, 'wrong-type.json');
      writeFileSync(file, JSON.stringify({ embedded: { idleTimeoutMs: 'soon' } }));
      const r = await cli(['--config', file, 'seed-plan', '--json']);
      expect(r.code).toBe(2);
      const body = parseJson(r);
      expect(body.exitCode).toBe(2);
      expect(body.error.name).toBe('ConfigError');
      expect(body.error.message).toContain(file);
      expect(body.error.message).toContain('/embedded/idleTimeoutMs');
    });

    it('--config naming a missing file exits 2', async () => {
      const r = await cli(['--config', 'missing.json', 'runs', 'list']);
      expect(r.code).toBe(2);
      expect(r.stderr).toContain(join(cwd, 'missing.json'));
      expect(r.stderr).toMatch(/not found/);
    });
  });
});
