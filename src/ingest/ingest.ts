// Ingesting a codebase: scan, plan against what the database holds, parse and chunk what changed, write
// each batch of files in one transaction (a run killed half-way keeps what it committed and resumes),
// mark what vanished, resolve the graph's edges, then embed the chunks still without a vector.
import { basename } from 'node:path';
import type { Database } from '../core/database.js';
import { UsageError } from '../core/errors.js';
import type { Embedder } from '../embed/embedder.js';
import type { Progress } from '../core/task/define.js';
import { embedPending, type PendingRow, type PendingTarget } from '../vectors/pending.js';
import { dropUnusedVectorIndexes, ensureVectorIndex } from '../vectors/vectors.js';
import { resolveEdges } from './graph.js';
import { parseAndChunk, type FileAnalysis } from './parse.js';
import { confirmChanges, planIngest, type StoredFile } from './plan.js';
import { realRoot, scanCodebase, type ScannedFile, type SkipReason } from './scan.js';
import { readSource, type SourceRead } from './source.js';

export interface IngestOptions {
  root: string;
  /** The codebase's id (default: the folder's name). */
  codebase?: string;
  /** Embeds new chunks; without one they stay pending. */
  embedder?: Embedder;
  /** Files per transaction. */
  batchSize?: number;
  /** Folders inside the codebase not to ingest (the embedded database, backups). */
  exclude?: readonly string[];
  signal?: AbortSignal;
  progress?: Progress;
}

export interface IngestReport {
  codebase: string;
  root: string;
  files: { scanned: number; added: number; changed: number; unchanged: number; touched: number; restored: number; deleted: number };
  skipped: Partial<Record<SkipReason, number>>;
  parsed: number;
  /** embedded: chunks given a vector; computed: texts the model embedded for them (others had a vector in the codebase). */
  chunks: { written: number; embedded: number; computed: number; pending: number };
  /** The codebase's graph after the run: its symbols, and its import and call edges. */
  symbols: number;
  edges: number;
  /** Files that could not be read or parsed as they should: reported, and the run goes on. */
  problems: Array<{ path: string; reason: string }>;
}

/**
 * Record the codebase's folder, or check it: a codebase id named after its folder (no --id) must not
 * take in another folder of the same name, whose ingest would mark the first one's files deleted. An
 * id given explicitly moves the codebase to the folder (a repository moved or cloned anew).
 */
async function claimCodebase(db: Database, codebase: string, root: string, explicitId: boolean): Promise<void> {
  const [known] = await db.query<{ root: string }>(
    `insert into codebases (id, root) values ($1, $2)
     on conflict (id) do update set last_ingested_at = now(),
       root = case when codebases.root = '' or $3 then excluded.root else codebases.root end
     returning root`,
    [codebase, root, explicitId],
  );
  if (known!.root !== root) {
    throw new UsageError(`codebase '${codebase}' was ingested from ${known!.root}, not ${root}`, {
      hint: `Give this folder an id of its own (--id ${codebase}-2, say), or --id ${codebase} if ${root} is now where '${codebase}' lives.`,
    });
  }
}

/** Milliseconds rounded to microseconds, as timestamptz keeps them: a stored mtime compares equal to the file's. */
const toMicros = (ms: number) => Math.round(ms * 1000) / 1000;

/** Rough tokens of a text when no model counts them: about four characters a token in code. */
const roughTokens = (text: string) => Math.ceil(text.length / 4);
const DEFAULT_MAX_TOKENS = 256;

