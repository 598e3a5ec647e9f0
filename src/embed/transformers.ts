// The embedding model, run by transformers.js (onnxruntime on the CPU): sentence-transformers'
// recipe of mean pooling over the tokens and L2 normalisation, in fp32.
//
// Where the model comes from, in order:
//   1. config.embedding.modelDir (SINGULARITY_MODEL_DIR) set: <modelDir>/<model id>/ and nothing else.
//   2. transformers.js's cache (options.cacheDir, default its own), which has the same layout.
//   3. A download from the Hugging Face Hub into that cache, unless downloads are off
//      (options.allowDownload === false, HF_HUB_OFFLINE=1 or SINGULARITY_OFFLINE=1).
// No model is not an error: loadEmbedder returns a NoEmbedder saying where it looked, and the work
// goes on without embeddings. A model that is found but fails to load is reported the same way, with
// the loader's message, so that loading the knowledge base still succeeds.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { PreTrainedModel, PreTrainedTokenizer, Tensor } from '@huggingface/transformers';
import type { Config } from '../core/config.js';
import { SingularityError } from '../core/errors.js';
import type { Embedder, EmbedResult, NoEmbedder } from './embedder.js';

export interface LoadEmbedderOptions {
  /** Where downloaded models are kept and looked for (default: transformers.js's own cache folder). */
  cacheDir?: string;
  /** false: never download (HF_HUB_OFFLINE=1 or SINGULARITY_OFFLINE=1 say the same). */
  allowDownload?: boolean;
}

/** What a local model folder must hold for loadEmbedder (fp32 weights, transformers.js layout). */
export const MODEL_FILES = ['config.json', 'tokenizer.json', 'tokenizer_config.json', 'onnx/model.onnx'] as const;

/** Longer inputs cost quadratic attention time for little gain in a sentence embedding. */
const MAX_TOKENS_CAP = 512;

export function isEmbedder(value: Embedder | NoEmbedder): value is Embedder {
  return 'embed' in value;
}

type Transformers = typeof import('@huggingface/transformers');

let library: Promise<{ lib: Transformers; defaultCacheDir: string }> | undefined;

/** transformers.js and onnxruntime take a while to import: only commands that embed pay for it. */
function loadLibrary(): Promise<{ lib: Transformers; defaultCacheDir: string }> {
  library ??= import('@huggingface/transformers').then((lib) => {
    // Its logger writes info to stdout and warnings to stderr; stdout belongs to our output.
    lib.env.logLevel = process.env.SINGULARITY_DEBUG ? lib.LogLevel.WARNING : lib.LogLevel.NONE;
    return { lib, defaultCacheDir: lib.env.cacheDir ?? join(process.cwd(), '.cache') };
  });
  return library;
}

/**
 * The one way to use the configured model: load it, hand it to `use` (or, when there is none, why not),
 * and free it afterwards, whatever `use` does.
 */
export async function withEmbedder<T>(
  settings: Config['embedding'],
  options: LoadEmbedderOptions,
  use: (loaded: { embedder: Embedder; missing?: undefined } | { embedder?: undefined; missing: NoEmbedder }) => Promise<T> | T,
): Promise<T> {
  const loaded = await loadEmbedder(settings, options);
  if (!isEmbedder(loaded)) return use({ missing: loaded });
  try {
    return await use({ embedder: loaded });
  } finally {
    await loaded.dispose();
  }
}

/** Loads run one at a time: each points transformers.js's global env at its own folder. */
let loading: Promise<unknown> = Promise.resolve();

export function loadEmbedder(
  settings: Config['embedding'],
  options: LoadEmbedderOptions = {},
): Promise<Embedder | NoEmbedder> {
  const result = loading.then(() => load(settings, options));
  loading = result.catch(() => {});
  return result;
}

