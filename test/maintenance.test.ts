// reindex and vector-stats on real databases: the bloated index is found and rebuilt concurrently,
// the healthy one is left alone; vector statistics where pgvector exists, a plain answer where not.
import { describe, expect, it } from 'vitest';
import type { Database } from '../src/core/database.js';
import { runTask } from '../src/core/runner.js';
import reindex from '../src/tasks/reindex.js';
import vectorStats from '../src/tasks/vector-stats.js';
import { backendNames, onBackend, type Backend } from './support/backends.js';

describe.each(backendNames)('maintenance tasks on %s', (backendName) => {
  let backend: Backend;
  let db: Database;
  const ctx = () => ({ db, config: backend.config });

  onBackend(backendName, (opened) => ({ backend, db } = opened));

  const sizeOf = async (index: string) =>
    (await db.query<{ bytes: number }>(`select pg_relation_size($1::regclass)::int as bytes`, [index]))[0]!.bytes;

  it('reindex rebuilds exactly the bloated index, concurrently, and it shrinks', async () => {
    await db.query(`create table churn (id int primary key, label text not null)`);
    await db.query(`create index churn_label_idx on churn (label)`);
    await db.query(`create table steady (id int primary key, label text not null)`);
    await db.query(`create index steady_label_idx on steady (label)`);
    await db.query(`insert into churn select g, md5(g::text) from generate_series(1, 40000) g`);
    await db.query(`insert into steady select g, md5(g::text) from generate_series(1, 40000) g`);
    await db.query(`delete from churn where id % 20 <> 0`); // 95 % of the entries are dead
    await db.query(`vacuum analyze churn`);
    await db.query(`analyze steady`);
    const before = await sizeOf('churn_label_idx');

    const run = await runTask(ctx(), reindex, { trigger: 'cli', args: reindex.args.parse({ minSizeMb: 0.5 }) });
    expect(run.state, JSON.stringify(run.error)).toBe('completed');
    const result = run.result as { planned: number; ran: Array<{ index_name: string; statement: string; bloat: number }> };
    const rebuilt = result.ran.map((r) => r.index_name);
    expect(rebuilt).toContain('churn_label_idx');
    expect(rebuilt).not.toContain('steady_label_idx');
    expect(result.ran.find((r) => r.index_name === 'churn_label_idx')!.statement).toBe('REINDEX INDEX CONCURRENTLY public.churn_label_idx');
    expect(await sizeOf('churn_label_idx')).toBeLessThan(before / 4);
    expect(reindex.summarize!(run.result)).toMatch(/^rebuilt \d+ of \d+ bloated indexes: .*churn_label_idx \(\d+(\.\d+)?x\)/);

    // Rebuilt, it is no longer bloated: a second run finds nothing of it.
    const again = await runTask(ctx(), reindex, { trigger: 'cli', args: reindex.args.parse({ minSizeMb: 0.5 }) });
    expect((again.result as { ran: Array<{ index_name: string }> }).ran.map((r) => r.index_name)).not.toContain('churn_label_idx');
  });

  it('reindex with nothing bloated says so', async () => {
    const run = await runTask(ctx(), reindex, { trigger: 'cli', args: reindex.args.parse({ minBloat: 1000 }) });
    expect(run.state).toBe('completed');
    expect(run.result).toEqual({ planned: 0, ran: [] });
    expect(reindex.summarize!(run.result)).toBe('no index bloated enough to rebuild');
  });

  it('vector-stats analyzes the tables with vector columns and reports their indexes, or says pgvector is missing', async () => {
    const [{ pgvector }] = (await db.query<{ pgvector: boolean }>(
      `select exists (select 1 from pg_available_extensions where name = 'vector') as pgvector`,
    )) as [{ pgvector: boolean }];
    if (pgvector) {
      await db.query('create extension if not exists vector');
      await db.query('create table embedded_things (id int primary key, embedding vector(3))');
      await db.query(`insert into embedded_things select g, array[g, g * 2, g * 3]::vector from generate_series(1, 500) g`);
      await db.query('create index embedded_things_hnsw on embedded_things using hnsw (embedding vector_l2_ops) with (m = 8)');
    }
    const run = await runTask(ctx(), vectorStats, { trigger: 'cli', args: {} });
    expect(run.state, JSON.stringify(run.error)).toBe('completed');
    if (!pgvector) {
      expect(run.result).toEqual({ pgvector: false, tables: [], indexes: [] });
      expect(vectorStats.summarize!(run.result)).toMatch(/pgvector is not installed/);
      return;
    }
    const result = run.result as { tables: Array<{ table: string; rows: number }>; indexes: Array<{ index: string; method: string; options: string[] }> };
    expect(result.tables).toEqual([{ table: 'embedded_things', rows: 500 }]);
    expect(result.indexes).toEqual([expect.objectContaining({ index: 'embedded_things_hnsw', method: 'hnsw', options: ['m=8'] })]);
  });
});
