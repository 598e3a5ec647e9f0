// The embedding cache: vectors by (model, sha256 of the text), kept across runs, so that a knowledge
// text the model embedded once is never embedded again (code chunks reuse their codebase's own rows).
import { createHash } from 'node:crypto';
import type { Database } from '../core/database.js';

export const textHash = (text: string) => createHash('sha256').update(text).digest('hex');

/** The vectors the cache holds for these text hashes, by hash. */
export async function cachedVectors(db: Database, model: string, hashes: readonly string[]): Promise<Map<string, number[]>> {
  const rows = await db.query<{ hash: string; embedding: number[] }>(
    'select text_hash as hash, embedding from embedding_cache where model = $1 and text_hash = any($2::text[])',
    [model, hashes],
  );
  return new Map(rows.map((r) => [r.hash, r.embedding]));
}

export async function rememberVectors(db: Database, model: string, dimension: number, computed: ReadonlyArray<{ key: string; vector: number[] }>): Promise<void> {
  if (!computed.length) return;
  await db.query(
    `insert into embedding_cache (model, text_hash, dimension, embedding)
     select $1, x.h, $2, x.e from jsonb_to_recordset($3::jsonb) as x(h text, e real[])
     on conflict (model, text_hash) do nothing`,
    [model, dimension, JSON.stringify(computed.map(({ key, vector }) => ({ h: key, e: vector })))],
  );
}
