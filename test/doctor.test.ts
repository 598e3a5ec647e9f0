// `singularity doctor`: each check's verdict and fix, by the real CLI against real databases: a healthy
// one, pg_cron in another database, a failed pg_cron job, a tick pg_cron let pass, a server without
// pg_cron, a stuck run, recent failures, an old history, a bad crontab, an unreachable server.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Database } from '../src/core/database.js';
import { defaultConfig } from '../src/core/config.js';
import { checkSecrets, type Check, type DoctorReport } from '../src/doctor/index.js';
import { checkTemplates } from '../src/doctor/local.js';
import { buildStandInModel } from './support/stand-in-model.mjs';
import { ok } from '../src/doctor/types.js';
import { backendNames, createBackend, type Backend } from './support/backends.js';
import { runCli, type CliResult } from './support/cli.js';
import { canRunOwnServer, freePort, startOwnServer, type OwnServer } from './support/own-server.js';

const PASSWORD = 'singularity-test-pw';
const ALL_IDS = ['database', 'server-version', 'migrations', 'pg_cron', 'pgvector', 'postgres_fdw', 'schedule', 'recent-failures', 'stuck-runs',
  'history-size', 'backups', 'notifications', 'metrics', 'central', 'crontab', 'pg_dump', 'backup-dir', 'embedding-model', 'templates', 'secrets'];

/** Every output of the CLI in this file: none may contain the password. */
const outputs: CliResult[] = [];

async function doctor(env: Record<string, string>, args: string[] = []): Promise<CliResult & { report: DoctorReport; check(id: string): Check }> {
  const result = await runCli(['doctor', '--json', ...args], env);
  outputs.push(result);
  let report: DoctorReport;
  try {
    report = JSON.parse(result.stdout) as DoctorReport;
  } catch {
    throw new Error(`doctor --json printed no JSON (exit ${result.code}):\n${result.stdout}\n${result.stderr}`);
  }
  const check = (id: string) => {
    const found = report.checks.find((c) => c.id === id);
    if (!found) throw new Error(`no check ${id} in ${report.checks.map((c) => c.id).join(', ')}`);
    return found;
  };
  return { ...result, report, check };
}

describe('checkTemplates', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'sg-templates-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('ok when every artifact is valid; fail naming each bad file, pointer and reason; warn when the folder is missing', async () => {
    mkdirSync(join(dir, 'prompts'));
    const good = { id: 'x', name: 'X', description: 'd', purpose: 'p', template: 'say {{what}}', variables: [{ name: 'what', description: 'w' }] };
    writeFileSync(join(dir, 'prompts', 'good.json'), JSON.stringify(good));
    writeFileSync(join(dir, 'README.md'), 'documentation, not an artifact');
    expect(await checkTemplates(dir)).toMatchObject({ verdict: 'ok', detail: `${dir}: 1 artifact, all valid` });

    writeFileSync(join(dir, 'prompts', 'bad.json'), JSON.stringify({ ...good, id: 'y', template: 'say {{who}}' }));
    const bad = await checkTemplates(dir);
    expect(bad.verdict).toBe('fail');
    expect(bad.detail).toContain('1 of 2 files');
    expect(bad.detail).toContain('prompts/bad.json at /template: uses {{who}}, which variables does not declare');
    expect(bad.fix).toBeTruthy();

    expect(await checkTemplates(join(dir, 'missing'))).toMatchObject({ verdict: 'warn', fix: expect.any(String) });
  });
});

describe('checkSecrets', () => {
  it("fails when the report would print DATABASE_URL's password or any credentials", () => {
    const config = { ...defaultConfig(tmpdir()), databaseUrl: 'postgres://u:hunter22@db.example/app' };
    expect(checkSecrets([ok('x', 'x', 'reachable: postgres://u:***@db.example/app')], config).verdict).toBe('ok');
    expect(checkSecrets([ok('x', 'x', 'it said hunter22')], config).verdict).toBe('fail');
    expect(checkSecrets([ok('x', 'x', 'see postgres://v:other@db.example/app')], config)).toMatchObject({ verdict: 'fail', fix: expect.any(String) });
  });
});

