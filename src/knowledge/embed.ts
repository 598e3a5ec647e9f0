// Embedding the knowledge base: every artifact without a vector, with another model's, or whose text
// changed since it was embedded. Vectors come through the cache, so unchanged text is never embedded twice.
import type { Database } from '../core/database.js';
import { cachedVectors, rememberVectors, textHash } from '../vectors/cache.js';
import { embedPending, type PendingRow, type PendingTarget } from '../vectors/pending.js';
import type { Embedder } from '../embed/embedder.js';
import type { Progress } from '../core/task/define.js';
import { dropUnusedVectorIndexes, ensureVectorIndex } from '../vectors/vectors.js';

export interface EmbedReport {
  model: string;
  dimension: number;
  /** Artifacts that got a (new) vector. */
  embedded: number;
  /** Of those, how many the model computed now (the rest came from the cache). */
  computed: number;
  truncated: number;
  /** The HNSW index used for this model, or why there is none. */
  index?: string;
  exactOnly?: string;
}

/** What gets embedded of an artifact: its title and description first, then every other text it holds. */
export function artifactText(row: { type: string; id: string; raw: string; content: unknown }): string {
  if (row.content === null || typeof row.content !== 'object') return `${row.type} ${row.id}\n${row.raw}`;
  const { name, description, ...rest } = row.content as Record<string, unknown>;
  const texts: string[] = [];
  const collect = (value: unknown, key?: string): void => {
    if (key === '$schema' || key === 'id' || key === 'version') return;
    if (typeof value === 'string') texts.push(value);
    else if (Array.isArray(value)) value.forEach((v) => collect(v));
    else if (value && typeof value === 'object') for (const [k, v] of Object.entries(value)) collect(v, k);
  };
  collect(rest);
  return [`${row.type}: ${String(name ?? row.id)}`, String(description ?? ''), ...texts].filter(Boolean).join('\n');
}

/** Rows still to embed for a model: no vector, another model's, or made from an older text. */
export const PENDING = `embedding is null or embedding_model <> $1 or embedded_hash <> content_hash`;

export async function countPending(db: Database, model: string): Promise<number> {
  const [row] = await db.query<{ n: number }>(`select count(*)::int as n from knowledge_artifacts where ${PENDING}`, [model]);
  return row!.n;
}

export async function embedPendingArtifacts(
  db: Database,
  embedder: Embedder,
  options: { all?: boolean; signal?: AbortSignal; progress?: Progress } = {},
): Promise<EmbedReport> {
  const all = Boolean(options.all);
  const target: PendingTarget<PendingRow & { hash: string }> = {
    noun: 'artifacts',
    count: async (model) => {
      const [row] = await db.query<{ n: number }>(`select count(*)::int as n from knowledge_artifacts where $2 or ${PENDING}`, [model, all]);
      return row!.n;
    },
    read: async (model, afterId, limit) => {
      const rows = await db.query<{ id: number; type: string; artifactId: string; raw: string; content: unknown; hash: string }>(
        `select id, artifact_type as type, artifact_id as "artifactId", raw, content, content_hash as hash from knowledge_artifacts
         where id > $2 and ($3 or ${PENDING}) order by id limit ${limit}`,
        [model, afterId, all],
      );
      return rows.map((r) => {
        const text = artifactText({ ...r, id: r.artifactId });
        return { id: r.id, hash: r.hash, text, key: textHash(text) };
      });
    },
    // The embedding cache: unchanged text is never embedded twice, even after --all or a reload.
    known: (model, keys) => cachedVectors(db, model, keys),
    remember: (model, dimension, computed) => rememberVectors(db, model, dimension, computed),
    // The hash guard keeps a vector off a row whose text changed while it was being embedded.
    store: async (model, dimension, rows) => {
      await db.query(
        `update knowledge_artifacts k set embedding = x.e, embedding_model = $1, embedding_dim = $2, embedded_hash = x.h
         from jsonb_to_recordset($3::jsonb) as x(id bigint, h text, e real[])
         where k.id = x.id and k.content_hash = x.h`,
        [model, dimension, JSON.stringify(rows.map((r) => ({ id: r.id, h: r.hash, e: r.vector })))],
      );
    },
  };
  const embedded = await embedPending(target, embedder, options);
  const report: EmbedReport = { model: embedder.model, dimension: embedder.dimension, ...embedded };
  const index = await ensureVectorIndex(db, 'knowledge_artifacts', embedder.model, embedder.dimension);
  await dropUnusedVectorIndexes(db, 'knowledge_artifacts');
  if (index.index) report.index = index.index;
  else report.exactOnly = index.reason;
  return report;
}
