// The stand-in model built in a folder and loaded the way the product loads a model.
import { join } from 'node:path';
import type { Embedder } from '../../src/embed/embedder.js';
import { isEmbedder, loadEmbedder } from '../../src/embed/transformers.js';
import { buildStandInModel } from './stand-in-model.mjs';

export async function loadStandInEmbedder(dir: string, batchSize = 16): Promise<Embedder> {
  const model = buildStandInModel(join(dir, 'models'));
  const loaded = await loadEmbedder({ model: model.modelId, modelDir: model.modelDir, batchSize }, { allowDownload: false });
  if (!isEmbedder(loaded)) throw new Error(loaded.reason);
  return loaded;
}
