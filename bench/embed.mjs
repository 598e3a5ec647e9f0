#!/usr/bin/env node
// Embedding benchmark: load time and embeddings per second of the transformers.js embedder, on texts
// of about 100 tokens, in batches of --batch (default 32).
//
//   npm run build && node bench/embed.mjs [--texts 512] [--batch 32] [--repeat 3] [--size small|minilm]
//
// With SINGULARITY_MODEL_DIR set it runs the real model from there (SINGULARITY_MODEL names it);
// otherwise it builds the stand-in model in a temp dir: --size small is the one tests use (2 layers,
// 32 wide), --size minilm has all-MiniLM-L6-v2's shape (6 layers, 384 wide, 12 heads), so its speed
// is that model's, though its vectors mean nothing.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../dist/core/config.js';
import { isEmbedder, loadEmbedder } from '../dist/embed/transformers.js';
import { buildStandInModel } from '../test/support/stand-in-model.mjs';

const args = process.argv.slice(2);
const option = (name, fallback) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : fallback;
};
const textCount = Number(option('texts', 512));
const batchSize = Number(option('batch', 32));
const repeat = Number(option('repeat', 3));
const size = option('size', 'small');

const SHAPES = {
  small: {},
  minilm: { layers: 6, hidden: 384, heads: 12, intermediate: 1536, maxPositions: 512 },
};

const config = await loadConfig();
const temp = mkdtempSync(join(tmpdir(), 'sg-bench-embed-'));
try {
  let settings = { ...config.embedding, batchSize };
  if (!settings.modelDir) {
    const started = performance.now();
    const standIn = buildStandInModel(temp, { modelId: `singularity-test/stand-in-${size}`, ...SHAPES[size] });
    console.log(`built the ${size} stand-in model in ${(performance.now() - started).toFixed(0)} ms`);
    settings = { ...settings, model: standIn.modelId, modelDir: standIn.modelDir };
  }

  let started = performance.now();
  const embedder = await loadEmbedder(settings, { allowDownload: false });
  const loadMs = performance.now() - started;
  if (!isEmbedder(embedder)) throw new Error(`${embedder.reason}\n${embedder.hint}`);
  console.log(`loaded ${embedder.model} (dimension ${embedder.dimension}, max ${embedder.maxTokens} tokens) in ${loadMs.toFixed(0)} ms`);

  const texts = makeTexts(textCount);
  const tokens = texts.map((t) => embedder.countTokens(t));
  console.log(`${textCount} texts of ${Math.min(...tokens)}..${Math.max(...tokens)} tokens (mean ${(tokens.reduce((a, b) => a + b) / textCount).toFixed(0)}), batches of ${batchSize}`);

  await embedder.embed(texts.slice(0, batchSize)); // warm-up
  for (let r = 0; r < repeat; r++) {
    started = performance.now();
    await embedder.embed(texts);
    const seconds = (performance.now() - started) / 1000;
    console.log(`run ${r + 1}: ${(textCount / seconds).toFixed(0)} embeddings/s (${(seconds * 1000).toFixed(0)} ms)`);
  }
  await embedder.dispose();
} finally {
  rmSync(temp, { recursive: true, force: true });
}

/** Deterministic English-like texts of about 100 tokens each. */
function makeTexts(count) {
  const words = (
    'the a of to and in is that for it as with was on be by this are from or at an not which have has ' +
    'task schedule database backup table index query vector model token chunk file code graph edge node ' +
    'rank run runs error retry timeout heartbeat config folder template knowledge ingest embedding search ' +
    'function class module import export return value string number array object map set list type ' +
    'when then each every after before because while until since although where how what why who'
  ).split(' ');
  let state = 7;
  const next = () => {
    state = (state * 1103515245 + 12345) % 2147483648;
    return state / 2147483648;
  };
  return Array.from({ length: count }, () => {
    const sentence = Array.from({ length: 90 }, () => words[Math.floor(next() * words.length)]);
    return `${sentence.join(' ')}.`;
  });
}
