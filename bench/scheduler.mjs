#!/usr/bin/env node
// Scheduler benchmark, two figures from one run against one database:
//
// 1. Due-to-executing: a real Scheduler (child-process isolation, as run-scheduler uses) with an
//    every-minute entry and a clock that is real time plus an offset. Before each tick the offset is
//    moved so that the next minute boundary lies 300 ms ahead; the scheduler sleeps until it like it
//    sleeps until any tick. Reported: the median delay from the due time to the run's record turning
//    executing (started_at, written by the database), and to the task's code running in its child.
//    Target: median due-to-executing under 1 s.
// 2. Bookkeeping per run: claim + start + finish of a run that does nothing (claimRun + carryRun, in
//    process, the scheduler's path) against a bare INSERT ... RETURNING plus two UPDATEs on a table
//    of the same shape and indexes. Blocks alternate; medians per run and their ratio. Target: ≤ 2x.
//
//   BENCH_DATABASE_URL=postgres://... npm run bench:scheduler [-- --ticks N] [--runs N] [--json]
// Without BENCH_DATABASE_URL (or DATABASE_URL) it measures the embedded database in a temp home.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../dist/core/config.js';
import { openDatabase } from '../dist/core/db.js';
import { carryRun, claimRun } from '../dist/core/runner.js';
import { parseCrontab } from '../dist/schedule/crontab.js';
import { Scheduler } from '../dist/scheduler/scheduler.js';
import { loadTasks } from '../dist/tasks/index.js';
import { numberOption } from './support.mjs';

const args = process.argv.slice(2);
const option = (name, fallback) => numberOption(args, name, fallback);
const TICKS = option('ticks', 25);
const RUNS = option('runs', 400);
const JSON_OUT = args.includes('--json');
const log = (line) => process.stderr.write(line + '\n');
const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
};

const work = mkdtempSync(join(tmpdir(), 'sg-bench-scheduler-'));
const taskModule = join(work, 'bench-tasks.mjs');
writeFileSync(
  taskModule,
  `import { defineTask } from ${JSON.stringify(new URL('../dist/core/task/define.js', import.meta.url).href)};
import { z } from 'zod';
export default [
  defineTask({ name: 'bench-noop', summary: 'does nothing', engine: 'node', args: z.object({}), timeoutMs: 60000, overlap: 'allow',
    async run() { return { codeStartedAt: Date.now() }; } }),
];
`,
);
// zod must resolve from the task module's folder: link this project's node_modules there.
const { symlinkSync } = await import('node:fs');
symlinkSync(new URL('../node_modules', import.meta.url).pathname, join(work, 'node_modules'));

const env = { ...process.env, SINGULARITY_HOME: join(work, 'home') };
if (process.env.BENCH_DATABASE_URL) env.DATABASE_URL = process.env.BENCH_DATABASE_URL;
const config = await loadConfig({}, env, work);
config.taskModules = [taskModule];
const db = await openDatabase(config, { max: 8 });
const tasks = await loadTasks(config);
const noop = tasks.find('bench-noop');

/** Real time plus an offset the benchmark moves; moving it wakes the scheduler like a reached tick would. */
class OffsetClock {
  offset = 0;
  sleepers = new Set();
  now() {
    return new Date(Date.now() + this.offset);
  }
  sleep(ms, signal) {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.sleepers.delete(done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.sleepers.add(done);
      signal.addEventListener('abort', done, { once: true });
    });
  }
  /** Put the next minute boundary `leadMs` ahead of now; returns that boundary in real time. */
  leadToNextMinute(leadMs) {
    const warped = this.now().getTime();
    const boundary = Math.ceil((warped + 1) / 60_000) * 60_000;
    this.offset = boundary - leadMs - Date.now();
    [...this.sleepers].forEach((wake) => wake());
    return boundary - this.offset; // real time at which the tick is due
  }
}