describe('doctor with an unreachable database', () => {
  it('fails the database check with the reason and the fix, skips what needs it, runs the rest; exit 2, as status says down', async () => {
    const home = mkdtempSync(join(tmpdir(), 'sg-doctor-'));
    try {
      const url = `postgres://postgres:${PASSWORD}@127.0.0.1:${await freePort()}/nowhere`;
      const result = await doctor({ DATABASE_URL: url, SINGULARITY_HOME: home });
      expect(result.code).toBe(2);
      expect(result.report.ok).toBe(false);
      expect(result.check('database')).toMatchObject({ verdict: 'fail', fix: expect.stringMatching(/server running/) });
      expect(result.check('database').detail).toMatch(/cannot connect to postgres:\/\/postgres:\*\*\*@127\.0\.0\.1:\d+\/nowhere/);
      expect(result.report.checks.map((c) => c.id)).not.toContain('migrations');
      expect(result.check('pg_dump').verdict).toBe('ok'); // the local side still runs
      expect(result.check('secrets').verdict).toBe('ok');
    } finally {
      rmSync(home, { recursive: true, force: true });
    }
  });
});

describe.each(backendNames)('doctor on %s', (name) => {
  let backend: Backend;
  let db: Database;
  let dir: string;

  beforeAll(async () => {
    backend = await createBackend(name);
    db = await backend.open(); // migrated: doctor itself migrates nothing
    dir = mkdtempSync(join(tmpdir(), 'sg-doctor-'));
    // A live run-scheduler with no entries: nothing is scheduled, so nothing is unattended or overdue. It
    // beats only before each test: its heartbeat must stay fresh for a CLI start on a busy machine.
    await db.query(`insert into schedulers (host, pid, version, entries) values ('test-host', 1, 'test', '[]')`);
    backend.env.SINGULARITY_STALE_AFTER_MS = '600000';
  });
  beforeEach(async () => {
    await db.query('update schedulers set heartbeat_at = now() where stopped_at is null');
  });
  afterAll(async () => {
    await db?.close();
    await backend?.dispose();
    rmSync(dir, { recursive: true, force: true });
  });

  it('a healthy database: no check fails, exit 0; one line per check; the pg_cron line', async () => {
    const text = await runCli(['doctor'], backend.env);
    outputs.push(text);
    expect(text.code, text.stdout + text.stderr).toBe(0);
    const lines = text.stdout.trimEnd().split('\n');
    expect(lines.filter((l) => /^(ok {2}|warn|FAIL) /.test(l)).length).toBe(ALL_IDS.length + (name === 'embedded' ? 1 : 2));
    expect(lines.some((l) => l.startsWith('FAIL'))).toBe(false);
    // Under each warning, its fix, indented.
    const warning = lines.findIndex((l) => l.startsWith('warn  backups'));
    expect(lines[warning]).toContain('no backups recorded yet');
    expect(lines[warning + 1]).toMatch(/^ {6}fix: /);
    expect(lines.at(-1)).toMatch(/^\d+ ok, \d+ warning\(s\), 0 failed$/);

    const pgCron = lines.find((l) => / pg_cron {2}/.test(l))!;
    if (name === 'embedded') {
      expect(pgCron).toMatch(/^ok {4}pg_cron +does not apply: the embedded database has no pg_cron; run-scheduler runs the sql tasks$/);
    } else {
      // The test databases are not 'postgres'; pg_cron lives there.
      const database = new URL(backend.config.databaseUrl!).pathname.slice(1);
      expect(pgCron).toMatch(/^ok {4}pg_cron /);
      expect(pgCron).toContain(`pg_cron 1.4-1 in database 'postgres' (cron.database_name); its jobs for singularity run in '${database}'; schedules read in GMT`);
      // Both engines' history, side by side.
      const engines = lines.findIndex((l) => l.startsWith('ok    both engines, last 24 h'));
      expect(lines[engines]).toMatch(/run-scheduler and by hand: (none|\d+ \w+)/);
      expect(lines.slice(engines + 1, engines + 3).join('\n')).toMatch(/pg_cron, in the run history: .*\n.*pg_cron, in cron\.job_run_details: /);
    }
  });

  it('--json: { ok, checks: [{ id, title, verdict, detail, fix }] }, a fix for everything not ok', async () => {
    const result = await doctor(backend.env);
    expect(result.code).toBe(0);
    expect(Object.keys(result.report).sort()).toEqual(['checks', 'ok']);
    expect(result.report.ok).toBe(true);
    const ids = result.report.checks.map((c) => c.id);
    expect(ids).toEqual(expect.arrayContaining(ALL_IDS));
    expect(ids).toContain(name === 'embedded' ? 'embedded-data' : 'pg_cron-jobs');
    for (const check of result.report.checks) {
      expect(Object.keys(check).every((k) => ['id', 'title', 'verdict', 'detail', 'fix', 'data'].includes(k))).toBe(true);
      expect(['ok', 'warn', 'fail']).toContain(check.verdict);
      expect(typeof check.detail).toBe('string');
      if (check.verdict !== 'ok') expect(check.fix, check.id).toEqual(expect.any(String));
    }
    expect(result.check('migrations')).toMatchObject({ verdict: 'ok' });
    expect(result.check('embedding-model')).toMatchObject({
      verdict: 'warn', detail: expect.stringMatching(/^Xenova\/all-MiniLM-L6-v2 is not available: .*search is lexical only$/s),
    });
    expect(result.check('secrets')).toMatchObject({ verdict: 'ok' });
    if (name === 'embedded') expect(result.check('embedded-data').verdict).toBe('ok');
  });

  it('the embedding model: ok when the configured model loads from SINGULARITY_MODEL_DIR', async () => {
    const models = mkdtempSync(join(tmpdir(), 'sg-doctor-model-'));
    try {
      const model = buildStandInModel(models);
      const result = await doctor({ ...backend.env, SINGULARITY_MODEL: model.modelId, SINGULARITY_MODEL_DIR: model.modelDir });
      expect(result.check('embedding-model')).toMatchObject({
        verdict: 'ok', detail: `${model.modelId} loads: 32 dimensions, up to 128 tokens a text`,
      });
    } finally {
      rmSync(models, { recursive: true, force: true });
    }
  });

  it('a run stuck in executing: fail naming the run, with the fix; exit 1', async () => {
    const [{ id }] = (await db.query<{ id: number }>(
      `insert into task_runs (task, trigger, state, concurrency_key, started_at, heartbeat_at, host, pid)
       values ('analyze-stats', 'cli', 'executing', 'doctor-test', now() - interval '1 hour', now() - interval '1 hour', 'elsewhere', 4242)
       returning id`,
    )) as [{ id: number }];
    try {
      const result = await doctor(backend.env);
      expect(result.code).toBe(1);
      expect(result.report.ok).toBe(false);
      const stuck = result.check('stuck-runs');
      expect(stuck.verdict).toBe('fail');
      expect(stuck.detail).toContain(`run ${id} analyze-stats (last heartbeat `);
      expect(stuck.detail).toContain('from pid 4242 on elsewhere');
      expect(stuck.fix).toContain("'singularity runs list'");
      expect(stuck.fix).toContain(`'singularity runs cancel ${id}'`);
    } finally {
      await db.query('delete from task_runs where id = $1', [id]);
    }
  });

  it('failures in the last 24 h: warn with each task and count, and the run to show; a task failing now fails, as status says', async () => {
    const rows = await db.query<{ id: number; task: string }>(
      `insert into task_runs (task, trigger, state, started_at, finished_at, error)
       select task, 'scheduler', 'discarded', now() - interval '5 minutes', now() - interval '4 minutes', '{"name": "Error", "message": "boom"}'
       from unnest(array['analyze-stats', 'prune-runs', 'analyze-stats']) as task
       returning id, task`,
    );
    // An old failure is not recent.
    await db.query(`insert into task_runs (task, trigger, state, finished_at) values ('reindex', 'cli', 'discarded', now() - interval '2 days')`);
    const newest = Math.max(...rows.filter((r) => r.task === 'analyze-stats').map((r) => r.id));
    const result = await doctor(backend.env);
    // analyze-stats and prune-runs are failing now: status exits 1 for that, and so does doctor.
    expect(result.code).toBe(1);
    expect(result.check('schedule').verdict).toBe('fail');
    expect(result.check('schedule').detail).toContain('FAIL: analyze-stats is failing: boom');
    const status = await runCli(['status', '--json'], backend.env);
    expect(status.code).toBe(1);
    expect(JSON.parse(status.stdout).findings).toContainEqual({ severity: 'fail', task: 'analyze-stats', text: expect.stringContaining('analyze-stats is failing: boom') });
    expect(result.check('recent-failures')).toMatchObject({
      verdict: 'warn',
      detail: `3 failed runs in the last 24 h: analyze-stats ×2 (newest: run ${newest}), prune-runs ×1 (newest: run ${rows.find((r) => r.task === 'prune-runs')!.id})`,
      fix: expect.stringContaining(`'singularity runs show ${newest}'`),
    });
    expect(result.check('history-size').detail).toMatch(/^\d+ rows \(4 discarded in all\), /);
  });

  it('finished runs older than twice the prune bound: warn to schedule prune-runs', async () => {
    await db.query(`insert into task_runs (task, trigger, state, finished_at) values ('seed-plan', 'cli', 'completed', now() - interval '61 days')`);
    const result = await doctor(backend.env);
    expect(result.check('history-size')).toMatchObject({
      verdict: 'warn',
      detail: expect.stringContaining("1 finished run older than twice prune-runs' bound of 30d: pruning is not keeping up"),
      fix: expect.stringContaining("'singularity prune-runs --older-than 30d'"),
    });
  });

  it('backups: the newest good backup per type and database; no good one, more kept than the crontab keeps, a missing file: warnings', async () => {
    const sha = 'a'.repeat(64);
    const file = (n: number) => join(dir, `backup-${n}.dump`);
    for (const n of [1, 2, 3]) writeFileSync(file(n), 'x');
    const ids = (await db.query<{ id: number }>(
      `insert into backups (type, database, path, size_bytes, sha256, started_at, finished_at, server_version, pg_dump_version, status, verified_at, verified_how)
       values ('daily', 'app', $2, 10, $1, '2026-01-01', '2026-01-01 00:01Z', '15', '15', 'succeeded', '2026-01-01 00:02Z', 'list'),
              ('daily', 'app', $3, 10, $1, '2026-01-02', '2026-01-02 00:01Z', '15', '15', 'succeeded', '2026-01-02 00:02Z', 'full'),
              ('daily', 'app', $4, 10, $1, '2026-01-03', '2026-01-03 00:01Z', '15', '15', 'succeeded', '2026-01-03 00:02Z', 'checksum')
       returning id`,
      [sha, file(1), file(2), file(3)],
    )).map((r) => r.id);
    // The newest one failed its verification: not good.
    await db.query(`update backups set verify_error = 'checksum mismatch' where path = $1`, [file(3)]);
    const good = await doctor(backend.env);
    expect(good.check('backups')).toEqual({
      id: 'backups', title: 'backups', verdict: 'ok', detail: 'daily of app: newest good backup 2026-01-02T00:01:00Z (verified: full), 2 good (keep 7)',
    });

    await db.query(`insert into backups (type, database, path, finished_at, status, error) values ('hourly', 'app', '/b/4', now(), 'failed', '{"message": "disk full"}')`);
    rmSync(file(1));
    const crontab = join(dir, 'keep-one');
    writeFileSync(crontab, '0 1 * * * backup --type daily --keep 1\n');
    const result = await doctor({ ...backend.env, SINGULARITY_CRONTAB: crontab });
    expect(result.check('backups')).toMatchObject({
      verdict: 'warn',
      detail: 'daily of app: 2 good backups kept, more than the 1 the crontab keeps: pruning is not keeping up\n' +
        `daily of app: the file of backup ${ids[0]} is missing: ${file(1)}\n` +
        'hourly of app: no good (succeeded and verified) backup\n' +
        'daily of app: newest good backup 2026-01-02T00:01:00Z (verified: full), 2 good (keep 1)\n' +
        'hourly of app: none good among 1 record',
      fix: expect.stringContaining("'singularity backup verify ID'"),
    });
    await db.query('delete from backups');
  });

  it('the default crontab: doctor counts its scheduled entries as status does, and names the @setup line apart', async () => {
    await db.query('update schedulers set stopped_at = now()'); // no scheduler: status counts the crontab's entries
    const detail = (await doctor(backend.env)).check('crontab').detail;
    const status = JSON.parse((await runCli(['status', '--json'], backend.env)).stdout) as { problems: string[] };
    await db.query('update schedulers set stopped_at = null, heartbeat_at = now()');
    const unserved = status.problems.map((p) => /(\d+) scheduled entries are not being run/.exec(p)?.[1]).find(Boolean);
    expect(unserved).toBeDefined();
    expect(detail).toBe(`none configured: run-scheduler runs the default crontab (${unserved} scheduled entries, plus @setup setup on each start)`);
  });

  it('a configured crontab with an unknown task: fail naming the line; exit 1', async () => {
    const path = join(dir, 'crontab');
    writeFileSync(path, 'TZ=UTC\n0 * * * * analyze-stats\n5 * * * * no-such-task --flag\n');
    const result = await doctor({ ...backend.env, SINGULARITY_CRONTAB: path });
    expect(result.code).toBe(1);
    const crontab = result.check('crontab');
    expect(crontab.verdict).toBe('fail');
    expect(crontab.detail).toMatch(new RegExp(`^1 problem in ${path}:\\n${path}:3:\\d+: .*no-such-task`));
    expect(crontab.fix).toContain(`'singularity crontab check ${path}'`);

    writeFileSync(path, 'TZ=UTC\n0 * * * * analyze-stats\n');
    expect((await doctor({ ...backend.env, SINGULARITY_CRONTAB: path })).check('crontab'))
      .toEqual({ id: 'crontab', title: 'crontab', verdict: 'ok', detail: `${path}: 1 entry, no problems` });
  });
});

