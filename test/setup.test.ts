// `singularity setup` as an operator (or a scheduler beside one) runs it: the real CLI, real databases,
// fixture set-up tasks (orders 1, 2 and 4) among the built-in steps (migrate-knowledge 1, load-templates 2,
// seed-plan 3, ingest 4 (of the working folder), populate-graph 5, setup-rag 6), whose log shows what each
// process really executed.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { PoolClient } from 'pg';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Database } from '../src/core/database.js';
import type { Run } from '../src/core/runs.js';
import type { SetupResult } from '../src/core/setup.js';
import { backendNames, createBackend, type Backend } from './support/backends.js';
import { BIN, cleanEnv, runCli, type CliResult } from './support/cli.js';

const FIXTURE = fileURLToPath(new URL('./fixtures/setup-tasks.mjs', import.meta.url));
// Steps of equal order run by name: migrate-knowledge before setup-one, load-templates before setup-two.
const STEPS = ['migrate-knowledge', 'setup-one', 'load-templates', 'setup-two', 'seed-plan', 'ingest', 'setup-four', 'populate-graph', 'setup-rag'];
// setup-rag's own steps: those the flow already did are not run again; the rest are runs of their own,
// each naming setup-rag's run as its parent.
const RAG_DONE = ['migrate-knowledge', 'load-templates', 'ingest', 'populate-graph'];
const RAG_STEPS = ['rank-graph'];
// What the fixture steps log when each executes once and succeeds (the built-in tasks log nothing).
const FULL_LOG = ['start setup-one', 'end setup-one', 'start setup-two', 'end setup-two', 'start setup-four', 'end setup-four'];

const output = (r: CliResult) => `${r.stdout}\n${r.stderr}`;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until<T>(what: string, probe: () => T | Promise<T>, timeoutMs = 20_000): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(25);
  }
}

