// Embedding through the cache: a text already embedded by a model is looked up by (model, sha256 of the
// text), never embedded again. Knowledge artifacts and code chunks share it.
import { createHash } from 'node:crypto';
import type { Database } from '../core/db.js';
import type { Embedder } from './embedder.js';

export interface CachedEmbedResult {
  vectors: number[][];
  /** Each text's hash, its key in the cache. */
  hashes: string[];
  /** Texts the model embedded now (the rest came from the cache, or were repeats within the call). */
  computed: number;
  cached: number;
  truncated: number;
}

export const textHash = (text: string) => createHash('sha256').update(text).digest('hex');

export async function embedWithCache(db: Database, embedder: Embedder, texts: readonly string[], signal?: AbortSignal): Promise<CachedEmbedResult> {
  const hashes = texts.map(textHash);
  const unique = [...new Set(hashes)];
  const rows = await db.query<{ hash: string; embedding: number[] }>(
    'select text_hash as hash, embedding from embedding_cache where model = $1 and text_hash = any($2::text[])',
    [embedder.model, unique],
  );
  const known = new Map(rows.map((r) => [r.hash, r.embedding]));
  const missing = unique.filter((h) => !known.has(h));
  let truncated = 0;
  if (missing.length) {
    const textOf = new Map(hashes.map((h, i) => [h, texts[i]!]));
    const result = await embedder.embed(missing.map((h) => textOf.get(h)!), { signal });
    truncated = result.truncated;
    const vectors = result.vectors.map((v) => Array.from(v));
    missing.forEach((h, i) => known.set(h, vectors[i]!));
    await db.query(
      `insert into embedding_cache (model, text_hash, dimension, embedding)
       select $1, x.h, $2, x.e from jsonb_to_recordset($3::jsonb) as x(h text, e real[])
       on conflict (model, text_hash) do nothing`,
      [embedder.model, embedder.dimension, JSON.stringify(missing.map((h, i) => ({ h, e: vectors[i] })))],
    );
  }
  return { vectors: hashes.map((h) => known.get(h)!), hashes, computed: missing.length, cached: unique.length - missing.length, truncated };
}