describe.runIf(!!process.env.TEST_DATABASE_URL)('doctor and the jobs of pg_cron in another database', () => {
  let backend: Backend;
  let db: Database;
  let cron: pg.Client;
  let database: string;

  beforeAll(async () => {
    backend = await createBackend('postgres');
    db = await backend.open();
    database = new URL(backend.config.databaseUrl!).pathname.slice(1);
    cron = new pg.Client({ connectionString: process.env.TEST_DATABASE_URL }); // pg_cron lives in 'postgres'
    await cron.connect();
    // A managed-looking job that fails each minute: scheduled first, so that its first run (at the next
    // minute) happens while the other tests run.
    await cron.query(`select cron.schedule_in_database($1, '* * * * *', 'select no_such_function()', $2)`, [`singularity:bogus-task@${database}`, database]);
  });
  afterAll(async () => {
    await cron?.query('select cron.unschedule(jobid) from cron.job where database = $1', [database]).catch(() => {});
    await cron?.end();
    await db?.close();
    await backend?.dispose();
  });

  it('a tick pg_cron let pass, with no run since: overdue in doctor as in status; a job installed after its tick is not expected', async () => {
    // A yearly job recorded as installed long ago: its 1 January tick passed with no run.
    const late = `singularity:analyze-stats@${database}`;
    const fresh = `singularity:vacuum-analyze@${database}`;
    for (const jobname of [late, fresh]) {
      await cron.query(`select cron.schedule_in_database($1, '0 0 1 1 *', 'analyze', $2)`, [jobname, database]);
    }
    await db.query(
      `insert into pgcron_jobs (jobname, task, entry, schedule, command, cron_database, installed_at)
       values ($1, 'analyze-stats', 'analyze-stats', '0 0 1 1 *', 'analyze', 'postgres', '2020-01-01'),
              ($2, 'vacuum-analyze', 'vacuum-analyze', '0 0 1 1 *', 'analyze', 'postgres', now())`,
      [late, fresh],
    );
    const result = await doctor(backend.env);
    const schedule = result.check('schedule');
    expect(schedule.verdict).toBe('fail');
    expect(schedule.detail).toMatch(/FAIL: analyze-stats is overdue: due at \d{4}-01-01T00:00:00.000Z, no run since/);
    expect(schedule.detail).not.toContain('vacuum-analyze is overdue');
    expect(schedule.fix).toContain('cron.use_background_workers');
    const status = JSON.parse((await runCli(['status', '--json'], backend.env)).stdout);
    expect(status.tasks.find((t: { task: string }) => t.task === 'analyze-stats').state).toBe('overdue');
    // A run in the history since the tick (pg_cron's wrapper records one) clears it.
    await db.query(`insert into task_runs (task, trigger, state, started_at, finished_at, host) values ('analyze-stats', 'pg_cron', 'completed', now(), now(), 'pg_cron')`);
    expect((await doctor(backend.env)).check('schedule').detail).not.toContain('analyze-stats is overdue');
    expect((await doctor(backend.env)).check('pg_cron-jobs').detail).toMatch(/^3 jobs \(3 active, 0 paused\)/);
  });

  it('a job whose last run failed: fail with pg_cron\'s return message; exit 1', async () => {
    // pg_cron really runs it at the next minute.
    const deadline = Date.now() + 75_000;
    for (;;) {
      const { rows } = await cron.query(
        `select d.status from cron.job_run_details d join cron.job j using (jobid) where j.jobname = $1 and d.status = 'failed'`,
        [`singularity:bogus-task@${database}`],
      );
      if (rows.length) break;
      if (Date.now() > deadline) throw new Error('pg_cron did not run the job within 75 s');
      await new Promise((r) => setTimeout(r, 1000));
    }
    const result = await doctor(backend.env);
    expect(result.code).toBe(1);
    const jobs = result.check('pg_cron-jobs');
    expect(jobs.verdict).toBe('fail');
    expect(jobs.detail).toMatch(new RegExp(`singularity:bogus-task@${database} \\(\\* \\* \\* \\* \\*\\): last run failed at \\S+: ` +
      'ERROR: +function no_such_function\\(\\) does not exist'));
    expect(jobs.fix).toContain("'singularity pgcron install'");
    expect(result.check('pg_cron').verdict).toBe('ok');
  }, 120_000);
});

