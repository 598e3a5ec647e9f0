// Search over code chunks and the knowledge base on each backend: lexical matching of people's words to
// code (split identifiers, stemming), filters, deleted files left out, the PageRank boost, and the vector
// half with the stand-in model (a real BERT graph and tokenizer, random weights).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backendNames, onBackend, type Backend } from './support/backends.js';
import { runCli } from './support/cli.js';
import { loadStandInEmbedder } from './support/stand-in-embedder.js';
import type { Database } from '../src/core/database.js';
import type { Embedder } from '../src/embed/embedder.js';
import { search } from '../src/search/search.js';

const FILES: Array<[codebase: string, path: string, language: string, chunks: Array<[symbol: string, content: string]>]> = [
  ['app', 'src/backup/retention.ts', 'typescript', [
    ['pruneOldBackups', 'export async function pruneOldBackups(records: BackupRecord[], keep: number) {\n  const doomed = records.slice(keep);\n  for (const r of doomed) await rm(r.path);\n}'],
  ]],
  ['app', 'src/http/server.ts', 'typescript', [
    ['startServer', 'export function startServer(port: number) {\n  return http.createServer(handler).listen(port);\n}'],
  ]],
  ['app', 'lib/queue.ex', 'elixir', [
    ['Queue.retry_with_backoff', 'def retry_with_backoff(job, attempt) do\n  Process.sleep(:math.pow(2, attempt) * 100)\n  run(job)\nend'],
  ]],
  ['other', 'cleanup.py', 'python', [
    ['prune_backups', 'def prune_backups(folder, keep):\n    for old in sorted(folder.iterdir())[:-keep]:\n        old.unlink()'],
  ]],
  ['app', 'src/old/prune.ts', 'typescript', [['pruneBackupsTheOldWay', 'function pruneBackupsTheOldWay() { /* backups pruned by hand */ }']]],
];

