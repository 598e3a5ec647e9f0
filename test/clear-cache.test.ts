// clear-cache against each backend on fixture caches: which entries each mode removes and keeps, that the
// sizes it reports are what the rows took, that --dry-run deletes nothing, and the command line's view.
import { beforeEach, describe, expect, it } from 'vitest';
import { backendNames, onBackend, type Backend } from './support/backends.js';
import { runCli } from './support/cli.js';
import { clearCaches, type ClearCacheResult } from '../src/cache/clear.js';
import { DEFAULT_EMBEDDING_MODEL } from '../src/core/config.js';
import type { Database } from '../src/core/database.js';
import type { Run } from '../src/core/runs.js';
import { runTask } from '../src/core/runner.js';
import { describeArgs, parseArgs } from '../src/core/task/args.js';
import clearCache from '../src/tasks/clear-cache.js';

const OTHER_MODEL = 'Xenova/some-older-model';

describe('the task definition', () => {
  it('is the node task of the catalogue, nightly at 03:00, with --all, --older-than and --dry-run', () => {
    expect([clearCache.name, clearCache.engine, clearCache.schedule]).toEqual(['clear-cache', 'node', '0 3 * * *']);
    expect(describeArgs(clearCache.args).map((s) => [s.flag, s.default])).toEqual([
      ['all', false],
      ['older-than', undefined],
      ['dry-run', false],
    ]);
  });

  it('sums up what it freed per cache', () => {
    const result = {
      dryRun: false,
      removed: 1234,
      bytesFreed: 4_299_162 + 1_572_864,
      remaining: 56,
      caches: [
        { cache: 'analysis cache', removed: 1000, bytesFreed: 4_299_162 },
        { cache: 'embedding cache', removed: 234, bytesFreed: 1_572_864 },
      ],
    } as ClearCacheResult;
    expect(clearCache.summarize!(result)).toBe(
      'freed 1,234 entries (5.6 MB): analysis cache 1,000 (4.1 MB), embedding cache 234 (1.5 MB); 56 remain',
    );
    expect(clearCache.summarize!({ ...result, dryRun: true })).toMatch(/^would free 1,234 entries/);
  });

  it('refuses a bad duration and --all with --older-than, exit 2, before touching a database', async () => {
    expect(() => parseArgs(clearCache.args, { olderThan: '1 day' }, 'clear-cache')).toThrow(/--older-than/);

    const soon = await runCli(['clear-cache', '--older-than', 'soon']);
    expect(soon.code).toBe(2);
    expect(soon.stderr).toMatch(/clear-cache: --older-than: expected a duration such as 30d.*\(got 'soon'\)/);

    const both = await runCli(['clear-cache', '--all', '--older-than', '7d']);
    expect(both.code).toBe(2);
    expect(both.stderr).toMatch(/--all empties every cache; --older-than cannot narrow it/);
  });

  it('library callers get the same usage errors', async () => {
    // Refused before the database is used: no handle is needed.
    const db = undefined as unknown as Database;
    await expect(clearCaches(db, { model: 'm', olderThan: 'soon' })).rejects.toMatchObject({ name: 'UsageError', exitCode: 2 });
    await expect(clearCaches(db, { model: 'm', batchSize: 0 })).rejects.toMatchObject({ name: 'UsageError' });
  });
});

