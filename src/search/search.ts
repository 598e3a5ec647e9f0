// Hybrid search over ingested code and the knowledge base, answering "which file": PostgreSQL
// full-text search always (each word weighed by how rare it is in the codebase), vector similarity where
// there are vectors of the query's model, the candidates grouped and ranked by file (rank.ts), then
// reordered by a PageRank over the graph between the files found. Files marked deleted are never
// returned. A search of a database with nothing in it, or of a codebase that was never ingested, is an
// error rather than an empty answer; so is a query with no word to search for.
import type { Database } from '../core/database.js';
import { SingularityError, UsageError } from '../core/errors.js';
import type { Embedder } from '../embed/embedder.js';
import { vectorSupport } from '../vectors/vectors.js';
import { GRAPH_FILES, questionKind, type Asks, inverseFrequency, personalise, rankGroups, type Candidate, type Explanation, type FileEdge, type RankedChunk } from './rank.js';

export interface SearchOptions {
  limit: number;
  codebase?: string;
  language?: string;
  /** Embeds the query for the vector half; without it, search is lexical only. */
  embedder?: Embedder;
}

/** One file (or knowledge artifact): its best chunk's place and text, its other matching chunks, and why it ranks here. */
export interface SearchHit {
  source: 'code' | 'knowledge';
  /** The best chunk's code_chunks.id, or knowledge_artifacts.id. */
  id: number;
  /** Code: the codebase; knowledge: the artifact's type. */
  collection: string;
  /** Code: the file; knowledge: the artifact's file (null for a learned one). */
  path: string | null;
  startLine: number | null;
  endLine: number | null;
  /** Code: the definition; knowledge: the artifact's id. */
  symbol: string | null;
  language: string | null;
  score: number;
  /** 1-based ranks of the file in each half (null: not found by that half). */
  lexicalRank: number | null;
  vectorRank: number | null;
  snippet: string;
  /** The file's best matching chunks, best first (the first is the hit's own). */
  chunks: Array<Omit<RankedChunk, 'score'>>;
  explain: Explanation;
}

export interface SearchResult {
  query: string;
  /** The query's words as searched (stemmed lexemes), each with its weight. */
  words: Array<{ word: string; weight: number }>;
  /** What the question asks about, by its words: behaviour (code first), docs (prose first) or tests. */
  asks: Asks;
  hits: SearchHit[];
  /** 'hybrid': both halves ran; otherwise why the vector half did not. */
  mode: 'hybrid' | 'lexical';
  lexicalOnlyBecause?: string;
}

/** Longer queries are refused: search is for questions, not documents. */
export const MAX_QUERY_CHARS = 1000;
/** Codebases an unknown --codebase error lists at most; more are counted. */
const LISTED_CODEBASES = 20;
/**
 * Candidate chunks: matching all the words at most, matching each rare word at most (of up to
 * SELECTIVE_WORDS words, the rarest always, the others only if in at most COMMON_SHARE of the chunks
 * or in no more than a pool holds),
 * scored, and kept.
 */
const ALL_WORDS_POOL = 500;
const WORD_POOL = 150;
const SELECTIVE_WORDS = 6;
const COMMON_SHARE = 0.05;
const LEXICAL_CHUNKS = 250;
const VECTOR_CHUNKS = 100;

/**
 * Throws when the search could not find anything whatever the query: an unknown `codebase` (a
 * UsageError, exit 2, naming the ingested ones), or, without one, a database with neither a codebase
 * nor a knowledge artifact in it (a SingularityError, exit 1). A codebase is known by its id in the
 * codebases table, which every ingest records, whether or not files of it remain.
 */
export async function assertSearchable(db: Database, codebase?: string): Promise<void> {
  const [found] = await db.query<{ codebases: string[]; knowledge: boolean }>(
    `select coalesce((select array_agg(id order by id) from codebases), '{}') as codebases,
            exists (select 1 from knowledge_artifacts) as knowledge`,
  );
  const codebases = found?.codebases ?? [];
  if (codebase !== undefined) {
    if (codebases.includes(codebase)) return;
    const listed = codebases.slice(0, LISTED_CODEBASES).join(', ');
    const more = codebases.length > LISTED_CODEBASES ? ` and ${codebases.length - LISTED_CODEBASES} more` : '';
    throw new UsageError(
      `no codebase '${codebase}' is ingested; ${codebases.length ? `ingested: ${listed}${more}` : 'none is ingested in this database'}`,
      { hint: codebases.length
          ? `Give --codebase one of those ids, or ingest the codebase first: singularity ingest PATH --id ${codebase}`
          : `Ingest the codebase first: singularity ingest PATH --id ${codebase}` },
    );
  }
  if (!codebases.length && !found?.knowledge) {
    throw new SingularityError("nothing is ingested in this database: run 'singularity ingest PATH' first", {
      hint: "Search answers from ingested codebases and the knowledge base ('singularity load-templates'); this database has neither.",
    });
  }
}

