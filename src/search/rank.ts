// Ranking files, not chunks: what search answers is "which file", so each file's candidate chunks are
// scored, then the file by its best chunk and the query's words it holds elsewhere, its path and names,
// prose or code by what the question asks, the vector half added where it ran, and last a personalised
// PageRank over the graph between the files found. Pure functions: search.ts brings the rows.

/** A candidate chunk as the lexical or vector query returns it (the text is fetched for the winners only). */
export interface Candidate {
  source: 'code' | 'knowledge';
  id: number;
  collection: string;
  path: string | null;
  startLine: number | null;
  endLine: number | null;
  symbol: string | null;
  language: string | null;
  /** Indexes into the query's words: those the chunk holds, those in its symbol, those in its file's path. */
  matched?: number[];
  inName?: number[];
  inPath?: number[];
  /** The vector half: cosine similarity to the query. */
  similarity?: number;
  /** How many lines the chunk's file has (lexical half; null where ingest did not count them). */
  fileLines?: number | null;
}

export interface RankedChunk {
  id: number;
  startLine: number | null;
  endLine: number | null;
  symbol: string | null;
  score: number;
}

/** One file (or knowledge artifact) with why it ranks where it does. */
export interface RankedGroup {
  key: string;
  source: 'code' | 'knowledge';
  collection: string;
  path: string | null;
  language: string | null;
  /** Best first. */
  chunks: RankedChunk[];
  score: number;
  explain: Explanation;
}

export interface Explanation {
  /** 1-based rank of the file in each half (null: that half did not find it). */
  lexicalRank: number | null;
  vectorRank: number | null;
  /** The lexical score: the best chunk's words and names, the file's other words, its path. */
  lexical: number;
  /** The query's words (lexemes) the file holds; those in a chunk's name; those in its path. */
  words: string[];
  nameWords: string[];
  pathWords: string[];
  /** The vector half's best cosine similarity in the file. */
  similarity: number | null;
  /** Personalised PageRank among the files found, 0 to 1 (1: the highest). */
  graph: number;
  /** Code, tests, or prose (Markdown, text, a knowledge artifact), and the weight that gives it for this question. */
  kind: FileKind;
  kindWeight: number;
  /** How many of the file's chunks matched. */
  matchedChunks: number;
}

/** A word found in a chunk's symbol counts this much again; in the file's path, this much. */
const NAME_WEIGHT = 1;
const PATH_WEIGHT = 0.75;
/**
 * Words the file holds outside its best chunk count this much of their weight, saturating in the number
 * of chunks that hold them and discounted for a file longer than usual in lines (BM25's k1 and b, with
 * chunks for occurrences and files for documents): a long file holds some of any question's words.
 */
const ELSEWHERE_WEIGHT = 0.5;
const SATURATION = 1.2;
const LENGTH_NORMALISATION = 0.75;
export type FileKind = 'code' | 'test' | 'prose';
/** What a question asks about: how the code behaves (the default), its documentation, or its tests. */
export type Asks = 'behaviour' | 'docs' | 'tests';
/**
 * Each kind of file's weight for each kind of question: for behaviour, code first, tests after it (they
 * name what they test) and prose last; for the documentation, prose first; for tests, tests first.
 */
const KIND_WEIGHTS: Record<Asks, Record<FileKind, number>> = {
  behaviour: { code: 1, test: 0.7, prose: 0.5 },
  docs: { code: 0.6, test: 0.5, prose: 1 },
  tests: { code: 0.8, test: 1, prose: 0.5 },
};
/** The vector half's share: it reorders what the lexical half found, it cannot bury it. */
const VECTOR_WEIGHT = 0.35;
/** The graph's share of the final score, and its PageRank's damping. */
const GRAPH_WEIGHT = 0.1;
const DAMPING = 0.85;
const PAGERANK_ITERATIONS = 30;
/** The files the graph reorders at most. */
export const GRAPH_FILES = 20;
/** Chunks listed per file. */
const CHUNKS_PER_FILE = 3;

const PROSE = /\.(md|markdown|mdx|rst|txt|adoc|org)$/i;
/** Test files by the usual conventions: a tests folder, or test/spec in the file's name. */
const TEST = /(^|\/)(tests?|__tests__|specs?|testing)\/|(^|\/)test_[^/]*$|[._-](test|spec|tests)\.[a-z]+$|_test\.[a-z]+$/i;
const ASKS_FOR_DOCS = /\b(docs?|documentation|documented|readme|manual|guides?|pages?|tutorials?)\b/i;
const ASKS_FOR_TESTS = /\b(tests?|tested|testing|specs?|fixtures?)\b/i;

export const questionKind = (query: string): Asks => (ASKS_FOR_DOCS.test(query) ? 'docs' : ASKS_FOR_TESTS.test(query) ? 'tests' : 'behaviour');
export function fileKind(c: Pick<Candidate, 'source' | 'path'>): FileKind {
  if (c.source === 'knowledge' || PROSE.test(c.path ?? '')) return 'prose';
  return TEST.test(c.path ?? '') ? 'test' : 'code';
}

