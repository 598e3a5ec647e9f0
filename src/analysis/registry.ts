// sync-registry: an architecture snapshot of an ingested codebase, stored with an id and a time, and its
// difference from the snapshot before. The files and their symbols are copied inside the database (the
// next difference is a join of two snapshots); the summary (languages, modules with their fan-in and
// fan-out, import cycles, the highest-ranked files and symbols, size outliers) is computed from one read
// of the graph.
import { DirectedGraph } from 'graphology';
import { stronglyConnectedComponents } from 'graphology-components';
import type { Database } from '../core/database.js';
import { codebasesToAnalyse } from './codebase.js';

export interface ModuleLinks {
  module: string;
  files: number;
  /** Other modules with a file importing one of this module's files. */
  fanIn: number;
  /** Other modules this module's files import from. */
  fanOut: number;
}

export interface RegistrySummary {
  totals: { files: number; lines: number; bytes: number; symbols: number; imports: number; calls: number };
  languages: Array<{ language: string; files: number; lines: number; symbols: number }>;
  modules: { count: number; byFanIn: ModuleLinks[]; byFanOut: ModuleLinks[] };
  /** Import cycles between files: the strongly connected components of more than one file, largest first. */
  cycles: { count: number; list: string[][] };
  ranked: { at: string | null; files: Array<{ path: string; pagerank: number }>; symbols: Array<{ symbol: string; path: string; pagerank: number }> };
  /** Above the far-out fence (third quartile + 3 interquartile ranges) of their measure. */
  outliers: {
    files: Array<{ path: string; lines: number }>;
    definitions: Array<{ symbol: string; path: string; lines: number }>;
    /** Files whose definitions call the most others: a measure of how much a file does. */
    calls: Array<{ path: string; calls: number }>;
  };
}

export interface RegistryDiff {
  /** The snapshot compared with, or null for a codebase's first snapshot. */
  previous: { id: number; takenAt: string } | null;
  files: { added: string[]; removed: string[]; grown: Array<{ path: string; before: number; after: number }>; shrunk: number; changed: number };
  symbols: { added: Array<{ path: string; symbol: string }>; removed: Array<{ path: string; symbol: string }> };
  cycles: { added: string[][]; removed: string[][] };
}

export interface RegistrySnapshot {
  id: number;
  codebase: string;
  takenAt: string;
  summary: RegistrySummary;
  diff: RegistryDiff;
}

const TOP = 10;
const LISTED = 50;

export async function syncRegistry(db: Database, options: { codebase?: string; runId?: number; keep?: number }): Promise<RegistrySnapshot[]> {
  const snapshots: RegistrySnapshot[] = [];
  for (const codebase of await codebasesToAnalyse(db, options.codebase)) {
    snapshots.push(await takeSnapshot(db, codebase, options.runId, options.keep));
  }
  return snapshots;
}

async function takeSnapshot(db: Database, codebase: string, runId?: number, keep?: number): Promise<RegistrySnapshot> {
  const summary = await summarise(db, codebase);
  return db.transaction(async (client) => {
    const [previous] = (await client.query<{ id: number; takenAt: Date; summary: RegistrySummary }>(
      `select id, taken_at as "takenAt", summary from registry_snapshots where codebase = $1 order by id desc limit 1`, [codebase])).rows;
    const [row] = (await client.query<{ id: number; takenAt: Date }>(
      `insert into registry_snapshots (codebase, run_id, summary) values ($1, $2, $3) returning id, taken_at as "takenAt"`,
      [codebase, runId ?? null, JSON.stringify(summary)])).rows;
    await client.query(
      `insert into registry_snapshot_files (snapshot_id, path, language, lines, bytes, content_hash, symbols)
       select $2, f.path, f.language, coalesce(f.line_count, 0), f.size_bytes, f.content_hash, coalesce(s.symbols, '{}')
       from code_files f
       left join (select path, array_agg(name order by name) as symbols from graph_nodes
                  where codebase = $1 and kind = 'symbol' group by path) s on s.path = f.path
       where f.codebase = $1 and f.deleted_at is null`,
      [codebase, row!.id]);
    const diff = previous ? await difference(client, previous.id, row!.id, previous.summary, summary) : emptyDiff();
    if (previous) diff.previous = { id: previous.id, takenAt: new Date(previous.takenAt).toISOString() };
    if (keep !== undefined) {
      await client.query(
        `delete from registry_snapshots where codebase = $1 and id not in
           (select id from registry_snapshots where codebase = $1 order by id desc limit $2)`, [codebase, keep]);
    }
    return { id: row!.id, codebase, takenAt: new Date(row!.takenAt).toISOString(), summary, diff };
  });
}

