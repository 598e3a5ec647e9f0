// The dependency graph: populate-graph and rank-graph, run through the runner against each backend,
// checked against the same graph computed in JavaScript (the arrays) and by graphology (PageRank).
import { MultiDirectedGraph } from 'graphology';
import pagerank from 'graphology-metrics/centrality/pagerank.js';
import { beforeAll, describe, expect, it } from 'vitest';
import { backendNames, onBackend, type Backend } from './support/backends.js';
import type { Database } from '../src/core/database.js';
import { runTask } from '../src/core/runner.js';
import { parseArgs } from '../src/core/task/args.js';
import populateGraph, { type PopulateGraphResult } from '../src/tasks/populate-graph.js';
import rankGraph, { type RankGraphResult } from '../src/tasks/rank-graph.js';

interface Edge {
  source: number;
  target: number;
  kind: string;
  weight: number;
}
const KINDS = ['imports', 'calls', 'references', 'contains', 'defines'];

/** A small seeded generator (mulberry32), so that a failing graph can be rebuilt. */
function random(seed: number) {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Random edges over `ids`: only the first (1 - dangling) share of the nodes have outgoing edges; some
 * pairs are linked by two kinds, with different weights; a few self-loops; ten popular targets.
 */
function randomEdges(ids: number[], count: number, seed: number, dangling = 0): Edge[] {
  const next = random(seed);
  const pick = (n: number) => Math.floor(next() * n);
  const sources = ids.slice(0, Math.ceil(ids.length * (1 - dangling)));
  const byKey = new Map<string, Edge>();
  while (byKey.size < count) {
    const source = sources[pick(sources.length)]!;
    // A fifth of the edges go to ten popular nodes, as real code leans on a few modules.
    const r = next();
    const target = r < 0.01 ? source : r < 0.2 ? ids[pick(10)]! : ids[pick(ids.length)]!;
    const kinds = next() < 0.1 ? [KINDS[0]!, KINDS[1 + pick(4)]!] : [KINDS[pick(5)]!];
    for (const kind of kinds) byKey.set(`${source}:${target}:${kind}`, { source, target, kind, weight: 0.1 + next() * 5 });
  }
  return [...byKey.values()];
}

describe.each(backendNames)('the dependency graph on %s', (backendName) => {
  let backend: Backend;
  let db: Database;
  const ctx = () => ({ db, config: backend.config });

  onBackend(backendName, (opened) => ({ backend, db } = opened));

  async function addNodes(codebase: string, count: number): Promise<number[]> {
    const rows = await db.query<{ id: number }>(
      `insert into graph_nodes (codebase, kind, name, path, language, line)
       select $1, 'symbol', 'fn' || i, 'src/mod' || (i % 20) || '.ts', 'typescript', i
         from generate_series(1, $2::int) as i
       returning id`,
      [codebase, count],
    );
    return rows.map((r) => r.id).sort((a, b) => a - b);
  }

  async function addEdges(edges: Edge[]) {
    await db.query(
      `insert into graph_edges (source_id, target_id, kind, weight)
       select * from unnest($1::bigint[], $2::bigint[], $3::text[], $4::float8[])`,
      [edges.map((e) => e.source), edges.map((e) => e.target), edges.map((e) => e.kind), edges.map((e) => e.weight)],
    );
  }

  /** Each node's arrays as stored, ids as numbers. */
  async function storedArrays(codebase: string) {
    const rows = await db.query<{ id: number; dependencies: string[]; dependents: string[] }>(
      `select id, dependency_node_ids as dependencies, dependent_node_ids as dependents
         from graph_nodes where codebase = $1 order by id`,
      [codebase],
    );
    return new Map(rows.map((r) => [r.id, { dependencies: r.dependencies.map(Number), dependents: r.dependents.map(Number) }]));
  }

  /** What the arrays must hold: distinct edge targets / sources, ascending. */
  function expectedArrays(ids: number[], edges: Edge[]) {
    const sets = new Map(ids.map((id) => [id, { dependencies: new Set<number>(), dependents: new Set<number>() }]));
    for (const e of edges) {
      sets.get(e.source)?.dependencies.add(e.target);
      sets.get(e.target)?.dependents.add(e.source);
    }
    const sorted = (s: Set<number>) => [...s].sort((a, b) => a - b);
    return new Map([...sets].map(([id, s]) => [id, { dependencies: sorted(s.dependencies), dependents: sorted(s.dependents) }]));
  }

  const populate = (flags: Record<string, unknown> = {}) =>
    runTask(ctx(), populateGraph, { trigger: 'cli', args: populateGraph.args.parse(flags) });
  const rank = (flags: Record<string, unknown> = {}) =>
    runTask(ctx(), rankGraph, { trigger: 'cli', args: rankGraph.args.parse(flags) });

  describe('populate-graph', () => {
    let appIds: number[];
    let appEdges: Edge[];
    let libIds: number[];
    let libEdges: Edge[];

    beforeAll(async () => {
      appIds = await addNodes('app', 300);
      appEdges = randomEdges(appIds, 1500, 1, 0.2);
      libIds = await addNodes('lib', 40);
      libEdges = randomEdges(libIds, 120, 2);
      await addEdges([...appEdges, ...libEdges]);
    });

    it("fills every node's arrays with exactly its edges' targets and sources, sorted and distinct", async () => {
      const run = await populate();
      expect(run.error).toBeNull();
      expect(run.state).toBe('completed');
      const expected = expectedArrays([...appIds, ...libIds], [...appEdges, ...libEdges]);
      const withEdges = [...expected.values()].filter((a) => a.dependencies.length + a.dependents.length > 0).length;
      expect(run.result).toEqual({ nodes: 340, updated: withEdges, edges: appEdges.length + libEdges.length });
      expect(run.summary).toBe(`updated ${withEdges} of 340 nodes from ${appEdges.length + libEdges.length} edges`);

      const stored = new Map([...(await storedArrays('app')), ...(await storedArrays('lib'))]);
      expect(stored).toEqual(expected);
      // The graph has what makes the comparison worth it: nodes linked by two kinds, nodes without edges out.
      expect(appEdges.length).toBeGreaterThan(new Set(appEdges.map((e) => `${e.source}:${e.target}`)).size);
      expect([...expected.values()].some((a) => a.dependencies.length === 0 && a.dependents.length > 0)).toBe(true);
    });

    it('writes nothing on a second run', async () => {
      const run = await populate();
      expect(run.result).toEqual({ nodes: 340, updated: 0, edges: appEdges.length + libEdges.length });
    });

    it('empties the arrays of a node whose edges were deleted, and drops it from its neighbours', async () => {
      const node = appIds.find((id) => appEdges.some((e) => e.source === id) && appEdges.some((e) => e.target === id))!;
      const neighbours = new Set(appEdges.flatMap((e) => (e.source === node ? [e.target] : e.target === node ? [e.source] : [])));
      neighbours.add(node);
      await db.query('delete from graph_edges where source_id = $1 or target_id = $1', [node]);
      appEdges = appEdges.filter((e) => e.source !== node && e.target !== node);

      const run = await populate({ codebase: 'app' });
      expect((run.result as PopulateGraphResult).updated).toBe(neighbours.size);
      const stored = await storedArrays('app');
      expect(stored.get(node)).toEqual({ dependencies: [], dependents: [] });
      expect(stored).toEqual(expectedArrays(appIds, appEdges));
    });

    it("follows deleted nodes: their edges go with them, and they leave their neighbours' arrays", async () => {
      const node = libIds.find((id) => libEdges.some((e) => e.target === id && e.source !== id))!;
      await db.query('delete from graph_nodes where id = $1', [node]);
      libIds = libIds.filter((id) => id !== node);
      libEdges = libEdges.filter((e) => e.source !== node && e.target !== node);
      const [{ n }] = (await db.query<{ n: number }>('select count(*)::int as n from graph_edges where $1 in (source_id, target_id)', [node])) as [{ n: number }];
      expect(n).toBe(0);

      const run = await populate({ codebase: 'lib' });
      expect(run.result).toMatchObject({ nodes: 39, edges: libEdges.length });
      expect(await storedArrays('lib')).toEqual(expectedArrays(libIds, libEdges));
    });

    it('--codebase updates that codebase only', async () => {
      const appEdge = { source: appIds[0]!, target: appIds[299]!, kind: 'references', weight: 1 };
      const libEdge = { source: libIds[0]!, target: libIds[1]!, kind: 'references', weight: 1 };
      const known = (e: Edge) => [...appEdges, ...libEdges].some((x) => x.source === e.source && x.target === e.target && x.kind === e.kind);
      expect(known(appEdge) || known(libEdge)).toBe(false);
      await addEdges([appEdge, libEdge]);
      appEdges.push(appEdge);
      libEdges.push(libEdge);

      const run = await populate(parseArgs(populateGraph.args, { codebase: 'lib' }, 'populate-graph'));
      expect(run.result).toMatchObject({ nodes: 39, edges: libEdges.length });
      expect(await storedArrays('lib')).toEqual(expectedArrays(libIds, libEdges));
      // app's new edge is not in its arrays yet: another codebase was asked for.
      expect((await storedArrays('app')).get(appIds[0]!)!.dependencies).toEqual(
        expectedArrays(appIds, appEdges.slice(0, -1)).get(appIds[0]!)!.dependencies,
      );
      // Until app's turn comes.
      await populate({ codebase: 'app' });
      expect(await storedArrays('app')).toEqual(expectedArrays(appIds, appEdges));
    });
  });

  describe('graph_nodes', () => {
    it('lets a re-ingest upsert a node by (codebase, kind, path, name), a missing path included', async () => {
      const upsert = (path: string | null, line: number) =>
        db.query<{ id: number }>(
          `insert into graph_nodes (codebase, kind, name, path, line) values ('upsert', 'symbol', 'render', $1, $2)
           on conflict (codebase, kind, path, name) do update set line = excluded.line, updated_at = now()
           returning id`,
          [path, line],
        );
      const [first] = await upsert(null, 1);
      const [second] = await upsert(null, 2);
      const [inFile] = await upsert('src/view.ts', 3);
      expect(second!.id).toBe(first!.id);
      expect(inFile!.id).not.toBe(first!.id);
      await expect(db.query(`insert into graph_edges (source_id, target_id, kind, weight) values ($1, $1, 'calls', 'NaN')`, [first!.id])).rejects.toThrow(
        /graph_edges_weight_check/,
      );
      await db.query(`delete from graph_nodes where codebase = 'upsert'`);
    });
  });

  describe('rank-graph', () => {
    let ids: number[];
    let edges: Edge[];

    beforeAll(async () => {
      ids = await addNodes('ranked', 400);
      edges = randomEdges(ids, 1600, 3, 0.25);
      await addEdges(edges);
    });

    async function storedRanks(codebase: string) {
      const rows = await db.query<{ id: number; pagerank: number | null; stamped: boolean }>(
        `select id, pagerank, pagerank_at is not null as stamped from graph_nodes where codebase = $1 order by id`,
        [codebase],
      );
      return rows;
    }

    it("agrees with graphology's PageRank within 1e-6 (weighted edges, dangling nodes, two kinds per pair)", async () => {
      const run = await rank({ codebase: 'ranked', tolerance: 1e-12, maxIterations: 1000 });
      expect(run.error).toBeNull();
      const result = run.result as RankGraphResult;
      expect(result).toMatchObject({ codebases: 1, nodes: 400, edges: edges.length, converged: true });
      expect(result.delta).toBeLessThan(1e-12);
      expect(run.summary).toBe(`ranked 400 nodes in ${result.iterations} iterations (converged)`);

      // The same graph in graphology: one edge per row of graph_edges, so the kinds of one pair are
      // two parallel edges whose weights graphology adds up, as rank_graph does. graphology also
      // spreads dangling nodes' rank over all nodes, counts self-loops as out-edges and stops when
      // the L1 change is below tolerance * n; with both tolerances tight, both reach the same fixed point.
      const graph = new MultiDirectedGraph();
      for (const id of ids) graph.addNode(String(id));
      for (const e of edges) graph.addEdge(String(e.source), String(e.target), { weight: e.weight });
      const theirs = pagerank(graph, { alpha: 0.85, tolerance: 1e-10, maxIterations: 1000, getEdgeWeight: 'weight' });

      const ours = await storedRanks('ranked');
      expect(ours).toHaveLength(400);
      let worst = 0;
      for (const row of ours) {
        expect(row.stamped).toBe(true);
        worst = Math.max(worst, Math.abs(row.pagerank! - theirs[String(row.id)]!));
      }
      expect(worst).toBeLessThan(1e-6);
      // What a user reads off: the most important nodes, in order.
      const top = (ranks: [string, number][]) => ranks.sort((a, b) => b[1] - a[1]).slice(0, 10).map(([id]) => id);
      expect(top(ours.map((r) => [String(r.id), r.pagerank!]))).toEqual(top(Object.entries(theirs)));
      // Dangling nodes exist, and some ranks are far from uniform: the graph is not a trivial case.
      expect(ids.some((id) => !edges.some((e) => e.source === id))).toBe(true);
      expect(Math.max(...ours.map((r) => r.pagerank!))).toBeGreaterThan(5 / 400);
    });

    it('ranks every codebase on its own, each summing to 1, with the defaults', async () => {
      const run = await rank();
      expect(run.state).toBe('completed');
      const result = run.result as RankGraphResult;
      const [{ codebases, nodes }] = (await db.query<{ codebases: number; nodes: number }>(
        'select count(distinct codebase)::int as codebases, count(*)::int as nodes from graph_nodes',
      )) as [{ codebases: number; nodes: number }];
      expect(result).toMatchObject({ codebases, nodes, converged: true });
      expect(result.delta).toBeLessThan(1e-6);
      const sums = await db.query<{ codebase: string; total: number; unranked: number }>(
        `select codebase, sum(pagerank) as total, count(*) filter (where pagerank is null)::int as unranked
           from graph_nodes group by codebase order by codebase`,
      );
      expect(sums.map((s) => s.codebase)).toEqual(['app', 'lib', 'ranked']);
      for (const s of sums) {
        expect(s.unranked, s.codebase).toBe(0);
        expect(s.total, s.codebase).toBeCloseTo(1, 9);
      }
    });

    it('reports a run stopped by the iteration cap as not converged', async () => {
      const run = await rank({ codebase: 'ranked', maxIterations: 2 });
      expect(run.state).toBe('completed');
      const result = run.result as RankGraphResult;
      expect(result).toMatchObject({ nodes: 400, iterations: 2, converged: false });
      expect(result.delta).toBeGreaterThan(1e-6);
      expect(run.summary).toBe(`ranked 400 nodes in 2 iterations (not converged, last change ${result.delta})`);
      const [{ total }] = (await db.query<{ total: number }>(`select sum(pagerank) as total from graph_nodes where codebase = 'ranked'`)) as [
        { total: number },
      ];
      expect(total).toBeCloseTo(1, 9);
    });

    it('ranks nothing for a codebase that has no nodes', async () => {
      const run = await rank({ codebase: 'no-such-codebase' });
      expect(run.result).toEqual({ codebases: 0, nodes: 0, edges: 0, iterations: 0, converged: true, delta: 0 });
      expect(run.summary).toBe('ranked 0 nodes in 0 iterations (converged)');
    });

    it('parses its flags as the command line gives them', async () => {
      expect(rankGraph.args.parse({})).toEqual({ damping: 0.85, tolerance: 0.000001, maxIterations: 100 });
      const args = parseArgs(rankGraph.args, { damping: '0.5', tolerance: '1e-9', maxIterations: '500', codebase: "lib's" }, 'rank-graph');
      expect(args).toEqual({ damping: 0.5, tolerance: 1e-9, maxIterations: 500, codebase: "lib's" });
      expect(rankGraph.sql(args)).toBe(`select rank_graph(0.5::float8, 1e-9::float8, 500, 'lib''s') as result`);
      // A quote in a codebase name is data, not SQL.
      const run = await runTask(ctx(), rankGraph, { trigger: 'cli', args });
      expect(run.result).toMatchObject({ codebases: 0, nodes: 0 });
      expect(() => parseArgs(rankGraph.args, { damping: '1' }, 'rank-graph')).toThrow(/--damping/);
      expect(() => parseArgs(rankGraph.args, { tolerance: '0' }, 'rank-graph')).toThrow(/--tolerance/);
      expect(() => parseArgs(rankGraph.args, { maxIterations: '0' }, 'rank-graph')).toThrow(/--max-iterations/);
    });

    it.each([
      [{ damping: 1 }, /damping must be between 0 and 1 \(both excluded\), got 1/],
      [{ damping: 0 }, /damping must be between 0 and 1/],
      [{ tolerance: 0 }, /tolerance must be a positive number, got 0/],
      [{ tolerance: -1e-6 }, /tolerance must be a positive number/],
      [{ maxIterations: 0 }, /max_iterations must be at least 1, got 0/],
    ])('fails a run whose statement has bad arguments (%o), naming the argument', async (bad, message) => {
      // As a hand-written pg_cron job would: past the flag parser, straight to rank_graph().
      const before = await storedRanks('ranked');
      const args = { damping: 0.85, tolerance: 1e-6, maxIterations: 100, codebase: 'ranked', ...bad };
      const run = await runTask(ctx(), rankGraph, { trigger: 'cli', args });
      expect(run.state).toBe('discarded');
      expect(run.error?.message).toMatch(message);
      expect(await storedRanks('ranked')).toEqual(before);
    });
  });
});