describe.each(backendNames)('clear-cache on %s', (backendName) => {
  let backend: Backend;
  let db: Database;

  onBackend(backendName, (opened) => ({ backend, db } = opened));

  beforeEach(async () => {
    await db.query('truncate analysis_cache, embedding_cache');
    await db.query('select refresh_cache()');
  });

  async function run(flags: Record<string, string | boolean> = {}) {
    const done = await runTask({ db, config: backend.config }, clearCache, { trigger: 'cli', args: parseArgs(clearCache.args, flags, 'clear-cache') });
    expect(done.error).toBeNull();
    expect(done.state).toBe('completed');
    return { result: done.result as ClearCacheResult, summary: done.summary };
  }

  const keys = async (sql: string) => (await db.query<{ k: string }>(sql)).map((r) => r.k);
  const analysisKeys = () => keys('select key as k from analysis_cache order by key');
  const embeddingKeys = () => keys(`select model || ':' || text_hash as k from embedding_cache order by model, text_hash`);
  /**
   * What these rows take, measured before clear-cache runs: pg_column_size of each whole row. Read with
   * FOR UPDATE, as clear-cache's delete reads them: a plain scan gives the first tuple it reads a few bytes
   * less than the tuple's length on its page (PostgreSQL 15 and PGlite alike), the locking read gives that length.
   */
  async function sizeOf(table: string, where: string): Promise<{ n: number; bytes: number }> {
    const [row] = await db.query<{ n: number; bytes: number }>(
      `select count(*)::int as n, coalesce(sum(b), 0)::float8 as bytes
         from (select pg_column_size(c.*) as b from ${table} c where ${where} for update) s`,
    );
    return row!;
  }
  /** pageinspect, where the server has it and the test's role may create it. */
  const pageinspect = () => db.query('create extension if not exists pageinspect').then(() => true, () => false);
  const byCache = (r: ClearCacheResult) => Object.fromEntries(r.caches.map((c) => [c.cache, [c.removed, c.bytesFreed, c.remaining]]));

  /** Values of different sizes, so that a wrong row in the sum shows. */
  async function fill() {
    await db.query(
      `insert into analysis_cache (key, value, expires_at, hits, last_hit_at) values
         ('expired-minute', jsonb_build_object('ast', repeat('a', 300)), now() - interval '1 minute', 3, now()),
         ('expired-week', jsonb_build_object('ast', repeat('b', 5000)), now() - interval '7 days', 0, null),
         ('live', '{"ast": "c"}', now() + interval '1 hour', 2, now()),
         ('forever', jsonb_build_object('ast', repeat('d', 40)), null, 0, null)`,
    );
    await db.query(
      `insert into embedding_cache (model, text_hash, dimension, embedding, created_at)
       select m, h, d, array(select (random() - 0.5)::real from generate_series(1, v.d)), now() - a::interval
         from (values ($1, 'h-new', 384, '1 hour'), ($1, 'h-old', 384, '40 days'),
                      ($2, 'h-new', 768, '1 hour'), ($2, 'h-other', 3, '2 days')) v(m, h, d, a)`,
      [DEFAULT_EMBEDDING_MODEL, OTHER_MODEL],
    );
  }

  it('removes the expired analysis entries and the other model’s embeddings only, and reports what they took', async () => {
    await fill();
    const expired = await sizeOf('analysis_cache', `key like 'expired-%'`);
    const otherModel = await sizeOf('embedding_cache', `model = '${OTHER_MODEL}'`);
    expect(expired.n).toBe(2);
    expect(otherModel.n).toBe(2);

    const { result, summary } = await run();
    expect(await analysisKeys()).toEqual(['forever', 'live']);
    expect(await embeddingKeys()).toEqual([`${DEFAULT_EMBEDDING_MODEL}:h-new`, `${DEFAULT_EMBEDDING_MODEL}:h-old`]);
    expect(byCache(result)).toEqual({
      'analysis cache': [2, expired.bytes, 2],
      'embedding cache': [2, otherModel.bytes, 2],
    });
    expect(result).toMatchObject({ all: false, dryRun: false, model: DEFAULT_EMBEDDING_MODEL, removed: 4, remaining: 4 });
    expect(result.bytesFreed).toBe(expired.bytes + otherModel.bytes);
    // Vectors of 768 and 3 floats: the sizes are what the rows hold, not a count of them.
    expect(otherModel.bytes).toBeGreaterThan(768 * 4);
    expect(summary).toMatch(/^freed 4 entries \(.+\): analysis cache 2 \(.+\), embedding cache 2 \(.+\); 4 remain$/);

    // Nothing is stale any more.
    expect(byCache((await run()).result)).toEqual({ 'analysis cache': [0, 0, 2], 'embedding cache': [0, 0, 2] });
  });

  it('--older-than also removes old embeddings of the configured model', async () => {
    await fill();
    const old = await sizeOf('embedding_cache', `model = '${OTHER_MODEL}' or text_hash = 'h-old'`);
    const { result } = await run({ olderThan: '30d' });
    expect(await embeddingKeys()).toEqual([`${DEFAULT_EMBEDDING_MODEL}:h-new`]);
    expect(byCache(result)['embedding cache']).toEqual([3, old.bytes, 1]);
    expect(result.olderThan).toBe('30d');
    // The bound never reaches the analysis cache, whose entries carry their own expiry.
    expect(await analysisKeys()).toEqual(['forever', 'live']);
  });

  it('--dry-run reports what a real run then removes, and deletes nothing', async () => {
    await fill();
    const before = [await analysisKeys(), await embeddingKeys()];
    const { result: dry, summary } = await run({ dryRun: true });
    expect([await analysisKeys(), await embeddingKeys()]).toEqual(before);
    expect(dry).toMatchObject({ dryRun: true, removed: 4, remaining: 4, hotEntries: { refreshed: false } });
    expect(summary).toMatch(/^would free 4 entries/);

    const { result: real } = await run();
    expect(byCache(real)).toEqual(byCache(dry));
  });

  it('--all empties every cache and the hot-entries view', async () => {
    await fill();
    const everything = (await sizeOf('analysis_cache', 'true')).bytes + (await sizeOf('embedding_cache', 'true')).bytes;
    await db.query('select refresh_cache()');
    expect((await keys('select key as k from hot_cache_entries order by key'))).toEqual(['live']);

    const { result } = await run({ all: true });
    expect(await analysisKeys()).toEqual([]);
    expect(await embeddingKeys()).toEqual([]);
    expect(byCache(result)).toMatchObject({ 'analysis cache': [4, expect.any(Number), 0], 'embedding cache': [4, expect.any(Number), 0] });
    expect(result).toMatchObject({ all: true, removed: 8, remaining: 0, bytesFreed: everything, hotEntries: { refreshed: true, entries: 0 } });
    expect(await keys('select key as k from hot_cache_entries')).toEqual([]);
  });

  it('refreshes hot_cache_entries, so that it no longer lists a key it deleted', async () => {
    await db.query(
      `insert into analysis_cache (key, value, expires_at, hits, last_hit_at) values
         ('hot-ending', '{}', now() + interval '1 hour', 50, now()), ('hot-staying', '{}', null, 5, now())`,
    );
    await db.query('select refresh_cache()');
    // An hour later, as far as the cache can tell: the hot entry has expired since the last refresh.
    await db.query(`update analysis_cache set expires_at = now() - interval '1 second' where key = 'hot-ending'`);
    expect(await keys('select key as k from hot_cache_entries order by rank')).toEqual(['hot-ending', 'hot-staying']);

    const { result } = await run();
    expect(result.hotEntries).toEqual({ refreshed: true, entries: 1 });
    expect(await keys('select key as k from hot_cache_entries')).toEqual(['hot-staying']);
  });

  it('deletes a big cache in batches, each its own transaction, and adds them up exactly', async () => {
    await db.query(
      `insert into analysis_cache (key, value, expires_at)
       select 'k' || i, jsonb_build_object('v', repeat('x', i)), now() - interval '1 minute' from generate_series(1, 25) i`,
    );
    await db.query(`insert into analysis_cache (key, value) values ('kept', '{}')`);
    const expired = await sizeOf('analysis_cache', `key <> 'kept'`);
    if (backendName === 'postgres' && (await pageinspect())) {
      // The tuples' lengths on the heap pages themselves (these values are small: nothing is in TOAST).
      const [onPages] = await db.query<{ bytes: number }>(
        `select sum(p.lp_len)::float8 as bytes
           from generate_series(0, pg_relation_size('analysis_cache') / current_setting('block_size')::int - 1) b,
                heap_page_items(get_raw_page('analysis_cache', b::int)) p, analysis_cache c
          where c.ctid = format('(%s,%s)', b, p.lp)::tid and c.key <> 'kept'`,
      );
      expect(onPages!.bytes).toBe(expired.bytes);
    }
    // The table's first tuple is the one a plain scan measures short: the dry run must not.
    const dry = await clearCaches(db, { model: DEFAULT_EMBEDDING_MODEL, dryRun: true });
    expect(dry.caches[0]).toMatchObject({ removed: 25, bytesFreed: expired.bytes, remaining: 1 });
    const progress: string[] = [];
    const result = await clearCaches(db, { model: DEFAULT_EMBEDDING_MODEL, batchSize: 4, progress: (m) => progress.push(m) });
    expect(result.caches[0]).toMatchObject({ removed: 25, bytesFreed: expired.bytes, remaining: 1 });
    // 6 full batches of 4 said how far they got; the seventh (1 entry) ended it.
    expect(progress.filter((m) => m.startsWith('analysis cache:'))).toHaveLength(6);
    expect(await analysisKeys()).toEqual(['kept']);
  });

  it('stops between batches when its run is cancelled, keeping what it already freed', async () => {
    await db.query(
      `insert into analysis_cache (key, value, expires_at) select 'k' || i, '{}', now() - interval '1 minute' from generate_series(1, 10) i`,
    );
    const stop = new AbortController();
    const cleared = clearCaches(db, {
      model: DEFAULT_EMBEDDING_MODEL,
      batchSize: 3,
      signal: stop.signal,
      progress: () => stop.abort(new Error('cancelled')),
    });
    await expect(cleared).rejects.toThrow('cancelled');
    expect(await analysisKeys()).toHaveLength(7);
  });

  it('`singularity clear-cache --json` uses the configured model and prints the result', async () => {
    await fill();
    // Configured to the other model, the default model's entries are the stale ones.
    const stale = await sizeOf('embedding_cache', `model = '${DEFAULT_EMBEDDING_MODEL}'`);
    const cli = await runCli(['clear-cache', '--json'], { ...backend.env, SINGULARITY_MODEL: OTHER_MODEL });
    expect(cli.code, cli.stdout + cli.stderr).toBe(0);
    const shown = JSON.parse(cli.stdout) as Run & { result: ClearCacheResult };
    expect(shown).toMatchObject({ task: 'clear-cache', state: 'completed', trigger: 'cli' });
    expect(shown.result.model).toBe(OTHER_MODEL);
    expect(byCache(shown.result)['embedding cache']).toEqual([2, stale.bytes, 2]);
    expect(await embeddingKeys()).toEqual([`${OTHER_MODEL}:h-new`, `${OTHER_MODEL}:h-other`]);
    expect(shown.summary).toBe(clearCache.summarize!(shown.result));

    const human = await runCli(['clear-cache', '--all'], backend.env);
    expect(human.code, human.stderr).toBe(0);
    expect(human.stdout).toMatch(/freed 4 entries \(.+\): analysis cache 2 \(.+\), embedding cache 2 \(.+\); 0 remain/);
  });
});