const emptyDiff = (): RegistryDiff => ({
  previous: null, files: { added: [], removed: [], grown: [], shrunk: 0, changed: 0 }, symbols: { added: [], removed: [] }, cycles: { added: [], removed: [] },
});

type Query = { query<T>(text: string, params?: unknown[]): Promise<{ rows: T[] }> };

async function difference(client: Query, before: number, after: number, old: RegistrySummary, now: RegistrySummary): Promise<RegistryDiff> {
  const files = (await client.query<{ path: string; before: number | null; after: number | null; changed: boolean }>(
    `select coalesce(n.path, o.path) as path, o.lines as before, n.lines as after, o.content_hash is distinct from n.content_hash as changed
     from (select * from registry_snapshot_files where snapshot_id = $2) n
     full join (select * from registry_snapshot_files where snapshot_id = $1) o on o.path = n.path
     where o.path is null or n.path is null or o.content_hash <> n.content_hash
     order by 1`, [before, after])).rows;
  const symbols = (await client.query<{ path: string; symbol: string; added: boolean }>(
    `with n as (select path, unnest(symbols) as symbol from registry_snapshot_files where snapshot_id = $2),
          o as (select path, unnest(symbols) as symbol from registry_snapshot_files where snapshot_id = $1)
     (select path, symbol, true as added from n except select path, symbol, true from o)
     union all
     (select path, symbol, false from o except select path, symbol, false from n)
     order by path, symbol`, [before, after])).rows;
  const cycleKey = (c: string[]) => [...c].sort().join('\n');
  const oldCycles = new Set(old.cycles.list.map(cycleKey));
  const newCycles = new Set(now.cycles.list.map(cycleKey));
  const grown = files.filter((f) => f.before !== null && f.after !== null && f.after > f.before)
    .map((f) => ({ path: f.path, before: f.before!, after: f.after! }))
    .sort((a, b) => b.after - b.before - (a.after - a.before) || (a.path < b.path ? -1 : 1));
  return {
    previous: null,
    files: {
      added: files.filter((f) => f.before === null).map((f) => f.path),
      removed: files.filter((f) => f.after === null).map((f) => f.path),
      grown,
      shrunk: files.filter((f) => f.before !== null && f.after !== null && f.after < f.before).length,
      changed: files.filter((f) => f.before !== null && f.after !== null).length,
    },
    symbols: {
      added: symbols.filter((s) => s.added).map(({ path, symbol }) => ({ path, symbol })),
      removed: symbols.filter((s) => !s.added).map(({ path, symbol }) => ({ path, symbol })),
    },
    cycles: {
      added: now.cycles.list.filter((c) => !oldCycles.has(cycleKey(c))),
      removed: old.cycles.list.filter((c) => !newCycles.has(cycleKey(c))),
    },
  };
}