// A server of this test's own, started without pg_cron (as test/pgcron.test.ts does).
describe.runIf(canRunOwnServer)('doctor on a server without pg_cron', () => {
  let server: OwnServer;
  let env: Record<string, string>;

  beforeAll(async () => {
    server = await startOwnServer({ withoutPgCron: true });
    env = { DATABASE_URL: server.url, SINGULARITY_HOME: join(server.dir, 'home') };
    const migrated = await runCli(['migrate'], env);
    expect(migrated.code, migrated.stderr).toBe(0);
    // A live run-scheduler with no entries: the schedule check has nothing to fault.
    const client = new pg.Client({ connectionString: env.DATABASE_URL });
    await client.connect();
    await client.query(`insert into schedulers (host, pid, version, entries) values ('test-host', 1, 'test', '[]')`);
    await client.end();
  }, 120_000);
  afterAll(() => server?.dispose());

  it('pg_cron: warn, saying it is not loaded, with the fix naming shared_preload_libraries; exit 0', async () => {
    const result = await doctor(env);
    expect(result.code, JSON.stringify(result.report.checks.filter((c) => c.verdict === 'fail'))).toBe(0);
    expect(result.check('pg_cron')).toEqual({
      id: 'pg_cron',
      title: 'pg_cron',
      verdict: 'warn',
      detail: "pg_cron is not loaded by this server (shared_preload_libraries = ''); run-scheduler runs the sql tasks",
      fix: expect.stringContaining("Add pg_cron to shared_preload_libraries in postgresql.conf, set cron.database_name = 'postgres', restart the server"),
    });
    expect(result.report.checks.map((c) => c.id)).not.toContain('pg_cron-jobs');
  });

  it('pg_cron: fail when jobs were installed before, since their tasks now run nowhere; exit 1', async () => {
    const client = new pg.Client({ connectionString: env.DATABASE_URL });
    await client.connect();
    try {
      await client.query(`insert into pgcron_jobs (jobname, task, entry, schedule, command, cron_database)
        values ('singularity:analyze-stats@postgres', 'analyze-stats', 'analyze-stats', '0 */6 * * *', 'analyze', 'postgres')`);
      const result = await doctor(env);
      expect(result.code).toBe(1);
      expect(result.check('pg_cron')).toMatchObject({
        verdict: 'fail',
        detail: expect.stringContaining("'pgcron install' recorded 1 job here: run-scheduler leaves their tasks to pg_cron, so they run nowhere"),
        fix: expect.stringContaining('shared_preload_libraries'),
      });
    } finally {
      await client.query('delete from pgcron_jobs').catch(() => {});
      await client.end();
    }
  });
});

describe('doctor output', () => {
  it('never contains the password', () => {
    expect(outputs.length).toBeGreaterThan(0);
    for (const { stdout, stderr } of outputs) {
      expect(stdout).not.toContain(PASSWORD);
      expect(stderr).not.toContain(PASSWORD);
    }
  });
});
