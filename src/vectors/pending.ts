// The one way rows get their vectors: read the pending rows in id order, a batch at a time (the next
// batch is read while the model works), give each row a vector its text already has somewhere (a
// target says where), let the model embed each other text once, and store every row's vector.
import type { Database } from '../core/database.js';
import type { Embedder } from '../embed/embedder.js';
import type { Progress } from '../core/task/define.js';

/** A row without a vector of the model: `key` is the sha256 of `text`. */
export interface PendingRow {
  id: number;
  text: string;
  key: string;
}

/** What is pending where, and where a text's vector may already be. */
export interface PendingTarget<R extends PendingRow> {
  /** What a row is, for the progress line ("chunks", "artifacts"). */
  noun: string;
  count(model: string): Promise<number>;
  /** Up to `limit` pending rows with an id above `afterId`, in id order. */
  read(model: string, afterId: number, limit: number): Promise<R[]>;
  /** Vectors this model already made for some of these keys. */
  known(model: string, keys: string[]): Promise<Map<string, number[]>>;
  /** Keep what the model computed now for later runs (a cache), when the target has one. */
  remember?(model: string, dimension: number, computed: Array<{ key: string; vector: number[] }>): Promise<void>;
  store(model: string, dimension: number, rows: Array<R & { vector: number[] }>): Promise<void>;
}

export interface PendingReport {
  /** Rows that got a vector. */
  embedded: number;
  /** Texts the model embedded for them (the others had a vector already). */
  computed: number;
  truncated: number;
}

const BATCH = 256;

export async function embedPending<R extends PendingRow>(
  target: PendingTarget<R>,
  embedder: Embedder,
  options: { signal?: AbortSignal; progress?: Progress } = {},
): Promise<PendingReport> {
  const { model, dimension } = embedder;
  const total = await target.count(model);
  const report: PendingReport = { embedded: 0, computed: 0, truncated: 0 };
  let next = target.read(model, 0, BATCH);
  try {
    for (;;) {
      const rows = await next;
      if (!rows.length) break;
      next = target.read(model, rows.at(-1)!.id, BATCH);
      next.catch(() => {}); // awaited above; not an unhandled rejection meanwhile
      options.signal?.throwIfAborted();
      const keys = [...new Set(rows.map((r) => r.key))];
      const vectors = await target.known(model, keys);
      const textOf = new Map(rows.map((r) => [r.key, r.text]));
      const missing = keys.filter((key) => !vectors.has(key));
      if (missing.length) {
        const result = await embedder.embed(missing.map((key) => textOf.get(key)!), { signal: options.signal });
        const computed = missing.map((key, i) => ({ key, vector: Array.from(result.vectors[i]!) }));
        for (const { key, vector } of computed) vectors.set(key, vector);
        await target.remember?.(model, dimension, computed);
        report.computed += missing.length;
        report.truncated += result.truncated;
      }
      await target.store(model, dimension, rows.map((r) => ({ ...r, vector: vectors.get(r.key)! })));
      report.embedded += rows.length;
      options.progress?.(`embedded ${report.embedded} of ${total} ${target.noun}`, total ? Math.min(1, report.embedded / total) : undefined);
    }
  } finally {
    await next.catch(() => {});
  }
  return report;
}
