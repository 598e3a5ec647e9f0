// Hybrid search over ingested code and the knowledge base: PostgreSQL full-text search always, vector
// similarity where there are vectors of the query's model, fused by reciprocal rank, and code boosted by
// its file's PageRank. Files marked deleted are never returned.
import type { Database } from '../core/db.js';
import type { Embedder } from '../embed/embedder.js';
import { vectorSupport } from '../embed/vectors.js';

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

export async function search(db: Database, query: string, options: SearchOptions): Promise<SearchResult> {
  const depth = Math.max(options.limit * 3, 30);
  const lexical = [...(await lexicalCode(db, query, options, depth)), ...(await lexicalKnowledge(db, query, options, depth))];
  let vector: Array<Array<Row & { rank: number }>> = [];
  let lexicalOnlyBecause: string | undefined = options.embedder ? undefined : 'no embedding model';
  if (options.embedder) {
    const {
      vectors: [embedded],
    } = await options.embedder.embed([query]);
    const values = Array.from(embedded!);
    vector = [
      await nearestCode(db, options.embedder.model, values, options, depth),
      await nearestKnowledge(db, options.embedder.model, values, options, depth),
    ];
    if (!vector.some((rows) => rows.length)) lexicalOnlyBecause = `nothing is embedded with ${options.embedder.model} yet`;
  }
  const fused = fuse(lexical, vector.flat());
  const hits = fused
    .sort((a, b) => b.score - a.score || a.id - b.id)
    .slice(0, options.limit)
    .map(({ content, pagerank: _pagerank, rank: _rank, ...hit }) => ({ ...hit, snippet: snippet(content, query) }));
  return { query, hits, mode: lexicalOnlyBecause ? 'lexical' : 'hybrid', ...(lexicalOnlyBecause && { lexicalOnlyBecause }) };
}

type Fused = Row & { rank: number } & Pick<SearchHit, 'score' | 'lexicalRank' | 'vectorRank'>;

/** Each half ranks code and knowledge together by its own score; RRF then adds 1/(k + rank) per half. */
function fuse(lexical: Array<Row & { rank: number }>, vector: Array<Row & { rank: number }>): Fused[] {
  const byKey = new Map<string, Fused>();
  const add = (rows: Array<Row & { rank: number }>, half: 'lexicalRank' | 'vectorRank') => {
    [...rows].sort((a, b) => b.rank - a.rank).forEach((row, i) => {
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

// Any of the query's words (stemmed, stop words dropped) rather than all of them: ranking does the rest.
const ANY_WORD = `(select replace(plainto_tsquery('english', code_search_text(null, $1))::text, '&', '|')::tsquery as q) as w`;

/** A code chunk's columns, with its file's PageRank (one lookup by the graph's identity index). */
const CODE_COLUMNS = `'code' as source, c.id, c.codebase as collection, f.path, c.start_line as "startLine", c.end_line as "endLine",
  c.symbol, f.language, c.content,
  (select n.pagerank from graph_nodes n where n.codebase = c.codebase and n.kind = 'file' and n.path = f.path and n.name = f.path) as pagerank`;

const CODE_FILTER = `f.deleted_at is null and ($2::text is null or c.codebase = $2) and ($3::text is null or f.language = $3)`;

async function lexicalCode(db: Database, query: string, o: SearchOptions, depth: number) {
  return db.query<Row & { rank: number }>(
    `select ${CODE_COLUMNS}, ts_rank_cd(c.search, w.q) as rank
     from code_chunks c join code_files f on f.id = c.file_id, ${ANY_WORD}
     where c.search @@ w.q and ${CODE_FILTER}
     order by rank desc, c.id limit $4`,
    [query, o.codebase ?? null, o.language ?? null, depth],
  );
}

const KNOWLEDGE_COLUMNS = `'knowledge' as source, k.id, k.artifact_type as collection, k.path, null::int as "startLine", null::int as "endLine",
  k.artifact_id as symbol, coalesce(k.content ->> 'language', k.metadata ->> 'language') as language,
  coalesce(k.content ->> 'name', k.artifact_id) || E'\\n' || coalesce(k.content ->> 'description', k.raw) as content, null::float8 as pagerank`;

// Knowledge has no codebase: a search within one codebase leaves it out.
const KNOWLEDGE_FILTER = `$2::text is null and ($3::text is null or coalesce(k.content ->> 'language', k.metadata ->> 'language') = $3)`;

async function lexicalKnowledge(db: Database, query: string, o: SearchOptions, depth: number) {
  return db.query<Row & { rank: number }>(
    `select ${KNOWLEDGE_COLUMNS}, ts_rank_cd(k.search, w.q) as rank
     from knowledge_artifacts k, ${ANY_WORD}
     where k.search @@ w.q and ${KNOWLEDGE_FILTER}
     order by rank desc, k.id limit $4`,
    [query, o.codebase ?? null, o.language ?? null, depth],
  );
}

/** The distance expression: through the model's HNSW index with pgvector, a dot product without (vectors are unit length). */
async function similarity(db: Database, alias: string, dimension: number): Promise<{ rank: string; order: string; vector: (v: number[]) => unknown }> {
  const { pgvector } = await vectorSupport(db, { create: false });
  if (pgvector) {
    const distance = `${alias}.embedding::vector(${dimension}) <=> $5::vector(${dimension})`;
    return { rank: `1 - (${distance})`, order: distance, vector: (v) => `[${v.join(',')}]` };
  }
  const dot = `(select sum(a * b) from unnest(${alias}.embedding, $5::real[]) as v(a, b))`;
  return { rank: dot, order: `${dot} desc`, vector: (v) => v };
}

async function nearestCode(db: Database, model: string, values: number[], o: SearchOptions, depth: number) {
  const s = await similarity(db, 'c', values.length);
  return db.query<Row & { rank: number }>(
    `select ${CODE_COLUMNS}, ${s.rank} as rank
     from code_chunks c join code_files f on f.id = c.file_id
     where c.embedding_model = $1 and ${CODE_FILTER}
     order by ${s.order} limit $4`,
    [model, o.codebase ?? null, o.language ?? null, depth, s.vector(values)],
  );
}

async function nearestKnowledge(db: Database, model: string, values: number[], o: SearchOptions, depth: number) {
  const s = await similarity(db, 'k', values.length);
  return db.query<Row & { rank: number }>(
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
