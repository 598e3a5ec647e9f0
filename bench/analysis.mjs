#!/usr/bin/env node
// Code analysis on an ingested codebase of code nobody here wrote: the TypeScript and JavaScript files
// of packages under node_modules/ (at least --files of them, 5,000 by default), ingested without an
// embedder and ranked once (rank-graph), before anything is measured. Then, in interleaved rounds,
// medians:
//   baseline      reading the codebase's graph out of the database: every node (id, kind, name, path,
//                 line, metadata) and every edge (source, target, kind, weight), as rows in this process;
//   sync-registry syncRegistry(): the summary, the snapshot of every file with its symbols, the
//                 difference from the previous snapshot (from the second round on, a real comparison);
//   dead code     checkDeadCode(): the candidates, recorded as a check against the one before.
// Target: each within 3x of the baseline.
//   npm run build && node bench/analysis.mjs [--files 5000] [--rounds 3]
//   With BENCH_DATABASE_URL (a PostgreSQL server) in a database of its own there; otherwise the
//   embedded database in a temporary home.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkDeadCode } from '../dist/analysis/dead-code.js';
import { DEFAULT_RULES } from '../dist/analysis/dead-code-rules.js';
import { syncRegistry } from '../dist/analysis/registry.js';
import { openDatabase } from '../dist/core/db.js';
import { ingestCodebase } from '../dist/ingest/ingest.js';
import { benchDatabaseConfig, copyPackages, numberOption } from './support.mjs';

const args = process.argv.slice(2);
const FILES = numberOption(args, 'files', 5000);
const ROUNDS = numberOption(args, 'rounds', 3);
// In order until there are enough files: big packages of real code.
const PACKAGES = ['drizzle-orm', '@huggingface/transformers', 'zod', 'es-toolkit', 'dependency-cruiser', 'vitest', 'ink', 'execa'];
const log = (line) => process.stderr.write(line + '\n');
const median = (values) => [...values].sort((a, b) => a - b)[values.length >> 1];
const millis = (ms) => `${ms.toFixed(0)} ms`;
const timed = async (fn) => {
  const t0 = performance.now();
  const value = await fn();
  return { ms: performance.now() - t0, value };
};

const temp = mkdtempSync(join(tmpdir(), 'sg-bench-analysis-'));
const { config, drop } = await benchDatabaseConfig('analysis', temp);
const db = await openDatabase(config);
try {
  const root = join(temp, 'code');
  const taken = [];
  // A few more than asked for: the scan skips some (minified, generated, too large).
  for (let copied = 0; copied < FILES * 1.1 && taken.length < PACKAGES.length;) {
    taken.push(PACKAGES[taken.length]);
    copied += copyPackages([taken.at(-1)], root);
  }
  log(`ingesting ${taken.join(', ')}...`);
  await ingestCodebase(db, { root, codebase: 'bench' });
  const [{ files, symbols, edges }] = await db.query(
    `select (select count(*)::int from code_files where codebase = 'bench' and deleted_at is null) as files,
            (select count(*)::int from graph_nodes where codebase = 'bench' and kind = 'symbol') as symbols,
            (select count(*)::int from graph_edges e join graph_nodes n on n.id = e.source_id where n.codebase = 'bench') as edges`);
  if (files < FILES) throw new Error(`node_modules/ gave ${files} files, fewer than ${FILES}`);
  await db.query("select rank_graph(0.85, 0.000001, 100, 'bench')");
  log(`${files} files of ${taken.join(', ')}: ${symbols} symbols, ${edges} edges; ${ROUNDS} rounds...`);

  const readGraph = async () => {
    const nodes = await db.query(`select id, kind, name, path, line, metadata from graph_nodes where codebase = 'bench'`);
    const links = await db.query(
      `select e.source_id, e.target_id, e.kind, e.weight from graph_edges e join graph_nodes n on n.id = e.source_id where n.codebase = 'bench'`);
    return nodes.length + links.length;
  };
  const times = { graph: [], registry: [], deadCode: [] };
  let rows = 0;
  let candidates = 0;
  let snapshot;
  await readGraph(); // warm: every side reads the same tables from the cache
  for (let round = 0; round < ROUNDS; round++) {
    const graph = await timed(readGraph);
    const registry = await timed(() => syncRegistry(db, { codebase: 'bench' }));
    const dead = await timed(() => checkDeadCode(db, { codebase: 'bench', rules: DEFAULT_RULES }));
    times.graph.push(graph.ms);
    times.registry.push(registry.ms);
    times.deadCode.push(dead.ms);
    rows = graph.value;
    snapshot = registry.value[0];
    candidates = dead.value[0].candidates.length;
    log(`  round ${round + 1}: graph ${millis(graph.ms)}, sync-registry ${millis(registry.ms)}, check-dead-code ${millis(dead.ms)}`);
  }
  const base = median(times.graph);
  const ratio = (list) => (median(list) / base).toFixed(2);
  console.log(`analysis of ${files} ingested files (${symbols} symbols, ${edges} edges), ${config.databaseUrl ? 'PostgreSQL' : 'embedded database'}, medians of ${ROUNDS} rounds:`);
  console.log(`  baseline: reading the graph (${rows} rows): ${millis(base)}`);
  console.log(`  sync-registry: ${millis(median(times.registry))} = ${ratio(times.registry)}x the graph read (target <= 3x); ${snapshot.summary.cycles.count} import cycles, ${snapshot.summary.modules.count} modules`);
  console.log(`  check-dead-code: ${millis(median(times.deadCode))} = ${ratio(times.deadCode)}x the graph read (target <= 3x); ${candidates} candidates`);
} finally {
  await db.close();
  await drop();
  rmSync(temp, { recursive: true, force: true });
}
