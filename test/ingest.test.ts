// Ingest into each backend: only what changed is parsed and embedded, deletions reach chunks, nodes and
// edges, the graph of a small codebase is exactly its imports and calls, and search finds the code.
import { spawn } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backendNames, onBackend, type Backend } from './support/backends.js';
import { BIN, cleanEnv, runCli } from './support/cli.js';
import { until } from './support/clock.js';
import { loadStandInEmbedder } from './support/stand-in-embedder.js';
import type { Database } from '../src/core/database.js';
import type { Embedder } from '../src/embed/embedder.js';
import { fitLine, progressBar } from '../src/commands/output.js';
import { ingestCodebase } from '../src/ingest/ingest.js';
import { search } from '../src/search/search.js';

const APP = {
  'src/main.ts': "import { helper } from './util';\n\nexport function main() {\n  return helper(2);\n}\n",
  'src/util.ts': 'export function helper(n: number) {\n  return inner(n) + 1;\n}\n\nfunction inner(n: number) {\n  return n * 2;\n}\n',
  'src/unused.ts': 'export function lonely() {\n  return 0;\n}\n',
};

describe.each(backendNames)('ingest (%s)', (backendName) => {
  let backend: Backend;
  let db: Database;
  let dir: string;
  let embedder: Embedder;
  onBackend(backendName, (opened) => ({ backend, db } = opened));

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'sg-ingest-'));
    embedder = await loadStandInEmbedder(dir, 16);
  });
  afterAll(async () => {
    await embedder?.dispose();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const write = (root: string, files: Record<string, string>) => {
    for (const [path, text] of Object.entries(files)) {
      mkdirSync(join(root, path, '..'), { recursive: true });
      writeFileSync(join(root, path), text);
    }
  };

  it('the graph of a small codebase is exactly its imports and calls', async () => {
    const root = join(dir, 'app');
    write(root, APP);
    const report = await ingestCodebase(db, { root, codebase: 'app' });
    expect(report.files).toMatchObject({ scanned: 3, added: 3 });
    const edges = await db.query<{ edge: string }>(
      `select s.name || ' -' || e.kind || '-> ' || t.name as edge from graph_edges e
       join graph_nodes s on s.id = e.source_id join graph_nodes t on t.id = e.target_id
       where s.codebase = 'app' and e.kind in ('imports', 'calls') order by 1`,
    );
    expect(edges.map((e) => e.edge)).toEqual(['helper -calls-> inner', 'main -calls-> helper', 'src/main.ts -imports-> src/util.ts']);
    const found = await search(db, 'helper that doubles a number', { limit: 3, codebase: 'app' });
    expect(found.hits.map((h) => h.symbol)).toContain('helper');
  });

  it('a second run parses and embeds nothing; one edited function is all that is embedded again', async () => {
    const root = join(dir, 'repo');
    cpSync(new URL('./fixtures/ingest/repo', import.meta.url), root, { recursive: true });
    const first = await ingestCodebase(db, { root, codebase: 'repo', embedder });
    expect(first.files.added).toBeGreaterThanOrEqual(10);
    expect(first.chunks.pending).toBe(0);
    expect(first.chunks.embedded).toBe(first.chunks.written);
    // Each distinct text computed once; the vectors are stored with the chunks only.
    const [{ distinct }] = await db.query<{ distinct: number }>(`select count(distinct content_hash)::int as distinct from code_chunks where codebase = 'repo'`);
    expect(first.chunks.computed).toBe(distinct);
    expect(await db.query('select 1 from embedding_cache')).toEqual([]);

    const second = await ingestCodebase(db, { root, codebase: 'repo', embedder });
    expect([second.parsed, second.chunks.written, second.chunks.embedded]).toEqual([0, 0, 0]);
    expect(second.files.unchanged).toBe(first.files.scanned);

    const [target] = await db.query<{ path: string; content: string; symbol: string }>(
      `select f.path, c.content, c.symbol from code_chunks c join code_files f on f.id = c.file_id
       where c.codebase = 'repo' and c.kind in ('function', 'method') and f.path like '%.py' order by c.id limit 1`,
    );
    const { readFileSync } = await import('node:fs');
    const text = readFileSync(join(root, target!.path), 'utf8');
    writeFileSync(join(root, target!.path), text.replace(target!.content, target!.content.replace(/\n/, '\n    # edited\n')));
    const third = await ingestCodebase(db, { root, codebase: 'repo', embedder });
    expect(third.files.changed).toBe(1);
    // The file's other chunks keep their vectors; only the edited function is embedded again.
    expect([third.chunks.embedded, third.chunks.computed]).toEqual([1, 1]);
  });

  it('a deleted file: its chunks leave search and its word counts, its nodes and edges are gone', async () => {
    const root = join(dir, 'app');
    // The counts search weighs words by (code_search_terms): every chunk of a file not deleted, each term once per chunk.
    const counts = async () => (await db.query<{ chunks: number; files: number; inner: number | null; helper: number }>(
      `select b.search_chunks as chunks, b.search_files as files,
              (select chunks from code_search_terms where codebase = 'app' and term = 'inner') as inner,
              (select chunks from code_search_terms where codebase = 'app' and term = 'helper') as helper
       from codebases b where b.id = 'app'`))[0]!;
    const [live] = await db.query<{ chunks: number; files: number }>(
      `select count(*)::int as chunks, count(distinct c.file_id)::int as files from code_chunks c join code_files f on f.id = c.file_id
       where c.codebase = 'app' and f.deleted_at is null`);
    const before = await counts();
    expect(before).toMatchObject({ chunks: live!.chunks, files: 3 });
    expect(before.helper).toBeGreaterThan(0);
    expect(before.inner).toBeGreaterThan(0);
    rmSync(join(root, 'src/util.ts'));
    const report = await ingestCodebase(db, { root, codebase: 'app' });
    expect(report.files.deleted).toBe(1);
    const after = await counts();
    expect(after.files).toBe(2);
    expect(after.chunks).toBeLessThan(before.chunks);
    expect(after.inner).toBeNull(); // only the deleted file had it
    expect(after.helper).toBeGreaterThan(0); // main.ts calls it
    expect(await db.query(`select name from graph_nodes where codebase = 'app' and path = 'src/util.ts'`)).toEqual([]);
    const found = await search(db, 'helper', { limit: 10, codebase: 'app' });
    expect(found.hits.map((h) => h.path)).not.toContain('src/util.ts');
    const [{ marked }] = await db.query<{ marked: boolean }>(`select deleted_at is not null as marked from code_files where codebase = 'app' and path = 'src/util.ts'`);
    expect(marked).toBe(true);
  });

  it('killed half-way, a run resumes where it stopped; the end state equals an uninterrupted run', async () => {
    const root = join(dir, 'many');
    for (let i = 0; i < 1000; i++) {
      write(root, { [`pkg${i % 8}/mod${i}.py`]: `def f${i}(x):\n    return g${i}(x) + ${i}\n\n\ndef g${i}(x):\n    return x * ${i}\n` });
    }
    // The kill comes at a point the test holds the child at, not after a delay: after its first batch is
    // committed and before any other is. The test takes turns with the child at code_files, each turn a
    // transaction of the test's that locks the table against writes (on the embedded database an open
    // transaction holds the whole server). The next turn is queued before the current one ends, so between
    // two turns the child commits one batch at most; it is killed during the first turn that sees a batch
    // of its own, when it can commit nothing more.
    const turns = await Promise.all([db.pool.connect(), db.pool.connect()]);
    const pids = await Promise.all(turns.map(async (c) => (await c.query<{ pid: number }>('select pg_backend_pid() as pid')).rows[0]!.pid));
    const take = (turn: number) => turns[turn]!.query('begin; lock table code_files in share row exclusive mode');
    const kept = async (turn: number) =>
      (await turns[turn]!.query<{ n: number }>(`select count(*)::int as n from code_files where codebase = 'killed'`)).rows[0]!.n;
    let holder = 0;
    let queued: Promise<unknown> | undefined;
    await take(holder);
    const child = spawn(process.execPath, [BIN, 'ingest', root, '--id', 'killed', '--skip-embedding'], { env: cleanEnv(backend.env), stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    const exited = new Promise((r) => child.once('close', r));
    try {
      const deadline = Date.now() + 60_000;
      while ((await kept(holder)) === 0) {
        if (child.exitCode !== null || child.signalCode !== null) throw new Error(`the ingest ended before it committed a batch:\n${stderr}`);
        if (Date.now() > deadline) throw new Error(`timed out waiting for the ingest's first batch:\n${stderr}`);
        await new Promise((r) => setTimeout(r, 5)); // the pace of the turns only: the child is held meanwhile
        const next = 1 - holder;
        queued = take(next);
        // PostgreSQL: the next turn waits in the table's lock queue (ahead of the child's next batch) before
        // this one ends. The embedded server gets its request, sent first, no later than this turn's commit,
        // and hands the floor on in the order of requests: the child has one exchange (a batch is one) before it.
        if (backend.name === 'postgres') {
          await until(async () => (await turns[holder]!.query(
            `select 1 from pg_locks where pid = $1 and relation = 'code_files'::regclass and not granted`, [pids[next]])).rowCount === 1,
          10_000, 'the next turn to queue');
        }
        await turns[holder]!.query('commit');
        await queued;
        [holder, queued] = [next, undefined];
      }
      child.kill('SIGKILL');
      await exited;
    } finally {
      child.kill('SIGKILL');
      await turns[holder]!.query('commit').catch(() => {});
      if (queued) await queued.then(() => turns[1 - holder]!.query('commit')).catch(() => {});
      for (const c of turns) c.release();
    }
    const [{ n: before }] = await db.query<{ n: number }>(`select count(*)::int as n from code_files where codebase = 'killed'`);
    expect(before).toBeGreaterThan(0);
    expect(before).toBeLessThan(1000);
    // Whole batches only: a file row is written with its chunks, in one transaction.
    expect(await db.query(`select f.path from code_files f where codebase = 'killed' and not exists (select 1 from code_chunks c where c.file_id = f.id)`)).toEqual([]);

    const resumed = await ingestCodebase(db, { root, codebase: 'killed' });
    expect(resumed.files.added).toBe(1000 - before);
    expect(resumed.files.unchanged).toBe(before);
    await ingestCodebase(db, { root, codebase: 'whole' });
    const state = (codebase: string) => db.query(
      `select f.path, f.content_hash, c.start_line, c.end_line, c.symbol, c.content_hash as chunk from code_files f
       join code_chunks c on c.file_id = f.id where f.codebase = $1 order by 1, 3`, [codebase]);
    expect(await state('killed')).toEqual(await state('whole'));
    const edges = (codebase: string) => db.query(
      `select s.name as source, t.name as target, e.kind, e.weight from graph_edges e join graph_nodes s on s.id = e.source_id
       join graph_nodes t on t.id = e.target_id where s.codebase = $1 order by 1, 2, 3`, [codebase]);
    expect(await edges('killed')).toEqual(await edges('whole'));
  }, 120_000);

  it('a file not UTF-8, one gone since the scan, one turned into a folder: each reported, the rest ingested', async () => {
    const root = join(dir, 'bad');
    write(root, Object.fromEntries(['a', 'b', 'c', 'd', 'e'].map((name) => [`${name}.py`, `def ${name}():\n    return 1\n`])));
    writeFileSync(join(root, 'latin1.c'), Buffer.from('/* caf\xe9 */\nint main(void) { return 0; }\n', 'latin1'));
    // A batch is written while the next is parsed: when the first is written, the third is not parsed yet.
    let written = 0;
    const report = await ingestCodebase(db, {
      root, codebase: 'bad', batchSize: 1,
      progress: () => {
        if (++written > 1) return;
        rmSync(join(root, 'd.py'));
        rmSync(join(root, 'e.py'));
        mkdirSync(join(root, 'e.py'));
      },
    });
    expect(report.problems).toEqual([
      { path: 'd.py', reason: 'vanished: gone since the scan' },
      { path: 'e.py', reason: 'unreadable: not a regular file' },
      { path: 'latin1.c', reason: expect.stringMatching(/^not valid UTF-8 \(first bad byte at offset 6\): ingested with U\+FFFD/) },
    ].sort((x, y) => x.path.localeCompare(y.path)));
    const stored = await db.query<{ path: string; content: string }>(
      `select f.path, string_agg(c.content, '' order by c.start_line) as content from code_files f join code_chunks c on c.file_id = f.id
       where f.codebase = 'bad' group by f.path order by 1`);
    expect(stored.map((f) => f.path)).toEqual(['a.py', 'b.py', 'c.py', 'latin1.c']);
    expect(stored[3]!.content).toContain('caf\uFFFD');
  });

  it('reports its progress: files parsed, then chunks embedded, each with the share done', async () => {
    const root = join(dir, 'progress');
    write(root, Object.fromEntries(['a', 'b', 'c', 'd'].map((name) => [`${name}.py`, `def ${name}():\n    return '${name}'\n`])));
    const reported: Array<[string, number | undefined]> = [];
    await ingestCodebase(db, { root, codebase: 'progress', batchSize: 2, embedder, progress: (message, share) => reported.push([message, share]) });
    expect(reported).toEqual([
      ['parsed 2 of 4 new or changed files', 0.5],
      ['parsed 4 of 4 new or changed files', 1],
      ["resolving the graph's imports and calls", undefined],
      ['embedded 4 of 4 chunks', 1],
    ]);
    expect(progressBar(0.5, 10)).toBe('█████░░░░░  50%');
  });

  it('a second folder of the same name is refused, not merged into the first codebase; --id gives it its own', async () => {
    const first = join(dir, 'one', 'same');
    const second = join(dir, 'two', 'same');
    write(first, { 'a.py': 'def a():\n    return 1\n' });
    write(second, { 'b.py': 'def b():\n    return 2\n' });
    await ingestCodebase(db, { root: first });
    await expect(ingestCodebase(db, { root: second })).rejects.toThrow(`codebase 'same' was ingested from ${realpathSync(first)}, not ${realpathSync(second)}`);
    const r = await runCli(['ingest', second], backend.env);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--id same-2');
    // Nothing of the first was marked deleted.
    expect(await db.query(`select path, deleted_at is null as live from code_files where codebase = 'same'`)).toEqual([{ path: 'a.py', live: true }]);
    expect((await ingestCodebase(db, { root: second, codebase: 'same-2' })).files.added).toBe(1);
    // An explicit id moves a codebase to another folder (a repository cloned anew elsewhere).
    const moved = await ingestCodebase(db, { root: second, codebase: 'same' });
    expect([moved.files.added, moved.files.deleted]).toEqual([1, 1]);
  });

  it('on a pseudo-terminal that reports no width it shows no spinner, rather than clear lines for ever', async () => {
    write(join(dir, 'pty'), APP);
    const { execFile } = await import('node:child_process');
    // script(1) runs the command on a new pseudo-terminal, which has no size.
    const command = `'${process.execPath}' '${BIN}' ingest '${join(dir, 'pty')}' --skip-embedding`;
    const out = await new Promise<string>((resolve, reject) => execFile('script', ['-qec', command, '/dev/null'],
      { env: cleanEnv(backend.env), timeout: 60_000, maxBuffer: 1 << 20 }, (error, stdout) => (error ? reject(error) : resolve(stdout))));
    expect(out).toContain('ingest completed in');
    expect(out.length).toBeLessThan(4000);
    expect(fitLine('x'.repeat(100), 40)).toBe(`${'x'.repeat(36)}…`);
  });

  it('the command: a path that does not exist is exit 2; without a model it says why chunks are pending', async () => {
    const r = await runCli(['ingest', join(dir, 'nope')], backend.env);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`the codebase root does not exist: ${join(dir, 'nope')}`);
    write(join(dir, 'cli'), APP);
    const ok = await runCli(['ingest', join(dir, 'cli')], backend.env);
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stdout).toMatch(/cli: 3 files \(3 new, .*; 5 chunks written, 0 embedded \(0 computed by the model\), 5 pending \(no embedding model: model '.+' is not in the model cache .+, and downloads are off \(SINGULARITY_OFFLINE/);
    expect(ok.stdout).toContain('graph: 4 symbols, 3 edges');
  });
});

describe('setup-rag', () => {
  let backend: Backend;
  let db: Database;
  let dir: string;
  onBackend('embedded', (opened) => ({ backend, db } = opened));
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'sg-setup-rag-'));
    for (const [path, text] of Object.entries(APP)) {
      mkdirSync(join(dir, 'app', path, '..'), { recursive: true });
      writeFileSync(join(dir, 'app', path), text);
    }
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('runs every step as a recorded run, then a real search that must find something', async () => {
    const r = await runCli(['setup-rag', join(dir, 'app'), '--query', 'helper', '--json'], backend.env);
    expect(r.code, r.stderr).toBe(0);
    const run = JSON.parse(r.stdout);
    expect(run.result.steps.map((s: { task: string; state: string }) => `${s.task} ${s.state}`)).toEqual(
      ['migrate-knowledge', 'load-templates', 'ingest', 'populate-graph', 'rank-graph'].map((t) => `${t} completed`),
    );
    expect(run.result.smokeTest).toMatchObject({ hits: expect.any(Number), first: expect.stringContaining('app:') });
    // The tests run without a model: no index, and the run says why.
    expect(run.result.vectorIndexes).toEqual([]);
    expect(run.result.noVectorIndexBecause).toMatch(/^no embedding model: model '.+' is not in the model cache/);
    // Each step a run of its own, with setup-rag's trigger, naming setup-rag's run.
    const steps = await db.query<{ task: string; trigger: string }>(`select task, trigger from task_runs where parent_run_id = $1 order by id`, [run.id]);
    expect(steps).toEqual(['migrate-knowledge', 'load-templates', 'ingest', 'populate-graph', 'rank-graph'].map((task) => ({ task, trigger: 'cli' })));
    const [{ ranked }] = await db.query<{ ranked: number }>(`select count(*)::int as ranked from graph_nodes where codebase = 'app' and pagerank is not null`);
    expect(ranked).toBeGreaterThan(0);
  });

  it('fails (exit 1) when its search finds nothing, saying so', async () => {
    const r = await runCli(['setup-rag', join(dir, 'app'), '--query', 'zzqxv'], backend.env);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("the smoke test's search for 'zzqxv' found nothing");
  });
});
