#!/usr/bin/env node
// status on a large history: one million runs over 25 tasks (some failing, some only missed), then
//   - status's own query of every task's latest success, failure and start: planning + execution time
//     as PostgreSQL reports it (EXPLAIN ANALYZE), median of 15; target under 100 ms;
//   - the whole collectStatus() as a monitor calls it, wall time, median of 15;
//   - the baseline it avoids: the same answers by one aggregate over the whole history (GROUP BY task).
//   BENCH_DATABASE_URL=postgres://... npm run bench:status [-- --rows N]
import { loadConfig } from '../dist/core/config.js';
import { openDatabase } from '../dist/core/db.js';
import { defaultCrontab } from '../dist/schedule/crontab.js';
import { collectStatus, tasksQuery } from '../dist/status/status.js';
import { loadTasks } from '../dist/tasks/index.js';

const url = process.env.BENCH_DATABASE_URL ?? process.env.DATABASE_URL;
if (!url) {
  process.stderr.write('bench/status needs BENCH_DATABASE_URL (or DATABASE_URL): a PostgreSQL server\n');
  process.exit(2);
}
const args = process.argv.slice(2);
const rows = Number(args[args.indexOf('--rows') + 1] || 1_000_000) || 1_000_000;
const median = (values) => [...values].sort((a, b) => a - b)[values.length >> 1];
const log = (line) => process.stderr.write(line + '\n');

const admin = await openDatabase({ ...(await loadConfig({}, { DATABASE_URL: url })) }, { migrate: false, max: 1 });
const name = `sg_bench_status_${process.pid}`;
await admin.query(`create database ${name}`);
const target = new URL(url);
target.pathname = `/${name}`;
const config = await loadConfig({}, { DATABASE_URL: target.toString() });
const db = await openDatabase(config);
try {
  log(`loading ${rows} runs...`);
  await db.query(
    `insert into task_runs (task, trigger, state, inserted_at, started_at, finished_at, duration_ms, error)
     select 'task-' || (i % 25), 'scheduler', (array['completed','completed','completed','discarded','missed'])[1 + i % 5],
            t, t, t + interval '1 second', 1000, case when i % 5 = 3 then '{"message":"x"}'::jsonb end
     from generate_series(1, $1::int) i, lateral (select now() - i * interval '1 minute' as t) ts`,
    [rows],
  );
  await db.query('analyze task_runs');
  const names = [...Array.from({ length: 25 }, (_, i) => `task-${i}`), 'never-ran'];
  const tasks = await loadTasks(config);
  // A live scheduler serving the default crontab, as when a monitor polls a running system.
  const entries = defaultCrontab(tasks).entries.map((e) => ({ id: e.id, schedule: e.schedule, task: e.task, timezone: e.timezone }));
  await db.query(`insert into schedulers (host, pid, version, entries) values ('bench', 1, 'bench', $1)`, [JSON.stringify(entries)]);
  const heartbeat = setInterval(() => db.query('update schedulers set heartbeat_at = now()').catch(() => {}), 1000);

  const dbTime = [];
  const wall = [];
  const baseline = [];
  for (let i = 0; i < 15; i++) {
    const [{ 'QUERY PLAN': [plan] }] = await db.query(`explain (analyze, format json) ${tasksQuery(names)}`);
    dbTime.push(plan['Planning Time'] + plan['Execution Time']);
    let t0 = performance.now();
    await collectStatus(db, config, { tasks, crontab: async () => defaultCrontab(tasks) });
    wall.push(performance.now() - t0);
    t0 = performance.now();
    await db.query(
      `select task, max(finished_at) filter (where state = 'completed'), max(finished_at) filter (where state = 'discarded'),
         max(inserted_at) filter (where state <> 'missed') from task_runs group by task`,
    );
    baseline.push(performance.now() - t0);
  }
  const f = (ms) => `${ms.toFixed(1)} ms`;
  console.log(`status benchmark: ${rows} runs over 25 tasks, medians of 15`);
  console.log(`  status query, database time (planning + execution)   ${f(median(dbTime))}   target < 100 ms`);
  console.log(`  collectStatus() wall time (all its queries)           ${f(median(wall))}`);
  console.log(`  baseline: one aggregate over the whole history         ${f(median(baseline))}: status query is ${(median(baseline) / median(dbTime)).toFixed(0)}x faster`);
  clearInterval(heartbeat);
} finally {
  await db.close();
  await admin.query(`drop database ${name} with (force)`);
  await admin.close();
}
