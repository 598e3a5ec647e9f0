// clear-cache's work: delete the stale entries of the caches singularity keeps in its database and say
// what that freed. Only database tables: no file is touched (the model files on disk cannot always be
// downloaded again; docs/caches.md says what is on disk and why it stays).
//
// Stale, per cache:
//   analysis_cache   expires_at <= the run's start (entries without expires_at never expire)
//   embedding_cache  made by a model other than the configured one (no lookup asks for those any more),
//                    or, with olderThan, made longer ago than that before the run's start
// `all` takes every entry of both. Deletes go in batches, each a short transaction of its own, so a big
// cache never holds its locks for long and a stopped run keeps what it already freed.
import type { Database } from '../core/database.js';
import { parseDurationInterval } from '../core/duration.js';
import { UsageError } from '../core/errors.js';

export type CacheName = 'analysis cache' | 'embedding cache';

export interface ClearCacheOptions {
  /** The configured embedding model (config.embedding.model): its embedding-cache entries stay. */
  model: string;
  /** Empty every cache. */
  all?: boolean;
  /** A duration (30d, 12h, ...): embedding-cache entries of the configured model made longer ago go too. */
  olderThan?: string;
  /** Count what would go; delete nothing. */
  dryRun?: boolean;
  /** Rows per delete (default 1000). */
  batchSize?: number;
  signal?: AbortSignal;
  progress?: (message: string) => void;
}

export interface CacheCleared {
  cache: CacheName;
  table: string;
  /** What counted as stale in this run, for people. */
  stale: string;
  /** Entries deleted (with dryRun: that would be). */
  removed: number;
  /** pg_column_size of the deleted rows, summed. */
  bytesFreed: number;
  /** Entries left in the cache afterwards. */
  remaining: number;
}

export interface ClearCacheResult {
  all: boolean;
  dryRun: boolean;
  model: string;
  olderThan: string | null;
  caches: CacheCleared[];
  removed: number;
  bytesFreed: number;
  remaining: number;
  /** hot_cache_entries, recomputed when analysis entries went, so that it lists no deleted key. */
  hotEntries: { refreshed: boolean; entries: number | null };
}

const DEFAULT_BATCH = 1000;

/** The options' problems as a usage error, before anything runs (the task's check uses it too). */
export function checkClearCacheOptions(options: Pick<ClearCacheOptions, 'all' | 'olderThan' | 'batchSize'>): void {
  if (options.olderThan !== undefined && parseDurationInterval(options.olderThan) === undefined) {
    throw new UsageError(`--older-than: '${options.olderThan}' is not a duration`, { hint: 'Use a number and a unit: 30d, 12h, 90m, 45s, 2w.' });
  }
  if (options.all && options.olderThan !== undefined) {
    throw new UsageError('--all empties every cache; --older-than cannot narrow it', {
      hint: 'Give one of them: --all for everything, --older-than DURATION for old embedding-cache entries besides the stale ones.',
    });
  }
  if (options.batchSize !== undefined && !(Number.isInteger(options.batchSize) && options.batchSize > 0)) {
    throw new UsageError(`the batch size must be a positive whole number, got ${options.batchSize}`);
  }
}

interface Target {
  cache: CacheName;
  table: string;
  keys: string[];
  stale: string;
  /** The condition on the table's rows (alias c), its parameters numbered from `first` on. */
  where: (first: number) => string;
  params: unknown[];
}