async function load(settings: Config['embedding'], options: LoadEmbedderOptions): Promise<Embedder | NoEmbedder> {
  const { model } = settings;
  const { lib, defaultCacheDir } = await loadLibrary();
  const cacheDir = options.cacheDir ?? defaultCacheDir;
  const filesList = MODEL_FILES.join(', ');

  let root: string;
  let download = false;
  if (settings.modelDir) {
    root = settings.modelDir;
    const missing = missingFiles(root, model);
    if (missing.length > 0) {
      return {
        model,
        reason: `no model '${model}' in ${join(root, model)} (missing ${missing.join(', ')})`,
        hint: `SINGULARITY_MODEL_DIR (or embedding.modelDir) must name a folder holding ${model}/ with ${filesList}; unset it to use the download cache at ${cacheDir}.`,
      };
    }
  } else {
    root = cacheDir;
    if (missingFiles(root, model).length > 0) {
      const offline = offlineBecause(options);
      if (offline) {
        return {
          model,
          reason: `model '${model}' is not in the model cache ${join(cacheDir, model)}, and downloads are off (${offline})`,
          hint: `Set SINGULARITY_MODEL_DIR to a folder holding ${model}/ with ${filesList}, or run once on a connected machine to fill the cache at ${cacheDir}.`,
        };
      }
      download = true;
    }
  }

  // Some of transformers.js's file lookups read its global env rather than the call's options.
  lib.env.allowLocalModels = true;
  lib.env.localModelPath = root;
  lib.env.allowRemoteModels = download;
  lib.env.useFSCache = download; // a local folder is read in place, never shadowed by the cache
  lib.env.cacheDir = cacheDir;
  const from = download ? `the Hugging Face Hub (into ${cacheDir})` : join(root, model);

  let tokenizer: PreTrainedTokenizer | undefined;
  let encoder: PreTrainedModel | undefined;
  try {
    const pretrained = { local_files_only: !download };
    tokenizer = await lib.AutoTokenizer.from_pretrained(model, pretrained);
    encoder = await lib.AutoModel.from_pretrained(model, { ...pretrained, dtype: 'fp32', device: 'cpu' });
    return await TransformersEmbedder.create(lib, model, tokenizer, encoder, settings.batchSize);
  } catch (error) {
    await encoder?.dispose().catch(() => {});
    const message = error instanceof Error ? error.message : String(error);
    return {
      model,
      reason: `could not load model '${model}' from ${from}: ${message}`,
      hint: download
        ? `Check the model id and the network, or set SINGULARITY_MODEL_DIR to a folder holding ${model}/ with ${filesList}.`
        : `The files in ${join(root, model)} may be incomplete or not a transformers.js model (${filesList}); replace them with a fresh copy.`,
    };
  }
}

function missingFiles(root: string, model: string): string[] {
  return MODEL_FILES.filter((file) => !existsSync(join(root, model, file)));
}

function offlineBecause(options: LoadEmbedderOptions): string | undefined {
  if (options.allowDownload === false) return 'this command never downloads a model';
  for (const name of ['SINGULARITY_OFFLINE', 'HF_HUB_OFFLINE']) {
    const value = process.env[name];
    if (value && value !== '0' && value.toLowerCase() !== 'false') return `${name}=${value}`;
  }
  return undefined;
}

/** A text as model input: token ids with their segment ids, cut to the model's limit. */
interface Encoded {
  ids: number[];
  typeIds: number[];
  truncated: boolean;
}

interface EncodedText {
  input_ids: number[];
  token_type_ids?: number[];
}

class TransformersEmbedder implements Embedder {
  /** Set by create() from a first inference, which also proves the model runs. */
  dimension = 0;

  private constructor(
    private readonly lib: Transformers,
    readonly model: string,
    private readonly tokenizer: PreTrainedTokenizer,
    private readonly encoder: PreTrainedModel,
    private readonly batchSize: number,
    readonly maxTokens: number,
  ) {}

  static async create(
    lib: Transformers,
    model: string,
    tokenizer: PreTrainedTokenizer,
    encoder: PreTrainedModel,
    batchSize: number,
  ): Promise<TransformersEmbedder> {
    const config = encoder.config as unknown as Record<string, unknown>;
    const limits = [tokenizer.model_max_length, config.max_position_embeddings, MAX_TOKENS_CAP];
    const maxTokens = Math.min(...limits.filter((n): n is number => typeof n === 'number' && n > 0));
    const embedder = new TransformersEmbedder(lib, model, tokenizer, encoder, Math.max(1, batchSize), maxTokens);
    embedder.dimension = (await embedder.embed(['dimension'])).vectors[0]!.length;
    return embedder;
  }

