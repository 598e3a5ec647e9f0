// The learning loop closed, on each backend: analysis results -> learn_patterns() -> sync-patterns (a learned
// knowledge artifact, the cache, a JSON file per kind, a NOTIFY) -> record_artifact_use() (counts on the
// artifact and on its pattern, whose new version sync_learning() enqueues) -> prune-artifacts (a used artifact
// stays, an old unused one goes). And a re-run with nothing changed writes and notifies nothing.
import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../src/core/database.js';
import { runTask } from '../src/core/runner.js';
import { describeArgs, parseArgs } from '../src/core/task/args.js';
import type { TaskDefinition } from '../src/core/task/define.js';
import { PATTERN_FILE_FORMAT, type PatternFile, type SyncPatternsResult } from '../src/knowledge/patterns.js';
import { recordArtifactUse, UnknownArtifactError } from '../src/knowledge/usage.js';
import learnPatterns from '../src/tasks/learn-patterns.js';
import pruneArtifacts from '../src/tasks/prune-artifacts.js';
import syncPatterns from '../src/tasks/sync-patterns.js';
import { backendNames, onBackend, type Backend } from './support/backends.js';
import { runCli } from './support/cli.js';

describe('the sync-patterns definition', () => {
  it('is a node task of the instance role, every 5 minutes, with documented flags', () => {
    expect([syncPatterns.engine, syncPatterns.schedule, syncPatterns.roles]).toEqual(['node', '*/5 * * * *', ['instance']]);
    expect(describeArgs(syncPatterns.args).map((s) => [s.flag, s.default])).toEqual([
      ['min-confidence', 0.7], ['min-occurrences', 3], ['out', undefined],
    ]);
    expect(() => parseArgs(syncPatterns.args, { minConfidence: '1.5' }, 'sync-patterns')).toThrow(/--min-confidence/);
    expect(() => parseArgs(syncPatterns.args, { minOccurrences: '0' }, 'sync-patterns')).toThrow(/--min-occurrences/);
  });
});

