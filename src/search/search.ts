// Hybrid search over ingested code and the knowledge base: PostgreSQL full-text search always, vector
// similarity where there are vectors of the query's model, fused by reciprocal rank, and code boosted by
// its file's PageRank. Files marked deleted are never returned. A search of a database with nothing in it,
// or of a codebase that was never ingested, is an error rather than an empty answer.
import type { Database } from '../core/database.js';
import { SingularityError, UsageError } from '../core/errors.js';
import type { Embedder } from '../embed/embedder.js';
import { vectorSupport } from '../vectors/vectors.js';

export interface SearchOptions {
  limit: number;
  codebase?: string;
  language?: string;
  /** Embeds the query for the vector half; without it, search is lexical only. */
  embedder?: Embedder;
}

export interface SearchHit {
  source: 'code' | 'knowledge';
  /** code_chunks.id or knowledge_artifacts.id. */
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
  /** 1-based ranks in each half (null: not found by that half). */
  lexicalRank: number | null;
  vectorRank: number | null;
  snippet: string;
}

export interface SearchResult {
  query: string;
  hits: SearchHit[];
  /** 'hybrid': both halves ran; otherwise why the vector half did not. */
  mode: 'hybrid' | 'lexical';
  lexicalOnlyBecause?: string;
}

/** Reciprocal rank fusion's constant: a hit ranked first by one half weighs about as much as one ranked well by both. */
const RRF_K = 60;
/** The most a file's PageRank can add to a code hit's score, as a share of it. */
const PAGERANK_BOOST = 0.25;

type Row = Omit<SearchHit, 'score' | 'lexicalRank' | 'vectorRank' | 'snippet'> & { content: string; pagerank: number | null };
/** A row with its half's score; a lexical row also with how many of the query's words it has (its stage). */
type Ranked = Row & { rank: number; level?: number };

/** Codebases an unknown --codebase error lists at most; more are counted. */
const LISTED_CODEBASES = 20;

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

export async function search(db: Database, query: string, options: SearchOptions): Promise<SearchResult> {
  await assertSearchable(db, options.codebase);
  const depth = Math.max(options.limit * 3, 30);
  const [{ words }] = (await db.query<{ words: string[] }>(
    `select tsvector_to_array(to_tsvector('english', code_search_text(null, $1))) as words`, [query])) as [{ words: string[] }];
  const lexical = [...(await lexicalCode(db, words, options, depth)), ...(await lexicalKnowledge(db, words, options, depth))];
  let vector: Ranked[][] = [];
  let lexicalOnlyBecause: string | undefined = options.embedder ? undefined : 'no embedding model';
  if (options.embedder) {
    const {
      vectors: [embedded],
    } = await options.embedder.embed([query]);
    const values = Array.from(embedded!);
    const { pgvector } = await vectorSupport(db, { create: false });
    vector = [
      await nearestCode(db, pgvector, options.embedder.model, values, options, depth),
      await nearestKnowledge(db, pgvector, options.embedder.model, values, options, depth),
    ];
    if (!vector.some((rows) => rows.length)) lexicalOnlyBecause = `nothing is embedded with ${options.embedder.model} yet`;
  }
  const fused = fuse(lexical, vector.flat());
  const hits = fused
    .sort((a, b) => b.score - a.score || a.id - b.id)
    .slice(0, options.limit)
    .map(({ content, pagerank: _pagerank, rank: _rank, level: _level, ...hit }) => ({ ...hit, snippet: snippet(content, query) }));
  return { query, hits, mode: lexicalOnlyBecause ? 'lexical' : 'hybrid', ...(lexicalOnlyBecause && { lexicalOnlyBecause }) };
}

type Fused = Ranked & Pick<SearchHit, 'score' | 'lexicalRank' | 'vectorRank'>;

/** Each half ranks code and knowledge together by its own score; RRF then adds 1/(k + rank) per half. */
function fuse(lexical: Ranked[], vector: Ranked[]): Fused[] {
  const byKey = new Map<string, Fused>();
  const add = (rows: Ranked[], half: 'lexicalRank' | 'vectorRank') => {
    [...rows].sort((a, b) => (b.level ?? 0) - (a.level ?? 0) || b.rank - a.rank).forEach((row, i) => {
      const key = `${row.source}:${row.id}`;
      const hit = byKey.get(key) ?? { ...row, score: 0, lexicalRank: null, vectorRank: null };
      hit[half] = i + 1;
      hit.score += 1 / (RRF_K + i + 1);
      byKey.set(key, hit);
    });
  };
  add(lexical, 'lexicalRank');
  add(vector, 'vectorRank');
  // PageRank relative to the highest among the candidates: 0 to 1, whatever the codebase's size.
  const highest = Math.max(0, ...[...byKey.values()].map((hit) => hit.pagerank ?? 0));
  if (highest > 0) for (const hit of byKey.values()) hit.score *= 1 + PAGERANK_BOOST * ((hit.pagerank ?? 0) / highest);
  return [...byKey.values()];
}

/** A tsquery of the query's words (lexemes): all of them (' & '), or any (' | '). */
const tsquery = (words: readonly string[], operator: ' & ' | ' | ') => words.map((w) => `'${w.replace(/\\/g, '\\\\').replace(/'/g, "''")}'`).join(operator);

/** Beyond this many words a query is not searched for pairs of them (the pairs grow as the square). */
const MAX_PAIRED_WORDS = 12;
/** Chunks ranked at most per stage after the first: a common word must not make search rank half the codebase. */
const STAGE_POOL = 2000;