  countTokens(text: string): number {
    return this.tokenizer.encode(text).length;
  }

  async embed(texts: readonly string[], options: { signal?: AbortSignal } = {}): Promise<EmbedResult> {
    const encoded = texts.map((text) => this.encode(text));
    // Batches of similar lengths pad little; the vectors go back in input order.
    const order = encoded.map((_, i) => i).sort((a, b) => encoded[a]!.ids.length - encoded[b]!.ids.length);
    const vectors = new Array<Float32Array>(texts.length);
    for (let start = 0; start < order.length; start += this.batchSize) {
      options.signal?.throwIfAborted();
      const batch = order.slice(start, start + this.batchSize);
      const pooled = await this.run(batch.map((i) => encoded[i]!));
      batch.forEach((i, k) => (vectors[i] = pooled[k]!));
    }
    return { vectors, truncated: encoded.filter((e) => e.truncated).length };
  }

  async dispose(): Promise<void> {
    await this.encoder.dispose();
  }

  /**
   * Tokenizes one text and cuts it to maxTokens the way Hugging Face tokenizers do: the closing special
   * token ([SEP]) stays last. (transformers.js's own truncation cuts it off, which the model never saw
   * in training.)
   */
  private encode(text: string): Encoded {
    const encoding = this.tokenizer(text, { return_tensor: false }) as unknown as EncodedText;
    let ids = encoding.input_ids;
    let typeIds = encoding.token_type_ids ?? ids.map(() => 0);
    const truncated = ids.length > this.maxTokens;
    if (truncated) {
      const last = ids.length - 1;
      const keepLast = this.tokenizer.all_special_ids.includes(ids[last]!);
      const head = keepLast ? this.maxTokens - 1 : this.maxTokens;
      ids = keepLast ? [...ids.slice(0, head), ids[last]!] : ids.slice(0, head);
      typeIds = keepLast ? [...typeIds.slice(0, head), typeIds[last]!] : typeIds.slice(0, head);
    }
    return { ids, typeIds, truncated };
  }

  /** One inference call: pads the batch, runs the encoder, mean-pools the real tokens, normalises. */
  private async run(batch: Encoded[]): Promise<Float32Array[]> {
    const width = Math.max(...batch.map((e) => e.ids.length));
    const size = batch.length * width;
    const ids = new BigInt64Array(size).fill(BigInt(this.tokenizer.pad_token_id ?? 0));
    const mask = new BigInt64Array(size);
    const typeIds = new BigInt64Array(size);
    batch.forEach((e, row) => {
      e.ids.forEach((id, t) => {
        ids[row * width + t] = BigInt(id);
        mask[row * width + t] = 1n;
        typeIds[row * width + t] = BigInt(e.typeIds[t]!);
      });
    });
    const dims = [batch.length, width];
    const outputs = (await this.encoder({
      input_ids: new this.lib.Tensor('int64', ids, dims),
      attention_mask: new this.lib.Tensor('int64', mask, dims),
      token_type_ids: new this.lib.Tensor('int64', typeIds, dims),
    })) as Record<string, Tensor | undefined>;
    const states = outputs.last_hidden_state ?? outputs.token_embeddings;
    if (!states) {
      throw new SingularityError(`model '${this.model}' gave no last_hidden_state (its outputs: ${Object.keys(outputs).join(', ')})`);
    }
    const hidden = states.dims[2]!;
    const data = states.data as Float32Array;
    return batch.map((e, row) => {
      const vector = new Float32Array(hidden);
      for (let t = 0; t < e.ids.length; t++) {
        const offset = (row * width + t) * hidden;
        for (let h = 0; h < hidden; h++) vector[h]! += data[offset + h]!;
      }
      let norm = 0;
      for (let h = 0; h < hidden; h++) norm += vector[h]! * vector[h]!;
      // The mean's 1/length cancels in the normalisation.
      const scale = 1 / Math.max(Math.sqrt(norm), 1e-12);
      for (let h = 0; h < hidden; h++) vector[h]! *= scale;
      return vector;
    });
  }
}