describe.each(backendNames)('learned artifacts on %s', (backendName) => {
  let backend: Backend;
  let db: Database;
  let out: string;
  onBackend(backendName, (opened) => ({ backend, db } = opened));
  beforeAll(() => void (out = mkdtempSync(join(tmpdir(), 'sg-patterns-'))));
  afterAll(() => rmSync(out, { recursive: true, force: true }));

  async function run<R>(task: TaskDefinition, flags: Record<string, string> = {}) {
    const result = await runTask({ db, config: backend.config }, task, { trigger: 'cli', args: parseArgs(task.args, flags, task.name) });
    expect(result.error).toBeNull();
    expect(result.state).toBe('completed');
    return { result: result.result as R, summary: result.summary };
  }
  const sync = () => run<SyncPatternsResult>(syncPatterns, { out });
  const rows = <T extends Record<string, any>>(text: string, params?: unknown[]) => db.query<T>(text, params);
  const call = async (text: string, params?: unknown[]) => (await rows<{ r: any }>(`select ${text} as r`, params))[0]!.r;
  const file = (name: string) => JSON.parse(readFileSync(join(out, name), 'utf8')) as PatternFile;
  const artifact = async (id: string) =>
    (await rows(`select * from knowledge_artifacts where artifact_type = 'learned_pattern' and artifact_id = $1`, [id]))[0]!;
  const pattern = async (key: string) => (await rows(`select * from learned_patterns where pattern_key = $1`, [key]))[0]!;

  /** `n` analysis results of one pattern, all at one confidence. */
  async function results(kind: string, key: string, n: number, confidence: number) {
    await db.query(
      `insert into analysis_results (codebase, kind, subject, finding, confidence)
       select 'app', $1, 'src/x.ts', jsonb_build_object('pattern', $2::text, 'description', 'about ' || $2), $3
       from generate_series(1, $4)`,
      [kind, key, confidence, n],
    );
  }

  // NOTIFY on the server, LISTENed on a connection of its own. PGlite is one session behind one socket
  // (src/core/embedded/server.ts): a notification goes back to whichever client holds the floor at commit,
  // not to another connection that listens, so there delivery is tested on the server only.
  let listener: pg.Client | undefined;
  const notes: any[] = [];
  beforeAll(async () => {
    if (backendName !== 'postgres') return;
    listener = new pg.Client({ connectionString: backend.config.databaseUrl });
    await listener.connect();
    listener.on('notification', (n) => n.channel === 'singularity_patterns' && notes.push(JSON.parse(n.payload!)));
    await listener.query('listen singularity_patterns');
  });
  afterAll(() => listener?.end());
  /** The notifications since the last call (after a moment for them to arrive). */
  async function notified() {
    if (!listener) return undefined;
    await sleep(300);
    return notes.splice(0).sort((a, b) => (a.kind < b.kind ? -1 : 1));
  }
  const onServer = (expected: unknown) => (backendName === 'postgres' ? expected : undefined);

  let reactId: string;
  let nextId: string;
  const mtimes = () => Object.fromEntries(readdirSync(out).map((f) => [f, statSync(join(out, f)).mtimeMs]));

  it('publishes the patterns that qualify as learned artifacts, to the cache, in files, with a NOTIFY', async () => {
    await results('framework', 'react-hooks', 3, 0.9);
    await results('framework', 'Next.js App Router', 4, 0.8);
    await results('framework', 'rare', 2, 0.99); // too few occurrences
    await results('framework', 'shaky', 5, 0.5); // too unsure
    await results('error_handling', 'result-type', 3, 0.75);
    expect((await run(learnPatterns)).result).toMatchObject({ learned: 17, new_patterns: 5 });

    const first = await sync();
    expect(first.result).toMatchObject({ published: 3, new: 3, updated: 0, withdrawn: 0, changed: 3, unchanged: 0, cache_written: 2 });
    expect(first.result.kinds.sort()).toEqual(['error_handling', 'framework']);
    expect(first.result.files).toEqual({ written: expect.arrayContaining(['framework.json', 'error_handling.json']), removed: [], unchanged: 0 });
    expect(first.summary).toBe('3 changed (3 new, 0 updated, 0 withdrawn), 3 published; files: 2 written, 0 removed, 0 unchanged');

    // Ids: the slug of kind and key; a key that is no slug gets a hash of itself beside its letters.
    reactId = 'framework.react-hooks';
    const suffix = createHash('sha256').update('Next.js App Router').digest('hex').slice(0, 8);
    nextId = `framework.next-js-app-router-${suffix}`;
    const ids = await rows<{ artifact_id: string }>(`select artifact_id from knowledge_artifacts where source = 'learned' order by artifact_id`);
    expect(ids.map((r) => r.artifact_id)).toEqual(['error_handling.result-type', nextId, reactId]);

    const react = await artifact(reactId);
    const reactPattern = await pattern('react-hooks');
    expect(react).toMatchObject({ source: 'learned', path: null, learned_pattern_id: reactPattern.id, version: String(reactPattern.version),
      usage_count: 0, success_count: 0, last_used_at: null, metadata: { published: true } });
    expect(JSON.parse(react.raw)).toEqual(react.content);
    expect(react.content_hash).toBe(createHash('sha256').update(react.raw).digest('hex'));
    expect(react.content).toEqual({
      id: reactId, version: String(reactPattern.version), kind: 'framework', pattern_key: 'react-hooks', description: 'about react-hooks',
      confidence: 0.9, occurrences: 3, first_seen_at: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
      last_seen_at: expect.any(String), example: { pattern: 'react-hooks', description: 'about react-hooks' },
    });
    expect(Math.abs(new Date(react.content.first_seen_at).getTime() - reactPattern.first_seen_at.getTime())).toBeLessThanOrEqual(1);

    const framework = file('framework.json');
    expect(framework.format).toBe(PATTERN_FILE_FORMAT);
    expect(framework.kind).toBe('framework');
    expect(framework.patterns.map((p) => p.id)).toEqual([nextId, reactId]); // by pattern key, 'N' before 'r'
    expect(Object.keys(framework.patterns[0]!)).toEqual(['id', 'version', 'kind', 'pattern_key', 'description', 'confidence', 'occurrences', 'first_seen_at', 'last_seen_at', 'example']);
    expect(file('error_handling.json').patterns.map((p) => p.pattern_key)).toEqual(['result-type']);

    const cache = await rows<{ key: string; value: any[]; expires_at: Date | null }>(`select key, value, expires_at from analysis_cache order by key`);
    expect(cache.map((c) => [c.key, c.expires_at])).toEqual([['patterns:error_handling', null], ['patterns:framework', null]]);
    expect(cache[1]!.value).toEqual(framework.patterns);

    expect(await notified()).toEqual(onServer([
      { kind: 'error_handling', new: 1, updated: 0, withdrawn: 0, ids: [expect.any(Number)] },
      { kind: 'framework', new: 2, updated: 0, withdrawn: 0, ids: [expect.any(Number), expect.any(Number)] },
    ]));
  });

  it('records uses on the artifact and on its pattern, whose new version sync_learning() enqueues', async () => {
    // sync_learning() enqueues once a central database is linked (0020); a link over a connection of singularity's
    // own sends nothing from SQL, so the outbox keeps what it enqueued.
    if (await call(`to_regproc('link_central') is not null`)) await call(`link_central('connection', 'test-instance', 'test')`);
    await call('sync_learning(100)');
    const before = await pattern('react-hooks');
    expect(await rows('select pattern_version from learning_outbox where pattern_id = $1', [before.id])).toEqual([{ pattern_version: before.version }]);

    await call(`record_artifact_use('learned_pattern', $1, true)`, [reactId]);
    await call(`record_artifact_use('learned_pattern', $1, false)`, [reactId]);
    const last = await call(`record_artifact_use('learned_pattern', $1, true, 3)`, [reactId]);
    expect(last).toMatchObject({ type: 'learned_pattern', id: reactId, usage_count: 5, success_count: 4,
      pattern_id: before.id, pattern_uses: 5, pattern_successes: 4, pattern_version: before.version + 3 });
    const use = await recordArtifactUse(db, { type: 'learned_pattern', id: reactId, success: true });
    expect(use).toMatchObject({ usageCount: 6, successCount: 5, pattern: { id: before.id, uses: 6, successes: 5, version: before.version + 4 } });
    expect(use.lastUsedAt).toBeInstanceOf(Date);

    const after = await pattern('react-hooks');
    expect([after.uses, after.successes, after.version]).toEqual([6, 5, before.version + 4]);
    expect(after.updated_at.getTime()).toBeGreaterThan(before.updated_at.getTime());
    const react = await artifact(reactId);
    expect([react.usage_count, react.success_count, react.last_used_at]).toEqual([6, 5, expect.any(Date)]);

    expect((await call('sync_learning(100)')).enqueued).toBe(1);
    expect(await rows('select pattern_version from learning_outbox where pattern_id = $1 order by id', [before.id]))
      .toEqual([{ pattern_version: before.version }, { pattern_version: before.version + 4 }]);
  });

  it('counts every one of many uses recorded at once', async () => {
    const start = (await artifact(nextId)).usage_count;
    await Promise.all(Array.from({ length: 20 }, (_, i) => recordArtifactUse(db, { type: 'learned_pattern', id: nextId, success: i % 2 === 0 })));
    expect((await artifact(nextId)).usage_count).toBe(start + 20);
    expect(await pattern('Next.js App Router')).toMatchObject({ uses: 20, successes: 10 });
  });

  it('refuses an unknown artifact with a clear error', async () => {
    const error = await recordArtifactUse(db, { type: 'learned_pattern', id: 'framework.nowhere', success: true }).catch((e) => e);
    expect(error).toBeInstanceOf(UnknownArtifactError);
    expect(error.message).toBe(`no knowledge artifact learned_pattern 'framework.nowhere'`);
    expect(error.exitCode).toBe(2);
    await expect(call(`record_artifact_use('prompt', 'x', true, 1, '9.9')`)).rejects.toThrow(`no knowledge artifact prompt 'x' version 9.9`);
    await expect(call(`record_artifact_use('learned_pattern', $1, true, 0)`, [reactId])).rejects.toThrow(/uses must be at least 1/);
  });

  it('writes, rewrites and notifies nothing when nothing changed, uses included', async () => {
    const files = mtimes();
    const versions = await rows(`select artifact_id, version, updated_at from knowledge_artifacts order by id`);
    const again = await sync();
    expect(again.result).toMatchObject({ published: 3, changed: 0, unchanged: 3, kinds: [], cache_written: 0, cache_deleted: 0,
      files: { written: [], removed: [], unchanged: 2 } });
    expect(mtimes()).toEqual(files);
    expect(await rows(`select artifact_id, version, updated_at from knowledge_artifacts order by id`)).toEqual(versions);
    expect(await notified()).toEqual(onServer([]));
  });

  it('republishes a pattern learned further, and withdraws those that stopped qualifying or were deleted', async () => {
    await results('framework', 'react-hooks', 1, 0.6);
    await run(learnPatterns);
    await db.query(`update learned_patterns set confidence = 0.5 where pattern_key = 'result-type'`);
    // A use of it first: a withdrawn artifact keeps its uses.
    await recordArtifactUse(db, { type: 'learned_pattern', id: 'error_handling.result-type', success: true });
    await db.query(`delete from learned_patterns where pattern_key = 'Next.js App Router'`);

    const { result } = await sync();
    expect(result).toMatchObject({ published: 1, new: 0, updated: 1, withdrawn: 2, changed: 3, cache_written: 1, cache_deleted: 1 });
    expect(result.files).toEqual({ written: ['framework.json'], removed: ['error_handling.json'], unchanged: 0 });
    const react = await artifact(reactId);
    const reactPattern = await pattern('react-hooks');
    expect(react.version).toBe(String(reactPattern.version));
    expect(react.content).toMatchObject({ occurrences: 4, confidence: 0.825, version: String(reactPattern.version) });
    expect(react.usage_count).toBe(6);
    expect(file('framework.json').patterns.map((p) => p.id)).toEqual([reactId]);
    expect(readdirSync(out).sort()).toEqual(['framework.json']);
    expect(await rows(`select key from analysis_cache order by key`)).toEqual([{ key: 'patterns:framework' }]);

    const withdrawn = await rows(`select artifact_id, metadata, learned_pattern_id is null as unlinked, usage_count
                                  from knowledge_artifacts where metadata->>'published' = 'false' order by artifact_id`);
    expect(withdrawn).toEqual([
      { artifact_id: 'error_handling.result-type', metadata: { published: false }, unlinked: false, usage_count: 1 },
      { artifact_id: nextId, metadata: { published: false }, unlinked: true, usage_count: 20 },
    ]);
    expect(await notified()).toEqual(onServer([
      { kind: 'error_handling', new: 0, updated: 0, withdrawn: 1, ids: [expect.any(Number)] },
      { kind: 'framework', new: 0, updated: 1, withdrawn: 1, ids: [expect.any(Number), expect.any(Number)] },
    ]));

    // Qualifying again: published again, on the same row (with its uses).
    await db.query(`update learned_patterns set confidence = 0.75 where pattern_key = 'result-type'`);
    expect((await sync()).result).toMatchObject({ new: 0, updated: 1, withdrawn: 0, files: { written: ['error_handling.json'] } });
    expect(await artifact('error_handling.result-type')).toMatchObject({ metadata: { published: true }, usage_count: 1 });
    expect(await notified()).toEqual(onServer([{ kind: 'error_handling', new: 0, updated: 1, withdrawn: 0, ids: [expect.any(Number)] }]));
  });

  it('leaves the pattern files alone when the folder holds other files, and restores one deleted by hand', async () => {
    writeFileSync(join(out, 'notes.json'), '{"mine": true}\n');
    rmSync(join(out, 'framework.json'));
    const { result } = await sync();
    expect(result).toMatchObject({ changed: 0, files: { written: ['framework.json'], removed: [], unchanged: 1 } });
    expect(readdirSync(out).sort()).toEqual(['error_handling.json', 'framework.json', 'notes.json']);
    rmSync(join(out, 'notes.json'));
  });

  it('lets prune-artifacts delete an old unused learned artifact and keep the used ones', async () => {
    await results('framework', 'unused', 3, 0.9);
    await run(learnPatterns);
    await sync();
    await db.query(`update knowledge_artifacts set created_at = now() - interval '60 days' where source = 'learned'`);
    const { result } = await run<{ deleted: number; kept_learned: number }>(pruneArtifacts);
    expect(result).toEqual({ deleted: 1, kept_learned: 3 });
    const left = await rows<{ artifact_id: string }>(`select artifact_id from knowledge_artifacts where source = 'learned' order by artifact_id`);
    expect(left.map((r) => r.artifact_id)).toEqual(['error_handling.result-type', nextId, reactId]);
    // Its pattern still qualifies: the next sync publishes it again, as new.
    expect((await sync()).result).toMatchObject({ new: 1, changed: 1 });
    await notified();
  });

  it('runs from the command line, and not in the central role', async () => {
    const cli = await runCli(['sync-patterns', '--out', out, '--json'], backend.env);
    expect(cli.stderr).toBe('');
    expect(cli.code).toBe(0);
    const record = JSON.parse(cli.stdout);
    expect(record).toMatchObject({ task: 'sync-patterns', state: 'completed', result: { changed: 0, published: 3, out } });
    expect(await notified()).toEqual(onServer([]));
    const central = await runCli(['sync-patterns', '--role', 'central'], backend.env);
    expect(central.code).toBe(2);
    expect(central.stderr).toMatch(/sync-patterns runs in the instance role only/);
  });
});