export async function ingestCodebase(db: Database, options: IngestOptions): Promise<IngestReport> {
  const root = realRoot(options.root);
  const codebase = options.codebase ?? basename(root);
  await claimCodebase(db, codebase, root, options.codebase !== undefined);
  const stored = (
    await db.query<StoredFile & { mtimeMs: string }>(
      // A file stored before ingest recorded the names it mentions is taken for changed (no size, no hash
      // matches): parsed once more, so that dead-code analysis sees every file.
      `select path, case when names is null then -1 else size_bytes end as size,
              (extract(epoch from mtime) * 1000)::float8 as "mtimeMs",
              case when names is null then '' else content_hash end as "contentHash", deleted_at is not null as deleted
       from code_files where codebase = $1`,
      [codebase],
    )
  ).map((s) => ({ ...s, size: Number(s.size), mtimeMs: toMicros(Number(s.mtimeMs)) }));
  const storedByPath = new Map(stored.map((s) => [s.path, s]));
  // Counted while the folder is scanned: what the report says when the run turns out to change nothing.
  const model = options.embedder?.model ?? '';
  const countedBefore = countGraphAndPending(db, codebase, model);
  countedBefore.catch(() => {}); // awaited only when nothing changed
  const scan = await scanCodebase(options.root, {
    signal: options.signal,
    exclude: options.exclude,
    // A stored file of the same size and mtime passed the scan's content checks when it was stored.
    judgedBefore: (path, size, mtimeMs) => {
      const known = storedByPath.get(path);
      return known !== undefined && known.size === size && known.mtimeMs === toMicros(mtimeMs);
    },
  });
  const report: IngestReport = {
    codebase, root: scan.root,
    files: { scanned: scan.files.length, added: 0, changed: 0, unchanged: 0, touched: 0, restored: 0, deleted: 0 },
    skipped: Object.fromEntries(Object.entries(scan.skipped).filter(([, n]) => n > 0)),
    parsed: 0, chunks: { written: 0, embedded: 0, computed: 0, pending: 0 }, symbols: 0, edges: 0, problems: [],
  };
  const files = scan.files.map((f) => ({ ...f, mtimeMs: toMicros(f.mtimeMs) }));
  const plan = planIngest(files, stored);

  // A file that cannot be read is reported and left as it is stored; one gone since the scan is deleted.
  const vanished: string[] = [];
  const unreadable = (path: string, read: Exclude<SourceRead, { ok: true }>) => {
    report.problems.push({ path, reason: `${read.problem}: ${read.detail}` });
    if (read.problem === 'vanished') vanished.push(path);
  };
  // Suspects are hashed (their text is not kept: the few that did change are read again to be parsed).
  const hashes = new Map<string, string>();
  for (const file of plan.suspect) {
    const read = await readSource(file.absolute);
    if (read.ok) hashes.set(file.path, read.contentHash);
    else unreadable(file.path, read);
  }
  const { change, touched } = confirmChanges(plan.suspect, hashes, stored);
  const restoredUnchanged = plan.restore.filter((f) => !change.includes(f));
  report.files = { ...report.files, added: plan.add.length, changed: change.length, unchanged: plan.unchanged.length - restoredUnchanged.length,
    touched: touched.length, restored: plan.restore.length, deleted: plan.delete.length };

  const work = [...plan.add, ...change];
  const maxTokens = options.embedder?.maxTokens ?? DEFAULT_MAX_TOKENS;
  const countTokens = options.embedder ? (text: string) => options.embedder!.countTokens(text) : roughTokens;
  const size = options.batchSize ?? 100;
  const analyse = async (files: ScannedFile[]) => {
    const batch: AnalysedFile[] = [];
    for (const file of files) {
      const read = await readSource(file.absolute);
      if (!read.ok) {
        unreadable(file.path, read);
        continue;
      }
      if (read.invalidUtf8) {
        report.problems.push({ path: file.path, reason: `not valid UTF-8 (first bad byte at offset ${read.invalidUtf8.offset}): ingested with U+FFFD in place of the bad bytes` });
      }
      const analysis = await parseAndChunk(read.text, file.language, { maxTokens, countTokens });
      if (analysis.error) report.problems.push({ path: file.path, reason: `not parsed (${analysis.error}): line chunks instead` });
      if (analysis.parsed) report.parsed++;
      batch.push({ file, hash: read.contentHash, analysis });
    }
    return batch;
  };
  // Parsing is this process's work and writing the server's: the next batch is parsed while the last
  // one is written. A batch is one transaction, written whole or not at all.
  let writing: Promise<void> = Promise.resolve();
  try {
    for (let i = 0; i < work.length; i += size) {
      options.signal?.throwIfAborted();
      const batch = await analyse(work.slice(i, i + size));
      await writing;
      const done = Math.min(i + size, work.length);
      writing = writeFiles(db, codebase, batch).then(() => {
        report.chunks.written += batch.reduce((n, b) => n + b.analysis.chunks.length, 0);
        options.progress?.(`parsed ${done} of ${work.length} new or changed files`, done / work.length);
      });
      writing.catch(() => {}); // awaited above or below; not an unhandled rejection meanwhile
    }
  } finally {
    await writing.catch(() => {});
  }
  await writing;

  // Vanished files are marked, not deleted (prune-chunks deletes them later); the graph describes the code as it is.
  const gone = [...plan.delete.map((f) => f.path), ...vanished.filter((path) => storedByPath.get(path)?.deleted === false)];
  report.files.deleted = gone.length;
  if (touched.length || restoredUnchanged.length || gone.length) await db.transaction(async (client) => {
    if (touched.length) {
      await client.query(
        `update code_files f set size_bytes = x.s, mtime = to_timestamp(x.m / 1000)
         from jsonb_to_recordset($2::jsonb) as x(p text, s bigint, m float8) where f.codebase = $1 and f.path = x.p`,
        [codebase, JSON.stringify(touched.map((f) => ({ p: f.path, s: f.size, m: f.mtimeMs })))]);
    }
    if (restoredUnchanged.length) {
      await client.query('update code_files set deleted_at = null where codebase = $1 and path = any($2::text[])', [codebase, restoredUnchanged.map((f) => f.path)]);
    }
    if (gone.length) {
      await client.query('update code_files set deleted_at = now() where codebase = $1 and path = any($2::text[])', [codebase, gone]);
      await client.query('delete from graph_nodes where codebase = $1 and path = any($2::text[])', [codebase, gone]);
    }
  });

  const changed = work.length > 0 || gone.length > 0 || restoredUnchanged.length > 0;
  if (changed) {
    options.progress?.("resolving the graph's imports and calls");
    // Fresh statistics, or the planner takes a new codebase's tables for empty and search crawls (the
    // embedded database never analyzes on its own). The tables that are written already are analyzed
    // on a connection of their own while the edges are resolved.
    await Promise.all([resolveEdges(db, codebase), db.query('analyze code_files, code_chunks, graph_nodes')]);
    // The counts behind search's word weights (code_search_terms), once the chunks are written.
    await Promise.all([db.query('analyze graph_edges'), db.query('select refresh_code_search_terms($1)', [codebase])]);
  }
  if (options.embedder) Object.assign(report.chunks, await embedPendingChunks(db, options.embedder, codebase, options));
  const { symbols, edges, pending } = changed || report.chunks.embedded ? await countGraphAndPending(db, codebase, model) : await countedBefore;
  Object.assign(report, { symbols, edges });
  report.chunks.pending = pending;
  return report;
}