/** Refuses a query search cannot use: empty, too long (UsageErrors); the words are checked once stemmed. */
export function assertQuery(query: string): void {
  if (!query.trim()) throw new UsageError('the query is empty', { hint: 'Say what you look for: singularity search "where are backups pruned"' });
  if (query.length > MAX_QUERY_CHARS) {
    throw new UsageError(`the query is ${query.length.toLocaleString('en')} characters long; search takes at most ${MAX_QUERY_CHARS.toLocaleString('en')}`, {
      hint: 'Ask in a sentence or two: the words that name what you look for (a stack trace\'s message line, not the whole trace).',
    });
  }
}

export async function search(db: Database, query: string, options: SearchOptions): Promise<SearchResult> {
  assertQuery(query);
  await assertSearchable(db, options.codebase);
  const [{ words }] = (await db.query<{ words: string[] }>(
    `select tsvector_to_array(to_tsvector('english', code_search_text(null, $1))) as words`, [query])) as [{ words: string[] }];
  if (!words.length) {
    throw new UsageError(`the query has no word to search for: '${query.trim().slice(0, 80)}' is only stop words and punctuation`, {
      hint: 'Name what you look for: search leaves out words such as "the", "of" and "how" (singularity search "where are backups pruned").',
    });
  }
  const { weights, selective, fileLines } = await wordWeights(db, words, options.codebase);
  const asks = questionKind(query);
  const lexical = [...(await lexicalCode(db, words, weights, selective, options)), ...(await lexicalKnowledge(db, words, options))];
  let vector: Candidate[] = [];
  let lexicalOnlyBecause: string | undefined = options.embedder ? undefined : 'no embedding model';
  if (options.embedder) {
    const {
      vectors: [embedded],
    } = await options.embedder.embed([query]);
    const values = Array.from(embedded!);
    const { pgvector } = await vectorSupport(db, { create: false });
    vector = [
      ...(await nearestCode(db, pgvector, options.embedder.model, values, options)),
      ...(await nearestKnowledge(db, pgvector, options.embedder.model, values, options)),
    ];
    if (!vector.length) lexicalOnlyBecause = `nothing is embedded with ${options.embedder.model} yet`;
  }
  const grouped = rankGroups(lexical, vector, { words, weights, fileLines, asks });
  const ranked = personalise(grouped, await edgesBetween(db, grouped.slice(0, GRAPH_FILES))).slice(0, options.limit);
  const texts = await chunkTexts(db, ranked.map((g) => ({ source: g.source, id: g.chunks[0]!.id })));
  const hits: SearchHit[] = ranked.map((g) => {
    const best = g.chunks[0]!;
    return {
      source: g.source, id: best.id, collection: g.collection, path: g.path, startLine: best.startLine, endLine: best.endLine,
      symbol: best.symbol, language: g.language, score: g.score, lexicalRank: g.explain.lexicalRank, vectorRank: g.explain.vectorRank,
      snippet: snippet(texts.get(`${g.source}:${best.id}`) ?? '', query),
      chunks: g.chunks.map(({ score: _score, ...chunk }) => chunk),
      explain: g.explain,
    };
  });
  return {
    query, words: words.map((word, i) => ({ word, weight: weights[i]! })), asks, hits,
    mode: lexicalOnlyBecause ? 'lexical' : 'hybrid', ...(lexicalOnlyBecause && { lexicalOnlyBecause }),
  };
}

/**
 * Each word's weight, its inverse frequency among the chunks of the codebase searched (or of all of
 * them), from code_search_terms as ingest last counted them; 1 each where nothing is counted (a
 * knowledge base alone). `selective`: the indexes of the rarest words found in any chunk, which fetch
 * candidates of their own.
 */
async function wordWeights(db: Database, words: readonly string[], codebase?: string) {
  const [counted] = await db.query<{ total: number; files: number; lines: number; chunks: number[] }>(
    `select (select coalesce(sum(search_chunks), 0)::int from codebases where $2::text is null or id = $2) as total,
            (select coalesce(sum(search_files), 0)::int from codebases where $2::text is null or id = $2) as files,
            (select coalesce(sum(search_lines), 0)::float8 from codebases where $2::text is null or id = $2) as lines,
            array(select coalesce((select sum(t.chunks)::int from code_search_terms t where t.term = w.term and ($2::text is null or t.codebase = $2)), 0)
                  from unnest($1::text[]) with ordinality as w(term, n) order by w.n) as chunks`,
    [words, codebase ?? null],
  );
  const total = counted?.total ?? 0;
  const chunks = counted?.chunks ?? words.map(() => 0);
  const weights = words.map((_, i) => (total > 0 ? inverseFrequency(chunks[i]!, total) : 1));
  const selective = words.map((_, i) => i).filter((i) => total === 0 || chunks[i]! > 0)
    .sort((a, b) => chunks[a]! - chunks[b]! || a - b).slice(0, SELECTIVE_WORDS)
    .filter((i, n) => n === 0 || total === 0 || chunks[i]! <= Math.max(COMMON_SHARE * total, WORD_POOL));
  const fileLines = counted!.files > 0 && counted!.lines > 0 ? counted!.lines / counted!.files : null;
  return { weights, selective, fileLines };
}

