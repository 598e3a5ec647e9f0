import { z } from 'zod';
import { defineTask, sqlLiteral } from '../core/task/define.js';

export interface RankGraphResult {
  codebases: number;
  nodes: number;
  edges: number;
  iterations: number;
  converged: boolean;
  delta: number;
}

export default defineTask({
  name: 'rank-graph',
  summary: 'Recompute PageRank over the dependency graph, each codebase on its own',
  description:
    "Weighted PageRank (rank_graph()): a node's rank flows along its outgoing edges in proportion to their weights; " +
    'the rank of nodes without outgoing edges is spread over all nodes. Iterates until the total (L1) change of an ' +
    'iteration is below --tolerance, or --max-iterations; writes graph_nodes.pagerank (summing to 1 per codebase).',
  engine: 'sql',
  schedule: '0 3 * * *',
  args: z.object({
    // The same bounds rank_graph() checks, so that a bad flag is refused before any run is recorded.
    damping: z.number().gt(0).lt(1).default(0.85).describe('damping factor, between 0 and 1'),
    tolerance: z.number().gt(0).default(0.000001).describe('stop when the L1 change of an iteration is below this'),
    maxIterations: z.number().int().min(1).default(100).describe('stop after this many iterations at most'),
    codebase: z.string().min(1).optional().describe('only this codebase (default: every codebase)'),
  }),
  timeoutMs: 60 * 60_000,
  sql: ({ damping, tolerance, maxIterations, codebase }) =>
    `select rank_graph(${sqlLiteral(damping)}::float8, ${sqlLiteral(tolerance)}::float8, ${sqlLiteral(maxIterations)}, ` +
    `${codebase === undefined ? 'null' : sqlLiteral(codebase)}) as result`,
  summarize: (r: RankGraphResult) =>
    `ranked ${r.nodes} nodes in ${r.iterations} iterations (${r.converged ? 'converged' : `not converged, last change ${r.delta}`})`,
});
