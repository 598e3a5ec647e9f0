// The exact row count of every table of a database: taken when a backup is made (stored beside it), and
// again after a restore, so that `verify --full` and `restore` can say whether every row came back.
// One function for every kind of connection: a server's (node-postgres) and PGlite's, in process or not.

/** Rows per table, keyed "schema.table". */
export type RowCounts = Record<string, number>;

export type Query = (sql: string) => Promise<Array<Record<string, unknown>>>;

// Ordinary tables, partitions included (a partitioned parent holds no rows of its own), outside the system
// schemas. Not the tables of extensions: a dump holds their rows only as extension configuration, if at all.
const TABLES = `
  select n.nspname as schema, c.relname as name
  from pg_catalog.pg_class c join pg_catalog.pg_namespace n on n.oid = c.relnamespace
  where c.relkind = 'r' and n.nspname <> 'information_schema' and n.nspname not like 'pg\\_%'
    and not exists (select 1 from pg_catalog.pg_depend d
                    where d.classid = 'pg_catalog.pg_class'::regclass and d.objid = c.oid and d.deptype = 'e')
  order by 1, 2`;

const quoteIdent = (name: string) => `"${name.replace(/"/g, '""')}"`;

export async function countRows(query: Query): Promise<RowCounts> {
  const counts: RowCounts = {};
  for (const { schema, name } of (await query(TABLES)) as Array<{ schema: string; name: string }>) {
    const [row] = await query(`select count(*) as n from ${quoteIdent(schema)}.${quoteIdent(name)}`);
    counts[`${schema}.${name}`] = Number(row!.n);
  }
  return counts;
}

export const totalRows = (counts: RowCounts) => Object.values(counts).reduce((sum, n) => sum + n, 0);

/** Each table whose count differs, is missing or is new, as "public.t: 10 at dump time, 9 now". */
export function countDifferences(expected: RowCounts, actual: RowCounts): string[] {
  const tables = [...new Set([...Object.keys(expected), ...Object.keys(actual)])].sort();
  return tables
    .filter((t) => expected[t] !== actual[t])
    .map((t) => `${t}: ${expected[t] ?? 'no table'} at dump time, ${actual[t] ?? 'no table'} restored`);
}
