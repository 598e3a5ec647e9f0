import { z } from 'zod';
import { SingularityError } from '../core/errors.js';
import { isEmbedder, loadEmbedder } from '../embed/transformers.js';
import { embedPendingArtifacts, type EmbedReport } from '../knowledge/embed.js';
import { defineTask } from './define.js';

export default defineTask({
  name: 'embed-templates',
  summary: "Embed the knowledge artifacts that have no embedding, another model's, or one of an older text",
  description:
    'Embeds with the configured model (embedding.model), through the embedding cache, and records the model and ' +
    'dimension with every vector. Where pgvector exists it keeps an HNSW index per model; without it, search is exact. ' +
    'Fails when no model can be loaded, saying where it looked.',
  engine: 'node',
  schedule: '0 5 * * 0',
  args: z.object({
    all: z.boolean().default(false).describe('re-embed every artifact, not only the pending ones (still through the cache)'),
  }),
  timeoutMs: 6 * 60 * 60_000,
  async run({ args, db, config, signal, progress }) {
    progress(`loading the embedding model ${config.embedding.model}`);
    const embedder = await loadEmbedder(config.embedding);
    // The run records the message only, so the way out goes into it too.
    if (!isEmbedder(embedder)) throw new SingularityError(`no embedding model: ${embedder.reason}\n${embedder.hint}`, { hint: embedder.hint });
    try {
      return await embedPendingArtifacts(db, embedder, { all: args.all, signal, progress });
    } finally {
      await embedder.dispose();
    }
  },
  summarize: (r: EmbedReport) =>
    `embedded ${r.embedded} artifacts (${r.computed} computed, ${r.embedded - r.computed} from cache${r.truncated ? `, ${r.truncated} truncated to the model's limit` : ''}) ` +
    `with ${r.model} (${r.dimension} dimensions); ${r.index ? `HNSW index ${r.index}` : `no vector index: ${r.exactOnly}`}`,
});
