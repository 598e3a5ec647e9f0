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

  it('ranks chunks with all of the query\'s words above those with some, however often they repeat a word', async () => {
    // In a codebase of its own, where a common word is in many chunks.
    await db.query(`insert into codebases (id, root) values ('staged', '/src/staged')`);
    const [{ id }] = await db.query<{ id: number }>(
      `insert into code_files (codebase, path, language, size_bytes, mtime, content_hash) values ('staged', 'a.ts', 'typescript', 1, now(), 'h') returning id`);
    const chunk = (symbol: string, content: string) => db.query(
      `insert into code_chunks (file_id, codebase, start_line, end_line, kind, symbol, content, content_hash)
       values ($1, 'staged', 1, 1, 'function', $2, $3::text, md5($3::text))`, [id, symbol, content]);
    for (let i = 0; i < 50; i++) await chunk(`cacheEntry${i}`, `const value${i} = cache.get(key); cache.set(key, value${i}); // cache cache cache`);
    await chunk('evictExpired', 'function evictExpired(entries) { return entries.filter((e) => !e.expired); }');
    await chunk('invalidateCache', 'function invalidateCache(cache) { for (const key of cache.keys()) evict(cache, key); }');
    const hits = (await search(db, 'evict entries from the cache', { limit: 5, codebase: 'staged' })).hits.map((h) => h.symbol);
    // Both of its words found first (evict, cache), then the one with two other words (evict, entri); the cache-only ones after.
    expect(hits.slice(0, 2)).toEqual(['invalidateCache', 'evictExpired']);
    expect(hits.slice(2)).toHaveLength(3);
    // A query of a lone common word still ranks what it finds.
    expect((await search(db, 'cache', { limit: 3, codebase: 'staged' })).hits).toHaveLength(3);
  });

  it('takes any text as a query: quotes, backslashes and query operators are words or nothing', async () => {
    for (const query of [`it's a "quoted" \\ back:slash & | ! <-> (prune`, '!!!', 'the a of']) {
      const result = await search(db, query, { limit: 5 });
      expect(Array.isArray(result.hits)).toBe(true);
    }
    expect((await search(db, "prune's backups!", { limit: 5, codebase: 'other' })).hits.map(where)).toEqual(['other:cleanup.py']);
  });

  it('boosts code in files that rank higher in the dependency graph', async () => {
    const before = (await search(db, 'prune backups', { limit: 10 })).hits.filter((h) => h.source === 'code').map(where);
    const last = before.at(-1)!;
    const [codebase, path] = last.split(':');
    await db.query(`insert into graph_nodes (codebase, kind, name, path, pagerank) values ($1, 'file', $2, $2, 0.9)`, [codebase, path]);
    try {
      const after = (await search(db, 'prune backups', { limit: 10 })).hits.filter((h) => h.source === 'code').map(where);
      expect(after[0]).toBe(last);
    } finally {
      await db.query('delete from graph_nodes');
    }
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
      ['source', 'id', 'collection', 'path', 'startLine', 'endLine', 'symbol', 'language', 'score', 'lexicalRank', 'vectorRank', 'snippet'].sort());
    const empty = await runCli(['search', '  '], backend.env);
    expect(empty.code).toBe(2);
    expect(empty.stderr).toContain('the query is empty');
  });

  it('an unknown --codebase is exit 2 naming it and the ingested ones; a known one without hits is "no hits", exit 0', async () => {
    const unknown = await runCli(['search', 'prune backups', '--codebase', 'nope'], backend.env);
    expect(unknown.code, unknown.stderr).toBe(2);
    expect(unknown.stdout).toBe('');
    expect(unknown.stderr).toContain("error: no codebase 'nope' is ingested; ingested: app, other, staged");
    expect(unknown.stderr).toContain('singularity ingest PATH --id nope');
    const json = await runCli(['search', 'prune backups', '--codebase', 'nope', '--json'], backend.env);
    expect(json.code).toBe(2);
    expect(JSON.parse(json.stdout)).toMatchObject({
      error: { name: 'UsageError', message: "no codebase 'nope' is ingested; ingested: app, other, staged" }, exitCode: 2 });
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