describe.each(backendNames)('search (%s)', (backendName) => {
  let backend: Backend;
  let db: Database;
  let dir: string;
  let embedder: Embedder;
  onBackend(backendName, (opened) => ({ backend, db } = opened));

  beforeAll(async () => {
    // As ingest records them: search knows a codebase by its row here.
    for (const codebase of new Set(FILES.map(([codebase]) => codebase))) await db.query('insert into codebases (id, root) values ($1, $2)', [codebase, `/src/${codebase}`]);
    for (const [codebase, path, language, chunks] of FILES) {
      const [{ id }] = await db.query<{ id: number }>(
        `insert into code_files (codebase, path, language, size_bytes, mtime, content_hash) values ($1, $2, $3, 1, now(), 'h') returning id`,
        [codebase, path, language],
      );
      for (const [symbol, content] of chunks) {
        await db.query(
          `insert into code_chunks (file_id, codebase, start_line, end_line, kind, symbol, content, content_hash)
           values ($1, $2, 1, $3, 'function', $4, $5::text, md5($5::text))`,
          [id, codebase, content.split('\n').length, symbol, content],
        );
      }
    }
    await db.query(`update code_files set deleted_at = now() where path = 'src/old/prune.ts'`);
    await db.query(
      `insert into knowledge_artifacts (artifact_type, artifact_id, version, source, path, raw, content, content_hash)
       values ('code_pattern', 'backup-retention', '1', 'file', 'code_patterns/backup-retention.json', $1::text, $1::jsonb, 'h')`,
      [JSON.stringify({ name: 'Backup retention', description: 'Keep the newest backups and prune the rest, only after a new one verified.' })],
    );
    // As ingest does once it has written a codebase: count its words for their weights.
    await db.query('select refresh_code_search_terms(id) from codebases');
    dir = mkdtempSync(join(tmpdir(), 'sg-search-'));
    embedder = await loadStandInEmbedder(dir, 8);
  });
  afterAll(async () => {
    await embedder?.dispose();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const where = (hit: { source: string; collection: string; path: string | null; symbol: string | null }) =>
    hit.source === 'code' ? `${hit.collection}:${hit.path}` : `knowledge:${hit.symbol}`;

  it('finds code by what it does in plain words: identifiers split, words stemmed; a deleted file never', async () => {
    const result = await search(db, 'where are backups pruned', { limit: 10 });
    expect(result.mode).toBe('lexical');
    const found = result.hits.map(where);
    expect(found).toEqual(expect.arrayContaining(['app:src/backup/retention.ts', 'other:cleanup.py', 'knowledge:backup-retention']));
    expect(found).not.toContain('app:src/old/prune.ts');
    expect(found).not.toContain('app:src/http/server.ts');
    const hit = result.hits.find((h) => h.path === 'src/backup/retention.ts')!;
    expect(hit).toMatchObject({ startLine: 1, endLine: 4, symbol: 'pruneOldBackups', language: 'typescript', lexicalRank: expect.any(Number), vectorRank: null });
    expect(hit.snippet).toContain('pruneOldBackups');
  });

  it('narrows to a codebase (leaving the knowledge base out) or a language', async () => {
    const inOther = await search(db, 'prune backups', { limit: 10, codebase: 'other' });
    expect(inOther.hits.map(where)).toEqual(['other:cleanup.py']);
    const elixir = await search(db, 'retry backoff', { limit: 10, language: 'elixir' });
    expect(elixir.hits.map(where)).toEqual(['app:lib/queue.ex']);
  });

  // A codebase of files made here, each chunk as ingest would write it, then its words counted.
  const addCodebase = async (codebase: string, files: Record<string, Array<[symbol: string | null, content: string]>>, language = 'typescript') => {
    await db.query('insert into codebases (id, root) values ($1, $2)', [codebase, `/src/${codebase}`]);
    for (const [path, chunks] of Object.entries(files)) {
      const [{ id }] = await db.query<{ id: number }>(
        `insert into code_files (codebase, path, language, size_bytes, mtime, content_hash) values ($1, $2, $3, 1, now(), 'h') returning id`,
        [codebase, path, /\.md$/.test(path) ? null : language]);
      let line = 1;
      for (const [symbol, content] of chunks) {
        const lines = content.split('\n').length;
        await db.query(
          `insert into code_chunks (file_id, codebase, start_line, end_line, kind, symbol, content, content_hash)
           values ($1, $2, $3, $4, $5, $6, $7::text, md5($7::text))`,
          [id, codebase, line, line + lines - 1, symbol ? 'function' : 'lines', symbol, content]);
        line += lines;
      }
    }
    await db.query('select refresh_code_search_terms($1)', [codebase]);
  };

  it('answers with files: one hit per file with its best chunks, the chunk with the rare words in its name first', async () => {
    const commonOnly = Array.from({ length: 50 }, (_, i): [string, string] => [`cacheEntry${i}`, `const value${i} = cache.get(key); cache.set(key, value${i}); // cache cache cache`]);
    await addCodebase('staged', {
      'src/cache.ts': [...commonOnly,
        ['evictExpired', 'function evictExpired(entries) { return entries.filter((e) => !e.expired); }'],
        ['invalidateCache', 'function invalidateCache(cache) { for (const key of cache.keys()) evict(cache, key); }']],
      'src/store.ts': [['storeValue', 'function storeValue(cache, key, value) { cache.set(key, value); }']],
    });
    const result = await search(db, 'evict entries from the cache', { limit: 5, codebase: 'staged' });
    expect(result.hits.map((h) => h.path)).toEqual(['src/cache.ts', 'src/store.ts']);
    const [file] = result.hits;
    // The hit is the file's best chunk; its next best follow. A word in 52 of 53 chunks weighs little.
    expect(file!.symbol).toBe('evictExpired');
    expect(file!.chunks.map((c) => c.symbol)).toEqual(['evictExpired', 'invalidateCache', expect.stringMatching(/^cacheEntry/)]);
    expect(file!.explain).toMatchObject({ lexicalRank: 1, words: ['cach', 'entri', 'evict'], nameWords: expect.arrayContaining(['evict']), matchedChunks: 52 });
    const weight = Object.fromEntries(result.words.map((w) => [w.word, w.weight]));
    expect(weight.evict).toBeGreaterThan(weight.cach! * 5);
    // A query of a lone common word still ranks what it finds.
    expect((await search(db, 'cache', { limit: 3, codebase: 'staged' })).hits).toHaveLength(2);
  });

  it('puts code ahead of prose for a question about behaviour, prose ahead for one about the docs, tests ahead for one about tests', async () => {
    await addCodebase('docs', {
      'docs/retries.md': [[null, '# Retries\n\nThe client retries a failed request with exponential backoff, up to five attempts.\nRetries back off: each retry waits twice as long.']],
      'docs/backoff.md': [[null, '# Backoff\n\nBackoff of a failed request: the client waits before the next retry; retries stop after five attempts.']],
      'src/retry.ts': [['retryRequest', '/** Sends again a request that failed, with backoff. */\nexport async function retryRequest(send, attempts = 5) {\n  for (let attempt = 0; ; attempt++) {\n    try { return await send(); } catch (e) { if (attempt >= attempts) throw e; await sleep(backoff(attempt)); }\n  }\n}']],
      'test/retry.test.ts': [[null, "it('retries a failed request with backoff, five attempts', async () => {\n  expect(await retryRequest(failTwice)).toBe('ok');\n});"]],
    });
    const behaviour = await search(db, 'how does the client retry a failed request with backoff?', { limit: 4, codebase: 'docs' });
    expect(behaviour.asks).toBe('behaviour');
    expect(behaviour.hits[0]!.path).toBe('src/retry.ts');
    expect(behaviour.hits.find((h) => h.path === 'test/retry.test.ts')!.explain).toMatchObject({ kind: 'test', kindWeight: 0.7 });
    expect(behaviour.hits.find((h) => h.path === 'docs/retries.md')!.explain).toMatchObject({ kind: 'prose', kindWeight: 0.5 });
    const docs = await search(db, 'which documentation page explains retries with backoff?', { limit: 4, codebase: 'docs' });
    expect(docs.asks).toBe('docs');
    expect(docs.hits.slice(0, 2).map((h) => h.path).sort()).toEqual(['docs/backoff.md', 'docs/retries.md']);
    const tests = await search(db, 'which test checks that a failed request is retried with backoff?', { limit: 4, codebase: 'docs' });
    expect(tests.asks).toBe('tests');
    expect(tests.hits[0]!.path).toBe('test/retry.test.ts');
  });

  it('takes any text as a query: quotes, backslashes and query operators are words; a query without words is refused', async () => {
    const result = await search(db, `it's a "quoted" \\ back:slash & | ! <-> (prune`, { limit: 5 });
    expect(result.words.map((w) => w.word)).toEqual(expect.arrayContaining(['quot', 'back', 'slash', 'prune']));
    expect((await search(db, "prune's backups!", { limit: 5, codebase: 'other' })).hits.map(where)).toEqual(['other:cleanup.py']);
    for (const query of ['!!!', 'the a of', 'how does it do what it does']) {
      await expect(search(db, query, { limit: 5 })).rejects.toMatchObject({
        name: 'UsageError', exitCode: 2, message: expect.stringContaining('the query has no word to search for') });
    }
    await expect(search(db, 'x'.repeat(10_000), { limit: 5 })).rejects.toMatchObject({
      name: 'UsageError', message: 'the query is 10,000 characters long; search takes at most 1,000' });
  });

  it('ranks higher a file that the other files found depend on (PageRank personalised toward them), not a hub', async () => {
    // Two files that match alike; two more that match and import the second; a hub every file imports.
    const same = 'export function parseConfigFile(text) { return parse(text); } // read the config file';
    await addCodebase('graph', {
      'src/a.ts': [['readA', same]],
      'src/b.ts': [['readB', same]],
      'src/load.ts': [['loadConfig', 'export function loadConfig() { return readB(readFile(configPath)); } // config file']],
      'src/watch.ts': [['watchConfig', 'export function watchConfig() { watch(configPath, () => readB(readFile(configPath))); } // config file']],
      'src/log.ts': [['log', 'export function log(line) { console.log(line); } // config file logging']],
    });
    const ranked = async () => (await search(db, 'where is the config file parsed', { limit: 5, codebase: 'graph' })).hits;
    const before = await ranked();
    expect(before.map((h) => h.path).slice(0, 2)).toEqual(['src/a.ts', 'src/b.ts']); // a tie, broken by path
    const node = async (path: string) => (await db.query<{ id: number }>(
      `insert into graph_nodes (codebase, kind, name, path) values ('graph', 'file', $1, $1) returning id`, [path]))[0]!.id;
    const ids: Record<string, number> = {};
    for (const path of ['src/a.ts', 'src/b.ts', 'src/load.ts', 'src/watch.ts', 'src/log.ts']) ids[path] = await node(path);
    const edge = (from: string, to: string) => db.query(`insert into graph_edges (source_id, target_id, kind) values ($1, $2, 'imports')`, [ids[from], ids[to]]);
    await edge('src/load.ts', 'src/b.ts');
    await edge('src/watch.ts', 'src/b.ts');
    for (const from of ['src/a.ts', 'src/b.ts', 'src/load.ts', 'src/watch.ts']) await edge(from, 'src/log.ts');
    // The hub's other dependents, which the query does not find.
    for (let i = 0; i < 10; i++) {
      ids[`src/other${i}.ts`] = await node(`src/other${i}.ts`);
      await edge(`src/other${i}.ts`, 'src/log.ts');
    }
    const after = await ranked();
    expect(after[0]!.path).toBe('src/b.ts');
    const graph = Object.fromEntries(after.map((h) => [h.path, h.explain.graph]));
    expect(graph['src/b.ts']).toBe(1);
    expect(graph['src/b.ts']).toBeGreaterThan(graph['src/a.ts']!);
    // The hub every file imports gains less than the file the found ones chose.
    expect(graph['src/log.ts']).toBeLessThan(graph['src/b.ts']!);
    expect(after.findIndex((h) => h.path === 'src/log.ts')).toBeGreaterThan(1);
  });

  it('with embeddings of the query\'s model, fuses the vector half: a chunk\'s own text finds it first', async () => {
    const rows = await db.query<{ id: number; content: string }>('select id, content from code_chunks order by id');
    const { vectors } = await embedder.embed(rows.map((r) => r.content));
    for (const [i, row] of rows.entries()) {
      await db.query('update code_chunks set embedding = $2, embedding_model = $3, embedding_dim = $4 where id = $1', [row.id, Array.from(vectors[i]!), embedder.model, embedder.dimension]);
    }
    const target = rows.find((r) => r.content.includes('startServer'))!;
    const result = await search(db, target.content, { limit: 5, embedder });
    expect(result.mode).toBe('hybrid');
    const hit = result.hits.find((h) => h.id === target.id && h.source === 'code')!;
    expect(hit.vectorRank).toBe(1);
    expect(result.hits[0]!.id).toBe(target.id);
  });

  it('with the vector half, keeps what the lexical half found: its best file in the top 2, its top 3 in the top 5', async () => {
    // The stand-in model's vectors mean nothing (random weights): the worst case for the fusion.
    const questions: Array<[string, string]> = [
      ['evict entries from the cache', 'staged'], ['how does the client retry a failed request with backoff', 'docs'],
      ['where is the config file parsed', 'graph'], ['where are backups pruned', 'app'], ['start the http server on a port', 'app'],
    ];
    for (const [question, codebase] of questions) {
      const lexical = (await search(db, question, { limit: 3, codebase })).hits;
      const hybrid = await search(db, question, { limit: 5, codebase, embedder });
      expect(hybrid.mode).toBe('hybrid');
      expect(hybrid.hits.some((h) => h.vectorRank !== null)).toBe(true);
      expect(hybrid.hits.slice(0, 2).map((h) => h.path), question).toContain(lexical[0]!.path);
      expect(hybrid.hits.map((h) => h.path), question).toEqual(expect.arrayContaining(lexical.map((h) => h.path)));
    }
  });

  it('the command: hits with path:lines and snippet; --json; an empty query is exit 2', async () => {
    const r = await runCli(['search', 'where are backups pruned', '--limit', '3'], backend.env);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain('lexical search only: no embedding model');
    expect(r.stdout).toMatch(/^app:src\/backup\/retention\.ts:1-4  pruneOldBackups, typescript  \d\.\d{4}$/m);
    const j = await runCli(['search', 'prune backups', '--json', '--codebase', 'other'], backend.env);
    const { hits } = JSON.parse(j.stdout);
    expect(hits.map((h: { path: string }) => h.path)).toEqual(['cleanup.py']);
    // The fields docs/ingest-and-search.md documents, and no others.
    expect(Object.keys(hits[0]).sort()).toEqual(
      ['source', 'id', 'collection', 'path', 'startLine', 'endLine', 'symbol', 'language', 'score', 'lexicalRank', 'vectorRank', 'snippet', 'chunks', 'explain'].sort());
    expect(Object.keys(hits[0].explain).sort()).toEqual(
      ['lexicalRank', 'vectorRank', 'lexical', 'words', 'nameWords', 'pathWords', 'similarity', 'graph', 'kind', 'kindWeight', 'matchedChunks'].sort());
    const empty = await runCli(['search', '  '], backend.env);
    expect(empty.code).toBe(2);
    expect(empty.stderr).toContain('the query is empty');
  });

  it('the command: --explain says why each file ranks where it does; a query of stop words or of 10,000 characters is exit 2', async () => {
    const r = await runCli(['search', 'how does the client retry a failed request with backoff', '--codebase', 'docs', '--explain', '--limit', '2'], backend.env);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^words \(weight\): backoff \d\.\d\d, client \d\.\d\d, fail \d\.\d\d, request \d\.\d\d, retri \d\.\d\d; a question about behaviour: code first, then tests, then prose$/m);
    expect(r.stdout).toMatch(/^docs:src\/retry\.ts:1-\d+  retryRequest, typescript  1\.0000\n    lexical #\d \([\d.]+: backoff fail request retri; in names: request retri; in path: retri\), vector -, graph [\d.]+, 1 chunk matched$/m);
    expect(r.stdout).toMatch(/^    lexical #1 .*, prose x0\.5$/m);
    for (const query of ['the of and', 'x'.repeat(10_000)]) {
      const bad = await runCli(['search', query], backend.env);
      expect(bad.code, bad.stderr).toBe(2);
      expect(bad.stdout).toBe('');
      expect(bad.stderr).toMatch(/error: the query (has no word to search for: 'the of and' is only stop words and punctuation|is 10,000 characters long; search takes at most 1,000)/);
      expect(bad.stderr).toMatch(/\n  (Name what you look for|Ask in a sentence or two)/);
    }
  });

  it('an unknown --codebase is exit 2 naming it and the ingested ones; a known one without hits is "no hits", exit 0', async () => {
    const unknown = await runCli(['search', 'prune backups', '--codebase', 'nope'], backend.env);
    expect(unknown.code, unknown.stderr).toBe(2);
    expect(unknown.stdout).toBe('');
    expect(unknown.stderr).toContain("error: no codebase 'nope' is ingested; ingested: app, docs, graph, other, staged");
    expect(unknown.stderr).toContain('singularity ingest PATH --id nope');
    const json = await runCli(['search', 'prune backups', '--codebase', 'nope', '--json'], backend.env);
    expect(json.code).toBe(2);
    expect(JSON.parse(json.stdout)).toMatchObject({
      error: { name: 'UsageError', message: "no codebase 'nope' is ingested; ingested: app, docs, graph, other, staged" }, exitCode: 2 });
    // Known, with files, but nothing of it matches: a true answer.
    const none = await runCli(['search', 'kubernetes helm chart', '--codebase', 'other'], backend.env);
    expect(none.code, none.stderr).toBe(0);
    expect(none.stdout.trim()).toBe('no hits');
    const noneJson = await runCli(['search', 'kubernetes helm chart', '--codebase', 'other', '--json'], backend.env);
    expect(noneJson.code).toBe(0);
    expect(JSON.parse(noneJson.stdout)).toMatchObject({ hits: [] });
    // A codebase whose files are all gone is still known: no hits, not an error.
    await db.query(`insert into codebases (id, root) values ('emptied', '/src/emptied')`);
    await expect(search(db, 'prune backups', { limit: 5, codebase: 'emptied' })).resolves.toMatchObject({ hits: [] });
  });
});

describe.each(backendNames)('search of a database with nothing ingested (%s)', (backendName) => {
  let backend: Backend;
  let db: Database;
  onBackend(backendName, (opened) => ({ backend, db } = opened));

  it('is exit 1 saying nothing is ingested and what to do; --json gives the error object; --codebase is exit 2 saying there are none', async () => {
    const r = await runCli(['search', 'where are backups pruned'], backend.env);
    expect(r.code, r.stderr).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain("error: nothing is ingested in this database: run 'singularity ingest PATH' first");
    expect(r.stderr).not.toContain('no hits');
    const j = await runCli(['search', 'where are backups pruned', '--json'], backend.env);
    expect(j.code).toBe(1);
    expect(JSON.parse(j.stdout)).toEqual({
      error: { name: 'SingularityError', message: "nothing is ingested in this database: run 'singularity ingest PATH' first", hint: expect.stringContaining('load-templates') },
      exitCode: 1,
    });
    const c = await runCli(['search', 'prune', '--codebase', 'app'], backend.env);
    expect(c.code).toBe(2);
    expect(c.stderr).toContain("error: no codebase 'app' is ingested; none is ingested in this database");
  });

  it('searches a knowledge base without any codebase (the library)', async () => {
    await expect(search(db, 'backup retention', { limit: 5 })).rejects.toThrow(/nothing is ingested/);
    await db.query(
      `insert into knowledge_artifacts (artifact_type, artifact_id, version, source, path, raw, content, content_hash)
       values ('code_pattern', 'backup-retention', '1', 'file', 'code_patterns/backup-retention.json', $1::text, $1::jsonb, 'h')`,
      [JSON.stringify({ name: 'Backup retention', description: 'Keep the newest backups and prune the rest.' })],
    );
    const result = await search(db, 'backup retention', { limit: 5 });
    expect(result.hits.map((h) => `${h.source}:${h.symbol}`)).toEqual(['knowledge:backup-retention']);
    await expect(search(db, 'backup retention', { limit: 5, codebase: 'app' })).rejects.toMatchObject({ name: 'UsageError', exitCode: 2 });
  });
});
