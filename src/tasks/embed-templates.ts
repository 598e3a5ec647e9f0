import { z } from 'zod';
import { SingularityError } from '../core/errors.js';
import { withEmbedder } from '../embed/transformers.js';
import { embedPendingArtifacts, type EmbedReport } from '../knowledge/embed.js';
import { defineTask } from '../core/task/define.js';

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
    return withEmbedder(config.embedding, {}, ({ embedder, missing }) => {
      // The run records the message only, so the way out goes into it too.
      if (missing) throw new SingularityError(`no embedding model: ${missing.reason}\n${missing.hint}`, { hint: missing.hint });
      return embedPendingArtifacts(db, embedder, { all: args.all, signal, progress });
    });
  },
  summarize: (r: EmbedReport) =>
    `embedded ${r.embedded} artifacts (${r.computed} computed, ${r.embedded - r.computed} from cache${r.truncated ? `, ${r.truncated} truncated to the model's limit` : ''}) ` +
    `with ${r.model} (${r.dimension} dimensions); ${r.index ? `HNSW index ${r.index}` : `no vector index: ${r.exactOnly}`}`,
});
