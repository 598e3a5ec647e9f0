// Several singularity processes at once, and processes that die: what the run history and the
// database look like afterwards. Real child processes, real databases.
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../src/core/database.js';
import { embeddedPaths } from '../src/core/embedded/paths.js';
import { liveLockOwner, processAlive } from '../src/core/embedded/lock.js';
import type { Run } from '../src/core/runs.js';
import { backendNames, createBackend, type Backend } from './support/backends.js';
import { cleanEnv, runCli } from './support/cli.js';

const SLOW_TASK = fileURLToPath(new URL('./fixtures/slow-task.mjs', import.meta.url));

/** Start the slow-task fixture; resolves with the child and its run id once the run is recorded. */
function startSlowTask(env: Record<string, string>, sleepMs: number, maxAttempts = 1): Promise<{ child: ChildProcess; runId: number; done: Promise<string> }> {
  const child = spawn(process.execPath, [SLOW_TASK, String(sleepMs), 'honour', String(maxAttempts)], {
    env: cleanEnv(env),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  const done = new Promise<string>((resolve) => child.on('close', () => resolve(stdout)));
  return new Promise((resolve, reject) => {
    child.stderr!.on('data', (d) => (stderr += d));
    child.stdout!.on('data', (d) => {
      stdout += d;
      const match = /started (\d+)/.exec(stdout);
      if (match) resolve({ child, runId: Number(match[1]), done });
    });
    child.on('close', (code) => reject(new Error(`fixture exited ${code} before starting: ${stderr}`)));
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe.each(backendNames)('processes on %s', (backendName) => {
  let backend: Backend;
  let db: Database;

  beforeAll(async () => {
    backend = await createBackend(backendName);
  });
  afterAll(async () => {
    await db?.close();
    await backend?.dispose();
  });

  it('migrates from several processes at once without error, applying each migration once', async () => {
    const results = await Promise.all([1, 2, 3].map(() => runCli(['migrate', '--json'], backend.env)));
    for (const result of results) {
      expect(result.stderr).toBe('');
      expect(result.code).toBe(0);
      expect(JSON.parse(result.stdout)).toMatchObject({ pending: [], ahead: false });
    }
    db = await backend.open();
    const [{ n }] = (await db.query<{ n: number }>('select count(*)::int as n from drizzle.__drizzle_migrations')) as [{ n: number }];
    const { journal } = await import('../src/core/migrate.js');
    expect(n).toBe(journal().length);
    // Every migration was applied by exactly one of them (on a server; the embedded server migrates itself).
    const appliedNow = results.flatMap((r) => JSON.parse(r.stdout).appliedNow as string[]);
    expect(appliedNow.length).toBe(backendName === 'postgres' ? journal().length : 0);
  });

  it('serves a second process while a first one holds the database', async () => {
    const first = await startSlowTask(backend.env, 2_500);
    const list = await runCli(['runs', 'list', '--json'], backend.env);
    expect(list.code).toBe(0);
    const listed = JSON.parse(list.stdout) as Run[];
    expect(listed.find((r) => r.id === first.runId)?.state).toBe('executing');

    const seed = await runCli(['seed-plan'], backend.env);
    expect(seed.code).toBe(0);
    expect(seed.stdout).toMatch(/seed-plan completed/);

    const final = JSON.parse((await first.done).trim().split('\n').pop()!) as Run;
    expect(final).toMatchObject({ id: first.runId, state: 'completed' });
  });

  it('detects a run whose process was killed with SIGKILL by its stopped heartbeat and marks it for retry', async () => {
    const { child, runId } = await startSlowTask(backend.env, 60_000, 2);
    await sleep(300);
    child.kill('SIGKILL');
    // Two missed heartbeats (200 ms each) from a process of this host that no longer exists.
    await sleep(700);
    const shown = await runCli(['runs', 'show', String(runId), '--json'], backend.env);
    expect(shown.code).toBe(0);
    const run = JSON.parse(shown.stdout) as Run;
    expect(run.state).toBe('retryable');
    expect(run.reason).toBe('stale heartbeat');
    expect(run.error?.name).toBe('StaleRunError');
    expect(run.errors).toHaveLength(1);

    // A run with no attempts left is discarded instead.
    const second = await startSlowTask(backend.env, 60_000, 1);
    await sleep(300);
    second.child.kill('SIGKILL');
    await sleep(700);
    const list = JSON.parse((await runCli(['runs', 'list', '--json', '--task', 'test-sleep'], backend.env)).stdout) as Run[];
    expect(list.find((r) => r.id === second.runId)?.state).toBe('discarded');
  });


  it('retries a discarded run from the CLI as a new run linked to it', async () => {
    const { readFileSync } = await import('node:fs');
    db ??= await backend.open();
    await db.query('drop function seed_work_plan()');
    const failed = await runCli(['seed-plan', '--json'], backend.env);
    expect(failed.code).toBe(1);
    const run = JSON.parse(failed.stdout) as Run;
    expect(run.state).toBe('discarded');
    expect(run.error?.message).toMatch(/seed_work_plan\(\) does not exist/);

    // Put the function back as its migration creates it, then retry the run.
    const migration = readFileSync(new URL('../drizzle/0001_seed_work_plan.sql', import.meta.url), 'utf8');
    for (const statement of migration.split('--> statement-breakpoint')) await db.query(statement);
    const retried = await runCli(['runs', 'retry', String(run.id), '--json'], backend.env);
    expect(retried.code).toBe(0);
    expect(JSON.parse(retried.stdout)).toMatchObject({ state: 'completed', trigger: 'retry', retryOf: run.id, task: 'seed-plan' });

    const again = await runCli(['runs', 'retry', String(JSON.parse(retried.stdout).id)], backend.env);
    expect(again.code).toBe(2);
    expect(again.stderr).toMatch(/completed/);
  });

  it('cancels an executing run from the CLI: the run stops and is recorded cancelled', async () => {
    const { runId, done } = await startSlowTask(backend.env, 60_000);
    const cancelled = await runCli(['runs', 'cancel', String(runId), '--json'], backend.env);
    expect(cancelled.code).toBe(0);
    expect(JSON.parse(cancelled.stdout)).toMatchObject({ id: runId, state: 'cancelled', reason: 'cancelled by request' });
    const final = JSON.parse((await done).trim().split('\n').pop()!) as Run;
    expect(final.state).toBe('cancelled');
    const twice = await runCli(['runs', 'cancel', String(runId)], backend.env);
    expect(twice.code).toBe(2);
    expect(twice.stderr).toMatch(/already finished/);
  });
});

describe('the embedded server', () => {
  let backend: Backend;

  beforeAll(async () => {
    backend = await createBackend('embedded');
    expect((await runCli(['seed-plan'], backend.env)).code).toBe(0);
  });
  afterAll(async () => {
    await backend?.dispose();
  });

  it('survives being killed: the next process starts a new one, the data intact', async () => {
    const paths = embeddedPaths(backend.config.home);
    const before = JSON.parse((await runCli(['runs', 'list', '--json'], backend.env)).stdout) as Run[];
    const owner = liveLockOwner(paths.lockFile);
    expect(owner).toBeDefined();
    process.kill(owner!.pid, 'SIGKILL');
    for (let i = 0; i < 50 && processAlive(owner!.pid); i++) await sleep(20);

    const after = await runCli(['runs', 'list', '--json'], backend.env);
    expect(after.stderr).toBe('');
    expect(after.code).toBe(0);
    expect((JSON.parse(after.stdout) as Run[]).map((r) => r.id)).toEqual(before.map((r) => r.id));
    expect(liveLockOwner(paths.lockFile)?.pid).not.toBe(owner!.pid);
    const seed = await runCli(['seed-plan', '--json'], backend.env);
    expect(JSON.parse(seed.stdout).state).toBe('completed');
  });
});
