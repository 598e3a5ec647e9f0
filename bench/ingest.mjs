#!/usr/bin/env node
// Code ingest on code nobody here wrote: the TypeScript and JavaScript files of packages under
// node_modules/, copied into a temporary folder (folders the deny list skips, node_modules/ and dist/
// among them, renamed on the way) so that the scan takes them. Each figure against a baseline measured
// in the same run:
//   (a) ingestCodebase() without an embedder (scan, read, hash, parse, chunk, write, graph) on a few
//       thousand files, against parsing alone: each file read and parseAndChunk()ed with the same
//       options, nothing else; interleaved rounds, medians; target at most 2x;
//   (c) the unchanged re-ingest against that first ingest, medians of the same rounds; target at most 3%;
//   (b) ingestCodebase() with an embedder, of a codebase new to the database, against the model alone
//       on the same chunks (embedder.embed() on the texts the model computes during ingest, in the same
//       batches of 256); the baseline runs half before and half after the ingest, so that both sides see
//       the machine alike; target at most 1.3x. The model is the stand-in in all-MiniLM-L6-v2's shape
//       (6 layers, 384 wide: its speed, not its meaning), or the real model when SINGULARITY_MODEL_DIR
//       names a folder that holds it;
//   (d) one function of one file of (b) changed (a statement added before its closing line) and the
//       codebase ingested again: chunks the model computed again, against the chunks of that function;
//       target only those;
//   (e) search() latency over at least 100,000 chunks on the embedded database (pgvector, HNSW), p50
//       and p95 of 120 queries (words of symbols found in the chunks, and phrases), hybrid (the query
//       embedded, lexical and vector halves fused) against lexical only, alternating per query; target
//       hybrid p50 under 50 ms. The chunks are real: every file parseAndChunk()ed as ingest does without
//       a model, written with bulk INSERTs (ingest's own speed is (a)'s), embedded with the small
//       stand-in model the tests use (32 wide; chunks beyond its 128 tokens are truncated, as the
//       embedder does), then ensureVectorIndex() and ANALYZE (what the analyze-stats task does).
//   npm run build && node bench/ingest.mjs [--rounds 3] [--search-chunks 100000] [--queries 120]
//   With BENCH_DATABASE_URL (a PostgreSQL server) (a) to (d) run there, in a database of their own;
//   otherwise on the embedded database in a temporary home. (e) runs on the embedded database always:
//   it has pgvector, which a server may lack.
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { openDatabase } from '../dist/core/db.js';
import { isEmbedder, loadEmbedder } from '../dist/embed/transformers.js';
import { dropUnusedVectorIndexes, ensureVectorIndex, vectorIndexName } from '../dist/vectors/vectors.js';
import { ingestCodebase } from '../dist/ingest/ingest.js';
import { parseAndChunk } from '../dist/ingest/parse.js';
import { scanCodebase } from '../dist/ingest/scan.js';
import { search } from '../dist/search/search.js';
import { buildStandInModel } from '../test/support/stand-in-model.mjs';
import { benchDatabaseConfig, copyPackages, copySources, embeddedBenchConfig, minilmShapedEmbedder, modules, stopEmbeddedServer } from './support.mjs';

const args = process.argv.slice(2);
const option = (name, fallback) => Number(args[args.indexOf(`--${name}`) + 1] || fallback) || fallback;
const rounds = option('rounds', 3);
const searchChunks = option('search-chunks', 100_000);
const queryCount = option('queries', 120);
const log = (line) => process.stderr.write(line + '\n');
const seconds = (ms) => `${(ms / 1000).toFixed(2)} s`;
const millis = (ms) => `${ms.toFixed(1)} ms`;
const median = (values) => [...values].sort((x, y) => x - y)[values.length >> 1];
const percentile = (values, p) => [...values].sort((x, y) => x - y)[Math.min(values.length - 1, Math.ceil((p / 100) * values.length) - 1)];

// (a) and (c): a few thousand files; (b) and (d): a few hundred small ones; (e): everything there is.
const INGEST_PACKAGES = ['drizzle-orm', '@huggingface/transformers'];
const EMBED_PACKAGES = ['execa', 'ink', 'semver'];
const BATCH = 256; // ingest's embedding batch (embedPendingChunks)
const roughTokens = (text) => Math.ceil(text.length / 4); // ingest's count without a model
const ROUGH = { maxTokens: 256, countTokens: roughTokens };

