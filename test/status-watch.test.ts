// `status --watch`: the formatting helpers, the ink dashboard (ink-testing-library), the plain output for a
// pipe, and the real thing in a real terminal (tmux).
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { PassThrough } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { createElement as h } from 'react';
import { render } from 'ink-testing-library';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import {
  Dashboard, WatchApp, fitRows, formatAgo, formatIn, formatSpan, plainBlock, recentFailures, sortTasks, sparkline, taskState, watchStatus, wrapText,
} from '../src/commands/status-watch.js';
import type { StatusReport, TaskStatus } from '../src/status/types.js';
import { taskStateOf } from '../src/status/status.js';
import { BIN, cleanEnv, runCli } from './support/cli.js';

const NOW = new Date('2026-05-09T12:00:00Z');
const ago = (ms: number) => new Date(NOW.getTime() - ms);
const MIN = 60_000;
const HOUR = 60 * MIN;

/** A task as collectStatus builds it: its fields, then its state from them (the dashboard reads `state`). */
function task(name: string, fields: Partial<Omit<TaskStatus, 'state'>> = {}): TaskStatus {
  const status: Omit<TaskStatus, 'state'> = {
    task: name,
    engine: 'sql',
    placement: 'scheduler',
    schedules: [{ id: name, schedule: '*/15 * * * *', timezone: 'UTC', runBy: 'scheduler', paused: null }],
    lastSuccess: { runId: 1, at: ago(3 * MIN), trigger: 'scheduler', durationMs: 120 },
    lastFailure: null,
    failing: false,
    lastDue: ago(3 * MIN),
    nextDue: new Date(NOW.getTime() + 12 * MIN),
    overdue: false,
    overdueByMs: null,
    running: [],
    recent: [],
    ...fields,
  };
  return { ...status, state: taskStateOf(status) };
}

function fixture(extra: Partial<StatusReport> = {}): StatusReport {
  return {
    health: 'degraded',
    generatedAt: NOW,
    database: 'postgres://app:***@db.example:5432/singularity',
    problems: ['rank-graph is failing', 'prune-runs is overdue by 2h'],
    schedulers: [
      { id: 1, host: 'worker-1', pid: 4242, version: '0.1.0', crontab: null, entries: 18, startedAt: ago(HOUR), heartbeatAt: ago(2_000), alive: true },
      { id: 2, host: 'worker-2', pid: 77, version: '0.1.0', crontab: '/etc/crontab', entries: 18, startedAt: ago(5 * HOUR), heartbeatAt: ago(2 * HOUR), alive: false },
    ],
    tasks: [
      task('vacuum-analyze'),
      task('rank-graph', {
        failing: true,
        lastFailure: { runId: 7, at: ago(MIN), trigger: 'scheduler', durationMs: 50, error: 'relation "graph_nodes" does not exist' },
      }),
      task('populate-graph', {
        running: [{ runId: 9, startedAt: ago(90_000), heartbeatAt: ago(1_000), elapsedMs: 90_000, host: 'worker-1', pid: 5151, trigger: 'scheduler', stale: false }],
      }),
      task('prune-runs', { overdue: true, overdueByMs: 2 * HOUR }),
      task('seed-plan', { placement: 'manual', schedules: [], lastDue: null, nextDue: null, lastSuccess: null,
        lastFailure: { runId: 3, at: ago(3 * HOUR), trigger: 'cli', durationMs: 10, error: 'old failure' } }),
    ],
    ...extra,
  };
}

