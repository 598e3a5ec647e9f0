// The runner and the run history, on every backend: what a run leaves behind in task_runs.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import type { Database } from '../src/core/database.js';
import { HardStopError } from '../src/core/errors.js';
import { runTask } from '../src/core/runner.js';
import * as runs from '../src/core/runs.js';
import { defineTask } from '../src/core/task/define.js';
import { backendNames, createBackend, type Backend } from './support/backends.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function sleepTask(name: string, ms: number, options: { honour?: boolean; timeoutMs?: number } = {}) {
  return defineTask({
    name,
    summary: 'sleeps',
    engine: 'node',
    args: z.object({}),
    timeoutMs: options.timeoutMs ?? 60_000,
    async run({ signal }) {
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(resolve, ms);
        if (options.honour !== false) {
          signal.addEventListener('abort', () => {
            clearTimeout(timer);
            reject(signal.reason);
          });
        }
      });
      return { slept: ms };
    },
  });
}

async function rowsOf(db: Database, task: string) {
  return db.query<{ id: number; state: string }>('select id, state from task_runs where task = $1 order by id', [task]);
}

describe.each(backendNames)('runner on %s', (backendName) => {
  let backend: Backend;
  let db: Database;
  let db2: Database;

  beforeAll(async () => {
    backend = await createBackend(backendName);
    db = await backend.open();
    db2 = await backend.open();
  });
  afterAll(async () => {
    await db?.close();
    await db2?.close();
    await backend?.dispose();
  });

  it('records one run as exactly one row: executing while it runs, then completed with its duration and result', async () => {
    const task = sleepTask('t-one-row', 300);
    const pending = runTask({ db, config: backend.config }, task, { trigger: 'cli', args: {} });
    await sleep(150);
    const during = await runs.listRuns(db, { task: 't-one-row' });
    expect(during.map((r) => r.state)).toEqual(['executing']);
    expect(during[0]!.heartbeatAt).not.toBeNull();

    const run = await pending;
    expect(run.state).toBe('completed');
    expect(run.result).toEqual({ slept: 300 });
    expect(run.durationMs).toBeGreaterThanOrEqual(280);
    expect(run.durationMs).toBeLessThan(5_000);
    expect(run.attempt).toBe(1);
    expect(run.trigger).toBe('cli');
    expect(run.pid).toBe(process.pid);
    expect(run.finishedAt!.getTime()).toBeGreaterThanOrEqual(run.startedAt!.getTime());
    expect(await rowsOf(db, 't-one-row')).toEqual([{ id: run.id, state: 'completed' }]);
  });

  it('records the task\'s one-line summary of its result, and never fails a finished run over a broken summary', async () => {
    const summarized = { ...sleepTask('t-summary', 10), summarize: (r: { slept: number }) => `slept ${r.slept} ms` };
    const run = await runTask({ db, config: backend.config }, summarized, { trigger: 'cli', args: {} });
    expect(run).toMatchObject({ state: 'completed', summary: 'slept 10 ms' });
    expect((await runs.listRuns(db, { task: 't-summary' }))[0]!.summary).toBe('slept 10 ms');

    const broken = { ...sleepTask('t-summary-broken', 10), summarize: () => { throw new Error('bad summary'); } };
    const second = await runTask({ db, config: backend.config }, broken, { trigger: 'cli', args: {} });
    expect(second).toMatchObject({ state: 'completed', summary: null, result: { slept: 10 } });
  });

  it('retries a failing task per its policy with backoff, keeps every attempt\'s error, and ends discarded', async () => {
    const attempts: number[] = [];
    const task = defineTask({
      name: 't-failing',
      summary: 'always fails',
      engine: 'node',
      args: z.object({}),
      timeoutMs: 10_000,
      retry: { maxAttempts: 3, backoffMs: 300, maxBackoffMs: 10_000 },
      async run({ attempt }) {
        attempts.push(Date.now());
        throw new Error(`boom on attempt ${attempt}`);
      },
    });
    const retries: number[] = [];
    const run = await runTask({ db, config: backend.config }, task, {
      trigger: 'cli',
      args: {},
      onRetry: (_run, delay) => retries.push(delay),
    });
    expect(run.state).toBe('discarded');
    expect(run.attempt).toBe(3);
    expect(run.error).toMatchObject({ name: 'Error', message: 'boom on attempt 3' });
    expect(run.errors.map((e) => [e.attempt, e.message])).toEqual([
      [1, 'boom on attempt 1'],
      [2, 'boom on attempt 2'],
      [3, 'boom on attempt 3'],
    ]);
    expect(run.errors[0]!.stack).toContain('boom on attempt 1');
    // Backoff doubles (300 ms, then 600 ms, each ±20%) and the attempts really waited for it.
    expect(retries).toHaveLength(2);
    expect(retries[0]).toBeGreaterThanOrEqual(240);
    expect(retries[1]).toBeGreaterThanOrEqual(480);
    expect(attempts[1]! - attempts[0]!).toBeGreaterThanOrEqual(retries[0]! - 20);
    expect(attempts[2]! - attempts[1]!).toBeGreaterThanOrEqual(retries[1]! - 20);
    expect(await rowsOf(db, 't-failing')).toHaveLength(1);
  });

  it('a task that fails once and then succeeds ends completed on its second attempt', async () => {
    let calls = 0;
    const task = defineTask({
      name: 't-flaky',
      summary: 'fails once',
      engine: 'node',
      args: z.object({}),
      timeoutMs: 10_000,
      retry: { maxAttempts: 2, backoffMs: 50, maxBackoffMs: 50 },
      async run() {
        if (++calls === 1) throw new Error('transient');
        return 'ok';
      },
    });
    const run = await runTask({ db, config: backend.config }, task, { trigger: 'cli', args: {} });
    expect(run).toMatchObject({ state: 'completed', attempt: 2, result: 'ok' });
    expect(run.errors).toHaveLength(1);
  });

  it('stops a task that exceeds its timeout and records the timeout', async () => {
    const task = sleepTask('t-timeout', 30_000, { timeoutMs: 400 });
    const started = Date.now();
    const run = await runTask({ db, config: backend.config }, task, { trigger: 'cli', args: {} });
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(run.state).toBe('discarded');
    expect(run.error).toMatchObject({ name: 'TimeoutError', message: 'timeout of 400 ms' });
    expect(run.durationMs).toBeGreaterThanOrEqual(380);
  });

  it('gives up a task that ignores its timeout after the stop grace: a hard stop, recorded', async () => {
    const task = sleepTask('t-hung', 10_000, { timeoutMs: 300, honour: false });
    const started = Date.now();
    const error = await runTask({ db, config: backend.config }, task, { trigger: 'cli', args: {} }).catch((e) => e);
    expect(error).toBeInstanceOf(HardStopError);
    // timeout 300 ms + grace 500 ms, not the 10 s the task would have taken
    expect(Date.now() - started).toBeLessThan(5_000);
    const [row] = await runs.listRuns(db, { task: 't-hung' });
    expect(row).toMatchObject({ state: 'discarded', error: { name: 'TimeoutError' } });
  });

  it('lets the database decide between two concurrent starts of a non-overlapping task: one runs, one is skipped', async () => {
    const task = sleepTask('t-overlap', 800);
    const [a, b] = await Promise.all([
      runTask({ db, config: backend.config }, task, { trigger: 'cli', args: {} }),
      runTask({ db: db2, config: backend.config }, task, { trigger: 'scheduler', args: {} }),
    ]);
    const states = [a.state, b.state].sort();
    expect(states).toEqual(['completed', 'skipped']);
    const skipped = a.state === 'skipped' ? a : b;
    const ran = a.state === 'skipped' ? b : a;
    expect(skipped.reason).toContain(`run ${ran.id}`);
    expect(skipped.finishedAt).not.toBeNull();
    expect(await rowsOf(db, 't-overlap')).toHaveLength(2);
  });

  it('refuses a second executing row for one concurrency key at the database, whoever inserts it', async () => {
    await db.query(
      `insert into task_runs (task, trigger, state, concurrency_key, started_at, heartbeat_at) values ('t-raw', 'cli', 'executing', 't-raw', now(), now())`,
    );
    await expect(
      db.query(
        `insert into task_runs (task, trigger, state, concurrency_key, started_at, heartbeat_at) values ('t-raw', 'cli', 'executing', 't-raw', now(), now())`,
      ),
    ).rejects.toMatchObject({ code: '23505' });
    await db.query(`update task_runs set state = 'discarded', finished_at = now() where task = 't-raw'`);
  });

  it('allows overlap for tasks that say so', async () => {
    const task = { ...sleepTask('t-allow', 300), overlap: 'allow' as const };
    const [a, b] = await Promise.all([
      runTask({ db, config: backend.config }, task, { trigger: 'cli', args: {} }),
      runTask({ db: db2, config: backend.config }, task, { trigger: 'cli', args: {} }),
    ]);
    expect([a.state, b.state]).toEqual(['completed', 'completed']);
  });

  it('makes one scheduled tick one run, however many start it', async () => {
    const task = { ...sleepTask('t-tick', 50), overlap: 'allow' as const };
    const dedupeKey = 't-tick@2026-01-01T00:00:00Z';
    const results = await Promise.all(
      [db, db2, db].map((handle) =>
        runTask({ db: handle, config: backend.config }, task, { trigger: 'scheduler', args: {}, dedupeKey }),
      ),
    );
    expect(new Set(results.map((r) => r.id)).size).toBe(1);
    expect(await rowsOf(db, 't-tick')).toHaveLength(1);
  });

  it('cancels an executing run on request: its heartbeat sees it and the task stops', async () => {
    const task = sleepTask('t-cancel', 30_000);
    const pending = runTask({ db, config: backend.config }, task, { trigger: 'cli', args: {} });
    await sleep(300);
    const [executing] = await runs.listRuns(db, { task: 't-cancel', state: 'executing' });
    const requested = await runs.requestCancel(db2, executing!.id);
    expect(requested.cancelRequestedAt).not.toBeNull();
    const run = await pending;
    expect(run.state).toBe('cancelled');
    expect(run.reason).toBe('cancelled by request');
    await expect(runs.requestCancel(db2, run.id)).rejects.toThrow(/already finished/);
  });

  it('cancels when the caller aborts (Ctrl-C)', async () => {
    const controller = new AbortController();
    const pending = runTask({ db, config: backend.config }, sleepTask('t-sigint', 30_000), {
      trigger: 'cli',
      args: {},
      signal: controller.signal,
    });
    await sleep(200);
    controller.abort();
    expect((await pending).state).toBe('cancelled');
  });

  it('finds runs whose heartbeat stopped and marks them retryable or discarded per their policy', async () => {
    const [retryable] = await db.query<{ id: number }>(
      `insert into task_runs (task, trigger, state, attempt, max_attempts, concurrency_key, started_at, heartbeat_at, host, pid)
       values ('t-stale-a', 'cli', 'executing', 1, 3, 't-stale-a', now() - interval '1 hour', now() - interval '10 minutes', 'elsewhere', 1)
       returning id`,
    );
    const [discarded] = await db.query<{ id: number }>(
      `insert into task_runs (task, trigger, state, attempt, max_attempts, concurrency_key, started_at, heartbeat_at, host, pid)
       values ('t-stale-b', 'cli', 'executing', 1, 1, 't-stale-b', now() - interval '1 hour', now() - interval '10 minutes', 'elsewhere', 1)
       returning id`,
    );
    const [fresh] = await db.query<{ id: number }>(
      `insert into task_runs (task, trigger, state, concurrency_key, started_at, heartbeat_at, host, pid)
       values ('t-stale-c', 'cli', 'executing', 't-stale-c', now(), now(), 'elsewhere', 1) returning id`,
    );
    const reaped = await runs.reapStaleRuns(db, backend.config.runs);
    expect(reaped.map((r) => r.id).sort()).toEqual([retryable!.id, discarded!.id].sort());
    expect(await runs.getRun(db, retryable!.id)).toMatchObject({ state: 'retryable', reason: 'stale heartbeat' });
    const dead = await runs.getRun(db, discarded!.id);
    expect(dead.state).toBe('discarded');
    expect(dead.error!.message).toContain('elsewhere');
    expect((await runs.getRun(db, fresh!.id)).state).toBe('executing');
    await db.query(`update task_runs set state = 'cancelled', finished_at = now() where id = $1`, [fresh!.id]);
  });
});
