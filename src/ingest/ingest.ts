// Ingesting a codebase: scan, plan against what the database holds, parse and chunk what changed, write
// each batch of files in one transaction (a run killed half-way keeps what it committed and resumes),
// mark what vanished, resolve the graph's edges, then embed the chunks still without a vector.
import { basename } from 'node:path';
import type { Database } from '../core/db.js';
import { embedWithCache } from '../embed/cache.js';
import type { Embedder } from '../embed/embedder.js';
import { dropUnusedVectorIndexes, ensureVectorIndex } from '../embed/vectors.js';
import { resolveEdges } from './graph.js';
import { parseAndChunk, type FileAnalysis } from './parse.js';
import { confirmChanges, planIngest, type StoredFile } from './plan.js';
import { scanCodebase, type ScannedFile, type SkipReason } from './scan.js';
import { readSource } from './source.js';

export interface IngestOptions {
  root: string;
  /** The codebase's id (default: the folder's name). */
  codebase?: string;
  /** Embeds new chunks; without one they stay pending. */
  embedder?: Embedder;
  /** Files per transaction. */
  batchSize?: number;
  signal?: AbortSignal;
  progress?: (message: string) => void;
}

export interface IngestReport {
  codebase: string;
  root: string;
  files: { scanned: number; added: number; changed: number; unchanged: number; touched: number; restored: number; deleted: number };
  skipped: Partial<Record<SkipReason, number>>;
  parsed: number;
  chunks: { written: number; embedded: number; fromCache: number; pending: number };
  symbols: number;
  edges: number;
  /** Files that could not be read or parsed as they should: reported, and the run goes on. */
  problems: Array<{ path: string; reason: string }>;
}

/** Rough tokens of a text when no model counts them: about four characters a token in code. */
const roughTokens = (text: string) => Math.ceil(text.length / 4);
const DEFAULT_MAX_TOKENS = 256;

