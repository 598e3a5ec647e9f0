// What the knowledge base and ingest need of an embedding model, whatever runs it.

export interface EmbedResult {
  /** One unit-length vector per text, in input order, each of `dimension` numbers. */
  vectors: Float32Array[];
  /** How many of the texts were longer than the model's token limit and were cut to it. */
  truncated: number;
}

export interface Embedder {
  /** The model id recorded with every vector (vectors of different models are never compared). */
  readonly model: string;
  readonly dimension: number;
  /** The longest input, in tokens, the model reads; longer texts are truncated (and counted). */
  readonly maxTokens: number;
  /** Embeds texts in batches of the configured size. */
  embed(texts: readonly string[], options?: { signal?: AbortSignal }): Promise<EmbedResult>;
  /** Tokens of a text as the model counts them (chunkers size their chunks by it). */
  countTokens(text: string): number;
  /** Frees the model's native session. */
  dispose(): Promise<void>;
}

/** Why no model could be loaded: said once, and the work goes on without embeddings. */
export interface NoEmbedder {
  model: string;
  reason: string;
  /** What the operator can do about it. */
  hint: string;
}
