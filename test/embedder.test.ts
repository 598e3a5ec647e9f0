// The transformers.js embedder on the stand-in model (a real BERT graph and tokenizer with random
// weights, built in a temp dir): the real tokenizer and inference path, no network.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AutoModel, AutoTokenizer, env as transformersEnv } from '@huggingface/transformers';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi, type MockInstance } from 'vitest';
import type { Embedder, NoEmbedder } from '../src/embed/embedder.js';
import { isEmbedder, loadEmbedder } from '../src/embed/transformers.js';
import { buildStandInModel } from './support/stand-in-model.mjs';

let dir: string;
let standIn: ReturnType<typeof buildStandInModel>;
let embedder: Embedder;
const BATCH = 4;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'sg-embed-'));
  standIn = buildStandInModel(join(dir, 'models'));
  embedder = expectEmbedder(
    await loadEmbedder({ model: standIn.modelId, modelDir: standIn.modelDir, batchSize: BATCH }, { allowDownload: false }),
  );
});
afterAll(async () => {
  await embedder?.dispose();
  rmSync(dir, { recursive: true, force: true });
});

function expectEmbedder(loaded: Embedder | NoEmbedder): Embedder {
  if (!isEmbedder(loaded)) throw new Error(`expected a model, got: ${loaded.reason}`);
  return loaded;
}

function expectNoEmbedder(loaded: Embedder | NoEmbedder): NoEmbedder {
  if (isEmbedder(loaded)) throw new Error('expected no model, got one');
  return loaded;
}

const dot = (a: Float32Array, b: Float32Array) => a.reduce((sum, x, i) => sum + x * b[i]!, 0);
const maxDifference = (a: Float32Array, b: Float32Array) => Math.max(...a.map((x, i) => Math.abs(x - b[i]!)));

const SENTENCES = [
  'The scheduler runs each task on its crontab line.',
  'Backups are written to a folder per database.',
  'hello world',
  'A chunk of source code is embedded once and stored with the model id.',
  'Graph ranking uses PageRank over the dependency edges between files in the repository.',
  'x',
  'Unit vectors make cosine similarity a plain dot product.',
  'The knowledge base loads templates from a folder on disk and keeps them in PostgreSQL.',
  'Short one.',
  'Tokens are counted the way the model counts them, special tokens included.',
];

describe('the stand-in model through loadEmbedder', () => {
  it('reports the configured model, its dimension and its token limit', () => {
    expect(embedder.model).toBe(standIn.modelId);
    expect(embedder.dimension).toBe(standIn.dimension);
    expect(embedder.maxTokens).toBe(standIn.maxTokens);
  });

  it('gives one unit-length vector per text, in input order', async () => {
    const { vectors, truncated } = await embedder.embed(SENTENCES);
    expect(vectors).toHaveLength(SENTENCES.length);
    expect(truncated).toBe(0);
    for (const vector of vectors) {
      expect(vector).toBeInstanceOf(Float32Array);
      expect(vector).toHaveLength(embedder.dimension);
      expect(Math.sqrt(dot(vector, vector))).toBeCloseTo(1, 5);
    }
    expect(await embedder.embed([])).toEqual({ vectors: [], truncated: 0 });
  });

  it('gives the same vector for the same text, and different vectors for different texts', async () => {
    const first = (await embedder.embed(['hello world'])).vectors[0]!;
    const again = (await embedder.embed(['hello world'])).vectors[0]!;
    expect(again).toEqual(first);
    const { vectors } = await embedder.embed(SENTENCES);
    for (let i = 0; i < vectors.length; i++) {
      for (let j = i + 1; j < vectors.length; j++) expect(dot(vectors[i]!, vectors[j]!)).toBeLessThan(0.99);
    }
  });

  it('gives the same vectors in batches as one by one (padding is masked out)', async () => {
    const batched = (await embedder.embed(SENTENCES)).vectors;
    for (const [i, text] of SENTENCES.entries()) {
      const alone = (await embedder.embed([text])).vectors[0]!;
      expect(maxDifference(batched[i]!, alone)).toBeLessThan(1e-5);
    }
  });

  it('counts tokens as the model does, special tokens included', () => {
    expect(embedder.countTokens('hello world')).toBe(4); // [CLS] hello world [SEP]
    expect(embedder.countTokens('Hello, WORLD!')).toBe(6); // lower-cased; ',' and '!' are tokens
    expect(embedder.countTokens('strawberries')).toBe(4); // straw ##berries
    expect(embedder.countTokens('')).toBe(2);
  });

  it('truncates texts longer than maxTokens and counts them', async () => {
    const long = 'the knowledge base '.repeat(100);
    expect(embedder.countTokens(long)).toBeGreaterThan(embedder.maxTokens);
    const result = await embedder.embed(['short text', long, 'another short one']);
    expect(result.truncated).toBe(1);
    expect(result.vectors).toHaveLength(3);
    // What is past the limit does not count: a different tail gives the same vector.
    const otherTail = (await embedder.embed([`${long} and a different ending`])).vectors[0]!;
    expect(maxDifference(otherTail, result.vectors[1]!)).toBeLessThan(1e-5);
    expect((await embedder.embed(['short text'])).truncated).toBe(0);
  });

  it('stops between batches when the signal aborts, with an AbortError', async () => {
    const controller = new AbortController();
    const texts = [...SENTENCES, ...SENTENCES]; // five batches of four
    const pending = embedder.embed(texts, { signal: controller.signal });
    controller.abort(); // the first batch is already running; the next one does not start
    await expect(pending).rejects.toMatchObject({ name: 'AbortError' });
    await expect(embedder.embed(texts, { signal: AbortSignal.abort() })).rejects.toMatchObject({ name: 'AbortError' });
  });

  it('puts a text nearer to itself than to others, even with random weights', async () => {
    const base = 'the scheduler runs each maintenance task on its own crontab line every night';
    const [same, spaced, oneWordChanged, unrelated] = (
      await embedder.embed([base, `  ${base.toUpperCase()} `, base.replace('night', 'morning'), 'graph ranking over file edges'])
    ).vectors;
    const vector = (await embedder.embed([base])).vectors[0]!;
    expect(dot(vector, same!)).toBeCloseTo(1, 5);
    expect(dot(vector, spaced!)).toBeCloseTo(1, 5); // the uncased tokenizer sees the same tokens
    expect(dot(vector, oneWordChanged!)).toBeGreaterThan(dot(vector, unrelated!) + 0.1);
  });

  it('loads the model from the cache folder when no model folder is set', async () => {
    const cached = expectEmbedder(
      await loadEmbedder({ model: standIn.modelId, batchSize: 32 }, { cacheDir: standIn.modelDir, allowDownload: false }),
    );
    try {
      const [fromCache] = (await cached.embed(['hello world'])).vectors;
      const [fromFolder] = (await embedder.embed(['hello world'])).vectors;
      expect(maxDifference(fromCache!, fromFolder!)).toBeLessThan(1e-6);
    } finally {
      await cached.dispose();
    }
  });
});