export async function ingestCodebase(db: Database, options: IngestOptions): Promise<IngestReport> {
  const scan = await scanCodebase(options.root, { signal: options.signal });
  const codebase = options.codebase ?? basename(scan.root);
  const report: IngestReport = {
    codebase, root: scan.root,
    files: { scanned: scan.files.length, added: 0, changed: 0, unchanged: 0, touched: 0, restored: 0, deleted: 0 },
    skipped: Object.fromEntries(Object.entries(scan.skipped).filter(([, n]) => n > 0)),
    parsed: 0, chunks: { written: 0, embedded: 0, fromCache: 0, pending: 0 }, symbols: 0, edges: 0, problems: [],
  };
  // Microseconds, as timestamptz keeps them: a stored mtime compares equal to the file's.
  const files = scan.files.map((f) => ({ ...f, mtimeMs: Math.round(f.mtimeMs * 1000) / 1000 }));
  const stored = (
    await db.query<StoredFile & { mtimeMs: string }>(
      `select path, size_bytes as size, (extract(epoch from mtime) * 1000)::float8 as "mtimeMs", content_hash as "contentHash",
              deleted_at is not null as deleted
       from code_files where codebase = $1`,
      [codebase],
    )
  ).map((s) => ({ ...s, mtimeMs: Math.round(Number(s.mtimeMs) * 1000) / 1000 }));
  const plan = planIngest(files, stored);

  // Suspects are read once: their text serves the parse when their hash says they changed.
  const texts = new Map<string, string>();
  const hashes = new Map<string, string>();
  for (const file of plan.suspect) {
    const read = await readSource(file.absolute);
    if (!read.ok) {
      report.problems.push({ path: file.path, reason: `${read.problem}: ${read.detail}` });
      continue;
    }
    hashes.set(file.path, read.contentHash);
    texts.set(file.path, read.text);
  }
  const { change, touched } = confirmChanges(plan.suspect, hashes, stored);
  const restoredUnchanged = plan.restore.filter((f) => !change.includes(f));
  report.files = { ...report.files, added: plan.add.length, changed: change.length, unchanged: plan.unchanged.length - restoredUnchanged.length,
    touched: touched.length, restored: plan.restore.length, deleted: plan.delete.length };

  const work = [...plan.add, ...change];
  const maxTokens = options.embedder?.maxTokens ?? DEFAULT_MAX_TOKENS;
  const countTokens = options.embedder ? (text: string) => options.embedder!.countTokens(text) : roughTokens;
  const size = options.batchSize ?? 50;
  for (let i = 0; i < work.length; i += size) {
    options.signal?.throwIfAborted();
    const batch: Array<{ file: ScannedFile; hash: string; analysis: FileAnalysis }> = [];
    for (const file of work.slice(i, i + size)) {
      const read = texts.has(file.path) ? { ok: true as const, text: texts.get(file.path)!, contentHash: hashes.get(file.path)! } : await readSource(file.absolute);
      if (!read.ok) {
        report.problems.push({ path: file.path, reason: `${read.problem}: ${read.detail}` });
        continue;
      }
      const analysis = await parseAndChunk(read.text, file.language, { maxTokens, countTokens });
      if (analysis.error) report.problems.push({ path: file.path, reason: `not parsed (${analysis.error}): line chunks instead` });
      if (analysis.parsed) report.parsed++;
      batch.push({ file, hash: read.contentHash, analysis });
    }
    await db.transaction(async (client) => {
      for (const { file, hash, analysis } of batch) {
        const [{ id }] = (
          await client.query<{ id: number }>(
            `insert into code_files (codebase, path, language, size_bytes, mtime, content_hash, refs, ingested_at, deleted_at)
             values ($1, $2, $3, $4, to_timestamp($5::float8 / 1000), $6, $7, now(), null)
             on conflict (codebase, path) do update set language = excluded.language, size_bytes = excluded.size_bytes,
               mtime = excluded.mtime, content_hash = excluded.content_hash, refs = excluded.refs, ingested_at = now(), deleted_at = null
             returning id`,
            [codebase, file.path, file.language, file.size, file.mtimeMs, hash, JSON.stringify(analysis.references)],
          )
        ).rows as [{ id: number }];
        await client.query('delete from code_chunks where file_id = $1', [id]);
        await client.query(
          `insert into code_chunks (file_id, codebase, start_line, end_line, kind, symbol, content, content_hash)
           select $1, $2, x.s, x.e, x.k, x.y, x.c, x.h from jsonb_to_recordset($3::jsonb) as x(s int, e int, k text, y text, c text, h text)`,
          [id, codebase, JSON.stringify(analysis.chunks.map((c) => ({ s: c.startLine, e: c.endLine, k: c.kind, y: c.symbol, c: c.content, h: c.contentHash })))],
        );
        report.chunks.written += analysis.chunks.length;
        report.symbols += await writeFileNodes(client, codebase, file, analysis);
      }
    });
    options.progress?.(`parsed ${Math.min(i + size, work.length)} of ${work.length} new or changed files`);
  }

  await db.transaction(async (client) => {
    for (const file of touched) {
      await client.query(`update code_files set size_bytes = $3, mtime = to_timestamp($4::float8 / 1000) where codebase = $1 and path = $2`,
        [codebase, file.path, file.size, file.mtimeMs]);
    }
    for (const file of restoredUnchanged) {
      await client.query('update code_files set deleted_at = null where codebase = $1 and path = $2', [codebase, file.path]);
    }
    // Vanished files are marked, not deleted (prune-chunks deletes them later); the graph describes the code as it is.
    const gone = plan.delete.map((f) => f.path);
    if (gone.length) {
      await client.query('update code_files set deleted_at = now() where codebase = $1 and path = any($2::text[])', [codebase, gone]);
      await client.query('delete from graph_nodes where codebase = $1 and path = any($2::text[])', [codebase, gone]);
    }
  });

  if (work.length || plan.delete.length || restoredUnchanged.length) {
    report.edges = await resolveEdges(db, codebase);
    // Fresh statistics, or the planner takes a new codebase's tables for empty and search crawls (the
    // embedded database never analyzes on its own).
    await db.query('analyze code_files, code_chunks, graph_nodes, graph_edges');
  }
  else report.edges = (await db.query<{ n: number }>(
    `select count(*)::int as n from graph_edges e join graph_nodes s on s.id = e.source_id where s.codebase = $1 and e.kind in ('imports', 'calls')`, [codebase]))[0]!.n;

  if (options.embedder) Object.assign(report.chunks, await embedPendingChunks(db, options.embedder, codebase, options));
  const [counted] = await db.query<{ pending: number }>(
    `select count(*)::int as pending from code_chunks c join code_files f on f.id = c.file_id
     where c.codebase = $1 and f.deleted_at is null and (c.embedding is null or c.embedding_model <> $2)`,
    [codebase, options.embedder?.model ?? ''],
  );
  report.chunks.pending = counted!.pending;
  return report;
}

