// Vectors in the database: plain real[] columns (embedding, embedding_model, embedding_dim) everywhere;
// where pgvector exists, a partial HNSW index per model over embedding::vector(dim), so one index never
// mixes models or dimensions. Without pgvector, search is exact: a dot product over the model's rows.
import { createHash } from 'node:crypto';
import type { Database } from '../core/database.js';

/** Tables with embedding columns. */
export type VectorTable = 'knowledge_artifacts' | 'code_chunks';

export interface VectorSupport {
  pgvector: boolean;
  /** Why not, when not. */
  reason?: string;
}

/** Is pgvector usable here? With create, creates the extension when the server has it but it is not created yet. */
export async function vectorSupport(db: Database, options: { create: boolean }): Promise<VectorSupport> {
  const [row] = await db.query<{ available: boolean; installed: boolean }>(
    `select exists (select 1 from pg_available_extensions where name = 'vector') as available,
            exists (select 1 from pg_extension where extname = 'vector') as installed`,
  );
  if (row!.installed) return { pgvector: true };
  if (!row!.available || !options.create) return { pgvector: false, reason: `pgvector is not ${row!.available ? 'created in this database' : 'installed on this server'}: vector search is exact, over every row, with no HNSW index` };
  try {
    await db.query('create extension if not exists vector');
    return { pgvector: true };
  } catch (error) {
    return { pgvector: false, reason: `pgvector is available but could not be created (${(error as Error).message}): vector search is exact` };
  }
}

/** The name of a table's index for one model: stable, and short enough for PostgreSQL's 63 bytes. */
export function vectorIndexName(table: VectorTable, model: string): string {
  return `${table}_hnsw_${createHash('sha256').update(model).digest('hex').slice(0, 12)}`;
}

const literal = (text: string) => `'${text.replace(/'/g, "''")}'`;

/** Create the model's HNSW index where pgvector exists (a no-op when it does already). */
export async function ensureVectorIndex(db: Database, table: VectorTable, model: string, dimension: number): Promise<{ index?: string; reason?: string }> {
  const support = await vectorSupport(db, { create: true });
  if (!support.pgvector) return { reason: support.reason };
  if (!Number.isInteger(dimension) || dimension < 1) throw new Error(`bad vector dimension ${dimension}`);
  const index = vectorIndexName(table, model);
  // CREATE INDEX takes no parameters: the model id goes in as a quoted literal.
  await db.query(
    `create index if not exists ${index} on ${table} using hnsw ((embedding::vector(${dimension})) vector_cosine_ops)
     where embedding_model = ${literal(model)}`,
  );
  return { index };
}

/** Drop the indexes of models no row has any more (after a model change re-embedded everything). */
export async function dropUnusedVectorIndexes(db: Database, table: VectorTable): Promise<string[]> {
  const indexes = await db.query<{ name: string; definition: string }>(
    `select indexname as name, indexdef as definition from pg_indexes where tablename = $1 and indexname like $2`,
    [table, `${table}\\_hnsw\\_%`],
  );
  const dropped: string[] = [];
  for (const { name, definition } of indexes) {
    const model = /embedding_model = '((?:[^']|'')*)'::text/.exec(definition)?.[1]?.replace(/''/g, "'");
    if (model === undefined) continue;
    const [row] = await db.query<{ used: boolean }>(`select exists (select 1 from ${table} where embedding_model = $1) as used`, [model]);
    if (row!.used) continue;
    await db.query(`drop index if exists ${name}`);
    dropped.push(name);
  }
  return dropped;
}

export interface Neighbour {
  id: number;
  /** Cosine similarity, 1 = same direction. */
  similarity: number;
}

/** The rows of `model` nearest to `vector`, best first; the HNSW index where there is one, exact otherwise. */
export async function nearest(db: Database, table: VectorTable, model: string, vector: ArrayLike<number>, limit: number): Promise<Neighbour[]> {
  const values = Array.from(vector);
  const { pgvector } = await vectorSupport(db, { create: false });
  if (pgvector) {
    const dim = values.length;
    return db.query<Neighbour>(
      `select id, 1 - (embedding::vector(${dim}) <=> $2::vector(${dim})) as similarity
       from ${table} where embedding_model = $1
       order by embedding::vector(${dim}) <=> $2::vector(${dim}) limit $3`,
      [model, `[${values.join(',')}]`, limit],
    );
  }
  // Unit-length vectors: the dot product is the cosine similarity.
  return db.query<Neighbour>(
    `select id, similarity from (
       select id, (select sum(a * b) from unnest(embedding, $2::real[]) as v(a, b)) as similarity
       from ${table} where embedding_model = $1) scored
     order by similarity desc, id limit $3`,
    [model, values, limit],
  );
}
