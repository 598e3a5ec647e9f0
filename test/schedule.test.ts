// `schedule list | pause | resume | trigger` by the real CLI, on both backends: entries in force from a live
// run-scheduler, pauses that status, doctor and schedule list agree on, a trigger with the entry's own flags,
// and the bad input an operator types. (pg_cron's side: test/pgcron.test.ts.)
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Database } from '../src/core/database.js';
import { backendNames, createBackend, type Backend } from './support/backends.js';
import { runCli } from './support/cli.js';

const ENTRY = { id: 'nightly-prune', schedule: '0 3 * * *', task: 'prune-runs', timezone: 'UTC', args: { olderThan: '60d', batchSize: 500 } };

describe.each(backendNames)('schedule on %s', (name) => {
  let backend: Backend;
  let db: Database;
  let env: Record<string, string>;

  beforeAll(async () => {
    backend = await createBackend(name);
    db = await backend.open();
    // The test's "scheduler" beats only when a test says so: staleness must outlast a CLI start.
    env = { ...backend.env, SINGULARITY_STALE_AFTER_MS: '600000' };
    await db.query(`insert into schedulers (host, pid, version, entries) values ('test-host', 1, 'test', $1)`, [JSON.stringify([ENTRY])]);
  });
  afterAll(async () => {
    await db?.close();
    await backend?.dispose();
  });
  beforeEach(async () => {
    await db.query('update schedulers set heartbeat_at = now()');
    await db.query('delete from schedule_pauses');
  });

  const cli = (args: string[]) => runCli(args, env);
  const json = async (args: string[]) => {
    const result = await cli(args);
    expect(result.code === 0 || result.code === 1, result.stderr).toBe(true);
    return JSON.parse(result.stdout);
  };

  it('list: the live scheduler\'s entry, its engine, no pause, never run, its next tick', async () => {
    const { entries } = await json(['schedule', 'list', '--json']);
    expect(entries).toEqual([expect.objectContaining({
      id: 'nightly-prune', task: 'prune-runs', schedule: '0 3 * * *', timezone: 'UTC', engine: 'run-scheduler', runBy: 'scheduler',
      paused: null, lastRun: null, nextRun: expect.stringMatching(/T03:00:00.000Z$/),
    })]);
    const text = await cli(['schedule', 'list']);
    expect(text.stdout).toMatch(/nightly-prune +0 3 \* \* \* +UTC +run-scheduler +- +never /);
  });

  it('bad input: an unknown entry, a --until that is no time, one in the past: exit 2, nothing paused', async () => {
    const unknown = await cli(['schedule', 'pause', 'nightly-prunes']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain("no schedule entry 'nightly-prunes' is in force");
    expect(unknown.stderr).toContain("Entries in force: 'nightly-prune'");
    // A task's name names its one entry.
    const byTask = await cli(['schedule', 'resume', 'prune-runs']);
    expect([byTask.code, byTask.stdout.trim()]).toEqual([0, 'nightly-prune was not paused; nothing to do']);
    const garbled = await cli(['schedule', 'pause', 'nightly-prune', '--until', 'tomorrowish']);
    expect(garbled.code).toBe(2);
    expect(garbled.stderr).toContain("--until: 'tomorrowish' is neither a time nor a duration");
    const past = await cli(['schedule', 'pause', 'nightly-prune', '--until', '2020-01-01T00:00Z']);
    expect(past.code).toBe(2);
    expect(past.stderr).toContain('is not in the future');
    expect((await cli(['schedule', 'resume', 'nope'])).code).toBe(2);
    expect(await db.query('select entry from schedule_pauses')).toEqual([]);
  });

  it('pause: status, doctor and schedule list all say paused (not overdue); resume ends it', async () => {
    const paused = await cli(['schedule', 'pause', 'nightly-prune', '--until', '2h', '--reason', 'disk work']);
    expect(paused.code, paused.stderr).toBe(0);
    expect(paused.stdout).toMatch(/^paused nightly-prune \(run-scheduler\) until .*; its ticks are recorded as skipped/);

    const status = await json(['status', '--json']);
    const task = status.tasks.find((t: { task: string }) => t.task === 'prune-runs');
    expect(task.state).toBe('paused');
    expect(task.schedules[0].paused).toMatchObject({ reason: 'disk work', until: expect.any(String) });
    expect(Date.parse(task.schedules[0].paused.until) - Date.now()).toBeGreaterThan(110 * 60_000);
    expect((await cli(['status'])).stdout).toMatch(/prune-runs +sql +scheduler .* paused, ends in /);
    const { entries } = await json(['schedule', 'list', '--json']);
    expect(entries[0].paused).toMatchObject({ reason: 'disk work', until: task.schedules[0].paused.until });
    // Paused until its end: the next run is the first tick after it.
    expect(Date.parse(entries[0].nextRun)).toBeGreaterThan(Date.parse(task.schedules[0].paused.until));
    const doctor = await json(['doctor', '--json']);
    const schedule = doctor.checks.find((c: { id: string }) => c.id === 'schedule');
    expect(schedule.detail).toContain('1 paused');
    expect(schedule.data.tasks.find((t: { task: string }) => t.task === 'prune-runs')).toMatchObject({ state: 'paused', paused: true });

    const resumed = await cli(['schedule', 'resume', 'nightly-prune']);
    expect(resumed.stdout).toContain('resumed nightly-prune');
    expect((await json(['status', '--json'])).tasks.find((t: { task: string }) => t.task === 'prune-runs').state).not.toBe('paused');
    const again = await cli(['schedule', 'resume', 'nightly-prune']);
    expect([again.code, again.stdout.trim()]).toEqual([0, 'nightly-prune was not paused; nothing to do']);
  });

  it('a pause past its --until that nothing ended: a warning in status and in doctor, same words', async () => {
    await db.query(`insert into schedule_pauses (entry, paused_at, until, paused_by) values ('nightly-prune', now() - interval '2 hours', now() - interval '1 hour', 'ops@test')`);
    const status = await json(['status', '--json']);
    const warning = status.findings.find((f: { text: string }) => f.text.includes('was to end at'));
    expect(warning).toMatchObject({ severity: 'warn', task: 'prune-runs' });
    expect(warning.text).toContain("'singularity schedule resume nightly-prune'");
    const doctor = await json(['doctor', '--json']);
    expect(doctor.checks.find((c: { id: string }) => c.id === 'schedule').detail).toContain(`warn: ${warning.text}`);
  });

  it('trigger: one run now, with the entry\'s own flags, trigger manual and the entry\'s id', async () => {
    const result = await cli(['schedule', 'trigger', 'nightly-prune', '--json']);
    expect(result.code, result.stderr).toBe(0);
    const run = JSON.parse(result.stdout);
    expect(run).toMatchObject({ task: 'prune-runs', state: 'completed', trigger: 'manual', entry: 'nightly-prune', args: { olderThan: '60d', batchSize: 500 } });
    const { entries } = await json(['schedule', 'list', '--json']);
    expect(entries[0].lastRun).toMatchObject({ runId: run.id, state: 'completed', trigger: 'manual' });
  });

  it('runs retry of a run recorded without arguments (as pg_cron\'s wrapper did) runs with the defaults', async () => {
    const [{ id }] = (await db.query<{ id: number }>(
      `insert into task_runs (task, args, trigger, state, finished_at, host) values ('prune-runs', '{}', 'pg_cron', 'discarded', now(), 'pg_cron') returning id`,
    )) as [{ id: number }];
    const result = await cli(['runs', 'retry', String(id), '--json']);
    expect(result.code, result.stderr).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({ state: 'completed', trigger: 'retry', retryOf: id, args: { olderThan: '30d', batchSize: 1000 } });
  });
});