/** A file's graph nodes: the file, its definitions, and file-defines-symbol edges. Its old ones go first. */
async function writeFileNodes(client: import('pg').PoolClient, codebase: string, file: ScannedFile, analysis: FileAnalysis): Promise<number> {
  await client.query(`delete from graph_nodes where codebase = $1 and path = $2`, [codebase, file.path]);
  const [{ id: fileNode }] = (
    await client.query<{ id: number }>(
      `insert into graph_nodes (codebase, kind, name, path, language, line) values ($1, 'file', $2, $2, $3, 1) returning id`,
      [codebase, file.path, file.language],
    )
  ).rows as [{ id: number }];
  // One node per symbol: overloads and repeated definitions share theirs (the first, widened to all of them).
  const bySymbol = new Map<string, { symbol: string; kind: string; startLine: number; endLine: number }>();
  for (const d of analysis.definitions) {
    const known = bySymbol.get(d.symbol);
    if (known) known.endLine = Math.max(known.endLine, d.endLine);
    else bySymbol.set(d.symbol, { symbol: d.symbol, kind: d.kind, startLine: d.startLine, endLine: d.endLine });
  }
  if (!bySymbol.size) return 0;
  await client.query(
    `with symbols as (
       insert into graph_nodes (codebase, kind, name, path, language, line, metadata)
       select $1, 'symbol', x.y, $2, $3, x.s, jsonb_build_object('kind', x.k, 'endLine', x.e)
       from jsonb_to_recordset($4::jsonb) as x(y text, k text, s int, e int)
       returning id)
     insert into graph_edges (source_id, target_id, kind) select $5, id, 'defines' from symbols`,
    [codebase, file.path, file.language, JSON.stringify([...bySymbol.values()].map((d) => ({ y: d.symbol, k: d.kind, s: d.startLine, e: d.endLine }))), fileNode],
  );
  return bySymbol.size;
}

async function embedPendingChunks(db: Database, embedder: Embedder, codebase: string, options: IngestOptions) {
  let embedded = 0;
  let fromCache = 0;
  for (;;) {
    options.signal?.throwIfAborted();
    const rows = await db.query<{ id: number; content: string }>(
      `select c.id, c.content from code_chunks c join code_files f on f.id = c.file_id
       where c.codebase = $1 and f.deleted_at is null and (c.embedding is null or c.embedding_model <> $2) order by c.id limit 256`,
      [codebase, embedder.model],
    );
    if (!rows.length) break;
    const result = await embedWithCache(db, embedder, rows.map((r) => r.content), options.signal);
    await db.query(
      `update code_chunks c set embedding = x.e, embedding_model = $1, embedding_dim = $2
       from jsonb_to_recordset($3::jsonb) as x(id bigint, e real[]) where c.id = x.id`,
      [embedder.model, embedder.dimension, JSON.stringify(rows.map((r, i) => ({ id: r.id, e: result.vectors[i] })))],
    );
    embedded += rows.length;
    fromCache += rows.length - result.computed;
    options.progress?.(`embedded ${embedded} chunks`);
  }
  if (embedded) {
    await ensureVectorIndex(db, 'code_chunks', embedder.model, embedder.dimension);
    await dropUnusedVectorIndexes(db, 'code_chunks');
  }
  return { embedded, fromCache };
}
