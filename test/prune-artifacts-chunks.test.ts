// prune-artifacts and prune-chunks, run through the runner against each backend on fixture data placed
// just inside and just outside each bound: what they delete, what they keep, and what they report.
import { beforeEach, describe, expect, it } from 'vitest';
import { backendNames, onBackend, type Backend } from './support/backends.js';
import type { Database } from '../src/core/database.js';
import { runTask } from '../src/core/runner.js';
import { describeArgs, parseArgs } from '../src/core/task/args.js';
import type { TaskDefinition } from '../src/core/task/define.js';
import pruneArtifacts from '../src/tasks/prune-artifacts.js';
import pruneChunks from '../src/tasks/prune-chunks.js';

// Fixtures sit this far inside or outside a bound: far more than a run takes, far less than any bound.
const INSIDE = ' -1 minute';
const OUTSIDE = ' 1 minute';

describe('the task definitions', () => {
  it('are the sql tasks of the task catalogue, Sundays 01:00 and 02:00', () => {
    expect([pruneArtifacts, pruneChunks].map((t) => [t.name, t.engine, t.schedule])).toEqual([
      ['prune-artifacts', 'sql', '0 1 * * 0'],
      ['prune-chunks', 'sql', '0 2 * * 0'],
    ]);
    // prune_chunks commits per batch, which PostgreSQL allows only outside a transaction block.
    expect([pruneArtifacts.transaction, pruneChunks.transaction]).toEqual([true, false]);
  });

  it('have documented flags with defaults, parsed from command-line strings', () => {
    expect(describeArgs(pruneArtifacts.args).map((s) => [s.flag, s.default])).toEqual([['unused-for', '90d'], ['min-age', '30d']]);
    expect(describeArgs(pruneChunks.args).map((s) => [s.flag, s.default])).toEqual([['deleted-for', '0s'], ['batch-size', 5000]]);
    for (const spec of [...describeArgs(pruneArtifacts.args), ...describeArgs(pruneChunks.args)]) expect(spec.description).not.toBe('');

    expect(pruneArtifacts.sql(parseArgs(pruneArtifacts.args, {}, 'prune-artifacts'))).toBe(
      `select prune_artifacts('90 days'::interval, '30 days'::interval) as result`,
    );
    expect(pruneArtifacts.sql(parseArgs(pruneArtifacts.args, { unusedFor: '2w', minAge: '36h' }, 'prune-artifacts'))).toBe(
      `select prune_artifacts('2 weeks'::interval, '36 hours'::interval) as result`,
    );
    expect(pruneChunks.sql(parseArgs(pruneChunks.args, {}, 'prune-chunks'))).toBe(`call prune_chunks('0 seconds'::interval, 5000, null)`);
    expect(pruneChunks.sql(parseArgs(pruneChunks.args, { deletedFor: '7d', batchSize: '250' }, 'prune-chunks'))).toBe(
      `call prune_chunks('7 days'::interval, 250, null)`,
    );
  });

  it('refuse bad flag values, naming the flag', () => {
    expect(() => parseArgs(pruneArtifacts.args, { unusedFor: 'soon' }, 'prune-artifacts')).toThrow(/--unused-for.*soon/);
    expect(() => parseArgs(pruneArtifacts.args, { minAge: '-1d' }, 'prune-artifacts')).toThrow(/--min-age/);
    expect(() => parseArgs(pruneChunks.args, { deletedFor: '1 day' }, 'prune-chunks')).toThrow(/--deleted-for/);
    expect(() => parseArgs(pruneChunks.args, { batchSize: '0' }, 'prune-chunks')).toThrow(/--batch-size/);
    expect(() => parseArgs(pruneChunks.args, { batchSize: 'many' }, 'prune-chunks')).toThrow(/--batch-size/);
  });
});