/**
 * Lexical search in stages, as far as it takes to find `depth` rows: chunks with all of the query's
 * words, then those with at least two, then those with any. A later stage ranks only the first
 * STAGE_POOL chunks it matches, and ranks below the earlier ones: having more of the query's words
 * counts first, ts_rank_cd (all the words, how close together) within a stage. The first stage is
 * what a GIN index answers fast; the last alone, for a query of common words, would rank a large share
 * of every chunk there is.
 */
async function stagedLexical(
  words: readonly string[], depth: number,
  stage: (match: string, all: string, pool: number | null) => Promise<Ranked[]>,
): Promise<Ranked[]> {
  if (!words.length) return [];
  const all = tsquery(words, ' | ');
  const stages = [tsquery(words, ' & ')];
  if (words.length > 2 && words.length <= MAX_PAIRED_WORDS) {
    stages.push(words.flatMap((a, i) => words.slice(i + 1).map((b) => `(${tsquery([a, b], ' & ')})`)).join(' | '));
  }
  if (words.length > 1) stages.push(all);
  const found = new Map<number, Ranked>();
  for (const [i, match] of stages.entries()) {
    if (found.size >= depth) break;
    for (const row of await stage(match, all, i === 0 ? null : STAGE_POOL + found.size)) {
      if (!found.has(row.id)) found.set(row.id, { ...row, level: stages.length - i });
    }
  }
  return [...found.values()].slice(0, depth);
}

/** A code chunk's columns, with its file's PageRank (one lookup by the graph's identity index). */
const CODE_COLUMNS = `'code' as source, c.id, c.codebase as collection, f.path, c.start_line as "startLine", c.end_line as "endLine",
  c.symbol, f.language, c.content,
  (select n.pagerank from graph_nodes n where n.codebase = c.codebase and n.kind = 'file' and n.path = f.path and n.name = f.path) as pagerank`;

const CODE_FILTER = `f.deleted_at is null and ($2::text is null or c.codebase = $2) and ($3::text is null or f.language = $3)`;

function lexicalCode(db: Database, words: readonly string[], o: SearchOptions, depth: number) {
  return stagedLexical(words, depth, (match, all, pool) => db.query<Ranked>(
    `with pool as (
       select c.id, ts_rank_cd(c.search, $5::tsquery) as rank from code_chunks c join code_files f on f.id = c.file_id
       where c.search @@ $1::tsquery and ${CODE_FILTER} limit $6)
     select ${CODE_COLUMNS}, p.rank from (select id, rank from pool order by rank desc, id limit $4) p
       join code_chunks c on c.id = p.id join code_files f on f.id = c.file_id
     order by p.rank desc, c.id`,
    [match, o.codebase ?? null, o.language ?? null, depth, all, pool],
  ));
}

const KNOWLEDGE_COLUMNS = `'knowledge' as source, k.id, k.artifact_type as collection, k.path, null::int as "startLine", null::int as "endLine",
  k.artifact_id as symbol, coalesce(k.content ->> 'language', k.metadata ->> 'language') as language,
  coalesce(k.content ->> 'name', k.artifact_id) || E'\\n' || coalesce(k.content ->> 'description', k.raw) as content, null::float8 as pagerank`;

// Knowledge has no codebase: a search within one codebase leaves it out.
const KNOWLEDGE_FILTER = `$2::text is null and ($3::text is null or coalesce(k.content ->> 'language', k.metadata ->> 'language') = $3)`;

function lexicalKnowledge(db: Database, words: readonly string[], o: SearchOptions, depth: number) {
  return stagedLexical(words, depth, (match, all, pool) => db.query<Ranked>(
    `with pool as (
       select k.id, ts_rank_cd(k.search, $5::tsquery) as rank from knowledge_artifacts k
       where k.search @@ $1::tsquery and ${KNOWLEDGE_FILTER} limit $6)
     select ${KNOWLEDGE_COLUMNS}, p.rank from (select id, rank from pool order by rank desc, id limit $4) p
       join knowledge_artifacts k on k.id = p.id
     order by p.rank desc, k.id`,
    [match, o.codebase ?? null, o.language ?? null, depth, all, pool],
  ));
}

/** The distance expression: through the model's HNSW index with pgvector, a dot product without (vectors are unit length). */
function similarity(pgvector: boolean, alias: string, dimension: number): { rank: string; order: string; vector: (v: number[]) => unknown } {
  if (pgvector) {
    const distance = `${alias}.embedding::vector(${dimension}) <=> $5::vector(${dimension})`;
    return { rank: `1 - (${distance})`, order: distance, vector: (v) => `[${v.join(',')}]` };
  }
  const dot = `(select sum(a * b) from unnest(${alias}.embedding, $5::real[]) as v(a, b))`;
  return { rank: dot, order: `${dot} desc`, vector: (v) => v };
}

async function nearestCode(db: Database, pgvector: boolean, model: string, values: number[], o: SearchOptions, depth: number) {
  const s = similarity(pgvector, 'c', values.length);
  return db.query<Ranked>(
    `select ${CODE_COLUMNS}, ${s.rank} as rank
     from code_chunks c join code_files f on f.id = c.file_id
     where c.embedding_model = $1 and ${CODE_FILTER}
     order by ${s.order} limit $4`,
    [model, o.codebase ?? null, o.language ?? null, depth, s.vector(values)],
  );
}

async function nearestKnowledge(db: Database, pgvector: boolean, model: string, values: number[], o: SearchOptions, depth: number) {
  const s = similarity(pgvector, 'k', values.length);
  return db.query<Ranked>(
    `select ${KNOWLEDGE_COLUMNS}, ${s.rank} as rank
     from knowledge_artifacts k
     where k.embedding_model = $1 and ${KNOWLEDGE_FILTER}
     order by ${s.order} limit $4`,
    [model, o.codebase ?? null, o.language ?? null, depth, s.vector(values)],
  );
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