/** A tsquery of one word (a lexeme, not stemmed again), or of all of them. */
const tsquery = (words: readonly string[]) => words.map((w) => `'${w.replace(/\\/g, '\\\\').replace(/'/g, "''")}'`).join(' & ');

const CODE_FILTER = `f.deleted_at is null and ($2::text is null or c.codebase = $2) and ($3::text is null or f.language = $3)`;
/** Which of the query's words ($1, one tsquery each) a tsvector holds, as 0-based indexes. */
const holds = (tsvector: string) => `array(select i - 1 from generate_subscripts($1::tsquery[], 1) i where ${tsvector} @@ ($1::tsquery[])[i])`;

/**
 * Candidate chunks of code: those with all the words, and those with each of the rarest words, a
 * bounded number of each (the GIN index answers both); scored by the weights of the words they hold,
 * the best LEXICAL_CHUNKS kept, with the words in their symbol and their file's path and length.
 */
function lexicalCode(db: Database, words: readonly string[], weights: readonly number[], selective: readonly number[], o: SearchOptions) {
  return db.query<Candidate>(
    `with pool as (
       (select c.id from code_chunks c join code_files f on f.id = c.file_id where c.search @@ $4::tsquery and ${CODE_FILTER} limit ${ALL_WORDS_POOL})
       union
       (select p.id from unnest($5::tsquery[]) as w(q) cross join lateral (
          select c.id from code_chunks c join code_files f on f.id = c.file_id where c.search @@ w.q and ${CODE_FILTER} limit ${WORD_POOL}) p)),
     scored as (
       select c.id, m.matched, (select coalesce(sum(($6::float8[])[i + 1]), 0) from unnest(m.matched) i) as weight
       from pool p join code_chunks c on c.id = p.id cross join lateral (select ${holds('c.search')} as matched) m
       order by weight desc, c.id limit ${LEXICAL_CHUNKS})
     select 'code' as source, c.id, c.codebase as collection, f.path, c.start_line as "startLine", c.end_line as "endLine",
            c.symbol, f.language, s.matched,
            ${holds('c.name_search')} as "inName", ${holds('f.path_search')} as "inPath", f.line_count as "fileLines"
     from scored s join code_chunks c on c.id = s.id join code_files f on f.id = c.file_id`,
    [words.map((w) => tsquery([w])), o.codebase ?? null, o.language ?? null, tsquery(words), selective.map((i) => tsquery([words[i]!])), weights],
  );
}

// Knowledge has no codebase: a search within one codebase leaves it out.
const KNOWLEDGE_FILTER = `$2::text is null and ($3::text is null or coalesce(k.content ->> 'language', k.metadata ->> 'language') = $3)`;
const KNOWLEDGE_COLUMNS = `'knowledge' as source, k.id, k.artifact_type as collection, k.path, null::int as "startLine", null::int as "endLine",
  k.artifact_id as symbol, coalesce(k.content ->> 'language', k.metadata ->> 'language') as language`;

/** Knowledge artifacts with any of the words (a knowledge base is small), their name standing for a symbol. */
function lexicalKnowledge(db: Database, words: readonly string[], o: SearchOptions) {
  return db.query<Candidate>(
    `select ${KNOWLEDGE_COLUMNS}, ${holds('k.search')} as matched,
            ${holds(`to_tsvector('english', code_search_text(coalesce(k.content ->> 'name', k.artifact_id), ''))`)} as "inName", '{}'::int[] as "inPath"
     from knowledge_artifacts k where k.search @@ $4::tsquery and ${KNOWLEDGE_FILTER}
     order by ts_rank_cd(k.search, $4::tsquery) desc, k.id limit ${LEXICAL_CHUNKS}`,
    [words.map((w) => tsquery([w])), o.codebase ?? null, o.language ?? null, words.map((w) => tsquery([w])).join(' | ')],
  );
}

/** The distance expression: through the model's HNSW index with pgvector, a dot product without (vectors are unit length). */
function similarity(pgvector: boolean, alias: string, dimension: number): { rank: string; order: string; vector: (v: number[]) => unknown } {
  if (pgvector) {
    const distance = `${alias}.embedding::vector(${dimension}) <=> $4::vector(${dimension})`;
    return { rank: `1 - (${distance})`, order: distance, vector: (v) => `[${v.join(',')}]` };
  }
  const dot = `(select sum(a * b) from unnest(${alias}.embedding, $4::real[]) as v(a, b))`;
  return { rank: dot, order: `${dot} desc`, vector: (v) => v };
}

