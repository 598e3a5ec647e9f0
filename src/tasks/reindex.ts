import { z } from 'zod';
import { defineTask, sqlLiteral } from '../core/task/define.js';

export default defineTask({
  name: 'reindex',
  summary: 'REINDEX CONCURRENTLY the btree indexes whose size has bloated past a bound',
  description:
    'Rebuild, without blocking reads or writes, every valid btree index of the database whose size is at least ' +
    '--min-bloat times what its live entries need (estimated from the catalog and planner statistics) and at ' +
    'least --min-size-mb. Runs through run-scheduler or by hand; pg_cron cannot run it, since the indexes are ' +
    'chosen at run time and REINDEX CONCURRENTLY cannot run inside a function.',
  engine: 'sql',
  schedule: '0 3 * * 0',
  args: z.object({
    minBloat: z.number().min(1).max(1000).default(2).describe('rebuild indexes at least this many times their expected size'),
    minSizeMb: z.number().min(0).max(1_000_000).default(1).describe('ignore indexes smaller than this many MB'),
  }),
  timeoutMs: 4 * 3600_000,
  transaction: false,
  expands: true,
  sql: ({ minBloat, minSizeMb }) =>
    `select * from reindex_candidates(${sqlLiteral(minBloat)}, ${sqlLiteral(Math.round(minSizeMb * 1024 * 1024))})`,
  summarize: (result: { planned: number; ran: Array<{ index_name: string; bloat: number }> }) =>
    result.planned === 0
      ? 'no index bloated enough to rebuild'
      : `rebuilt ${result.ran.length} of ${result.planned} bloated indexes: ` +
        result.ran.map((r) => `${r.index_name} (${r.bloat}x)`).join(', '),
});