/** BM25's inverse document frequency: a word in few chunks weighs more. */
export function inverseFrequency(chunks: number, total: number): number {
  return Math.log(1 + (total - chunks + 0.5) / (chunks + 0.5));
}

const groupKey = (c: Candidate) => (c.source === 'code' ? `code:${c.collection}:${c.path}` : `knowledge:${c.id}`);
const sum = (indexes: Iterable<number>, weights: readonly number[]) => {
  let total = 0;
  for (const i of indexes) total += weights[i] ?? 0;
  return total;
};

/**
 * Groups the candidates by file and scores each: lexical (best chunk + words elsewhere + path) and the
 * vector half's similarity, each scaled to the best of its half, weighed by the kind of file for the
 * kind of question. The graph comes after (personalise()).
 */
export function rankGroups(
  lexical: readonly Candidate[], vector: readonly Candidate[],
  query: { words: readonly string[]; weights: readonly number[]; fileLines: number | null; asks: Asks },
): RankedGroup[] {
  const { words, weights } = query;
  interface Acc {
    group: RankedGroup; chunkScores: Map<number, RankedChunk>; words: Map<number, number>; names: Set<number>; path: Set<number>;
    /** The file's length against the usual. */
    length: number;
  }
  const groups = new Map<string, Acc>();
  const accOf = (c: Candidate): Acc => {
    const key = groupKey(c);
    let acc = groups.get(key);
    if (!acc) {
      const kind = fileKind(c);
      acc = {
        group: {
          key, source: c.source, collection: c.collection, path: c.path, language: c.language, chunks: [], score: 0,
          explain: {
            lexicalRank: null, vectorRank: null, lexical: 0, words: [], nameWords: [], pathWords: [], similarity: null, graph: 0,
            kind, kindWeight: KIND_WEIGHTS[query.asks][kind], matchedChunks: 0,
          },
        },
        chunkScores: new Map(), words: new Map(), names: new Set(), path: new Set(), length: c.fileLines && query.fileLines ? c.fileLines / query.fileLines : 1,
      };
      groups.set(key, acc);
    }
    return acc;
  };
  const chunkOf = (acc: Acc, c: Candidate) => {
    let chunk = acc.chunkScores.get(c.id);
    if (!chunk) acc.chunkScores.set(c.id, (chunk = { id: c.id, startLine: c.startLine, endLine: c.endLine, symbol: c.symbol, score: 0 }));
    return chunk;
  };
  for (const c of lexical) {
    const acc = accOf(c);
    const matched = c.matched ?? [];
    const names = c.inName ?? [];
    chunkOf(acc, c).score = sum(matched, weights) + NAME_WEIGHT * sum(names, weights);
    matched.forEach((i) => acc.words.set(i, (acc.words.get(i) ?? 0) + 1));
    names.forEach((i) => acc.names.add(i));
    (c.inPath ?? []).forEach((i) => acc.path.add(i));
    acc.group.explain.matchedChunks++;
  }
  for (const acc of groups.values()) {
    const best = Math.max(0, ...[...acc.chunkScores.values()].map((c) => c.score));
    const bestChunk = [...acc.chunkScores.values()].find((c) => c.score === best);
    const bestWords = new Set(lexical.find((c) => c.id === bestChunk?.id && groupKey(c) === acc.group.key)?.matched ?? []);
    const norm = SATURATION * (1 - LENGTH_NORMALISATION + LENGTH_NORMALISATION * acc.length);
    let elsewhere = 0;
    for (const [i, chunks] of acc.words) if (!bestWords.has(i)) elsewhere += weights[i]! * (chunks / (chunks + norm));
    acc.group.explain.lexical = best + ELSEWHERE_WEIGHT * elsewhere + PATH_WEIGHT * sum(acc.path, weights);
    acc.group.explain.words = [...acc.words.keys()].sort((a, b) => a - b).map((i) => words[i]!);
    acc.group.explain.nameWords = [...acc.names].sort((a, b) => a - b).map((i) => words[i]!);
    acc.group.explain.pathWords = [...acc.path].sort((a, b) => a - b).map((i) => words[i]!);
  }
  for (const c of vector) {
    const acc = accOf(c);
    const chunk = chunkOf(acc, c);
    const similarity = c.similarity ?? 0;
    if (acc.group.explain.similarity === null || similarity > acc.group.explain.similarity) acc.group.explain.similarity = similarity;
    // A chunk the vector half alone found is listed by its similarity, below the lexical ones.
    if (chunk.score === 0) chunk.score = similarity * 1e-3;
  }
  const all = [...groups.values()].map((acc) => acc.group);
  rankWithin(all.filter((g) => g.explain.lexical > 0), (g) => g.explain.lexical, (g, rank) => (g.explain.lexicalRank = rank));
  rankWithin(all.filter((g) => g.explain.similarity !== null), (g) => g.explain.similarity!, (g, rank) => (g.explain.vectorRank = rank));
  const topLexical = Math.max(0, ...all.map((g) => g.explain.lexical));
  // Similarity against the best one's, not stretched from the lowest: where every candidate is about as
  // near as the next (a model that tells them apart poorly), the vector half adds about the same to each.
  const highestSimilarity = Math.max(0, ...all.flatMap((g) => (g.explain.similarity === null ? [] : [g.explain.similarity])));
  for (const acc of groups.values()) {
    const g = acc.group;
    const lexicalPart = topLexical > 0 ? g.explain.lexical / topLexical : 0;
    const vectorPart = g.explain.similarity === null || highestSimilarity === 0 ? 0 : Math.max(0, g.explain.similarity) / highestSimilarity;
    g.score = (lexicalPart + VECTOR_WEIGHT * vectorPart) * g.explain.kindWeight;
    g.chunks = [...acc.chunkScores.values()].sort((a, b) => b.score - a.score || a.id - b.id).slice(0, CHUNKS_PER_FILE);
  }
  return all.sort(byScore);
}

