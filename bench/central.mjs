#!/usr/bin/env node
// sync-learning of N learned patterns (default 100,000) from an instance to the central database, against
// a bare INSERT ... SELECT of the same rows over the same foreign table (postgres_fdw, batch_size 1000, the
// central's merge trigger firing in both). Both on one server: two databases stand for instance and central.
// sync-learning's side is its whole run: each pattern's version into the outbox (marked sent, with its
// batch) and over to the central database. The baseline sends the same patterns and records nothing.
// Also measured: the same sync over a connection of singularity's own (the path of an instance without
// postgres_fdw), against the same baseline. Reported: medians and ratios. Target (fdw): <= 1.5x.
//
//   BENCH_DATABASE_URL=postgres://... npm run bench:central [-- --patterns N] [--rounds R] [--json]
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { applyCentralLink } from '../dist/central/link.js';
import { sendOverConnection } from '../dist/central/send.js';
import { loadConfig } from '../dist/core/config.js';
import { openDatabase } from '../dist/core/db.js';
import { benchDatabaseConfig, numberOption } from './support.mjs';

const args = process.argv.slice(2);
const PATTERNS = numberOption(args, 'patterns', 100_000);
const ROUNDS = numberOption(args, 'rounds', 3);
const JSON_OUT = args.includes('--json');
const log = (line) => process.stderr.write(line + '\n');
if (!process.env.BENCH_DATABASE_URL) {
  log('bench:central needs BENCH_DATABASE_URL (a PostgreSQL server with postgres_fdw): the embedded database has no postgres_fdw');
  process.exit(2);
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
async function timed(fn) {
  const start = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - start) / 1e6;
}

const temp = mkdtempSync(join(tmpdir(), 'sg-bench-central-'));
const instanceDb = await benchDatabaseConfig('instance', temp);
const centralDb = await benchDatabaseConfig('central', temp);
const central = await openDatabase(centralDb.config);
const centralUrl = centralDb.config.databaseUrl;
const config = await loadConfig({}, { DATABASE_URL: instanceDb.config.databaseUrl, CENTRAL_DATABASE_URL: centralUrl, SINGULARITY_INSTANCE: 'bench' });
const instance = await openDatabase(config);
try {
  await applyCentralLink(instance, config);
  await instance.query(
    `insert into learned_patterns (kind, pattern_key, description, example, occurrences, confidence, first_seen_at, last_seen_at)
     select 'framework', 'pattern-' || g, 'a learned pattern', jsonb_build_object('file', 'src/f' || g || '.ts'), 1 + g % 7, 0.5 + (g % 50) / 100.0, now(), now()
     from generate_series(1, $1) g`, [PATTERNS]);
  await instance.query('vacuum analyze learned_patterns');
  const reset = async () => {
    await central.query('truncate central_learnings, central_instance_patterns');
    await instance.query('truncate learning_outbox, learning_sync_batches');
  };
  const count = async () => Number((await central.query('select count(*) as n from central_learnings'))[0].n);
  const sides = { sync: [], baseline: [], connection: [] };
  for (let round = 0; round < ROUNDS; round++) {
    await reset();
    sides.sync.push(await timed(() => instance.query('select sync_learning($1)', [PATTERNS])));
    if ((await count()) !== PATTERNS) throw new Error('sync-learning did not send every pattern');

    await reset();
    sides.baseline.push(await timed(() => instance.query(
      `insert into singularity_central.central_learnings (instance, outbox_id, batch_id, kind, pattern_key, pattern_version, payload)
       select 'bench', p.id, 0, p.kind, p.pattern_key, p.version, learning_payload(p) from learned_patterns p`)));
    if ((await count()) !== PATTERNS) throw new Error('the baseline did not send every pattern');

    await reset();
    await instance.query(`update central_link set mode = 'connection'`);
    sides.connection.push(await timed(() => sendOverConnection(instance, config, PATTERNS)));
    await instance.query(`update central_link set mode = 'fdw'`);
    if ((await count()) !== PATTERNS) throw new Error('the connection path did not send every pattern');
    log(`round ${round + 1}: sync ${sides.sync.at(-1).toFixed(0)} ms, baseline ${sides.baseline.at(-1).toFixed(0)} ms, connection ${sides.connection.at(-1).toFixed(0)} ms`);
  }
  const m = Object.fromEntries(Object.entries(sides).map(([k, v]) => [k, median(v)]));
  const result = {
    patterns: PATTERNS, rounds: ROUNDS, medianMs: m,
    ratio: { sync: m.sync / m.baseline, connection: m.connection / m.baseline },
  };
  if (JSON_OUT) console.log(JSON.stringify(result, null, 2));
  else {
    console.log(`sync-learning of ${PATTERNS.toLocaleString('en')} patterns to the central database (medians of ${ROUNDS}):`);
    console.log(`  bare INSERT ... SELECT over the foreign table  ${m.baseline.toFixed(0)} ms`);
    console.log(`  sync_learning() through postgres_fdw           ${m.sync.toFixed(0)} ms  ${result.ratio.sync.toFixed(2)}x  (target <= 1.5x)`);
    console.log(`  over a connection of its own (no fdw)          ${m.connection.toFixed(0)} ms  ${result.ratio.connection.toFixed(2)}x`);
  }
} finally {
  await instance.close();
  await central.close();
  await instanceDb.drop();
  await centralDb.drop();
  rmSync(temp, { recursive: true, force: true });
}