describe.each(backendNames)('singularity setup on %s', (backendName) => {
  let backend: Backend;
  let db: Database;
  // Held open so that the embedded server does not idle out between two CLI calls.
  let held: PoolClient;
  let dir: string;
  let logFile: string;
  let failFile: string;
  let holdFile: string;

  const env = (extra: Record<string, string | undefined> = {}) => ({
    ...backend.env,
    SINGULARITY_TASK_MODULES: FIXTURE,
    SETUP_LOG_FILE: logFile,
    SETUP_FAIL_FILE: failFile,
    SETUP_HOLD_FILE: holdFile,
    ...extra,
  });
  // Every call runs in an empty folder, so that no singularity.config.json around it is picked up.
  const setup = (args: string[] = [], extra: Record<string, string | undefined> = {}) => runCli(['setup', ...args], env(extra), { cwd: dir });
  /** A setup process the test can watch while it runs, and signal. */
  const startSetup = () => {
    const child = spawn(process.execPath, [BIN, 'setup'], { env: cleanEnv(env()), cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
    const result: CliResult = { code: null, signal: null, stdout: '', stderr: '' };
    child.stdout.on('data', (d) => (result.stdout += d));
    child.stderr.on('data', (d) => (result.stderr += d));
    const done = new Promise<CliResult>((resolve) => child.on('close', (code, signal) => resolve(Object.assign(result, { code, signal }))));
    return { child, result, done };
  };
  const log = () => (existsSync(logFile) ? readFileSync(logFile, 'utf8').split('\n').filter(Boolean) : []);
  // The flow's own runs (setup-rag's steps are looked at on their own).
  const setupRuns = () => db.query<Run>(
    `select id, task, state, trigger, started_at as "startedAt", finished_at as "finishedAt" from task_runs where parent_run_id is null order by id`);
  /** A database on which set-up never ran. */
  const reset = async () => {
    await db.query('delete from task_runs');
    rmSync(logFile, { force: true });
  };

  beforeAll(async () => {
    backend = await createBackend(backendName);
    db = await backend.open();
    held = await db.pool.connect();
    dir = mkdtempSync(join(tmpdir(), 'sg-setup-'));
    logFile = join(dir, 'steps.log');
    failFile = join(dir, 'fail');
    holdFile = join(dir, 'hold');
  });
  beforeEach(() => {
    rmSync(failFile, { force: true });
    rmSync(holdFile, { force: true });
  });
  afterAll(async () => {
    held?.release();
    await db?.close();
    await backend?.dispose();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('runs every set-up step once, in order, each recorded as a run with trigger setup', async () => {
    const r = await setup();
    expect(r.code, output(r)).toBe(0);
    expect(log()).toEqual(FULL_LOG);
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines).toHaveLength(10);
    expect(lines[0]).toMatch(/^\[1\/9\] migrate-knowledge {2,}completed in .+: [1-9]\d* loaded \([1-9]\d* new, 0 changed\), 0 unchanged, 0 invalid; [1-9]\d* not embedded: no embedding model/);
    expect(lines[1]).toMatch(/^\[2\/9\] setup-one {2,}completed in .+: step one done \(run \d+\)$/);
    expect(lines[2]).toMatch(/^\[3\/9\] load-templates {2,}completed in .+: [1-9]\d* loaded \([1-9]\d* new, 0 changed\), [1-9]\d* unchanged, 0 invalid/);
    expect(lines[3]).toMatch(/^\[4\/9\] setup-two {2,}completed in .+: step two done \(run \d+\)$/);
    expect(lines[4]).toMatch(/^\[5\/9\] seed-plan {2,}completed in .+: themes: [1-9]\d* new/);
    expect(lines[5]).toMatch(/^\[6\/9\] ingest {2,}completed in .+: sg-setup-\w+: \d+ files/);
    // Step 7 sees the work plan that step 5 seeded.
    expect(lines[6]).toMatch(/^\[7\/9\] setup-four {2,}completed in .+: saw [1-9]\d* themes \(run \d+\)$/);
    expect(lines[7]).toMatch(/^\[8\/9\] populate-graph {2,}completed in .+ \(run \d+\)$/);
    // Step 9 runs those of its own steps the flow has not done, then a search that finds the knowledge base.
    expect(lines[8]).toMatch(/^\[9\/9\] setup-rag {2,}completed in .+: migrate-knowledge skipped \(run \d+\), load-templates skipped \(run \d+\), ingest skipped \(run \d+\), populate-graph skipped \(run \d+\), rank-graph completed \(run \d+\); .*: [1-9]\d* hits/);
    expect(lines[9]).toBe('setup complete: 9 ran, 0 skipped');

    const recorded = await setupRuns();
    expect(recorded.map((x) => [x.task, x.state, x.trigger])).toEqual(STEPS.map((task) => [task, 'completed', 'setup']));
    // Each step started after the one before it finished.
    for (let i = 1; i < recorded.length; i++) expect(recorded[i]!.startedAt!.getTime()).toBeGreaterThanOrEqual(recorded[i - 1]!.finishedAt!.getTime());
    // setup-rag's steps are runs of their own, with the flow's trigger, each naming setup-rag's run.
    const rag = recorded.at(-1)!;
    const ragSteps = await db.query<{ task: string; state: string; trigger: string }>(
      'select task, state, trigger from task_runs where parent_run_id = $1 order by id', [rag.id]);
    expect(ragSteps).toEqual(RAG_STEPS.map((task) => ({ task, state: 'completed', trigger: 'setup' })));
    // The steps it skipped name the flow's own runs of them: every task ran once in all.
    const [ragRun] = await db.query<{ result: { steps: Array<{ task: string; state: string; runId: number }> } }>('select result from task_runs where id = $1', [rag.id]);
    expect(ragRun!.result.steps.filter((s) => s.state === 'skipped').map((s) => [s.task, s.runId])).toEqual(
      RAG_DONE.map((task) => [task, recorded.find((x) => x.task === task)!.id]));
    const counts = await db.query<{ task: string; n: number }>('select task, count(*)::int as n from task_runs group by task order by task');
    expect(counts).toEqual([...STEPS, ...RAG_STEPS].sort().map((task) => ({ task, n: 1 })));
  });

  it('a second setup runs nothing: every step is skipped, naming the run that completed it', async () => {
    const before = await setupRuns();
    const r = await setup();
    expect(r.code, output(r)).toBe(0);
    expect(log()).toEqual(FULL_LOG);
    for (const [i, task] of STEPS.entries()) {
      const run = before.find((x) => x.task === task)!;
      expect(r.stdout).toMatch(new RegExp(`^\\[${i + 1}/9\\] ${task} +skipped: completed by run ${run.id} at \\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d$`, 'm'));
    }
    expect(r.stdout.trimEnd().split('\n').at(-1)).toBe('setup complete: 0 ran, 9 skipped');
    expect(await setupRuns()).toEqual(before);
  });

  it('--force runs every step again, in order', async () => {
    const before = await setupRuns();
    const r = await setup(['--force']);
    expect(r.code, output(r)).toBe(0);
    expect(log()).toEqual([...FULL_LOG, ...FULL_LOG]);
    expect(r.stdout.trimEnd().split('\n').at(-1)).toBe('setup complete: 9 ran, 0 skipped');
    const added = (await setupRuns()).slice(before.length);
    expect(added.map((x) => [x.task, x.state, x.trigger])).toEqual(STEPS.map((task) => [task, 'completed', 'setup']));
  });

  it('a step whose flag has no default fails with the flag named, after the done steps are skipped', async () => {
    const before = await setupRuns();
    const r = await setup([], { SETUP_WITH_REQUIRED_FLAG: '1' });
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/^\[7\/10\] setup-four +skipped: completed by run \d+ at /m);
    expect(r.stderr).toMatch(/^\[9\/10\] setup-five +failed: setup-five: --target is required and has no default; a set-up task must give every flag a default$/m);
    expect(r.stderr).toMatch(/setup stopped at step 9\/10 \(setup-five\)/);
    expect(await setupRuns()).toEqual(before);
  });

  it('a failing step stops the flow with exit 1, naming the step; later steps do not run', async () => {
    await reset();
    writeFileSync(failFile, '');
    const r = await setup();
    expect(r.code).toBe(1);
    expect(log()).toEqual(['start setup-one', 'end setup-one', 'start setup-two', 'fail setup-two']);
    expect(r.stdout).toMatch(/^\[2\/9\] setup-one +completed/m);
    expect(r.stderr).toMatch(/^\[4\/9\] setup-two +failed: step two failed on purpose \(run \d+, discarded\)$/m);
    expect(r.stdout).toMatch(/^\[5\/9\] seed-plan +not run \(step 4 failed\)$/m);
    expect(r.stdout).toMatch(/^\[7\/9\] setup-four +not run \(step 4 failed\)$/m);
    expect(r.stderr).toContain('setup stopped at step 4/9 (setup-two): step two failed on purpose');
    expect(r.stderr).toContain("run 'singularity setup' again: it resumes at step 4");
    expect((await setupRuns()).map((x) => [x.task, x.state])).toEqual([
      ['migrate-knowledge', 'completed'], ['setup-one', 'completed'], ['load-templates', 'completed'], ['setup-two', 'discarded'],
    ]);

    // --json: the whole result, the failed run included; the done step is skipped this time.
    const j = await setup(['--json']);
    expect(j.code).toBe(1);
    const result = JSON.parse(j.stdout) as SetupResult;
    expect(result.ok).toBe(false);
    expect(result.steps.map((s) => [s.order, s.task, s.status])).toEqual([
      [1, 'migrate-knowledge', 'skipped'],
      [2, 'setup-one', 'skipped'],
      [3, 'load-templates', 'skipped'],
      [4, 'setup-two', 'failed'],
      [5, 'seed-plan', 'not-run'],
      [6, 'ingest', 'not-run'],
      [7, 'setup-four', 'not-run'],
      [8, 'populate-graph', 'not-run'],
      [9, 'setup-rag', 'not-run'],
    ]);
    expect(result.steps[1]!.run).toMatchObject({ task: 'setup-one', state: 'completed', trigger: 'setup' });
    expect(result.failedStep).toMatchObject({ order: 4, task: 'setup-two', status: 'failed', reason: 'step two failed on purpose' });
    expect(result.failedStep!.run).toMatchObject({ task: 'setup-two', state: 'discarded', trigger: 'setup', error: { message: 'step two failed on purpose' } });
    expect(log().slice(4)).toEqual(['start setup-two', 'fail setup-two']);
  });

  it('once the cause is gone, setup resumes at the failed step and finishes', async () => {
    const r = await setup();
    expect(r.code, output(r)).toBe(0);
    expect(r.stdout).toMatch(/^\[2\/9\] setup-one +skipped: completed by run \d+ at /m);
    expect(r.stdout).toMatch(/^\[4\/9\] setup-two +completed/m);
    expect(r.stdout.trimEnd().split('\n').at(-1)).toBe('setup complete: 6 ran, 3 skipped');
    expect(log().slice(6)).toEqual(['start setup-two', 'end setup-two', 'start setup-four', 'end setup-four']);
    const completed = (await setupRuns()).filter((x) => x.state === 'completed').map((x) => x.task);
    expect(completed).toEqual(STEPS);
  });

  it('two setups at once: the second waits for the step the first is executing; each step executes once, in order', async () => {
    await reset();
    writeFileSync(holdFile, '');
    const first = startSetup();
    await until('step 1 to start', () => log().includes('start setup-one'));
    const second = startSetup();
    // The second says that it waits for the first's run of step 2.
    const [run] = await db.query<{ id: number }>(`select id from task_runs where task = 'setup-one'`);
    const waiting = new RegExp(`\\[2/9\\] setup-one +waiting: run ${run!.id} of another process \\(pid ${first.child.pid} on `);
    await until('the second setup to wait', () => waiting.test(second.result.stderr));
    rmSync(holdFile);
    const [a, b] = await Promise.all([first.done, second.done]);
    expect(a.code, output(a)).toBe(0);
    expect(b.code, output(b)).toBe(0);
    expect(log()).toEqual(FULL_LOG);
    expect(b.stdout).toMatch(/^\[2\/9\] setup-one +skipped: completed by run \d+ meanwhile$/m);
    // Between them, each step is reported completed exactly once.
    for (const task of STEPS) {
      const completedLines = `${a.stdout}${b.stdout}`.match(new RegExp(`^\\[\\d/9\\] ${task} +completed`, 'gm')) ?? [];
      expect(completedLines, task).toHaveLength(1);
    }
    const completed = (await setupRuns()).filter((x) => x.state === 'completed');
    expect(completed.map((x) => x.task)).toEqual(STEPS);
  });

  it('two setups started at the same moment still execute each step once, in order', async () => {
    await reset();
    const [a, b] = await Promise.all([setup(), setup()]);
    expect(a.code, output(a)).toBe(0);
    expect(b.code, output(b)).toBe(0);
    expect(log()).toEqual(FULL_LOG);
    const completed = (await setupRuns()).filter((x) => x.state === 'completed');
    expect(completed.map((x) => x.task)).toEqual(STEPS);
  });

  it('Ctrl-C cancels the executing step (recorded cancelled) and stops the flow with exit 1', async () => {
    await reset();
    writeFileSync(holdFile, '');
    const { child, done } = startSetup();
    await until('step 1 to start', () => log().includes('start setup-one'));
    child.kill('SIGINT');
    const r = await done;
    expect(r.code).toBe(1);
    const out = output(r);
    expect(out).toMatch(/^\[2\/9\] setup-one +failed: .*interrupted.* \(run \d+, cancelled\)$/m);
    expect(out).toMatch(/^\[7\/9\] setup-four +not run/m);
    expect(out).toContain('setup stopped at step 2/9 (setup-one)');
    expect((await setupRuns()).map((x) => [x.task, x.state])).toEqual([['migrate-knowledge', 'completed'], ['setup-one', 'cancelled']]);
    expect(log()).toEqual(['start setup-one', 'fail setup-one']);
  });

  it('with only the built-in tasks, setup runs just those: the knowledge base, the work plan, ingest, the graph, retrieval', async () => {
    await reset();
    const r = await runCli(['setup'], backend.env, { cwd: dir });
    expect(r.code, output(r)).toBe(0);
    expect(r.stdout).toMatch(/^\[1\/6\] migrate-knowledge {2,}completed in .+: 0 loaded \(0 new, 0 changed\), [1-9]\d* unchanged, 0 invalid/);
    expect(r.stdout).toMatch(/^\[2\/6\] load-templates {2,}completed in /m);
    expect(r.stdout).toMatch(/^\[3\/6\] seed-plan {2,}completed in .+: themes: 0 new, [1-9]\d* in all/m);
    expect(r.stdout).toMatch(/^\[4\/6\] ingest {2,}completed in /m);
    expect(r.stdout).toMatch(/^\[5\/6\] populate-graph {2,}completed in /m);
    expect(r.stdout).toMatch(/^\[6\/6\] setup-rag {2,}completed in /m);
    expect(r.stdout.trimEnd().split('\n')).toHaveLength(7);
    expect(r.stdout.trimEnd().split('\n').at(-1)).toBe('setup complete: 6 ran, 0 skipped');
    expect((await setupRuns()).map((x) => [x.task, x.state, x.trigger])).toEqual(
      ['migrate-knowledge', 'load-templates', 'seed-plan', 'ingest', 'populate-graph', 'setup-rag'].map((task) => [task, 'completed', 'setup']),
    );
    expect(log()).toEqual([]);
  });

  it('a step completed by hand (seed-plan from the CLI) is done: setup skips it, naming that run; --force runs it', async () => {
    await reset();
    const byHand = await runCli(['seed-plan', '--json'], backend.env, { cwd: dir });
    expect(byHand.code, output(byHand)).toBe(0);
    const { id, trigger } = JSON.parse(byHand.stdout) as Run;
    expect(trigger).toBe('cli');
    const r = await runCli(['setup'], backend.env, { cwd: dir });
    expect(r.code, output(r)).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`^\\[3/6\\] seed-plan +skipped: completed by run ${id} at `, 'm'));
    expect(r.stdout.trimEnd().split('\n').at(-1)).toBe('setup complete: 5 ran, 1 skipped');
    expect((await setupRuns()).filter((x) => x.task === 'seed-plan').map((x) => x.id)).toEqual([id]);

    const forced = await runCli(['setup', '--force'], backend.env, { cwd: dir });
    expect(forced.stdout).toMatch(/^\[3\/6\] seed-plan {2,}completed in /m);
  });
});