describe('no model', () => {
  // A missing model is reported from what is on disk alone: no model loader is started and no request is
  // made. (That, not a wall time, is what "without waiting on a network" means; a request would fail here
  // at once instead of waiting.)
  let loaders: MockInstance[];
  let requests: MockInstance[];
  beforeEach(() => {
    loaders = [
      vi.spyOn(AutoTokenizer, 'from_pretrained').mockName('AutoTokenizer.from_pretrained'),
      vi.spyOn(AutoModel, 'from_pretrained').mockName('AutoModel.from_pretrained'),
    ];
    const noNetwork = () => Promise.reject(new Error('this test allows no network request'));
    // transformers.js requests through env.fetch (bound to the global fetch when it was imported), and a few helpers through fetch.
    requests = [
      vi.spyOn(transformersEnv, 'fetch').mockName('env.fetch').mockImplementation(noNetwork),
      vi.spyOn(globalThis, 'fetch').mockName('fetch').mockImplementation(noNetwork),
    ];
  });
  afterEach(() => {
    vi.restoreAllMocks();
  });
  const expectNothingLoadedOrRequested = () => {
    for (const spy of [...loaders, ...requests]) expect(spy, spy.getMockName()).not.toHaveBeenCalled();
  };

  it('names the folder it looked in and what was missing, without waiting on a network', async () => {
    const empty = join(dir, 'empty-models');
    mkdirSync(empty, { recursive: true });
    const none = expectNoEmbedder(
      await loadEmbedder({ model: 'Xenova/all-MiniLM-L6-v2', modelDir: empty, batchSize: 32 }),
    );
    expectNothingLoadedOrRequested();
    expect(none.model).toBe('Xenova/all-MiniLM-L6-v2');
    expect(none.reason).toContain(join(empty, 'Xenova/all-MiniLM-L6-v2'));
    expect(none.reason).toContain('onnx/model.onnx');
    expect(none.hint).toContain('SINGULARITY_MODEL_DIR');
  });

  it('names the cache it looked in when downloads are off', async () => {
    const cacheDir = join(dir, 'empty-cache');
    const none = expectNoEmbedder(
      await loadEmbedder({ model: 'Xenova/all-MiniLM-L6-v2', batchSize: 32 }, { cacheDir, allowDownload: false }),
    );
    expectNothingLoadedOrRequested();
    expect(none.reason).toContain(join(cacheDir, 'Xenova/all-MiniLM-L6-v2'));
    expect(none.reason).toContain('downloads are off');
    expect(none.hint).toContain('SINGULARITY_MODEL_DIR');
    expect(none.hint).toContain(cacheDir);
  });

  it.each(['HF_HUB_OFFLINE', 'SINGULARITY_OFFLINE'])('takes %s=1 to mean no downloads', async (name) => {
    // The test run sets SINGULARITY_OFFLINE for every test: clear both, then set the one under test.
    vi.stubEnv('HF_HUB_OFFLINE', '');
    vi.stubEnv('SINGULARITY_OFFLINE', '');
    vi.stubEnv(name, '1');
    try {
      const none = expectNoEmbedder(
        await loadEmbedder({ model: 'Xenova/all-MiniLM-L6-v2', batchSize: 32 }, { cacheDir: join(dir, 'empty-cache') }),
      );
      expect(none.reason).toContain(`${name}=1`);
      expectNothingLoadedOrRequested();
    } finally {
      vi.unstubAllEnvs();
    }
  });

  it('reports a model whose files do not load, with the loader message, instead of throwing', async () => {
    const broken = buildStandInModel(join(dir, 'broken'), { modelId: 'singularity-test/broken' });
    writeFileSync(join(broken.modelDir, broken.modelId, 'onnx', 'model.onnx'), 'not an onnx model');
    const none = expectNoEmbedder(
      await loadEmbedder({ model: broken.modelId, modelDir: broken.modelDir, batchSize: 32 }, { allowDownload: false }),
    );
    expect(none.reason).toContain(`could not load model '${broken.modelId}' from ${join(broken.modelDir, broken.modelId)}`);
    expect(none.hint).toContain('replace them');
    // The loaders were started here (which shows that the spies above watch the ones the product calls), still with no request.
    for (const spy of loaders) expect(spy, spy.getMockName()).toHaveBeenCalledOnce();
    for (const spy of requests) expect(spy, spy.getMockName()).not.toHaveBeenCalled();
  });
});
