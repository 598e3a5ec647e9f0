// `pgcron install | uninstall | status` against a real PostgreSQL server with pg_cron, whose jobs
// really run; and the clear refusal where pg_cron cannot be used.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Database } from '../src/core/database.js';
import { diagnosePgCron, planJobs, PgCronUnavailableError, wantedJobs, type CronJob, type InstalledJob, type PgCronFacts } from '../src/pgcron/pgcron.js';
import { parseCrontab } from '../src/schedule/crontab.js';
import { tasks } from '../src/tasks/index.js';

// What pg_cron gets from the default crontab: every scheduled sql task whose statement is fixed.
const CRON_TASKS = tasks.filter((t) => t.engine === 'sql' && t.schedule && !t.expands).map((t) => t.name).sort();
import { createBackend, type Backend } from './support/backends.js';
import { runCli } from './support/cli.js';
import { canRunOwnServer, startOwnServer, type OwnServer } from './support/own-server.js';

describe('planJobs', () => {
  const job = (name: string, schedule = '0 * * * *', command = 'analyze'): CronJob => ({ jobname: name, task: 'analyze-stats', entry: name, schedule, command });
  const installed = (jobid: number, name: string, schedule = '0 * * * *', command = 'analyze', active = true): InstalledJob => ({ jobid, jobname: name, schedule, command, active });

  it('adds what is missing, changes what differs, removes what is no longer wanted, leaves the rest', () => {
    const plan = planJobs(
      [job('a'), job('b', '5 * * * *'), job('c'), job('d')],
      [installed(1, 'a'), installed(2, 'b'), installed(3, 'd', '0 * * * *', 'analyze', false), installed(4, 'gone')],
    );
    expect(plan.add.map((j) => j.jobname)).toEqual(['c']);
    expect(plan.change.map((c) => [c.job.jobname, c.from.jobid])).toEqual([['b', 2], ['d', 3]]);
    expect(plan.remove.map((j) => j.jobid)).toEqual([4]);
    expect(plan.unchanged.map((j) => j.jobname)).toEqual(['a']);
  });
});

describe('wantedJobs', () => {
  it('an entry with ping= stays with run-scheduler, which can call its monitor; the others become jobs with their arguments', () => {
    const taskSet = (all: typeof tasks) => ({ all, find: (name: string) => all.find((t) => t.name === name) });
    const { crontab, problems } = parseCrontab(
      'TZ=UTC\n0 */6 * * * analyze-stats\n0 0 * * 0 [ping=https://hc.example/abc] prune-runs --older-than 60d\n',
      { source: 'test', tasks: taskSet(tasks) },
    );
    expect(problems).toEqual([]);
    const wanted = wantedJobs(taskSet(tasks), crontab, { database: 'app', cronDatabase: 'app', version: '1.4', timezone: 'GMT' });
    expect(wanted.jobs.map((j) => [j.jobname, j.args, j.direct])).toEqual([['singularity:analyze-stats@app', {}, false]]);
    expect(wanted.leftToScheduler.map((e) => e.task)).toEqual(['prune-runs']);
  });
});

describe('diagnosePgCron', () => {
  const facts: PgCronFacts = {
    kind: 'postgres', database: 'singularity', preload: 'pg_stat_statements,pg_cron', cronDatabase: 'postgres', timezone: null, version: '1.4-1',
  };
  const verdict = (changes: Partial<PgCronFacts>) => {
    try {
      return diagnosePgCron({ ...facts, ...changes });
    } catch (error) {
      expect(error).toBeInstanceOf(PgCronUnavailableError);
      const e = error as PgCronUnavailableError;
      return { exitCode: e.exitCode, message: e.message, hint: e.hint };
    }
  };

  it('finds pg_cron in another database, reading schedules in GMT unless cron.timezone says otherwise', () => {
    expect(verdict({})).toEqual({ database: 'singularity', cronDatabase: 'postgres', version: '1.4-1', timezone: 'GMT' });
    expect(verdict({ timezone: 'Europe/Berlin' })).toMatchObject({ timezone: 'Europe/Berlin' });
  });

  it('not preloaded: exit 2, the setting as it is, and the fix', () => {
    expect(verdict({ preload: '', cronDatabase: null, version: null })).toEqual({
      exitCode: 2,
      message: "pg_cron is not loaded by this server (shared_preload_libraries = '')",
      hint: expect.stringContaining("Add pg_cron to shared_preload_libraries in postgresql.conf, set cron.database_name = 'singularity', restart the server"),
    });
  });

  it('loaded but not created in its database: exit 2, naming that database', () => {
    expect(verdict({ version: null })).toEqual({
      exitCode: 2,
      message: "pg_cron is loaded but not installed in its database 'postgres' (cron.database_name)",
      hint: "Run CREATE EXTENSION pg_cron; in database 'postgres' as a superuser.",
    });
  });
});

