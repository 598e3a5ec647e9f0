import { resolve } from 'node:path';
import { z } from 'zod';
import { SingularityError } from '../core/errors.js';
import { isEmbedder, loadEmbedder } from '../embed/transformers.js';
import { ensureVectorIndex, vectorSupport } from '../embed/vectors.js';
import { search } from '../search/search.js';
import { defineTask } from './define.js';

export interface SetupRagResult {
  steps: Array<{ task: string; runId: number; state: string; summary: string | null }>;
  vectorIndexes: string[];
  /** Why there is no vector index, when there is none. */
  noVectorIndexBecause?: string;
  smokeTest: { query: string; hits: number; mode: string; first: string };
}

export default defineTask({
  name: 'setup-rag',
  summary: 'The whole retrieval set-up: knowledge, templates, ingest, embeddings, graph, ranking, vector indexes, then a real search',
  description:
    'Runs migrate-knowledge, load-templates, ingest (of --path), embed-templates (when a model is available), ' +
    'populate-graph and rank-graph, each a run of its own in the run history, stops at the first that fails, then ' +
    'creates the vector indexes where pgvector exists and runs a real search that must find something. Every step ' +
    'is cheap when nothing changed, so running it again after a failure carries on where it stopped.',
  engine: 'node',
  setupOrder: 6,
  positional: 'path',
  args: z.object({
    path: z.string().min(1).default('.').describe('the codebase to ingest'),
    id: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$/, 'letters, digits, . _ -').optional().describe("the codebase's id (default: the folder's name)"),
    query: z.string().min(1).default('how are errors handled').describe('the smoke test\'s search'),
  }),
  timeoutMs: 12 * 60 * 60_000,
  async run({ args, db, config, signal, progress, trigger, runId }) {
    const { findTask } = await import('./index.js');
    const { runTask } = await import('../core/runner.js');
    const embedder = await loadEmbedder(config.embedding);
    // Each step with its flags' defaults, but ingest's folder and id.
    const steps: Array<[string, Record<string, unknown>]> = [
      ['migrate-knowledge', {}],
      ['load-templates', {}],
      ['ingest', { path: resolve(args.path), ...(args.id && { id: args.id }) }],
      ...(isEmbedder(embedder) ? [['embed-templates', {}] as [string, Record<string, unknown>]] : []),
      ['populate-graph', {}],
      ['rank-graph', {}],
    ];
    const result: SetupRagResult = { steps: [], vectorIndexes: [], smokeTest: { query: args.query, hits: 0, mode: '', first: '' } };
    try {
      for (const [name, stepArgs] of steps) {
        signal.throwIfAborted();
        progress(`${name}`);
        const task = findTask(name)!;
        const run = await runTask({ db, config }, task, {
          trigger, parentRunId: runId, args: task.args.parse(stepArgs), signal, onProgress: (message, share) => progress(`${name}: ${message}`, share),
        });
        result.steps.push({ task: name, runId: run.id, state: run.state, summary: run.summary });
        if (run.state !== 'completed') {
          throw new SingularityError(`setup-rag stopped at ${name} (run ${run.id}, ${run.state}): ${run.error?.message ?? run.reason ?? ''}`, {
            hint: `Look at 'singularity runs show ${run.id}', fix the cause, and run setup-rag again: the done steps cost little.`,
          });
        }
      }
      const support = isEmbedder(embedder) ? await vectorSupport(db, { create: true }) : { pgvector: false, reason: `no embedding model: ${embedder.reason}` };
      if (isEmbedder(embedder) && support.pgvector) {
        for (const table of ['knowledge_artifacts', 'code_chunks'] as const) {
          const made = await ensureVectorIndex(db, table, embedder.model, embedder.dimension);
          if (made.index) result.vectorIndexes.push(made.index);
        }
      }
      if (!result.vectorIndexes.length) result.noVectorIndexBecause = support.reason ?? 'nothing is embedded yet';
      const found = await search(db, args.query, { limit: 5, embedder: isEmbedder(embedder) ? embedder : undefined });
      const first = found.hits[0];
      result.smokeTest = { query: args.query, hits: found.hits.length, mode: found.mode, first: first ? `${first.collection}:${first.path ?? first.symbol}` : '' };
      if (!found.hits.length) {
        throw new SingularityError(`setup-rag: the smoke test's search for '${args.query}' found nothing`, {
          hint: 'Check the ingest and migrate-knowledge runs above, or give a --query that the code or the knowledge base answers.',
        });
      }
      return result;
    } finally {
      if (isEmbedder(embedder)) await embedder.dispose();
    }
  },
  summarize: (r: SetupRagResult) =>
    `${r.steps.map((s) => `${s.task} ${s.state} (run ${s.runId})`).join(', ')}; ` +
    `${r.vectorIndexes.length ? `vector indexes ${r.vectorIndexes.join(', ')}` : `no vector index (${r.noVectorIndexBecause})`}; ` +
    `search '${r.smokeTest.query}' (${r.smokeTest.mode}): ${r.smokeTest.hits} hits, first ${r.smokeTest.first}`,
});