function nearestCode(db: Database, pgvector: boolean, model: string, values: number[], o: SearchOptions) {
  const s = similarity(pgvector, 'c', values.length);
  return db.query<Candidate>(
    `select 'code' as source, c.id, c.codebase as collection, f.path, c.start_line as "startLine", c.end_line as "endLine",
            c.symbol, f.language, ${s.rank} as similarity
     from code_chunks c join code_files f on f.id = c.file_id
     where c.embedding_model = $1 and ${CODE_FILTER}
     order by ${s.order} limit ${VECTOR_CHUNKS}`,
    [model, o.codebase ?? null, o.language ?? null, s.vector(values)],
  );
}

function nearestKnowledge(db: Database, pgvector: boolean, model: string, values: number[], o: SearchOptions) {
  const s = similarity(pgvector, 'k', values.length);
  return db.query<Candidate>(
    `select ${KNOWLEDGE_COLUMNS}, ${s.rank} as similarity
     from knowledge_artifacts k
     where k.embedding_model = $1 and ${KNOWLEDGE_FILTER}
     order by ${s.order} limit ${VECTOR_CHUNKS}`,
    [model, o.codebase ?? null, o.language ?? null, s.vector(values)],
  );
}

/**
 * The graph around the code files found: the files each depends on (imports, calls, references; a
 * symbol's edges count for its file), from which come the edges between them, summed, and for each
 * how many files of its codebase depend on it. One pass over the edges into the files found.
 */
async function edgesBetween(db: Database, groups: ReadonlyArray<{ source: string; collection: string; path: string | null }>) {
  const files = groups.filter((g) => g.source === 'code' && g.path !== null);
  const edges: FileEdge[] = [];
  const dependents = new Map<string, number>();
  if (files.length < 2) return { edges, dependents };
  const rows = await db.query<{ codebase: string; from: string; to: string; weight: number }>(
    `select t.codebase, s.path as "from", t.path as "to", sum(e.weight)::float8 as weight
     from unnest($1::text[], $2::text[]) as ft(codebase, path)
     join graph_nodes t on t.codebase = ft.codebase and t.path = ft.path
     join graph_edges e on e.target_id = t.id and e.kind in ('imports', 'calls', 'references')
     join graph_nodes s on s.id = e.source_id
     where s.path <> t.path
     group by 1, 2, 3`,
    [files.map((f) => f.collection), files.map((f) => f.path)],
  );
  const found = new Set(files.map((f) => `code:${f.collection}:${f.path}`));
  for (const r of rows) {
    const to = `code:${r.codebase}:${r.to}`;
    const from = `code:${r.codebase}:${r.from}`;
    dependents.set(to, (dependents.get(to) ?? 0) + 1);
    if (found.has(from)) edges.push({ from, to, weight: r.weight });
  }
  return { edges, dependents };
}

/** The texts of the hits' chunks (code) and artifacts (knowledge), keyed source:id. */
async function chunkTexts(db: Database, chunks: ReadonlyArray<{ source: 'code' | 'knowledge'; id: number }>): Promise<Map<string, string>> {
  const ids = (source: string) => chunks.filter((c) => c.source === source).map((c) => c.id);
  const rows = await db.query<{ key: string; content: string }>(
    `select 'code:' || id as key, content from code_chunks where id = any($1::bigint[])
     union all
     select 'knowledge:' || k.id, coalesce(k.content ->> 'name', k.artifact_id) || E'\\n' || coalesce(k.content ->> 'description', k.raw)
     from knowledge_artifacts k where k.id = any($2::bigint[])`,
    [ids('code'), ids('knowledge')],
  );
  return new Map(rows.map((r) => [r.key, r.content]));
}

/** Up to three lines around the line that holds most of the query's words; long lines cut. */
export function snippet(content: string, query: string): string {
  const words = query.toLowerCase().split(/[^a-z0-9]+/).filter((w) => w.length > 2);
  const lines = content.split('\n');
  let best = 0;
  let bestHits = -1;
  lines.forEach((line, i) => {
    const lower = line.toLowerCase();
    const hits = words.filter((w) => lower.includes(w.slice(0, Math.max(3, w.length - 2)))).length;
    if (hits > bestHits) [best, bestHits] = [i, hits];
  });
  const from = Math.max(0, best - 1);
  return lines
    .slice(from, from + 3)
    .map((line) => (line.length > 160 ? `${line.slice(0, 157)}...` : line))
    .join('\n')
    .trimEnd();
}