describe.each(backendNames)('prune-artifacts and prune-chunks on %s', (backendName) => {
  let backend: Backend;
  let db: Database;
  const ctx = () => ({ db, config: backend.config });

  onBackend(backendName, (opened) => ({ backend, db } = opened));

  /** Run a task as the CLI would (flags as strings); it must complete. */
  async function run<R>(task: TaskDefinition, flags: Record<string, string> = {}) {
    const result = await runTask(ctx(), task, { trigger: 'cli', args: parseArgs(task.args, flags, task.name) });
    expect(result.error).toBeNull();
    expect(result.state).toBe('completed');
    return { result: result.result as R, summary: result.summary };
  }

  describe('prune-artifacts', () => {
    beforeEach(async () => {
      await db.query('truncate knowledge_artifacts restart identity');
    });

    /** Artifacts as (id, source, created ago, last used ago or null for never). */
    async function addArtifacts(rows: [string, 'file' | 'learned', string, string | null][]) {
      for (const [id, source, created, lastUsed] of rows) {
        await db.query(
          `insert into knowledge_artifacts
             (artifact_type, artifact_id, version, source, path, raw, content, content_hash, usage_count, success_count, last_used_at, created_at)
           values ('prompt', $1, '1.0.0', $2, case when $2 = 'file' then 'prompts/' || $1 || '.json' end, '{}', '{}', 'h',
                   case when $4::interval is null then 0 else 3 end, 0, now() - $4::interval, now() - $3::interval)`,
          [id, source, created, lastUsed],
        );
      }
    }
    const left = async () =>
      (await db.query<{ id: string }>('select artifact_id as id from knowledge_artifacts order by artifact_id')).map((r) => r.id);

    it('deletes learned artifacts never used past --min-age or unused past --unused-for, and never a file artifact', async () => {
      await addArtifacts([
        ['file-never-used', 'file', '5 years', null],
        ['file-unused-for-years', 'file', '5 years', '4 years'],
        ['learned-never-used-inside', 'learned', '30 days' + INSIDE, null],
        ['learned-never-used-outside', 'learned', '30 days' + OUTSIDE, null],
        ['learned-unused-inside', 'learned', '1 year', '90 days' + INSIDE],
        ['learned-unused-outside', 'learned', '1 year', '90 days' + OUTSIDE],
        // Young and used: neither rule applies.
        ['learned-young-used', 'learned', '1 day', '1 hour'],
      ]);

      const first = await run(pruneArtifacts);
      expect(first.result).toEqual({ deleted: 2, kept_learned: 3 });
      expect(first.summary).toBe('deleted 2 unused learned artifacts (3 kept)');
      expect(await left()).toEqual([
        'file-never-used',
        'file-unused-for-years',
        'learned-never-used-inside',
        'learned-unused-inside',
        'learned-young-used',
      ]);

      const second = await run(pruneArtifacts);
      expect(second.summary).toBe('deleted 0 unused learned artifacts (3 kept)');
      expect(await left()).toHaveLength(5);
    });

    it('follows --unused-for and --min-age given on the command line', async () => {
      await addArtifacts([
        ['file-unused', 'file', '1 year', '1 year'],
        ['never-used-inside', 'learned', '36 hours' + INSIDE, null],
        ['never-used-outside', 'learned', '36 hours' + OUTSIDE, null],
        ['unused-inside', 'learned', '1 year', '14 days' + INSIDE],
        ['unused-outside', 'learned', '1 year', '14 days' + OUTSIDE],
      ]);
      const { result } = await run(pruneArtifacts, { unusedFor: '2w', minAge: '36h' });
      expect(result).toEqual({ deleted: 2, kept_learned: 2 });
      expect(await left()).toEqual(['file-unused', 'never-used-inside', 'unused-inside']);

      // 0s: every learned artifact is past both bounds; file artifacts stay.
      expect((await run(pruneArtifacts, { unusedFor: '0s', minAge: '0s' })).result).toEqual({ deleted: 2, kept_learned: 0 });
      expect(await left()).toEqual(['file-unused']);
    });

    it('refuses negative bounds when called from SQL', async () => {
      await expect(db.query(`select prune_artifacts('-1 day')`)).rejects.toThrow(/unused_for must not be negative/);
    });

    it('keeps the rules issue 6 relies on: one row per (type, id, version), a path exactly on file rows, uses counted consistently', async () => {
      await addArtifacts([['a', 'file', '1 day', null]]);
      await expect(addArtifacts([['a', 'learned', '1 day', null]])).rejects.toThrow(/knowledge_artifacts_identity/);
      const insert = (source: string, path: string | null, uses: number, lastUsed: string | null) =>
        db.query(
          `insert into knowledge_artifacts (artifact_type, artifact_id, version, source, path, raw, content_hash, usage_count, last_used_at)
           values ('prompt', 'b', '1', $1, $2, 'x', 'h', $3, now() - $4::interval)`,
          [source, path, uses, lastUsed],
        );
      await expect(insert('learned', 'b.json', 0, null)).rejects.toThrow(/knowledge_artifacts_path_check/);
      await expect(insert('file', null, 0, null)).rejects.toThrow(/knowledge_artifacts_path_check/);
      await expect(insert('elsewhere', null, 0, null)).rejects.toThrow(/source_check/);
      await expect(insert('learned', null, 2, null)).rejects.toThrow(/knowledge_artifacts_usage_check/);
      await insert('learned', null, 2, '1 hour');
    });
  });

  describe('prune-chunks', () => {
    beforeEach(async () => {
      await db.query('truncate code_files, code_chunks restart identity');
    });

    /** A file of a codebase with `chunks` chunks, marked deleted `deletedAgo` ago (null: live). */
    async function addFile(codebase: string, path: string, deletedAgo: string | null, chunks: number): Promise<number> {
      const [file] = await db.query<{ id: number }>(
        `insert into code_files (codebase, path, language, size_bytes, mtime, content_hash, deleted_at)
         values ($1, $2, 'typescript', 100, now() - interval '1 day', md5($2), now() - $3::interval) returning id`,
        [codebase, path, deletedAgo],
      );
      await db.query(
        `insert into code_chunks (file_id, codebase, start_line, end_line, kind, symbol, content, content_hash)
         select $1, $2, i * 10 + 1, i * 10 + 10, 'function', 'fn' || i, 'function fn' || i || '() {}', md5($3 || i)
           from generate_series(0, $4::int - 1) as i`,
        [file!.id, codebase, path, chunks],
      );
      return file!.id;
    }
    /** What is left: each file (codebase/path) with its number of chunks. */
    const left = async () =>
      Object.fromEntries(
        (
          await db.query<{ file: string; chunks: number }>(
            `select f.codebase || '/' || f.path as file, count(c.id)::int as chunks
               from code_files f left join code_chunks c on c.file_id = f.id group by f.id order by 1`,
          )
        ).map((r) => [r.file, r.chunks]),
      );
    const chunkCount = async () => (await db.query<{ n: number }>('select count(*)::int as n from code_chunks'))[0]!.n;

    it('deletes the files marked deleted past --deleted-for with all their chunks; keeps live and recently deleted ones', async () => {
      await addFile('app', 'live.ts', null, 3);
      await addFile('app', 'gone.ts', '2 days', 4);
      await addFile('app', 'empty.ts', '3 days', 0);
      await addFile('app', 'recent.ts', '1 hour', 2);
      await addFile('app', 'inside.ts', '1 day' + INSIDE, 2);
      await addFile('app', 'outside.ts', '1 day' + OUTSIDE, 3);
      await addFile('lib', 'live.ts', null, 2);
      // More chunks than a batch holds: the file still goes whole, in one batch.
      await addFile('lib', 'gone.ts', '10 days', 5);

      const first = await run(pruneChunks, { deletedFor: '1d', batchSize: '2' });
      expect(first.result).toEqual({ files: 4, chunks: 12 });
      expect(first.summary).toBe('removed 4 files marked deleted and 12 chunks');
      expect(await left()).toEqual({ 'app/inside.ts': 2, 'app/live.ts': 3, 'app/recent.ts': 2, 'lib/live.ts': 2 });

      // The default, 0s: every marked file goes; live files keep every chunk, unchanged.
      const liveChunks = () =>
        db.query(`select c.* from code_chunks c join code_files f on f.id = c.file_id where f.deleted_at is null order by c.id`);
      const before = await liveChunks();
      const second = await run(pruneChunks);
      expect(second.result).toEqual({ files: 2, chunks: 4 });
      expect(await left()).toEqual({ 'app/live.ts': 3, 'lib/live.ts': 2 });
      expect(await liveChunks()).toEqual(before);

      expect((await run(pruneChunks)).summary).toBe('removed 0 files marked deleted and 0 chunks');
    });

    it.each([1, 7, 5000])('removes everything due whatever the batch size (--batch-size %i)', async (batchSize) => {
      let due = 0;
      for (let i = 0; i < 20; i++) {
        const chunks = (i * 5) % 7; // 0..6, a few files without chunks
        await addFile('big', `f${i}.ts`, i % 4 === 0 ? null : '1 hour', chunks);
        if (i % 4 !== 0) due += chunks;
      }
      const { result } = await run<{ files: number; chunks: number }>(pruneChunks, { batchSize: String(batchSize) });
      expect(result).toEqual({ files: 15, chunks: due });
      expect(Object.keys(await left())).toEqual(['big/f0.ts', 'big/f12.ts', 'big/f16.ts', 'big/f4.ts', 'big/f8.ts']);
    });

    it('also deletes chunks whose file row is gone (loaded with foreign keys off)', async () => {
      await addFile('app', 'live.ts', null, 3);
      await db.withClient(async (client) => {
        await client.query('begin');
        // As pg_restore --disable-triggers does: the foreign key is not checked.
        await client.query('set local session_replication_role = replica');
        await client.query(
          `insert into code_chunks (file_id, codebase, start_line, end_line, kind, content, content_hash)
           values (9999, 'app', 1, 5, 'lines', 'orphan', 'h1'), (9999, 'app', 6, 9, 'lines', 'orphan', 'h2')`,
        );
        await client.query('commit');
      });
      expect(await chunkCount()).toBe(5);
      expect((await run(pruneChunks)).result).toEqual({ files: 0, chunks: 2 });
      expect(await left()).toEqual({ 'app/live.ts': 3 });
      expect(await chunkCount()).toBe(3);
    });

    it('keeps a chunk in its file\'s codebase, and deleting a file deletes its chunks', async () => {
      const id = await addFile('app', 'a.ts', null, 2);
      await expect(
        db.query(
          `insert into code_chunks (file_id, codebase, start_line, end_line, kind, content, content_hash) values ($1, 'other', 1, 2, 'lines', 'x', 'h')`,
          [id],
        ),
      ).rejects.toThrow(/code_chunks_file_fk/);
      await db.query('delete from code_files where id = $1', [id]);
      expect(await chunkCount()).toBe(0);
    });

    // PGlite serves one transaction at a time, so an ingest holding a row while prune runs needs a server.
    it.skipIf(backendName === 'embedded')('passes by a file that ingest is bringing back, which keeps its chunks', async () => {
      const back = await addFile('app', 'back.ts', '2 days', 3);
      await addFile('app', 'gone.ts', '2 days', 2);
      const ingest = await db.pool.connect();
      try {
        await ingest.query('begin');
        await ingest.query('update code_files set deleted_at = null, ingested_at = now() where id = $1', [back]);
        // prune-chunks finishes while ingest still holds the file: it neither waits nor deletes it.
        expect((await run(pruneChunks)).result).toEqual({ files: 1, chunks: 2 });
        await ingest.query('commit');
      } finally {
        ingest.release();
      }
      expect(await left()).toEqual({ 'app/back.ts': 3 });
      expect((await run(pruneChunks)).result).toEqual({ files: 0, chunks: 0 });
    });

    it('refuses a batch below 1 or a negative bound when called from SQL', async () => {
      await expect(db.query(`call prune_chunks('0 seconds', 0, null)`)).rejects.toThrow(/batch must be at least 1/);
      await expect(db.query(`call prune_chunks('-1 day', 10, null)`)).rejects.toThrow(/deleted_for must not be negative/);
    });
  });
});
