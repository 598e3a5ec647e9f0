#!/usr/bin/env node
// Alerts must never slow runs down. Run bookkeeping (runTask of a task that does nothing: claim, start,
// finish, in process) while a Notifier ticks every 100 ms against a webhook that takes 5 s to answer,
// versus the same with no Notifier, in alternating blocks of the same length in one run. Before each
// Notifier block ten tasks flip between failing and completing, so every block opens or resolves ten
// incidents and the Notifier has ten messages to deliver, each held 5 s by the webhook.
// Reported: the median per run of each side and their ratio. Target: <= 2x.
//
//   BENCH_DATABASE_URL=postgres://... npm run bench:notify [-- --blocks N] [--seconds S] [--json]
// Without BENCH_DATABASE_URL it measures the embedded database in a temp home.
import { mkdtempSync, rmSync } from 'node:fs';
import { once } from 'node:events';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { z } from 'zod';
import { openDatabase } from '../dist/core/db.js';
import { runTask } from '../dist/core/runner.js';
import { defineTask } from '../dist/core/task/define.js';
import { Notifier } from '../dist/notify/index.js';
import { benchDatabaseConfig, numberOption } from './support.mjs';

const args = process.argv.slice(2);
const option = (name, fallback) => numberOption(args, name, fallback);
const BLOCKS = option('blocks', 4);
const SECONDS = option('seconds', 6);
const ANSWER_MS = 5_000;
const FLIPPING = 10;
const JSON_OUT = args.includes('--json');
const log = (line) => process.stderr.write(line + '\n');
const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
};

let failing = false;
const noop = defineTask({ name: 'bench-noop', summary: 'does nothing', engine: 'node', args: z.object({}), timeoutMs: 60_000, overlap: 'allow', async run() { return {}; } });
const flippers = Array.from({ length: FLIPPING }, (_, i) =>
  defineTask({ name: `bench-flip-${i}`, summary: 'fails when told to', engine: 'node', args: z.object({}), timeoutMs: 60_000,
    async run() { if (failing) throw new Error('told to fail'); return {}; } }),
);
const all = [noop, ...flippers];
const tasks = { all, find: (name) => all.find((t) => t.name === name) };

// The webhook: takes every message, after 5 s.
let received = 0;
const webhook = createServer((req, res) => {
  req.resume();
  req.on('end', () => setTimeout(() => { received++; res.end('ok'); }, ANSWER_MS));
});
webhook.listen(0, '127.0.0.1');
await once(webhook, 'listening');

const temp = mkdtempSync(join(tmpdir(), 'sg-bench-notify-'));
const { config, drop } = await benchDatabaseConfig('notify', temp);
config.notify.webhooks = [{ name: 'slow', url: `http://127.0.0.1:${webhook.address().port}/hook`, headers: {} }];
const db = await openDatabase(config, { max: 8 });
const runner = { db, config, tasks };

/** Runs of bench-noop, one after another, for `seconds`; each one's wall time. */
async function block(seconds) {
  const times = [];
  const end = performance.now() + seconds * 1000;
  while (performance.now() < end) {
    const t0 = performance.now();
    await runTask(runner, noop, { trigger: 'scheduler', args: {} });
    times.push(performance.now() - t0);
  }
  return times;
}

try {
  log(`database: ${db.target}`);
  const notifier = new Notifier({ db, config, tasks, crontab: async () => ({ source: 'bench', entries: [] }), log: (level, m) => level === 'error' && log(`notifier ${level}: ${m}`) });
  await block(1); // warm-up
  const without = [];
  const withNotifier = [];
  for (let b = 0; b < BLOCKS; b++) {
    without.push(...(await block(SECONDS)));
    failing = !failing;
    for (const t of flippers) await runTask(runner, t, { trigger: 'scheduler', args: {} });
    let pass = notifier.tick();
    const ticker = setInterval(() => (pass = notifier.tick()), 100);
    withNotifier.push(...(await block(SECONDS)));
    clearInterval(ticker);
    await pass; // the block's deliveries finish before the next block without a notifier
    log(`block ${b + 1}/${BLOCKS}: ${without.length} runs without, ${withNotifier.length} with the notifier; ${received} messages delivered`);
  }
  const [{ count }] = await db.query(`select count(*)::int as count from alert_deliveries`);
  const result = {
    database: db.kind,
    blocks: BLOCKS,
    secondsPerBlock: SECONDS,
    withoutMs: median(without),
    withNotifierMs: median(withNotifier),
    ratio: median(withNotifier) / median(without),
    runs: { without: without.length, withNotifier: withNotifier.length },
    messages: { queued: count, delivered: received },
  };
  if (JSON_OUT) process.stdout.write(JSON.stringify(result, null, 2) + '\n');
  else {
    const f = (ms) => `${ms.toFixed(2)} ms`;
    console.log(`notify benchmark on the ${db.kind} database (${BLOCKS} blocks of ${SECONDS} s each side; ${count} messages queued, ${received} delivered, each answered after ${ANSWER_MS / 1000} s)`);
    console.log(`  run bookkeeping per run, median: without a notifier ${f(result.withoutMs)}, with one ticking every 100 ms ${f(result.withNotifierMs)}: ${result.ratio.toFixed(2)}x   target <= 2.0x`);
  }
} finally {
  await db.close();
  await drop();
  webhook.closeAllConnections();
  webhook.close();
  rmSync(temp, { recursive: true, force: true });
}