export async function clearCaches(db: Database, options: ClearCacheOptions): Promise<ClearCacheResult> {
  checkClearCacheOptions(options);
  const all = options.all ?? false;
  const dryRun = options.dryRun ?? false;
  const batchSize = options.batchSize ?? DEFAULT_BATCH;
  const interval = options.olderThan === undefined ? null : parseDurationInterval(options.olderThan)!;

  // One start for the whole run, as text so that no microsecond is lost on the way: every batch (and the
  // dry run) judges by the same instant.
  const [start] = await db.query<{ now: string; bound: string | null }>(
    'select now()::text as now, (now() - $1::interval)::text as bound',
    [interval],
  );
  const targets: Target[] = [
    {
      cache: 'analysis cache',
      table: 'analysis_cache',
      keys: ['key'],
      stale: all ? 'every entry' : 'expired (expires_at <= now)',
      where: (p) => (all ? 'true' : `c.expires_at <= $${p}::timestamptz`),
      params: all ? [] : [start!.now],
    },
    {
      cache: 'embedding cache',
      table: 'embedding_cache',
      keys: ['model', 'text_hash'],
      stale: all
        ? 'every entry'
        : `made by a model other than ${options.model}` + (interval ? `, or made more than ${options.olderThan} ago` : ''),
      // created_at < null is never true: without a bound only the model decides.
      where: (p) => (all ? 'true' : `(c.model <> $${p} or c.created_at < $${p + 1}::timestamptz)`),
      params: all ? [] : [options.model, start!.bound],
    },
  ];

  const caches: CacheCleared[] = [];
  for (const target of targets) {
    options.signal?.throwIfAborted();
    const gone = dryRun ? await measure(db, target) : await remove(db, target, batchSize, options);
    const [left] = await db.query<{ n: number }>(`select count(*)::float8 as n from ${target.table}`);
    caches.push({
      cache: target.cache,
      table: target.table,
      stale: target.stale,
      removed: gone.entries,
      bytesFreed: gone.bytes,
      remaining: dryRun ? left!.n - gone.entries : left!.n,
    });
  }

  const analysis = caches[0]!;
  let hotEntries: ClearCacheResult['hotEntries'] = { refreshed: false, entries: null };
  if (!dryRun && analysis.removed > 0) {
    options.progress?.('refreshing hot_cache_entries');
    hotEntries = await refreshHotEntries(db);
  }

  return {
    all,
    dryRun,
    model: options.model,
    olderThan: options.olderThan ?? null,
    caches,
    removed: caches.reduce((n, c) => n + c.removed, 0),
    bytesFreed: caches.reduce((n, c) => n + c.bytesFreed, 0),
    remaining: caches.reduce((n, c) => n + c.remaining, 0),
    hotEntries,
  };
}

interface Gone {
  entries: number;
  bytes: number;
}

/**
 * What remove() would report, without deleting. The rows come through a subquery: read straight off a table
 * scan, pg_column_size(c.*) gives the scan's first tuple a few bytes short of its length on the page
 * (PostgreSQL 15 and PGlite alike); built from the subquery's columns, every row measures as the delete's do.
 */
async function measure(db: Database, target: Target): Promise<Gone> {
  const [row] = await db.query<Gone>(
    `select count(*)::float8 as entries, coalesce(sum(pg_column_size(s.*)), 0)::float8 as bytes
       from (select c.* from ${target.table} c where ${target.where(1)}) s`,
    target.params,
  );
  return row!;
}

async function remove(db: Database, target: Target, batchSize: number, options: ClearCacheOptions): Promise<Gone> {
  const keys = target.keys.join(', ');
  const match = target.keys.map((k) => `c.${k} = d.${k}`).join(' and ');
  // SKIP LOCKED: rows a writer holds right now are left for the next run rather than waited for.
  const statement = `
    with doomed as (select ${keys} from ${target.table} c where ${target.where(2)} limit $1 for update skip locked),
         gone as (delete from ${target.table} c using doomed d where ${match} returning pg_column_size(c.*) as bytes)
    select count(*)::float8 as entries, coalesce(sum(bytes), 0)::float8 as bytes from gone`;
  const total: Gone = { entries: 0, bytes: 0 };
  for (;;) {
    options.signal?.throwIfAborted();
    const [batch] = await db.query<Gone>(statement, [batchSize, ...target.params]);
    total.entries += batch!.entries;
    total.bytes += batch!.bytes;
    if (batch!.entries < batchSize) return total;
    options.progress?.(`${target.cache}: ${total.entries.toLocaleString('en-US')} entries removed so far`);
  }
}

/** refresh_cache() refreshes CONCURRENTLY, which PostgreSQL refuses on a view never populated (that lists nothing anyway). */
async function refreshHotEntries(db: Database): Promise<ClearCacheResult['hotEntries']> {
  const [view] = await db.query<{ populated: boolean | null }>(
    `select (select relispopulated from pg_class where oid = to_regclass('hot_cache_entries')) as populated`,
  );
  if (!view?.populated) return { refreshed: false, entries: null };
  const [row] = await db.query<{ result: { hot_entries: number } }>('select refresh_cache() as result');
  return { refreshed: true, entries: row!.result.hot_entries };
}
