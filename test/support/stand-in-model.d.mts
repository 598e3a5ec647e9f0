// Types of stand-in-model.mjs (plain JavaScript, so that benchmarks can import it too).

export interface StandInOptions {
  /** The model id: the folder under `dir`, and what the embedder reports. */
  modelId?: string;
  /** Encoder layers. */
  layers?: number;
  /** Hidden size: the dimension of the vectors. */
  hidden?: number;
  /** Attention heads (must divide `hidden`). */
  heads?: number;
  /** Width of the feed-forward layer. */
  intermediate?: number;
  /** Position embeddings, and so the longest input in tokens. */
  maxPositions?: number;
  /** PRNG seed for the weights. */
  seed?: number;
}

export interface StandInModel {
  /** What to set as the embedding `modelDir` (the `dir` given). */
  modelDir: string;
  modelId: string;
  dimension: number;
  maxTokens: number;
}

/** Writes the stand-in model into `<dir>/<modelId>/`. */
export function buildStandInModel(dir: string, options?: StandInOptions): StandInModel;