/** The codebase's symbols, its import and call edges, and its chunks without a vector of `model`. */
async function countGraphAndPending(db: Database, codebase: string, model: string): Promise<{ symbols: number; edges: number; pending: number }> {
  const [counted] = await db.query<{ symbols: number; edges: number; pending: number }>(
    `select (select count(*)::int from graph_nodes where codebase = $1 and kind = 'symbol') as symbols,
            (select count(*)::int from graph_edges e join graph_nodes s on s.id = e.source_id
             where s.codebase = $1 and e.kind in ('imports', 'calls')) as edges,
            (select count(*)::int from code_chunks c join code_files f on f.id = c.file_id
             where c.codebase = $1 and f.deleted_at is null and (c.embedding is null or c.embedding_model <> $2)) as pending`,
    [codebase, model],
  );
  return counted!;
}

interface AnalysedFile {
  file: ScannedFile;
  hash: string;
  analysis: FileAnalysis;
}

/**
 * One batch of files in one transaction, a statement per table for the whole batch: the files, their
 * chunks (old ones replaced), their graph nodes (the file, one node per symbol, and file-defines-symbol
 * edges; old ones replaced).
 */
async function writeFiles(db: Database, codebase: string, batch: AnalysedFile[]): Promise<void> {
  if (!batch.length) return;
  const paths = batch.map((b) => b.file.path);
  // One node per symbol: overloads and repeated definitions share theirs (the first, widened to all of them).
  const symbols = batch.flatMap(({ file, analysis }) => {
    const bySymbol = new Map<string, { p: string; l: string | null; y: string; k: string; s: number; e: number }>();
    for (const d of analysis.definitions) {
      const known = bySymbol.get(d.symbol);
      if (known) known.e = Math.max(known.e, d.endLine);
      else bySymbol.set(d.symbol, { p: file.path, l: file.language, y: d.symbol, k: d.kind, s: d.startLine, e: d.endLine });
    }
    return [...bySymbol.values()];
  });
  await db.transaction(async (client) => {
    const ids = (
      await client.query<{ id: number; path: string }>(
        `insert into code_files (codebase, path, language, size_bytes, mtime, content_hash, refs, names, line_count, ingested_at, deleted_at)
         select $1, x.p, x.l, x.s, to_timestamp(x.m / 1000), x.h, x.r, array(select jsonb_array_elements_text(x.n)), x.c, now(), null
         from jsonb_to_recordset($2::jsonb) as x(p text, l text, s bigint, m float8, h text, r jsonb, n jsonb, c int)
         on conflict (codebase, path) do update set language = excluded.language, size_bytes = excluded.size_bytes,
           mtime = excluded.mtime, content_hash = excluded.content_hash, refs = excluded.refs, names = excluded.names,
           line_count = excluded.line_count, ingested_at = now(), deleted_at = null
         returning id, path`,
        [codebase, JSON.stringify(batch.map(({ file, hash, analysis }) => ({
          p: file.path, l: file.language, s: file.size, m: file.mtimeMs, h: hash, r: analysis.references, n: analysis.names, c: analysis.lines })))],
      )
    ).rows;
    const idOf = new Map(ids.map((r) => [r.path, r.id]));
    // A changed file's chunks are replaced; a new chunk whose text an old one of its file had keeps
    // that one's vector, so that editing one function leaves the file's other chunks embedded. Ids
    // follow the files' order, whatever order the join produces rows in.
    await client.query(
      `with old as (
         delete from code_chunks where file_id = any($3::bigint[])
         returning file_id, content_hash, embedding, embedding_model, embedding_dim),
       kept as (select distinct on (file_id, content_hash) * from old where embedding is not null)
       insert into code_chunks (file_id, codebase, start_line, end_line, kind, symbol, content, content_hash, embedding, embedding_model, embedding_dim)
       select x.f, $1, x.s, x.e, x.k, x.y, x.c, x.h, kept.embedding, kept.embedding_model, kept.embedding_dim
       from jsonb_to_recordset($2::jsonb) as x(f bigint, s int, e int, k text, y text, c text, h text, n int)
       left join kept on kept.file_id = x.f and kept.content_hash = x.h
       order by x.n`,
      [codebase, JSON.stringify(batch.flatMap(({ file, analysis }) => analysis.chunks.map((c) => (
        { f: idOf.get(file.path), s: c.startLine, e: c.endLine, k: c.kind, y: c.symbol, c: c.content, h: c.contentHash }))).map((x, n) => ({ ...x, n }))),
      ids.map((r) => r.id)],
    );
    await client.query('delete from graph_nodes where codebase = $1 and path = any($2::text[])', [codebase, paths]);
    await client.query(
      `with files as (
         insert into graph_nodes (codebase, kind, name, path, language, line)
         select $1, 'file', x.p, x.p, x.l, 1 from jsonb_to_recordset($2::jsonb) as x(p text, l text)
         returning id, path),
       symbols as (
         insert into graph_nodes (codebase, kind, name, path, language, line, metadata)
         select $1, 'symbol', x.y, x.p, x.l, x.s, jsonb_build_object('kind', x.k, 'endLine', x.e)
         from jsonb_to_recordset($3::jsonb) as x(p text, l text, y text, k text, s int, e int)
         returning id, path)
       insert into graph_edges (source_id, target_id, kind) select files.id, symbols.id, 'defines' from symbols join files using (path)`,
      [codebase, JSON.stringify(batch.map(({ file }) => ({ p: file.path, l: file.language }))), JSON.stringify(symbols)],
    );
  });
}