function rankWithin(groups: RankedGroup[], score: (g: RankedGroup) => number, set: (g: RankedGroup, rank: number) => void) {
  groups.sort((a, b) => score(b) - score(a) || a.key.localeCompare(b.key)).forEach((g, i) => set(g, i + 1));
}

export const byScore = (a: RankedGroup, b: RankedGroup): number => b.score - a.score || a.key.localeCompare(b.key);

/** A weighted edge between two files found: `from` depends on `to` (imports it, calls into it). */
export interface FileEdge {
  from: string;
  to: string;
  weight: number;
}

/**
 * Personalised PageRank over the edges between the groups, restarting at each in proportion to its
 * score (Aider's repo map does this with the files in the chat): a file that the files found depend on
 * gains, one that stands alone keeps its score; a file's rank is weighed by the share of its dependents
 * (files depending on it, from `dependents`) that were found. The result mixes the score with it (GRAPH_WEIGHT)
 * and re-sorts. The first GRAPH_FILES groups (sorted by score) take part; the rest keep their score,
 * scaled alike. Groups are keyed as rankGroups() keys them.
 */
export function personalise(ranked: RankedGroup[], graph: { edges: readonly FileEdge[]; dependents: ReadonlyMap<string, number> }): RankedGroup[] {
  const { edges } = graph;
  if (!ranked.length) return ranked;
  const highestScore = Math.max(...ranked.map((g) => g.score)) || 1;
  const groups = ranked.slice(0, GRAPH_FILES);
  for (const g of ranked.slice(GRAPH_FILES)) g.score = (1 - GRAPH_WEIGHT) * (g.score / highestScore);
  const n = groups.length;
  const index = new Map(groups.map((g, i) => [g.key, i]));
  const total = groups.reduce((s, g) => s + g.score, 0) || 1;
  const restart = groups.map((g) => g.score / total);
  const out = new Array<number>(n).fill(0);
  const links: Array<[number, number, number]> = [];
  for (const e of edges) {
    const from = index.get(e.from);
    const to = index.get(e.to);
    if (from === undefined || to === undefined || from === to) continue;
    links.push([from, to, e.weight]);
    out[from]! += e.weight;
  }
  const pagerank = (teleport: readonly number[]) => {
    let rank = [...teleport];
    for (let iteration = 0; iteration < PAGERANK_ITERATIONS; iteration++) {
      const next = teleport.map((r) => (1 - DAMPING) * r);
      let dangling = 0;
      rank.forEach((r, i) => { if (!out[i]) dangling += r; });
      for (const [from, to, weight] of links) next[to]! += DAMPING * rank[from]! * (weight / out[from]!);
      for (let i = 0; i < n; i++) next[i]! += DAMPING * dangling * teleport[i]!;
      rank = next;
    }
    return rank;
  };
  // Weighed by the share of the file's dependents that were found: a hub (a logger, a utility module)
  // that every file imports is lent rank by the files found, but they are few of its dependents.
  const foundDependents = new Array<number>(n).fill(0);
  for (const [, to] of links) foundDependents[to]!++;
  const personal = pagerank(restart).map((r, i) => r * ((foundDependents[i]! + 1) / ((graph.dependents.get(groups[i]!.key) ?? 0) + 1)));
  const highest = Math.max(...personal);
  groups.forEach((g, i) => {
    g.explain.graph = highest > 0 ? personal[i]! / highest : 0;
    g.score = (1 - GRAPH_WEIGHT) * (g.score / highestScore) + GRAPH_WEIGHT * g.explain.graph;
  });
  return ranked.sort(byScore);
}