async function summarise(db: Database, codebase: string): Promise<RegistrySummary> {
  const [languages, imports, ranked, definitions, calls, files] = await Promise.all([
    db.query<{ language: string; files: number; lines: number; bytes: number; symbols: number }>(
      `select coalesce(f.language, 'other') as language, count(*)::int as files, coalesce(sum(f.line_count), 0)::int as lines,
              sum(f.size_bytes)::float8 as bytes, coalesce(sum(s.n), 0)::int as symbols
       from code_files f
       left join (select path, count(*) as n from graph_nodes where codebase = $1 and kind = 'symbol' group by path) s on s.path = f.path
       where f.codebase = $1 and f.deleted_at is null
       group by 1 order by files desc, language`, [codebase]),
    db.query<{ from: string; to: string }>(
      `select s.path as "from", t.path as "to" from graph_edges e
       join graph_nodes s on s.id = e.source_id join graph_nodes t on t.id = e.target_id
       where s.codebase = $1 and e.kind = 'imports'`, [codebase]),
    db.query<{ kind: string; name: string; path: string; pagerank: number; at: Date }>(
      `(select kind, name, path, pagerank, pagerank_at as at from graph_nodes
        where codebase = $1 and kind = 'file' and pagerank is not null order by pagerank desc, name limit ${TOP})
       union all
       (select kind, name, path, pagerank, pagerank_at from graph_nodes
        where codebase = $1 and kind = 'symbol' and pagerank is not null order by pagerank desc, name limit ${TOP})`, [codebase]),
    db.query<{ symbol: string; path: string; lines: number }>(
      `select name as symbol, path, coalesce((metadata ->> 'endLine')::int, line) - line + 1 as lines
       from graph_nodes where codebase = $1 and kind = 'symbol' and metadata ->> 'kind' in ('function', 'method')`, [codebase]),
    db.query<{ path: string; calls: number }>(
      `select s.path, count(*)::int as calls from graph_edges e join graph_nodes s on s.id = e.source_id
       where s.codebase = $1 and e.kind = 'calls' group by s.path`, [codebase]),
    db.query<{ path: string; lines: number }>(
      'select path, coalesce(line_count, 0) as lines from code_files where codebase = $1 and deleted_at is null', [codebase]),
  ]);

  const moduleOf = (path: string) => (path.includes('/') ? path.slice(0, path.lastIndexOf('/')) : '.');
  const modules = new Map<string, { files: number; in: Set<string>; out: Set<string> }>();
  const moduleEntry = (m: string) => {
    let entry = modules.get(m);
    if (!entry) modules.set(m, (entry = { files: 0, in: new Set(), out: new Set() }));
    return entry;
  };
  for (const f of files) moduleEntry(moduleOf(f.path)).files++;
  const graph = new DirectedGraph();
  for (const f of files) graph.addNode(f.path);
  for (const { from, to } of imports) {
    if (from === to || !graph.hasNode(from) || !graph.hasNode(to)) continue;
    graph.mergeEdge(from, to);
    const [a, b] = [moduleOf(from), moduleOf(to)];
    if (a !== b) {
      moduleEntry(a).out.add(b);
      moduleEntry(b).in.add(a);
    }
  }
  const cycles = stronglyConnectedComponents(graph).filter((c) => c.length > 1).map((c) => c.sort())
    .sort((a, b) => b.length - a.length || (a[0]! < b[0]! ? -1 : 1));
  const links: ModuleLinks[] = [...modules].map(([module, m]) => ({ module, files: m.files, fanIn: m.in.size, fanOut: m.out.size }));
  const top = (key: 'fanIn' | 'fanOut') => [...links].filter((l) => l[key] > 0)
    .sort((a, b) => b[key] - a[key] || (a.module < b.module ? -1 : 1)).slice(0, TOP);
  const rankedAt = ranked.find((r) => r.at)?.at;
  const totals = {
    files: files.length,
    lines: languages.reduce((n, l) => n + l.lines, 0),
    bytes: languages.reduce((n, l) => n + Number(l.bytes), 0),
    symbols: languages.reduce((n, l) => n + l.symbols, 0),
    imports: imports.length,
    calls: calls.reduce((n, c) => n + c.calls, 0),
  };
  return {
    totals,
    languages: languages.map(({ language, files: n, lines, symbols }) => ({ language, files: n, lines, symbols })),
    modules: { count: modules.size, byFanIn: top('fanIn'), byFanOut: top('fanOut') },
    cycles: { count: cycles.length, list: cycles.slice(0, LISTED) },
    ranked: {
      at: rankedAt ? new Date(rankedAt).toISOString() : null,
      files: ranked.filter((r) => r.kind === 'file').map((r) => ({ path: r.path, pagerank: r.pagerank })),
      symbols: ranked.filter((r) => r.kind === 'symbol').map((r) => ({ symbol: r.name, path: r.path, pagerank: r.pagerank })),
    },
    outliers: {
      files: farOut(files, (f) => f.lines).map(({ path, lines }) => ({ path, lines })),
      definitions: farOut(definitions, (d) => d.lines),
      calls: farOut(calls, (c) => c.calls),
    },
  };
}

/** The items above the far-out fence of a measure (Q3 + 3 IQR), largest first, at most TOP of them. */
export function farOut<T>(items: readonly T[], measure: (item: T) => number): T[] {
  if (items.length < 4) return [];
  const values = items.map(measure).sort((a, b) => a - b);
  const quantile = (q: number) => {
    const at = (values.length - 1) * q;
    const low = Math.floor(at);
    return values[low]! + (values[Math.min(low + 1, values.length - 1)]! - values[low]!) * (at - low);
  };
  const fence = quantile(0.75) + 3 * (quantile(0.75) - quantile(0.25));
  return items.filter((i) => measure(i) > fence).sort((a, b) => measure(b) - measure(a)).slice(0, TOP);
}