/** The codebase's chunks without a vector of the model; a text the codebase has a vector of already
 * (a repeated block, a moved file) takes that vector, so the model embeds each other text once. */
async function embedPendingChunks(db: Database, embedder: Embedder, codebase: string, options: IngestOptions) {
  const pending = `from code_chunks c join code_files f on f.id = c.file_id
    where c.codebase = $1 and f.deleted_at is null and (c.embedding is null or c.embedding_model <> $2)`;
  const target: PendingTarget<PendingRow> = {
    noun: 'chunks',
    count: async (model) => (await db.query<{ n: number }>(`select count(*)::int as n ${pending}`, [codebase, model]))[0]!.n,
    read: (model, afterId, limit) => db.query<PendingRow>(
      `select c.id, c.content as text, c.content_hash as key ${pending} and c.id > $3 order by c.id limit ${limit}`, [codebase, model, afterId]),
    known: async (model, keys) => new Map((await db.query<{ key: string; embedding: number[] }>(
      `select distinct on (content_hash) content_hash as key, embedding from code_chunks
       where codebase = $1 and content_hash = any($2::text[]) and embedding_model = $3`,
      [codebase, keys, model])).map((r) => [r.key, r.embedding])),
    store: async (model, dimension, rows) => {
      await db.query(
        `update code_chunks c set embedding = x.e, embedding_model = $1, embedding_dim = $2
         from jsonb_to_recordset($3::jsonb) as x(id bigint, e real[]) where c.id = x.id`,
        [model, dimension, JSON.stringify(rows.map((r) => ({ id: r.id, e: r.vector })))],
      );
    },
  };
  const { embedded, computed } = await embedPending(target, embedder, options);
  if (embedded) {
    await ensureVectorIndex(db, 'code_chunks', embedder.model, embedder.dimension);
    await dropUnusedVectorIndexes(db, 'code_chunks');
  }
  return { embedded, computed };
}