describe('pgcron on the embedded database', () => {
  let backend: Backend;
  beforeAll(async () => {
    backend = await createBackend('embedded');
  });
  afterAll(async () => backend?.dispose());

  it('install exits 2 with the reason and the fix', async () => {
    const result = await runCli(['pgcron', 'install'], backend.env);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('the embedded database (PGlite) has no pg_cron; its sql tasks run through run-scheduler');
    expect(result.stderr).toContain('point DATABASE_URL at a PostgreSQL server with pg_cron');
  });
});

describe.runIf(!!process.env.TEST_DATABASE_URL)('pgcron on PostgreSQL with pg_cron', () => {
  let backend: Backend;
  let db: Database;
  let cron: pg.Client;
  let dir: string;
  let database: string;

  beforeAll(async () => {
    backend = await createBackend('postgres');
    db = await backend.open();
    database = new URL(backend.config.databaseUrl!).pathname.slice(1);
    cron = new pg.Client({ connectionString: process.env.TEST_DATABASE_URL }); // pg_cron lives in 'postgres'
    await cron.connect();
    dir = mkdtempSync(join(tmpdir(), 'sg-pgcron-'));
  });
  afterAll(async () => {
    await cron?.query(`select cron.unschedule(jobid) from cron.job where database = $1`, [database]).catch(() => {});
    await cron?.end();
    await db?.close();
    await backend?.dispose();
    rmSync(dir, { recursive: true, force: true });
  });
  beforeEach(async () => {
    await cron.query(`select cron.unschedule(jobid) from cron.job where database = $1`, [database]);
  });

  const jobs = async () =>
    (await cron.query<{ jobid: string; jobname: string; schedule: string; command: string; active: boolean }>(
      `select jobid, jobname, schedule, command, active from cron.job where database = $1 order by jobname`, [database],
    )).rows;
  const crontab = (name: string, text: string) => {
    const path = join(dir, name);
    writeFileSync(path, text);
    return path;
  };
  const cli = (args: string[]) => runCli(args, backend.env);

  it('install --dry-run plans every scheduled sql task and changes nothing', async () => {
    const result = await cli(['pgcron', 'install', '--dry-run']);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toContain(`pg_cron 1.4-1 in database 'postgres'; jobs run in '${database}'; schedules read in GMT`);
    expect(result.stdout).toContain(`+ singularity:vacuum-analyze@${database}  0 23 * * *  vacuum (analyze)`);
    expect(result.stdout).toContain(`+ singularity:prune-runs@${database}  0 0 * * 0`);
    // Left to run-scheduler: the @setup line, reindex (its statements are chosen at run time), every node task.
    const left = /^left to run-scheduler: (.*)$/m.exec(result.stdout)![1]!.split(', ').map((id) => id.split(' ')[0]);
    const nodeTasks = tasks.filter((t) => t.engine === 'node' && t.schedule && (!t.roles || t.roles.includes('instance'))).map((t) => t.name);
    expect(new Set(left)).toEqual(new Set(['setup', 'reindex', ...nodeTasks]));
    // pg_cron lives in 'postgres': a job there prunes the history of this database's jobs.
    expect(result.stdout).toContain(`+ singularity:prune-runs:cron-details@${database}  0 0 * * 0  DELETE FROM cron.job_run_details`);
    expect(result.stdout).toContain(`dry run: ${CRON_TASKS.length + 1} change(s) planned, nothing applied`);
    expect(await jobs()).toEqual([]);
  });

  it('install applies the plan; a second install changes nothing; uninstall removes exactly its jobs', async () => {
    await cron.query(`select cron.schedule_in_database('foreign-job', '0 4 * * *', 'select 1', $1)`, [database]);
    const first = await cli(['pgcron', 'install', '--json']);
    expect(first.code, first.stderr).toBe(0);
    expect(JSON.parse(first.stdout).plan.add).toHaveLength(CRON_TASKS.length + 1);
    const installed = await jobs();
    expect(installed.map((j) => j.jobname)).toEqual(['foreign-job', ...CRON_TASKS.map((t) => `singularity:${t}@${database}`)]);
    expect(installed.find((j) => j.jobname.startsWith('singularity:analyze-stats'))!.command)
      .toBe(`CALL singularity_cron_run('analyze-stats', 'analyze-stats', '{}'::jsonb, $singularity$analyze$singularity$)`);

    const again = await cli(['pgcron', 'install']);
    expect(again.code).toBe(0);
    expect(again.stdout).toContain(`= ${CRON_TASKS.length + 1} job(s) unchanged`);
    expect(again.stdout).toContain('nothing to change');
    expect(await jobs()).toEqual(installed);

    const status = await cli(['pgcron', 'status', '--json']);
    const statusTasks = JSON.parse(status.stdout).jobs.map((j: { task: string }) => j.task);
    expect(statusTasks).toHaveLength(CRON_TASKS.length + 1);
    expect(new Set(statusTasks)).toEqual(new Set(CRON_TASKS));
    // The history-pruning job runs in pg_cron's database, over this database's jobs only, and is valid SQL.
    const [details] = (await cron.query<{ database: string; command: string }>(
      `select database, command from cron.job where jobname = $1`, [`singularity:prune-runs:cron-details@${database}`],
    )).rows;
    expect(details!.database).toBe('postgres');
    // The database's name is matched as written: an '_' in it is no wildcard.
    expect(details!.command).toContain(`jobname LIKE 'singularity:%@${database.replace(/[\\%_]/g, (c) => `\\${c}`)}'`);
    await cron.query(details!.command);
    // Placement: every other sql task (on demand, or chosen at run time) is run-scheduler's or the operator's.
    expect(JSON.parse(status.stdout).runByScheduler).toEqual(tasks.filter((t) => t.engine === 'sql' && !CRON_TASKS.includes(t.name)).map((t) => t.name));

    const removed = await cli(['pgcron', 'uninstall']);
    expect(removed.code).toBe(0);
    expect(removed.stdout).toContain(`removed ${CRON_TASKS.length + 1} job(s)`);
    expect((await cron.query(`select jobid from cron.job where jobname like $1`, [`%@${database}`])).rows).toEqual([]);
    expect((await jobs()).map((j) => j.jobname)).toEqual(['foreign-job']);
    expect(await db.query('select jobname from pgcron_jobs')).toEqual([]);
  });

  it('a crontab rules pg_cron too: a changed schedule changes exactly that job, a removed entry removes exactly its job', async () => {
    const two = crontab('two.crontab', 'TZ=UTC\n0 */6 * * * analyze-stats\n0 0 * * 0 prune-runs --older-than 60d\n@setup setup\n');
    expect((await cli(['pgcron', 'install', '--crontab', two])).code).toBe(0);
    const before = await jobs();
    expect(before.find((j) => j.jobname.startsWith('singularity:prune-runs'))!.command).toContain(`'60 days'::interval`);

    const changed = crontab('changed.crontab', 'TZ=UTC\n0 */4 * * * analyze-stats\n0 0 * * 0 prune-runs --older-than 60d\n');
    const result = await cli(['pgcron', 'install', '--crontab', changed]);
    expect(result.stdout).toContain(`~ singularity:analyze-stats@${database}  schedule 0 */6 * * * -> 0 */4 * * *`);
    expect(result.stdout).toContain('= 2 job(s) unchanged'); // prune-runs and its pruning of pg_cron's history
    const after = await jobs();
    const stats = (rows: typeof after) => rows.find((j) => j.jobname.startsWith('singularity:analyze-stats'))!;
    expect(stats(after).jobid).toBe(stats(before).jobid);
    expect(stats(after).schedule).toBe('0 */4 * * *');
    expect(after.find((j) => j.jobname.startsWith('singularity:prune-runs'))).toEqual(before.find((j) => j.jobname.startsWith('singularity:prune-runs')));

    const one = crontab('one.crontab', 'TZ=UTC\n0 */4 * * * analyze-stats\n');
    const removal = await cli(['pgcron', 'install', '--crontab', one]);
    expect(removal.stdout).toContain(`- singularity:prune-runs@${database}`);
    expect((await jobs()).map((j) => j.jobname)).toEqual([`singularity:analyze-stats@${database}`]);
  });

  it('refuses an entry in a time zone pg_cron does not read schedules in, naming the line', async () => {
    const berlin = crontab('berlin.crontab', 'TZ=Europe/Berlin\n0 3 * * * analyze-stats\n');
    const result = await cli(['pgcron', 'install', '--crontab', berlin]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(`${berlin}:2: analyze-stats is read in Europe/Berlin, but pg_cron reads schedules in GMT`);
    expect(await jobs()).toEqual([]);
  });

  it('status judges against the crontab pg_cron was installed from, not the default one', async () => {
    const own = crontab('own.crontab', 'TZ=UTC\n0 */4 * * * analyze-stats\n');
    expect((await cli(['pgcron', 'install', '--crontab', own])).code).toBe(0);
    // No run-scheduler: the tasks of the default crontab that this one leaves out are scheduled nowhere.
    await db.query('update schedulers set stopped_at = now() where stopped_at is null');
    const status = JSON.parse((await cli(['status', '--json'])).stdout);
    const of = (task: string) => status.tasks.find((t: { task: string }) => t.task === task);
    expect(of('analyze-stats').schedules).toEqual([expect.objectContaining({ id: 'analyze-stats', schedule: '0 */4 * * *', runBy: 'pg_cron', jobname: `singularity:analyze-stats@${database}` })]);
    expect(of('vacuum-analyze')).toMatchObject({ schedules: [], placement: 'manual' });
    expect(status.problems.join('\n')).not.toMatch(/scheduled entries are not being run/);
  });

  it('pause and resume a pg_cron entry: the job is deactivated, install keeps it so, its ticks are recorded as skipped', async () => {
    await db.query('delete from schedule_pauses');
    const two = crontab('pause.crontab', 'TZ=UTC\n0 */4 * * * analyze-stats\n* * * * * vacuum-analyze\n');
    expect((await cli(['pgcron', 'install', '--crontab', two])).code).toBe(0);
    const paused = await cli(['schedule', 'pause', 'vacuum-analyze', '--reason', 'bulk load']);
    expect(paused.code, paused.stderr).toBe(0);
    expect(paused.stdout).toContain(`paused vacuum-analyze (pg_cron: job singularity:vacuum-analyze@${database} deactivated)`);
    const active = async () => (await jobs()).find((j) => j.jobname.startsWith('singularity:vacuum-analyze'))!.active;
    expect(await active()).toBe(false);
    // Installing again does not end the pause.
    const again = await cli(['pgcron', 'install', '--crontab', two]);
    expect(again.stdout).toContain('nothing to change');
    expect(await active()).toBe(false);
    // Three minutes into the pause (moved back rather than waited for): those ticks are skipped, and say why.
    await db.query(`update schedule_pauses set paused_at = date_trunc('minute', now()) - interval '3 minutes' + interval '1 second'`);
    const status = JSON.parse((await cli(['status', '--json'])).stdout);
    expect(status.tasks.find((t: { task: string }) => t.task === 'vacuum-analyze')).toMatchObject({ state: 'paused', overdue: false });
    const skipped = await db.query<{ state: string; trigger: string; reason: string }>(
      `select state, trigger, reason from task_runs where entry = 'vacuum-analyze' and state = 'skipped'`,
    );
    expect(skipped.length).toBeGreaterThanOrEqual(3);
    expect(skipped[0]).toMatchObject({ state: 'skipped', trigger: 'pg_cron', reason: expect.stringMatching(/^paused by .*: bulk load$/) });
    const doctor = JSON.parse((await cli(['doctor', '--json'])).stdout);
    expect(doctor.checks.find((c: { id: string }) => c.id === 'pg_cron-jobs').detail).toMatch(/\(1 active, 1 paused\)/);
    expect((await cli(['pgcron', 'status'])).stdout).toMatch(new RegExp(`singularity:vacuum-analyze@${database} +\\* \\* \\* \\* \\* +paused `));

    const resumed = await cli(['schedule', 'resume', 'vacuum-analyze']);
    expect(resumed.stdout).toContain(`resumed vacuum-analyze (job singularity:vacuum-analyze@${database} active again)`);
    expect(await active()).toBe(true);
  });

  it('doctor names a job unscheduled by hand, and pgcron install restores it', async () => {
    const one = crontab('restore.crontab', 'TZ=UTC\n0 */4 * * * analyze-stats\n');
    expect((await cli(['pgcron', 'install', '--crontab', one])).code).toBe(0);
    await cron.query('select cron.unschedule($1)', [`singularity:analyze-stats@${database}`]);
    const doctor = await cli(['doctor', '--json']);
    expect(doctor.code).toBe(1);
    const check = JSON.parse(doctor.stdout).checks.find((c: { id: string }) => c.id === 'pg_cron-jobs');
    expect(check.verdict).toBe('fail');
    expect(check.detail).toContain(`singularity:analyze-stats@${database}: installed by 'pgcron install' but missing from cron.job (unscheduled by hand?)`);
    expect(check.fix).toContain("'singularity pgcron install' restores the missing jobs");
    expect((await cli(['pgcron', 'install', '--crontab', one])).stdout).toContain(`+ singularity:analyze-stats@${database}`);
  });

  it("pgcron status shows the task's real outcome, not the wrapper's; pg_cron's runs get their task's summary", async () => {
    const two = crontab('outcome.crontab', 'TZ=UTC\n0 */4 * * * analyze-stats\n*/15 * * * * cleanup-cache\n');
    expect((await cli(['pgcron', 'install', '--crontab', two])).code).toBe(0);
    // What pg_cron runs, run here: the wrapper ends cleanly whatever the statement does.
    await db.query(`CALL singularity_cron_run('analyze-stats', 'analyze-stats', '{}'::jsonb, 'select no_such_function()')`);
    await db.query(`CALL singularity_cron_run('cleanup-cache', 'cleanup-cache', '{}'::jsonb, 'select cleanup_cache() as result')`);
    const status = await cli(['pgcron', 'status']);
    expect(status.stdout).toMatch(new RegExp(`singularity:analyze-stats@${database} .* no +\\S+ \\S+ +discarded \\(run \\d+\\): function no_such_function\\(\\) does not exist|` +
      `singularity:analyze-stats@${database} .* yes +\\S+ \\S+ +discarded \\(run \\d+\\): function no_such_function\\(\\) does not exist`));
    const list = await cli(['runs', 'list', '--task', 'cleanup-cache']);
    expect(list.stdout).toMatch(/cleanup-cache +completed +pg_cron .*deleted \d+ expired cache entries; \d+ remain/);
  });

  it('a job installed with a near schedule really runs under pg_cron, and its run is in the history', async () => {
    const soon = crontab('soon.crontab', 'TZ=UTC\n* * * * * analyze-stats\n* * * * * vacuum-analyze\n');
    expect((await cli(['pgcron', 'install', '--crontab', soon])).code).toBe(0);
    // The next minute boundary, and pg_cron's own pace: up to about 70 s.
    const deadline = Date.now() + 75_000;
    let runs: Array<{ state: string; trigger: string; entry: string; host: string }> = [];
    while (Date.now() < deadline) {
      runs = await db.query(`select state, trigger, entry, host from task_runs where task = 'analyze-stats'`);
      if (runs.some((r) => r.state === 'completed')) break;
      await new Promise((r) => setTimeout(r, 500));
    }
    expect(runs.find((r) => r.state === 'completed')).toMatchObject({ state: 'completed', trigger: 'pg_cron', entry: 'analyze-stats', host: 'pg_cron' });
    // VACUUM cannot run inside the recording wrapper: pg_cron's own record of it is read into the history.
    let vacuum: { schedule: string; lastRun: { state: string; runId: number } | null; cronRun: { status: string } | null } | undefined;
    await expect.poll(async () => {
      const s = JSON.parse((await cli(['pgcron', 'status', '--json'])).stdout);
      vacuum = s.jobs.find((j: { task: string }) => j.task === 'vacuum-analyze');
      return vacuum?.lastRun?.state;
    }, { timeout: 20_000, interval: 500 }).toBe('completed');
    expect(vacuum!.cronRun!.status).toBe('succeeded');
    expect(vacuum!.schedule).toBe('* * * * *');
    const [recorded] = await db.query<{ trigger: string; entry: string; summary: string }>(
      'select trigger, entry, summary from task_runs where id = $1', [vacuum!.lastRun!.runId],
    );
    expect(recorded).toEqual({ trigger: 'pg_cron', entry: 'vacuum-analyze', summary: 'pg_cron ran it: VACUUM' });
    // status, doctor and the run list tell the same story: both tasks ran, nothing overdue.
    const status = JSON.parse((await cli(['status', '--json'])).stdout);
    for (const task of ['analyze-stats', 'vacuum-analyze']) {
      const t = status.tasks.find((x: { task: string }) => x.task === task);
      expect(t, task).toMatchObject({ overdue: false, failing: false, lastSuccess: { trigger: 'pg_cron' } });
    }
    const doctor = JSON.parse((await cli(['doctor', '--json'])).stdout);
    const schedule = doctor.checks.find((c: { id: string }) => c.id === 'schedule');
    for (const task of ['analyze-stats', 'vacuum-analyze']) {
      const t = schedule.data.tasks.find((x: { task: string }) => x.task === task);
      const s = status.tasks.find((x: { task: string }) => x.task === task);
      expect(t, task).toMatchObject({ state: s.state, overdue: false, lastSuccess: { runId: s.lastSuccess.runId } });
    }
    const list = await cli(['runs', 'list', '--task', 'vacuum-analyze']);
    expect(list.stdout).toMatch(/vacuum-analyze +completed +pg_cron .*pg_cron ran it: VACUUM/);
  }, 120_000);
});

// A server of this test's own, started without pg_cron: what an operator sees there.
describe.runIf(canRunOwnServer)('pgcron on a server without pg_cron', () => {
  let server: OwnServer;
  let dir: string;
  let url: string;

  beforeAll(async () => {
    server = await startOwnServer({ withoutPgCron: true });
    ({ dir, url } = server);
  }, 120_000);
  afterAll(() => server?.dispose());

  it('install and status exit 2, saying pg_cron is not loaded and how to load it', async () => {
    for (const command of [['pgcron', 'install'], ['pgcron', 'status']]) {
      const result = await runCli(command, { DATABASE_URL: url, SINGULARITY_HOME: join(dir, 'home') });
      expect(result.code).toBe(2);
      expect(result.stderr).toContain("pg_cron is not loaded by this server (shared_preload_libraries = '')");
      expect(result.stderr).toContain('Add pg_cron to shared_preload_libraries in postgresql.conf');
      expect(result.stderr).not.toContain('singularity-test-pw');
    }
  });
});
