import { z } from 'zod';
import { SingularityError } from '../core/errors.js';
import { withEmbedder } from '../embed/transformers.js';
import { ensureVectorIndex, vectorSupport } from '../vectors/vectors.js';
import { search } from '../search/search.js';
import { defineTask, type StepsOutcome } from '../core/task/define.js';

export interface SetupRagResult {
  steps: StepsOutcome['steps'];
  vectorIndexes: string[];
  /** Why there is no vector index, when there is none. */
  noVectorIndexBecause?: string;
  smokeTest: { query: string; hits: number; mode: string; first: string };
}

export default defineTask({
  name: 'setup-rag',
  summary: 'The whole retrieval set-up: knowledge, templates, ingest, embeddings, graph, ranking, vector indexes, then a real search',
  description:
    'A flow: runs migrate-knowledge, load-templates, ingest (of --path), embed-templates (when a model is available), ' +
    'populate-graph and rank-graph, each a run of its own naming this run as its parent, and stops at the first that ' +
    'fails; then creates the vector indexes where pgvector exists and runs a real search that must find something. ' +
    "Under 'singularity setup' a step the set-up flow already did is not run again. Every step is cheap when nothing " +
    'changed, so running it again after a failure carries on where it stopped.',
  engine: 'node',
  setupOrder: 6,
  positional: 'path',
  args: z.object({
    path: z.string().min(1).default('.').describe('the codebase to ingest'),
    id: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$/, 'letters, digits, . _ -').optional().describe("the codebase's id (default: the folder's name)"),
    query: z.string().min(1).default('how are errors handled').describe('the smoke test\'s search'),
  }),
  timeoutMs: 12 * 60 * 60_000,
  // Each step with its flags' defaults, but ingest's folder and id; embed-templates where a model loads
  // (without one, the result says so where it names no vector index).
  steps: ({ args, config }) => withEmbedder(config.embedding, {}, ({ embedder }) => [
    { task: 'migrate-knowledge' },
    { task: 'load-templates' },
    { task: 'ingest', args: { path: args.path, ...(args.id && { id: args.id }) } },
    ...(embedder ? [{ task: 'embed-templates' }] : []),
    { task: 'populate-graph' },
    { task: 'rank-graph' },
  ]),
  async run({ args, db, config, steps, progress }) {
    return withEmbedder(config.embedding, {}, async ({ embedder, missing }) => {
      const result: SetupRagResult = { steps: steps!.steps, vectorIndexes: [], smokeTest: { query: args.query, hits: 0, mode: '', first: '' } };
      const support = embedder ? await vectorSupport(db, { create: true }) : { pgvector: false, reason: `no embedding model: ${missing!.reason}` };
      if (embedder && support.pgvector) {
        for (const table of ['knowledge_artifacts', 'code_chunks'] as const) {
          const made = await ensureVectorIndex(db, table, embedder.model, embedder.dimension);
          if (made.index) result.vectorIndexes.push(made.index);
        }
      }
      if (!result.vectorIndexes.length) result.noVectorIndexBecause = support.reason ?? 'nothing is embedded yet';
      progress(`searching for '${args.query}'`);
      const found = await search(db, args.query, { limit: 5, embedder });
      const first = found.hits[0];
      result.smokeTest = { query: args.query, hits: found.hits.length, mode: found.mode, first: first ? `${first.collection}:${first.path ?? first.symbol}` : '' };
      if (!found.hits.length) {
        throw new SingularityError(`setup-rag: the smoke test's search for '${args.query}' found nothing`, {
          hint: 'Check the ingest and migrate-knowledge runs above, or give a --query that the code or the knowledge base answers.',
        });
      }
      return result;
    });
  },
  summarize: (r: SetupRagResult) =>
    `${r.steps.map((s) => `${s.task} ${s.state} (run ${s.runId})`).join(', ')}; ` +
    `${r.vectorIndexes.length ? `vector indexes ${r.vectorIndexes.join(', ')}` : `no vector index (${r.noVectorIndexBecause})`}; ` +
    `search '${r.smokeTest.query}' (${r.smokeTest.mode}): ${r.smokeTest.hits} hits, first ${r.smokeTest.first}`,
});
