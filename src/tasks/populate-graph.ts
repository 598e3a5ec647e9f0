import { z } from 'zod';
import { defineTask, sqlLiteral } from '../core/task/define.js';

export interface PopulateGraphResult {
  nodes: number;
  updated: number;
  edges: number;
}

export default defineTask({
  name: 'populate-graph',
  summary: "Fill each graph node's dependency and dependent id arrays from the graph's edges",
  description:
    'Recomputes graph_nodes.dependency_node_ids (edge targets) and dependent_node_ids (edge sources) of every node, ' +
    'sorted and distinct, in one statement (populate_graph()). Only rows whose arrays change are written, so a ' +
    'second run updates nothing.',
  engine: 'sql',
  schedule: '0 7 * * 0',
  setupOrder: 5,
  args: z.object({
    codebase: z.string().min(1).optional().describe('only this codebase (default: every codebase)'),
  }),
  timeoutMs: 60 * 60_000,
  sql: ({ codebase }) => `select populate_graph(${codebase === undefined ? 'null' : sqlLiteral(codebase)}) as result`,
  summarize: (r: PopulateGraphResult) => `updated ${r.updated} of ${r.nodes} nodes from ${r.edges} edges`,
});