/** A frame without styles (chalk styles it when FORCE_COLOR is set, whatever the colour prop says). */
const frameOf = (app: { lastFrame: () => string | undefined }) => (app.lastFrame() ?? '').replace(/\u001b\[[0-9;]*m/g, '');

/** Runs for `recent`: [state, durationMs] pairs. */
const runs = (...list: Array<[string, number | null]>) => list.map(([state, durationMs]) => ({ state, durationMs }));
/** A pause of a schedule, by `by`, until `until` (null: until resumed). */
const pause = (by: string, until: Date | null, reason: string | null = null) => ({ since: ago(HOUR), until, by, reason });
const schedule = (id: string, paused: ReturnType<typeof pause> | null) =>
  ({ id, schedule: '0 * * * *', timezone: 'UTC', runBy: 'scheduler' as const, paused });
/** "14:05" and "2026-05-09", in local time as the dashboard shows them. */
const two = (n: number) => String(n).padStart(2, '0');
const hhmm = (d: Date) => `${two(d.getHours())}:${two(d.getMinutes())}`;
const ymd = (d: Date) => `${d.getFullYear()}-${two(d.getMonth() + 1)}-${two(d.getDate())}`;

async function until(check: () => boolean, what: string, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('formatting helpers', () => {
  it('relative times', () => {
    expect(formatSpan(45_000)).toBe('45s');
    expect(formatSpan(12 * MIN + 30_000)).toBe('12m');
    expect(formatSpan(2 * HOUR)).toBe('2h');
    expect(formatSpan(2 * HOUR + 5 * MIN)).toBe('2h 5m');
    expect(formatSpan(30 * HOUR)).toBe('1d 6h');
    expect(formatAgo(ago(3 * MIN), NOW)).toBe('3m ago');
    expect(formatAgo(NOW, NOW)).toBe('just now');
    expect(formatAgo(null, NOW)).toBe('-');
    expect(formatIn(new Date(NOW.getTime() + 12 * MIN), NOW)).toBe('in 12m');
    expect(formatIn(ago(MIN), NOW)).toBe('now');
    expect(formatIn(null, NOW)).toBe('-');
  });

  it('the state of a task: running, then failing, overdue, manual, ok', () => {
    const [ok, failing, running, overdue, manual] = fixture().tasks as [TaskStatus, TaskStatus, TaskStatus, TaskStatus, TaskStatus];
    expect(taskState(ok)).toEqual({ kind: 'ok', label: 'ok' });
    expect(taskState(failing)).toEqual({ kind: 'failing', label: 'failing: relation "graph_nodes" does not exist' });
    expect(taskState(failing, 10).label).toBe('failing: relation …');
    expect(taskState(running)).toEqual({ kind: 'running', label: 'running 1m' });
    expect(taskState(overdue)).toEqual({ kind: 'overdue', label: 'overdue 2h' });
    expect(taskState(manual)).toEqual({ kind: 'manual', label: 'manual' });
    expect(taskState(task('rank-graph', { failing: true, running: running.running })).kind).toBe('running');
    expect(sortTasks(fixture().tasks).map((t) => t.task)).toEqual(['rank-graph', 'prune-runs', 'populate-graph', 'vacuum-analyze', 'seed-plan']);
  });

  it('recent failures, newest first, at most 5', () => {
    expect(recentFailures(fixture()).map((t) => t.task)).toEqual(['rank-graph', 'seed-plan']);
    const many = fixture({
      tasks: Array.from({ length: 8 }, (_, i) =>
        task(`t${i}`, { lastFailure: { runId: i, at: ago(i * MIN), trigger: 'cli', durationMs: 1, error: 'x' } })),
    });
    expect(recentFailures(many).map((t) => t.task)).toEqual(['t0', 't1', 't2', 't3', 't4']);
  });

  it('rows that fit', () => {
    expect(fitRows(5, 10)).toEqual({ shown: 5, more: 0 });
    expect(fitRows(5, 5)).toEqual({ shown: 5, more: 0 });
    expect(fitRows(30, 10)).toEqual({ shown: 9, more: 21 });
    expect(fitRows(30, -3)).toEqual({ shown: 1, more: 29 });
  });

  it('a plain block: health line, the tasks that are not ok, the count', () => {
    vi.stubEnv('NO_COLOR', '1');
    const stream = new PassThrough() as unknown as NodeJS.WriteStream;
    const block = plainBlock({ report: fixture() }, NOW, stream).split('\n');
    expect(block[0]).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d {2}degraded \(2 problems\) {2}postgres:\/\/app:\*\*\*@db/);
    expect(block.slice(1, -1).map((l) => l.trim().replace(/\s+/, ' '))).toEqual([
      'rank-graph failing: relation "graph_nodes" does not exist',
      'prune-runs overdue 2h',
      'populate-graph running 1m',
    ]);
    expect(block.at(-1)).toBe('2 of 5 tasks not ok (1 running)');
    const healthy = fixture({ health: 'healthy', problems: [], tasks: [task('a'), task('b', { placement: 'manual' })] });
    expect(plainBlock({ report: healthy }, NOW, stream).split('\n').slice(1)).toEqual(['all 2 tasks ok']);
    expect(plainBlock({ error: 'connect ECONNREFUSED 127.0.0.1:5432' }, NOW, stream)).toMatch(/ {2}down {2}connect ECONNREFUSED/);
    vi.unstubAllEnvs();
  });

  it('a task that nobody runs, or that never ran, is not ok', () => {
    const nobody = [{ id: 'x', schedule: '*/15 * * * *', timezone: 'UTC', runBy: 'nobody' as const, paused: null }];
    expect(taskState(task('a', { schedules: nobody, lastSuccess: null, lastDue: null }))).toEqual({ kind: 'unattended', label: 'never run: no scheduler runs it' });
    expect(taskState(task('a', { schedules: nobody }))).toEqual({ kind: 'unattended', label: 'unattended: no scheduler runs it' });
    expect(taskState(task('a', { schedules: nobody, overdue: true, overdueByMs: HOUR })).kind).toBe('overdue');
    expect(taskState(task('a', { lastSuccess: null }))).toEqual({ kind: 'never-run', label: 'never run' });
    expect(taskState(task('a', { placement: 'manual', schedules: [], lastSuccess: null })).kind).toBe('manual');
    const tasks = [task('ok'), task('never', { lastSuccess: null }), task('nobody', { schedules: nobody }), task('failing', { failing: true })];
    expect(sortTasks(tasks).map((t) => t.task)).toEqual(['failing', 'nobody', 'never', 'ok']);
  });

  it('a plain block lists a paused task, and does not count it as not ok', () => {
    vi.stubEnv('NO_COLOR', '1');
    const stream = new PassThrough() as unknown as NodeJS.WriteStream;
    const healthy = fixture({ health: 'healthy', problems: [], tasks: [task('a'), task('b', { schedules: [schedule('x', pause('alice@host', null))] })] });
    expect(plainBlock({ report: healthy }, NOW, stream).split('\n').slice(1)).toEqual(['  b  paused by alice@host', 'all 2 tasks ok (1 paused)']);
    vi.unstubAllEnvs();
  });

  it('a plain block shows the text of every problem that no task line shows', () => {
    vi.stubEnv('NO_COLOR', '1');
    const stream = new PassThrough() as unknown as NodeJS.WriteStream;
    const nobody = [{ id: 'x', schedule: '0 23 * * *', timezone: 'UTC', runBy: 'nobody' as const, paused: null }];
    const unattended = fixture({
      problems: ['no run-scheduler has ever run against this database: 1 scheduled entries are not being run', 'rank-graph is failing: boom (run 7)'],
      tasks: [task('vacuum-analyze', { schedules: nobody, lastSuccess: null, lastDue: null }), task('rank-graph', { failing: true }), task('seed-plan', { placement: 'manual' })],
    });
    expect(plainBlock({ report: unattended }, NOW, stream).split('\n').slice(1).map((l) => l.trim().replace(/\s+/, ' '))).toEqual([
      '! no run-scheduler has ever run against this database: 1 scheduled entries are not being run',
      'rank-graph failing: failed',
      'vacuum-analyze never run: no scheduler runs it',
      '2 of 3 tasks not ok',
    ]);
    const down = fixture({ health: 'down', problems: ['cannot connect to postgres://x:***@h:1/db: connect ECONNREFUSED h:1', 'Is the server running?'], schedulers: [], tasks: [] });
    expect(plainBlock({ report: down }, NOW, stream).split('\n').slice(1)).toEqual([
      '! cannot connect to postgres://x:***@h:1/db: connect ECONNREFUSED h:1',
      '! Is the server running?',
    ]);
    vi.unstubAllEnvs();
  });

  it('a sparkline: a cell per run, its height from its duration, its colour from its state, a failure a ✖', () => {
    const cells = sparkline(runs(['completed', 100], ['completed', 200], ['discarded', 400], ['completed', 400], ['cancelled', 5],
      ['skipped', 0], ['retryable', 300], ['executing', null]));
    expect(cells.map((c) => c.glyph).join('')).toBe('▂▄✖█✖▁▆·');
    expect(cells.map((c) => c.style)).toEqual(['green', 'green', 'red', 'green', 'red', 'gray', 'yellow', 'cyan']);
    expect(sparkline([])).toEqual([]);
    expect(sparkline(runs(['completed', 0], ['scheduled', null])).map((c) => c.glyph).join('')).toBe('▁·');
  });

  it('a paused task: until when (the pause that ends first), by whom, why; after unattended, before running', () => {
    const soon = new Date(NOW.getTime() + 30 * MIN);
    const later = new Date(NOW.getTime() + 3 * 24 * HOUR);
    const both = task('a', { schedules: [schedule('x', pause('alice@host', later)), schedule('y', pause('bob@host', soon, 'db migration'))] });
    expect(both.state).toBe('paused');
    expect(taskState(both, 50, NOW)).toEqual({ kind: 'paused', label: `paused until ${hhmm(soon)} by bob@host: db migration` });
    expect(taskState(task('a', { schedules: [schedule('x', pause('alice@host', later))] }), 50, NOW).label)
      .toBe(`paused until ${ymd(later)} ${hhmm(later)} by alice@host`); // another day: with its date
    expect(taskState(task('a', { schedules: [schedule('x', pause('alice@host', null))] }), 50, NOW).label).toBe('paused by alice@host');
    // One schedule of two paused: the task still runs.
    expect(taskState(task('a', { schedules: [schedule('x', pause('alice@host', null)), schedule('y', null)] })).kind).toBe('ok');
  });

  it('wraps text at word boundaries', () => {
    expect(wrapText('one two three', undefined)).toEqual(['one two three']);
    expect(wrapText('one two three', 13)).toEqual(['one two three']);
    expect(wrapText('one two three', 8)).toEqual(['one two', 'three']);
    expect(wrapText('a verylongword b', 5)).toEqual(['a', 'verylongword', 'b']);
  });
});

describe('the dashboard (ink)', () => {
  afterEach(() => vi.useRealTimers());

  it('draws the header, the task rows with their states, and the sections', async () => {
    const app = render(h(WatchApp, { load: async () => fixture(), intervalMs: 60_000, colour: false }));
    await until(() => frameOf(app).includes('rank-graph'), 'the first frame');
    const frame = frameOf(app);
    const lines = frame.split('\n');
    expect(lines[0]).toMatch(/^singularity status {2}degraded {2}refreshed \d\d:\d\d:\d\d {2}q to quit$/);
    expect(lines[1]).toBe('database postgres://app:***@db.example:5432/singularity');
    expect(frame).toMatch(/TASK +ENGINE +PLACEMENT +LAST SUCCESS +NEXT DUE +STATE/);
    expect(frame).toMatch(/rank-graph +sql +scheduler +3m ago +in 12m +failing: relation "graph_nodes"/);
    expect(frame).toMatch(/prune-runs +sql +scheduler +3m ago +in 12m +overdue 2h/);
    expect(frame).toMatch(/populate-graph +sql +scheduler +3m ago +in 12m +running 1m/);
    expect(frame).toMatch(/vacuum-analyze +sql +scheduler +3m ago +in 12m +ok/);
    expect(frame).toMatch(/seed-plan +sql +manual +- +- +manual/);
    expect(frame).toMatch(/^running\n +run 9 +populate-graph +1m +worker-1\/5151$/m);
    expect(frame).toMatch(/^recent failures\n +rank-graph +1m ago +relation "graph_nodes" does not exist\n +seed-plan +3h ago +old failure$/m);
    expect(frame).toMatch(/^schedulers\n +worker-1 +pid 4242 +v0\.1\.0 +heartbeat 2s ago +alive\n +worker-2 +pid 77 +v0\.1\.0 +heartbeat 2h ago +dead$/m);
    app.unmount();
  });

  it('a sparkline of each task\'s runs, newest next to the state; failures tell apart without colour', () => {
    const [ok, failing, ...rest] = fixture().tasks as [TaskStatus, TaskStatus, ...TaskStatus[]];
    const report = fixture({ tasks: [
      { ...ok, recent: runs(['completed', 50], ['completed', 400]) },
      { ...failing, recent: runs(['completed', 100], ['completed', 200], ['discarded', 400], ['completed', 400], ['discarded', 50]) },
      ...rest,
    ] });
    const frame = frameOf(render(h(Dashboard, { view: { report, refreshedAt: NOW }, rows: 40, columns: 120, colour: false })));
    expect(frame).toMatch(/TASK +ENGINE +PLACEMENT +LAST SUCCESS +NEXT DUE +RUNS +STATE/);
    expect(frame).toMatch(/^rank-graph +sql +scheduler +3m ago +in 12m +▂▄✖█✖ {2}failing: relation "graph_nodes"/m);
    expect(frame).toMatch(/^vacuum-analyze +sql +scheduler +3m ago +in 12m +▁█ {2}ok$/m);
    expect(frame).toMatch(/^seed-plan +sql +manual +- +- +manual$/m); // no runs: an empty cell
    // Right-aligned: every task's newest run in the column just before the state.
    const lines = frame.split('\n');
    const newest = lines.find((l) => l.startsWith('TASK'))!.indexOf('STATE') - 3;
    expect(lines.find((l) => l.startsWith('rank-graph '))![newest]).toBe('✖');
    expect(lines.find((l) => l.startsWith('vacuum-analyze '))![newest]).toBe('█');
  });

  it('a narrow terminal drops the sparkline, not the state', () => {
    const [ok, failing, ...rest] = fixture().tasks as [TaskStatus, TaskStatus, ...TaskStatus[]];
    const report = fixture({ tasks: [ok, { ...failing, recent: runs(['completed', 100], ['discarded', 50]) }, ...rest] });
    const frame = frameOf(render(h(Dashboard, { view: { report, refreshedAt: NOW }, rows: 40, columns: 80, colour: false })));
    expect(frame).not.toContain('RUNS');
    expect(frame).not.toContain('✖');
    expect(frame).toMatch(/^rank-graph +sql +scheduler +3m ago +in 12m +failing: relation/m);
  });

  it('a paused task: until when and by whom, listed after unattended and before running', () => {
    const until = new Date(NOW.getTime() + 2 * HOUR);
    const nobody = { ...schedule('n', null), runBy: 'nobody' as const };
    const report = fixture({ tasks: [
      ...fixture().tasks,
      task('nightly-export', { schedules: [schedule('a', pause('ann@ops', until, 'audit')), schedule('b', pause('bob@host', null))] }),
      task('rebuild-index', { schedules: [schedule('c', pause('carol@ci', null))] }),
      task('sync-mirror', { schedules: [nobody] }),
    ] });
    const frame = frameOf(render(h(Dashboard, { view: { report, refreshedAt: NOW }, rows: 40, columns: 120, colour: false })));
    expect(frame).toMatch(new RegExp(`^nightly-export +sql +scheduler +3m ago +in 12m +paused until ${hhmm(until)} by ann@ops: audit$`, 'm'));
    expect(frame).toMatch(/^rebuild-index +sql +scheduler .* +paused by carol@ci$/m);
    const order = frame.split('\n').map((l) => l.split(' ')[0]).filter((name) => report.tasks.some((t) => t.task === name));
    expect(order).toEqual(['rank-graph', 'prune-runs', 'sync-mirror', 'nightly-export', 'rebuild-index', 'populate-graph', 'vacuum-analyze', 'seed-plan']);
  });

  it('keeps to the terminal height: "+N more"', () => {
    const report = fixture({ tasks: [...fixture().tasks, ...Array.from({ length: 30 }, (_, i) => task(`extra-${i}`))] });
    const app = render(h(Dashboard, { view: { report, refreshedAt: NOW }, rows: 30, colour: false }));
    const lines = frameOf(app).split('\n');
    expect(lines.length).toBeLessThan(30);
    const more = lines.find((l) => /^\+\d+ more$/.test(l));
    const shown = lines.filter((l) => / sql {2}/.test(l)).length;
    expect(more).toBe(`+${35 - shown} more`);
    expect(lines.join('\n')).toContain('rank-graph'); // what needs attention comes first
    app.unmount();
  });

  it('shows every problem under the database line, wrapped to the width, in the height', () => {
    const long = `no run-scheduler has ever run against this database: 23 scheduled entries are not being run`;
    const report = fixture({ problems: [long, 'rank-graph is failing'] });
    const lines = frameOf(render(h(Dashboard, { view: { report, refreshedAt: NOW }, rows: 40, columns: 60, colour: false }))).split('\n');
    expect(lines.slice(1, 5)).toEqual([
      'database postgres://app:***@db.example:5432/singularity',
      '! no run-scheduler has ever run against this database: 23',
      '  scheduled entries are not being run',
      '! rank-graph is failing',
    ]);
    expect(lines[5]).toBe('');
    // At most a third of the screen; the rest counted.
    const many = fixture({ problems: Array.from({ length: 20 }, (_, i) => `problem ${i}`), tasks: Array.from({ length: 40 }, (_, i) => task(`t${i}`)) });
    const frame = frameOf(render(h(Dashboard, { view: { report: many, refreshedAt: NOW }, rows: 30, columns: 100, colour: false })));
    expect(frame).toMatch(/^! problem 0\n(! problem \d+\n){8}\+11 more problems \(singularity status\)$/m);
    expect(frame.split('\n').length).toBeLessThan(30);
  });

  it('a down report: the health, the database and the reason, no table', () => {
    const down = fixture({ health: 'down', problems: ['cannot connect to postgres://x:***@h:1/db: connect ECONNREFUSED h:1'], schedulers: [], tasks: [] });
    const frame = frameOf(render(h(Dashboard, { view: { report: down, refreshedAt: NOW }, rows: 30, colour: false })));
    expect(frame).toMatch(/^singularity status {2}down {2}refreshed \d\d:\d\d:\d\d {2}q to quit\ndatabase postgres:\/\/app:\*\*\*@db\.example:5432\/singularity\n! cannot connect to postgres:\/\/x:\*\*\*@h:1\/db: connect ECONNREFUSED h:1$/);
  });

  it('a load that throws shows "down" and the message, and it keeps retrying', async () => {
    let calls = 0;
    const load = async () => {
      calls++;
      if (calls <= 2) throw new Error('connect ECONNREFUSED postgres://app:secret@db:5432/x');
      return fixture({ health: 'healthy' });
    };
    const app = render(h(WatchApp, { load, intervalMs: 30, colour: false }));
    await until(() => frameOf(app).includes('down'), 'the down frame');
    expect(frameOf(app)).toMatch(/^singularity status {2}down {2}refreshed \d\d:\d\d:\d\d {2}q to quit\n/);
    expect(frameOf(app)).toContain('error: connect ECONNREFUSED postgres://app:***@db:5432/x (retrying)');
    expect(frameOf(app)).not.toContain('secret');
    await until(() => frameOf(app).includes('healthy'), 'recovery');
    expect(frameOf(app)).toContain('rank-graph');
    app.unmount();
  });

  it('q quits: the app stops loading', async () => {
    let calls = 0;
    const app = render(h(WatchApp, { load: async () => (calls++, fixture()), intervalMs: 20, colour: false }));
    await until(() => calls >= 2, 'two loads');
    app.stdin.write('q');
    await new Promise((r) => setTimeout(r, 50));
    const after = calls;
    await new Promise((r) => setTimeout(r, 150));
    expect(calls).toBe(after);
  });

  it('watchStatus on a terminal resolves on q and leaves the alternate screen', async () => {
    const stdout = Object.assign(new PassThrough(), { isTTY: true, columns: 100, rows: 30 }) as unknown as NodeJS.WriteStream;
    const stdin = Object.assign(new PassThrough(), { isTTY: true, setRawMode: () => stdin, ref: () => stdin, unref: () => stdin }) as unknown as NodeJS.ReadStream;
    let written = '';
    stdout.on('data', (d) => (written += d));
    let loads = 0;
    const done = watchStatus({ load: async () => (loads++, fixture()), intervalMs: 20, stdout, stdin });
    await until(() => loads >= 1, 'a load');
    (stdin as unknown as PassThrough).write('q');
    await expect(done).resolves.toBeUndefined();
    expect(written.startsWith('\u001b[?1049h')).toBe(true);
    expect(written.endsWith('\u001b[?1049l')).toBe(true);
  });
});

describe('not a terminal: plain blocks', () => {
  it('prints a block per refresh until the signal aborts', async () => {
    vi.stubEnv('FORCE_COLOR', ''); // not a terminal: no colours, unless forced
    const stdout = new PassThrough() as unknown as NodeJS.WriteStream;
    const stdin = new PassThrough() as unknown as NodeJS.ReadStream;
    let text = '';
    stdout.on('data', (d) => (text += d));
    const controller = new AbortController();
    let calls = 0;
    const load = async () => {
      calls++;
      if (calls === 2) throw new Error('database is down');
      return fixture();
    };
    const done = watchStatus({ load, intervalMs: 20, stdout, stdin, signal: controller.signal });
    await until(() => calls >= 3 && text.split('\n\n').length >= 4, 'three blocks');
    controller.abort();
    await done;
    vi.unstubAllEnvs();
    const blocks = text.trim().split('\n\n');
    expect(blocks[0]).toMatch(/^\S+ \S+ {2}degraded \(2 problems\)/);
    expect(blocks[0]).toContain('rank-graph');
    expect(blocks[0]!.split('\n').at(-1)).toBe('2 of 5 tasks not ok (1 running)');
    expect(blocks[1]).toMatch(/^\S+ \S+ {2}down {2}database is down$/);
    expect(blocks[2]).toContain('degraded');
    expect(text).not.toContain('\u001b');
    const count = calls;
    await new Promise((r) => setTimeout(r, 80));
    expect(calls).toBe(count);
  });
});

// ---- a real terminal ------------------------------------------------------------------------------------

const hasTmux = spawnSync('tmux', ['-V']).status === 0;
const DEMO = fileURLToPath(new URL('./fixtures/watch-demo.mjs', import.meta.url));

// ---- the real CLI (bin/singularity, built by `npm run build`) against real databases ---------------------

/** Refused at once: nothing listens on port 1. */
const UNREACHABLE = 'postgres://nobody:x@127.0.0.1:1/none';
const cliDirs: string[] = [];
afterAll(() => cliDirs.forEach((dir) => rmSync(dir, { recursive: true, force: true })));

/** A working directory of its own, with the environment a database is picked from, and `status --json` there. */
async function cliCase(env: Record<string, string>) {
  const cwd = mkdtempSync(join(tmpdir(), 'singularity-watch-cli-'));
  cliDirs.push(cwd);
  const { stdout } = await runCli(['status', '--json'], env, { cwd }); // also creates and migrates an embedded database
  const report = JSON.parse(stdout) as { health: string; problems: string[]; tasks: Array<{ task: string; lastSuccess: unknown; schedules: Array<{ runBy: string }> }> };
  expect(report.problems.length).toBeGreaterThan(0);
  return { cwd, env, report };
}
/** Embedded, in a fresh SINGULARITY_HOME: no scheduler has ever run, nothing ever ran. */
let embedded: ReturnType<typeof cliCase> | undefined;
const embeddedCase = () => (embedded ??= cliCase({ SINGULARITY_HOME: 'home' }));
const unreachableCase = () => cliCase({ DATABASE_URL: UNREACHABLE });

/** vacuum-analyze is scheduled by the default crontab; with no scheduler it is run by nobody and never ran. */
function expectNeverRun(report: Awaited<ReturnType<typeof cliCase>>['report']): void {
  const vacuum = report.tasks.find((t) => t.task === 'vacuum-analyze')!;
  expect(vacuum.lastSuccess).toBeNull();
  expect(vacuum.schedules.map((s) => s.runBy)).toEqual(['nobody']);
}

/** `status --watch` with its output piped, until `done(output)`; then SIGINT. */
async function watchPiped({ cwd, env }: { cwd: string; env: Record<string, string> }, done: (output: string) => boolean) {
  const child = spawn(process.execPath, [BIN, 'status', '--watch', '--interval', '1s'], { cwd, env: cleanEnv(env), stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (d) => (output += d));
  child.stderr.on('data', (d) => (output += d));
  const exit = new Promise<number | null>((r) => child.on('close', (code) => r(code)));
  try {
    await until(() => done(output), 'the piped blocks', 60_000);
  } finally {
    child.kill('SIGINT');
  }
  return { output, code: await exit };
}

describe('the real CLI, piped', () => {
  it('an unreachable database: every block says down and why', async () => {
    const c = await unreachableCase();
    expect(c.report.health).toBe('down');
    const { output, code } = await watchPiped(c, (o) => o.split('\n\n').length >= 3);
    expect(code).toBe(0);
    const blocks = output.trim().split('\n\n');
    for (const block of blocks) {
      expect(block).toMatch(/^\S+ \S+ {2}down \(\d+ problems?\) {2}postgres:\/\/nobody:\*\*\*@127\.0\.0\.1:1\/none\n/);
      for (const problem of c.report.problems) expect(block).toContain(`! ${problem}`);
      expect(block).toContain('cannot connect to postgres://nobody:***@127.0.0.1:1/none: connect ECONNREFUSED');
      expect(block).not.toMatch(/tasks ok/);
    }
    expect(output).not.toContain('nobody:x@');
  });

  it('an embedded database no scheduler ever ran: the problem, and the unattended tasks not ok', async () => {
    const c = await embeddedCase();
    expectNeverRun(c.report);
    const { output, code } = await watchPiped(c, (o) => o.split('\n\n').length >= 2);
    expect(code).toBe(0);
    const block = output.trim().split('\n\n')[0]!;
    expect(block).toMatch(/^\S+ \S+ {2}degraded \(1 problem\) {2}embedded database in /);
    for (const problem of c.report.problems) expect(block).toContain(`! ${problem}`);
    expect(block).toMatch(/^! no run-scheduler has ever run against this database: \d+ scheduled entries are not being run$/m);
    expect(block).toMatch(/^ +vacuum-analyze +never run: no scheduler runs it$/m);
    expect(block).not.toMatch(/tasks ok/);
    expect(block.split('\n').at(-1)).toMatch(/^\d+ of \d+ tasks not ok$/);
  });
});

describe.skipIf(!hasTmux)('in a real terminal (tmux)', () => {
  // A server of our own (its own socket and config), killed after each test.
  let socket = '';
  let config = '';
  const tmux = (...args: string[]) => execFileSync('tmux', ['-L', socket, '-f', config, ...args], { encoding: 'utf8' });
  const capture = (session: string) => tmux('capture-pane', '-p', '-t', session);
  /** "dead alternate-screen cursor-visible exit-status" (tmux does not always learn the exit status). */
  const pane = (session: string) => tmux('display-message', '-p', '-t', session, '#{pane_dead} #{alternate_on} #{cursor_flag} #{pane_dead_status}').trim();
  const exited = (session: string) => pane(session).startsWith('1 ');

  function start(session: string, extraTasks: number, env = '', script = `'${DEMO}' ${extraTasks}`, cwd = process.cwd(), rows = 40): void {
    socket = `singularity-watch-${process.pid}-${session}`;
    config = join(mkdtempSync(join(tmpdir(), 'singularity-tmux-')), 'tmux.conf');
    // remain-on-exit: the pane stays after the process exits, with its exit status.
    writeFileSync(config, 'set -g remain-on-exit on\n');
    // is-in-ci: ink draws only the last frame when CI is set; a person at a terminal has no CI.
    const command = `env -u CI -u CONTINUOUS_INTEGRATION -u FORCE_COLOR -u NO_COLOR ${env} '${process.execPath}' ${script}`;
    tmux('new-session', '-d', '-s', session, '-x', '120', '-y', String(rows), '-c', cwd, command);
  }

  /** bin/singularity status --watch, in `cwd`, with only the given database settings, on a screen tall enough for every task of the catalogue. */
  function startCli(session: string, c: { cwd: string; env: Record<string, string> }): void {
    const unset = ['DATABASE_URL', 'SINGULARITY_HOME', 'SINGULARITY_CONFIG', 'SINGULARITY_TRIGGER'].map((k) => `-u ${k}`).join(' ');
    const env = `${unset} ${Object.entries(c.env).map(([k, v]) => `${k}='${v}'`).join(' ')}`;
    start(session, 0, env, `'${BIN}' status --watch --interval 1s`, c.cwd, 60);
  }
  /** The screen with wrapped lines joined again (a problem's continuation lines are indented by two). */
  const unwrapped = (session: string) => capture(session).replace(/\n {2}(?=\S)/g, ' ');

  /** After a quit: the normal screen, the cursor shown, the keyboard echoing and line by line again. */
  async function quitsAndRestores(session: string): Promise<void> {
    await until(() => capture(session).includes('watch exited; type a line:'), 'watchStatus to resolve', 10_000);
    expect(pane(session)).toBe('0 0 1'); // alive, alternate screen off, cursor visible
    expect(capture(session)).not.toContain('q to quit'); // the dashboard went with the alternate screen
    tmux('send-keys', '-t', session, 'hello', 'Enter');
    await until(() => exited(session), 'the process to exit', 10_000);
    // With its history: tmux's "Pane is dead" line scrolls the screen.
    const screen = tmux('capture-pane', '-p', '-S', '-', '-t', session);
    expect(screen).toContain('watch exited; type a line: hello'); // echoed by the terminal: raw mode is off
    expect(screen).toContain('read: hello');
  }

  afterEach(() => {
    spawnSync('tmux', ['-L', socket, 'kill-server']);
    rmSync(dirname(config), { recursive: true, force: true });
  });

  it('draws the dashboard on one screen and quits on q, restoring the screen', async () => {
    start('watch', 60);
    await until(() => /\+\d+ more/.test(capture('watch')) && capture('watch').includes('schedulers'), 'the dashboard', 15_000);
    const screen = capture('watch');
    const lines = screen.split('\n');
    expect(lines[0]).toMatch(/^singularity status {2}degraded {2}refreshed \d\d:\d\d:\d\d {2}q to quit$/);
    expect(lines[1]).toBe('database postgres://demo:***@db.example:5432/singularity');
    expect(screen).toMatch(/rank-graph +sql +scheduler +3m ago +in 1[12]m +failing: relation "graph_nodes" does not exist/);
    expect(screen).toMatch(/prune-runs .* overdue 2h/);
    expect(screen).toMatch(/populate-graph .* running 1m/);
    expect(screen).toMatch(/^\+\d+ more$/m);
    expect(screen).toMatch(/^ +worker-1 +pid 4242 +v0\.1\.0 +heartbeat \d+s ago +alive$/m);
    expect(screen.trimEnd().split('\n').length).toBeLessThan(40);
    expect(tmux('capture-pane', '-p', '-e', '-t', 'watch')).toMatch(/\u001b\[31mfailing: relation/); // in red
    expect(pane('watch')).toBe('0 1 0'); // running, on the alternate screen, cursor hidden

    tmux('send-keys', '-t', 'watch', 'q');
    await quitsAndRestores('watch');
  });

  it('the real CLI, an unreachable database: down, the reason, no table; it keeps retrying; q quits', async () => {
    const c = await unreachableCase();
    startCli('cli-down', c);
    await until(() => capture('cli-down').includes('ECONNREFUSED'), 'the down screen', 30_000);
    const first = capture('cli-down');
    const lines = first.split('\n');
    expect(lines[0]).toMatch(/^singularity status {2}down {2}refreshed (\d\d:\d\d:\d\d) {2}q to quit$/);
    expect(lines[1]).toBe('database postgres://nobody:***@127.0.0.1:1/none');
    expect(lines[2]).toMatch(/^! cannot connect to postgres:\/\/nobody:\*\*\*@127\.0\.0\.1:1\/none: connect ECONNREFUSED 127\.0\.0\.1:1/);
    for (const problem of c.report.problems) expect(unwrapped('cli-down')).toContain(`! ${problem}`);
    expect(first).not.toContain('TASK');
    expect(first).not.toContain('nobody:x@');
    expect(tmux('capture-pane', '-p', '-e', '-t', 'cli-down')).toMatch(/\u001b\[31m! cannot connect/); // in red
    const refreshed = lines[0]!.match(/refreshed (\S+)/)![1];
    await until(() => !capture('cli-down').includes(`refreshed ${refreshed} `), 'a second refresh', 10_000);
    expect(capture('cli-down')).toContain('ECONNREFUSED');
    tmux('send-keys', '-t', 'cli-down', 'q');
    await until(() => exited('cli-down'), 'the process to exit', 10_000);
    // Exited 0, the alternate screen left (a dead pane reports no cursor: the demo tests check it is shown).
    expect(pane('cli-down')).toMatch(/^1 0 \d( 0)?$/);
  });

  it('the real CLI, an embedded database no scheduler ever ran: the problem, and never-run tasks not ok', async () => {
    const c = await embeddedCase();
    expectNeverRun(c.report);
    startCli('cli-embedded', c);
    await until(() => capture('cli-embedded').includes('schedulers'), 'the dashboard', 60_000);
    const screen = capture('cli-embedded');
    const lines = screen.split('\n');
    expect(lines[0]).toMatch(/^singularity status {2}degraded {2}refreshed \d\d:\d\d:\d\d {2}q to quit$/);
    expect(lines[1]).toMatch(/^database embedded database in .*home$/);
    expect(lines[2]).toMatch(/^! no run-scheduler has ever run against this database: \d+ scheduled entries are not being run$/);
    for (const problem of c.report.problems) expect(unwrapped('cli-embedded')).toContain(`! ${problem}`);
    expect(screen).toMatch(/^vacuum-analyze +sql +scheduler +- +in \S+( \S+)? +never run: no scheduler runs it$/m);
    expect(screen).toMatch(/^seed-plan +sql +manual +- +- +manual$/m);
    expect(screen).not.toMatch(/ ok$/m);
    expect(tmux('capture-pane', '-p', '-e', '-t', 'cli-embedded')).toMatch(/\u001b\[33mnever run: no scheduler runs it/); // in yellow
    tmux('send-keys', '-t', 'cli-embedded', 'q');
    await until(() => exited('cli-embedded'), 'the process to exit', 10_000);
  });

  it('Ctrl-C quits too; NO_COLOR: no colours', async () => {
    start('watch-c', 0, 'NO_COLOR=1');
    await until(() => capture('watch-c').includes('schedulers'), 'the dashboard', 15_000);
    expect(tmux('capture-pane', '-p', '-e', '-t', 'watch-c')).not.toMatch(/\u001b\[(3[0-8]|9[0-7])[m;]/); // only resets ([39m) and bold
    expect(capture('watch-c')).toMatch(/seed-plan +sql +manual .* manual/);
    tmux('send-keys', '-t', 'watch-c', 'C-c');
    await quitsAndRestores('watch-c');
  });
});