const started = performance.now();
const load = [];
const sampleLoad = () => load.push(loadavg()[0]);
sampleLoad();
const sampler = setInterval(sampleLoad, 10_000).unref();

const temp = mkdtempSync(join(tmpdir(), 'sg-bench-ingest-'));
const { config, drop } = await benchDatabaseConfig('ingest', temp);
const db = await openDatabase(config);
let searchDb;
const embedders = [];

try {
  // ---------------------------------------------------------------------------------------- (a), (c)
  const rootA = join(temp, 'ingest');
  copyPackages(INGEST_PACKAGES, rootA);
  const filesA = (await scanCodebase(rootA)).files;
  log(`(a) ${filesA.length} files of ${INGEST_PACKAGES.join(', ')}; ${rounds} rounds...`);
  const parseOnly = async () => {
    const t0 = performance.now();
    let chunks = 0;
    for (const file of filesA) chunks += (await parseAndChunk(await readFile(file.absolute, 'utf8'), file.language, ROUGH)).chunks.length;
    return { ms: performance.now() - t0, chunks };
  };
  const reset = () => db.query('truncate code_files, graph_nodes cascade');
  const parse = [];
  const first = [];
  const again = [];
  let reportA;
  let chunksParsed;
  await parseOnly(); // the grammars loaded and the code warm, for both sides
  for (let round = 0; round < rounds; round++) {
    await reset();
    // Alternate which side goes first: a busy moment of the machine falls on both alike.
    if (round % 2 === 0) ({ ms: parse[round], chunks: chunksParsed } = await parseOnly());
    let t0 = performance.now();
    reportA = await ingestCodebase(db, { root: rootA, codebase: 'ingest' });
    first.push(performance.now() - t0);
    t0 = performance.now();
    const unchanged = await ingestCodebase(db, { root: rootA, codebase: 'ingest' });
    again.push(performance.now() - t0);
    if (round % 2 === 1) ({ ms: parse[round], chunks: chunksParsed } = await parseOnly());
    if (reportA.files.added !== filesA.length || unchanged.files.unchanged !== filesA.length) throw new Error('ingest did not take every file');
    log(`  round ${round + 1}: parse ${seconds(parse[round])}, ingest ${seconds(first[round])}, unchanged ${seconds(again[round])}`);
  }
  if (reportA.chunks.written !== chunksParsed) log(`  note: ingest wrote ${reportA.chunks.written} chunks, parsing alone made ${chunksParsed}`);
  const [a, p, c] = [median(first), median(parse), median(again)];

  // ---------------------------------------------------------------------------------------- (b), (d)
  const embedder = await minilmShapedEmbedder(config, temp);
  embedders.push(embedder);
  const rootB = join(temp, 'embed');
  copyPackages(EMBED_PACKAGES, rootB);
  const filesB = (await scanCodebase(rootB)).files;
  // The chunks ingest will write, in its order (files in scan order, chunks in file order), cut as it
  // cuts them with a model; the model computes each distinct text once (a repeat takes its vector).
  const chunksB = [];
  const options = { maxTokens: embedder.maxTokens, countTokens: (text) => embedder.countTokens(text) };
  for (const file of filesB) chunksB.push(...(await parseAndChunk(await readFile(file.absolute, 'utf8'), file.language, options)).chunks);
  const seen = new Set();
  const batches = [];
  for (let i = 0; i < chunksB.length; i += BATCH) {
    const batch = chunksB.slice(i, i + BATCH).filter((chunk) => !seen.has(chunk.contentHash) && seen.add(chunk.contentHash)).map((chunk) => chunk.content);
    if (batch.length) batches.push(batch);
  }
  const computedAlone = batches.reduce((n, batch) => n + batch.length, 0);
  log(`(b) ${filesB.length} files of ${EMBED_PACKAGES.join(', ')}: ${chunksB.length} chunks, ${computedAlone} distinct, ${embedder.model}...`);
  await embedder.embed(batches[0].slice(0, 32)); // warm
  const modelAlone = async (from, to) => {
    const t0 = performance.now();
    for (const batch of batches.slice(from, to)) await embedder.embed(batch);
    return performance.now() - t0;
  };
  const half = batches.length >> 1;
  let alone = await modelAlone(0, half);
  let t0 = performance.now();
  const reportB = await ingestCodebase(db, { root: rootB, codebase: 'embed', embedder });
  const through = performance.now() - t0;
  alone += await modelAlone(half, batches.length);
  const computedB = reportB.chunks.computed;
  const stored = (await db.query(`select content_hash as h from code_chunks where codebase = 'embed' order by id`)).map((r) => r.h);
  if (stored.join() !== chunksB.map((chunk) => chunk.contentHash).join()) throw new Error('ingest wrote other chunks than parsing alone made');
  if (computedB !== computedAlone) throw new Error(`the model computed ${computedB} texts in ingest, ${computedAlone} alone`);

  // (d) A function of at least six lines, in a file of at least five chunks: a statement before its last line.
  const [fn] = await db.query(
    `select f.path, n.name as symbol, n.line, (n.metadata ->> 'endLine')::int as "endLine"
     from graph_nodes n join code_files f on f.codebase = n.codebase and f.path = n.path
     where n.codebase = 'embed' and n.kind = 'symbol' and n.metadata ->> 'kind' = 'function' and f.language in ('javascript', 'typescript')
       and (n.metadata ->> 'endLine')::int - n.line >= 5 and (select count(*) from code_chunks c where c.file_id = f.id) >= 5
     order by f.path, n.line limit 1`,
  );
  if (!fn) throw new Error('no function to edit');
  const fnChunks = `select count(*)::int as n from code_chunks c join code_files f on f.id = c.file_id
                    where f.codebase = 'embed' and f.path = $1 and c.symbol = $2`;
  const source = readFileSync(join(rootB, fn.path), 'utf8').split('\n');
  const indent = /^\s*/.exec(source[fn.endLine - 1])[0];
  source.splice(fn.endLine - 1, 0, `${indent}  void 0;`);
  writeFileSync(join(rootB, fn.path), source.join('\n'));
  t0 = performance.now();
  const reportD = await ingestCodebase(db, { root: rootB, codebase: 'embed', embedder });
  const editMs = performance.now() - t0;
  const [{ n: functionChunks }] = await db.query(fnChunks, [fn.path, fn.symbol]);
  const [{ n: fileChunks }] = await db.query(`select count(*)::int as n from code_chunks c join code_files f on f.id = c.file_id where f.codebase = 'embed' and f.path = $1`, [fn.path]);
  if (reportD.files.changed !== 1) throw new Error(`the edit changed ${reportD.files.changed} files`);
  const recomputed = reportD.chunks.computed;

  // ---------------------------------------------------------------------------------------------- (e)
  if (db.kind === 'embedded') {
    await db.query('truncate code_files, graph_nodes, embedding_cache cascade');
    await dropUnusedVectorIndexes(db, 'code_chunks');
    searchDb = db;
  } else {
    searchDb = await openDatabase(await embeddedBenchConfig(temp));
  }
  const small = buildStandInModel(join(temp, 'models'), { modelId: 'singularity-test/stand-in-small' });
  const smallEmbedder = await loadEmbedder({ ...config.embedding, model: small.modelId, modelDir: small.modelDir }, { allowDownload: false });
  if (!isEmbedder(smallEmbedder)) throw new Error(smallEmbedder.reason);
  embedders.push(smallEmbedder);
  const rootE = join(temp, 'search');
  copySources(modules, rootE);
  const filesE = (await scanCodebase(rootE)).files;
  log(`(e) ${searchChunks} chunks from up to ${filesE.length} files of node_modules...`);
  const built = performance.now();
  let total = 0;
  let used = 0;
  const pending = [];
  const write = async (files) => {
    const ids = await searchDb.query(
      `insert into code_files (codebase, path, language, size_bytes, mtime, content_hash)
       select 'search', x.p, x.l, x.s, to_timestamp(x.m / 1000), x.h from jsonb_to_recordset($1::jsonb) as x(p text, l text, s bigint, m float8, h text)
       returning id, path`,
      [JSON.stringify(files.map(({ file, analysis }) => ({ p: file.path, l: file.language, s: file.size, m: file.mtimeMs, h: analysis.hash })))],
    );
    const idOf = new Map(ids.map((r) => [r.path, r.id]));
    await searchDb.query(
      `insert into code_chunks (file_id, codebase, start_line, end_line, kind, symbol, content, content_hash)
       select x.f, 'search', x.s, x.e, x.k, x.y, x.c, x.h from jsonb_to_recordset($1::jsonb) as x(f bigint, s int, e int, k text, y text, c text, h text)`,
      [JSON.stringify(files.flatMap(({ file, analysis }) => analysis.chunks.map((ch) => ({ f: idOf.get(file.path), s: ch.startLine, e: ch.endLine, k: ch.kind, y: ch.symbol, c: ch.content, h: ch.contentHash }))))],
    );
    // Their file nodes: search looks each hit's PageRank up there.
    await searchDb.query(
      `insert into graph_nodes (codebase, kind, name, path, language, line) select 'search', 'file', x.p, x.p, x.l, 1 from jsonb_to_recordset($1::jsonb) as x(p text, l text)`,
      [JSON.stringify(files.map(({ file }) => ({ p: file.path, l: file.language })))],
    );
  };
  for (const file of filesE) {
    if (total >= searchChunks) break;
    const bytes = await readFile(file.absolute);
    const analysis = await parseAndChunk(bytes.toString('utf8'), file.language, ROUGH);
    pending.push({ file, analysis: { ...analysis, hash: createHash('sha256').update(bytes).digest('hex') } });
    total += analysis.chunks.length;
    used++;
    if (pending.length === 200) await write(pending.splice(0));
  }
  if (pending.length) await write(pending.splice(0));
  if (total < searchChunks) throw new Error(`node_modules/ gave ${total} chunks, fewer than ${searchChunks}`);
  // What ingest does once a codebase is written: record it and count its words (search weighs them by that).
  await searchDb.query(`insert into codebases (id, root) values ('search', $1) on conflict do nothing`, [rootE]);
  await searchDb.query(`select refresh_code_search_terms('search')`);
  log(`  ${total} chunks of ${used} files written in ${seconds(performance.now() - built)}; embedding...`);
  // Each distinct text embedded once, as ingest does, written 5,000 rows a statement.
  const rows = await searchDb.query(`select id, content_hash as h, content from code_chunks where codebase = 'search' order by id`);
  const byText = new Map();
  for (const row of rows) {
    const known = byText.get(row.h);
    if (known) known.ids.push(row.id);
    else byText.set(row.h, { text: row.content, ids: [row.id] });
  }
  const distinct = [...byText.values()];
  const updates = [];
  const flush = async (n) => {
    while (updates.length >= n && updates.length) {
      await searchDb.query(
        `update code_chunks c set embedding = x.e, embedding_model = $1, embedding_dim = $2
         from jsonb_to_recordset($3::jsonb) as x(id bigint, e real[]) where c.id = x.id`,
        [smallEmbedder.model, smallEmbedder.dimension, JSON.stringify(updates.splice(0, 5000))],
      );
    }
  };
  for (let i = 0; i < distinct.length; i += 2048) {
    const part = distinct.slice(i, i + 2048);
    const { vectors } = await smallEmbedder.embed(part.map((d) => d.text));
    part.forEach((d, k) => updates.push(...d.ids.map((id) => ({ id, e: Array.from(vectors[k]) }))));
    await flush(5000);
  }
  await flush(0);
  log(`  embedded (${distinct.length} distinct texts) after ${seconds(performance.now() - built)}; HNSW index...`);
  t0 = performance.now();
  const { index, reason } = await ensureVectorIndex(searchDb, 'code_chunks', smallEmbedder.model, smallEmbedder.dimension);
  if (!index) throw new Error(`no HNSW index: ${reason}`);
  const indexMs = performance.now() - t0;
  await searchDb.query('analyze');
  const buildMs = performance.now() - built;
  log(`  index built in ${seconds(indexMs)}; ${seconds(buildMs)} in all; searching...`);

  // Queries: the words of symbols found in the chunks (a deterministic sample), and phrases.
  const symbols = await searchDb.query(
    `select symbol from (select distinct symbol from code_chunks where codebase = 'search' and symbol ~ '^[A-Za-z][A-Za-z0-9_.]{7,40}$') s
     order by md5(symbol) limit $1`,
    [queryCount],
  );
  const words = (symbol) => symbol.replace(/([a-z0-9])([A-Z])/g, '$1 $2').replace(/[_.]+/g, ' ').toLowerCase().trim();
  const phrases = [
    'parse a json schema', 'retry a failed request', 'read a file as a stream', 'validate an email address', 'where clause builder',
    'tokenize text into words', 'cache invalidation', 'escape html entities', 'create a table with columns', 'convert a tensor to an array',
    'handle a timeout error', 'merge two objects deeply', 'debounce a function', 'format a date', 'load a model from disk',
    'check if a value is a plain object', 'join paths', 'spawn a child process', 'encode base64', 'sort an array by key',
  ];
  const queries = [...phrases, ...symbols.map((s) => words(s.symbol))].slice(0, queryCount);
  // Scans of the HNSW index, counted around each hybrid search (statistics flushed first: they lag otherwise).
  const hnswScans = async () => {
    await searchDb.query('select pg_stat_force_next_flush()');
    const [{ n }] = await searchDb.query(`select coalesce(sum(idx_scan), 0)::int as n from pg_stat_user_indexes where indexrelname = $1`,
      [vectorIndexName('code_chunks', smallEmbedder.model)]);
    return n;
  };
  for (const query of queries.slice(0, 10)) await search(searchDb, query, { limit: 10, embedder: smallEmbedder }); // warm
  const hybrid = [];
  const lexical = [];
  let hybridMode = 0;
  let indexed = 0;
  for (const [i, query] of queries.entries()) {
    const timeHybrid = async () => {
      const before = await hnswScans();
      const t = performance.now();
      const result = await search(searchDb, query, { limit: 10, embedder: smallEmbedder });
      hybrid.push(performance.now() - t);
      if (result.mode === 'hybrid') hybridMode++;
      if ((await hnswScans()) > before) indexed++;
    };
    const timeLexical = async () => {
      const t = performance.now();
      await search(searchDb, query, { limit: 10 });
      lexical.push(performance.now() - t);
    };
    if (i % 2 === 0) await timeHybrid().then(timeLexical);
    else await timeLexical().then(timeHybrid);
  }
  const [{ n: searchable }] = await searchDb.query(`select count(*)::int as n from code_chunks where embedding_model = $1`, [smallEmbedder.model]);

  // ------------------------------------------------------------------------------------------ output
  clearInterval(sampler);
  sampleLoad();
  const where = db.kind === 'embedded' ? 'the embedded database' : 'PostgreSQL';
  console.log(`ingest benchmark: (a)-(d) on ${where}, (e) on the embedded database; ${cpus().length} cores`);
  console.log(`  (a) ingest, no embedder, ${filesA.length} files -> ${reportA.chunks.written} chunks, ${reportA.symbols} symbols, ${reportA.edges} edges (median of ${rounds})`);
  console.log(`      ingest ${seconds(a)}   vs read + parseAndChunk alone ${seconds(p)}   ratio ${(a / p).toFixed(2)}x   target <= 2x`);
  console.log(`  (b) ingest with ${embedder.model}, ${filesB.length} files -> ${reportB.chunks.written} chunks, ${computedB} computed by the model`);
  console.log(`      ingest ${seconds(through)}   vs embedder.embed() alone on the same ${computedAlone} texts in batches of ${BATCH} ${seconds(alone)}   ratio ${(through / alone).toFixed(2)}x   target <= 1.3x`);
  console.log(`  (c) unchanged re-ingest ${seconds(c)}   vs the first ingest (a) ${seconds(a)}   ratio ${((c / a) * 100).toFixed(1)}%   target <= 3%`);
  console.log(`  (d) one function edited (${fn.symbol} in ${fn.path}), re-ingest ${seconds(editMs)}: ${recomputed} chunk(s) computed by the model again`);
  console.log(`      vs the function's own chunks ${functionChunks} (its file has ${fileChunks})   ${recomputed <= functionChunks ? 'only the function\'s' : `${recomputed - functionChunks} beyond the function`}   target only the function's`);
  console.log(`  (e) search, ${searchable} chunks of ${used} files, ${smallEmbedder.dimension}-dimensional vectors (${smallEmbedder.model}), HNSW index; ${queries.length} queries, limit 10`);
  console.log(`      hybrid p50 ${millis(percentile(hybrid, 50))} p95 ${millis(percentile(hybrid, 95))}   vs lexical only p50 ${millis(percentile(lexical, 50))} p95 ${millis(percentile(lexical, 95))}   ratio ${(percentile(hybrid, 50) / percentile(lexical, 50)).toFixed(2)}x at p50   target hybrid p50 < 50 ms`);
  console.log(`      ${hybridMode} of ${queries.length} searches hybrid, ${indexed} of them through the HNSW index; building them took ${seconds(buildMs)} (index ${seconds(indexMs)})`);
  console.log(`  run time ${seconds(performance.now() - started)}; machine load (1-minute average, every 10 s): min ${Math.min(...load).toFixed(2)}, median ${median(load).toFixed(2)}, max ${Math.max(...load).toFixed(2)}`);
} finally {
  clearInterval(sampler);
  for (const embedder of embedders) await embedder.dispose();
  if (searchDb && searchDb !== db) {
    await searchDb.close();
    await stopEmbeddedServer(searchDb.config);
  }
  await db.close();
  await drop();
  rmSync(temp, { recursive: true, force: true });
}