async function dueToExecuting() {
  await db.query(`delete from task_runs where task = 'bench-noop'`);
  const clock = new OffsetClock();
  const { crontab, problems } = parseCrontab('* * * * * [id=bench-minutely] bench-noop\n', { source: 'bench', tasks });
  if (problems.length) throw new Error(JSON.stringify(problems));
  const scheduler = new Scheduler({ db, config, tasks, crontab, version: 'bench', clock, isolation: 'child' });
  const done = scheduler.run();
  await new Promise((r) => setTimeout(r, 500));
  const toExecuting = [];
  const toCode = [];
  for (let i = 0; i < TICKS + 2; i++) {
    const dueReal = clock.leadToNextMinute(300);
    const tick = new Date(dueReal + clock.offset);
    let row;
    for (;;) {
      [row] = await db.query(
        `select extract(epoch from started_at) * 1000 as started, state, result from task_runs where entry = 'bench-minutely' and scheduled_for = $1`,
        [tick],
      );
      if (row?.state === 'completed') break;
      await new Promise((r) => setTimeout(r, 20));
    }
    if (i < 2) continue; // warm-up ticks
    toExecuting.push(Number(row.started) - dueReal);
    toCode.push(row.result.codeStartedAt - dueReal);
    log(`tick ${i - 1}/${TICKS}: executing after ${(Number(row.started) - dueReal).toFixed(0)} ms, task code after ${(row.result.codeStartedAt - dueReal).toFixed(0)} ms`);
  }
  scheduler.stop('benchmark over');
  await done;
  return { toExecutingMs: median(toExecuting), toTaskCodeMs: median(toCode) };
}

async function bookkeeping() {
  await db.query(`drop table if exists bench_bare_runs`);
  await db.query(`create table bench_bare_runs (like task_runs including all)`);
  const ours = [];
  const bare = [];
  const runner = { db, config };
  const oursBlock = async (n) => {
    for (let i = 0; i < n; i++) {
      const t0 = performance.now();
      const { run } = await claimRun(runner, noop, { trigger: 'scheduler', args: {} });
      await carryRun(runner, noop, run, { trigger: 'scheduler', args: {} });
      ours.push(performance.now() - t0);
    }
  };
  const bareBlock = async (n) => {
    for (let i = 0; i < n; i++) {
      const t0 = performance.now();
      const [{ id }] = await db.query(
        `insert into bench_bare_runs (task, args, trigger, state, max_attempts, timeout_ms) values ($1, $2, 'scheduler', 'scheduled', 1, 60000) returning *`,
        ['bench-noop', {}],
      );
      await db.query(`update bench_bare_runs set state = 'executing', started_at = now(), heartbeat_at = now() where id = $1`, [id]);
      await db.query(`update bench_bare_runs set state = 'completed', finished_at = now(), result = $2 where id = $1`, [id, JSON.stringify({ ok: true })]);
      bare.push(performance.now() - t0);
    }
  };
  await oursBlock(20);
  await bareBlock(20);
  ours.length = bare.length = 0;
  const block = 25;
  for (let done = 0; done < RUNS; done += block) {
    await bareBlock(block);
    await oursBlock(block);
    log(`bookkeeping: ${done + block}/${RUNS} runs each`);
  }
  await db.query(`drop table bench_bare_runs`);
  await db.query(`delete from task_runs where task = 'bench-noop'`);
  const oursMs = median(ours);
  const bareMs = median(bare);
  return { oursMs, bareMs, ratio: oursMs / bareMs };
}

try {
  log(`database: ${db.target}`);
  const latency = await dueToExecuting();
  const cost = await bookkeeping();
  const result = { database: db.kind, ticks: TICKS, runs: RUNS, dueToExecuting: latency, bookkeeping: cost };
  if (JSON_OUT) process.stdout.write(JSON.stringify(result, null, 2) + '\n');
  else {
    const f = (ms) => `${ms.toFixed(ms < 10 ? 2 : 0)} ms`;
    console.log(`scheduler benchmark on the ${db.kind} database (${TICKS} ticks, ${RUNS} runs)`);
    console.log(`  due -> executing (recorded), median     ${f(latency.toExecutingMs)}   target < 1000 ms`);
    console.log(`  due -> task code running (child), median ${f(latency.toTaskCodeMs)}`);
    console.log(`  bookkeeping per run: ours ${f(cost.oursMs)}, bare INSERT+2 UPDATE ${f(cost.bareMs)}: ${cost.ratio.toFixed(2)}x   target <= 2.0x`);
  }
} finally {
  await db.close();
  rmSync(work, { recursive: true, force: true });
}
