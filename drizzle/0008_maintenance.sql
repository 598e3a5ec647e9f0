-- Maintenance routines. They live in migrations only (not in src/core/schema.ts).
--
-- reindex_candidates(min_bloat, min_bytes): the btree indexes of this database's own schemas that are
-- worth rebuilding, with the statement that rebuilds each. Bloat is estimated from the catalog, no
-- extension needed: the index's size against the size its live entries need (reltuples times the key
-- width from pg_stats, plus per-tuple overhead, at the default fill factor of 90 %). Only valid indexes
-- of existing tables appear, so every statement refers to an index that exists. REINDEX CONCURRENTLY
-- cannot run inside a function or transaction: the caller runs the statements one by one.
CREATE OR REPLACE FUNCTION reindex_candidates(min_bloat float8 DEFAULT 2.0, min_bytes bigint DEFAULT 1048576)
RETURNS TABLE (index_name text, table_name text, size_bytes bigint, expected_bytes bigint, bloat float8, statement text)
LANGUAGE sql STABLE AS $$
  WITH idx AS (
    SELECT i.indexrelid, i.indrelid, c.relname AS index_name, t.relname AS table_name, n.nspname,
           pg_relation_size(i.indexrelid) AS size_bytes, greatest(c.reltuples, 0) AS tuples,
           (SELECT coalesce(sum(s.avg_width), 8)
              FROM pg_attribute a
              JOIN pg_stats s ON s.schemaname = n.nspname AND s.tablename = t.relname AND s.attname = a.attname
             WHERE a.attrelid = i.indrelid AND a.attnum = ANY (i.indkey)) AS key_width
    FROM pg_index i
    JOIN pg_class c ON c.oid = i.indexrelid
    JOIN pg_class t ON t.oid = i.indrelid
    JOIN pg_namespace n ON n.oid = c.relnamespace
    JOIN pg_am am ON am.oid = c.relam
    WHERE i.indisvalid AND i.indisready AND am.amname = 'btree'
      AND n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast', 'cron', 'drizzle')
      AND t.relpersistence <> 't'
  ), sized AS (
    SELECT *, greatest(8192, ceil(tuples * (key_width + 16) / (8192 * 0.9)) * 8192 + 8192)::bigint AS expected_bytes
    FROM idx
  )
  SELECT index_name, table_name, size_bytes, expected_bytes, round((size_bytes::numeric / expected_bytes), 2)::float8,
         format('REINDEX INDEX CONCURRENTLY %I.%I', nspname, index_name)
  FROM sized
  WHERE size_bytes >= min_bytes AND size_bytes::float8 / expected_bytes >= min_bloat
  ORDER BY size_bytes - expected_bytes DESC
$$;
--> statement-breakpoint
-- vector_stats(): refresh the planner statistics of every table with a pgvector column (ANALYZE may
-- run inside a function) and report each vector index: its method (hnsw, ivfflat), options and size.
-- Without pgvector there is nothing to do, and it says so.
CREATE OR REPLACE FUNCTION vector_stats() RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE
  tbl regclass;
  tables jsonb := '[]';
  indexes jsonb;
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_type WHERE typname = 'vector') THEN
    RETURN jsonb_build_object('pgvector', false, 'tables', '[]'::jsonb, 'indexes', '[]'::jsonb);
  END IF;
  FOR tbl IN
    SELECT DISTINCT a.attrelid::regclass
    FROM pg_attribute a
    JOIN pg_type ty ON ty.oid = a.atttypid AND ty.typname = 'vector'
    JOIN pg_class c ON c.oid = a.attrelid AND c.relkind = 'r'
    JOIN pg_namespace n ON n.oid = c.relnamespace AND n.nspname NOT IN ('pg_catalog', 'information_schema')
    WHERE a.attnum > 0 AND NOT a.attisdropped
  LOOP
    EXECUTE format('ANALYZE %s', tbl);
    tables := tables || jsonb_build_object('table', tbl::text, 'rows', (SELECT reltuples::bigint FROM pg_class WHERE oid = tbl));
  END LOOP;
  SELECT coalesce(jsonb_agg(jsonb_build_object('index', c.relname, 'table', t.relname, 'method', am.amname,
           'options', coalesce(to_jsonb(c.reloptions), '[]'::jsonb), 'bytes', pg_relation_size(c.oid)) ORDER BY c.relname), '[]')
    INTO indexes
  FROM pg_index i
  JOIN pg_class c ON c.oid = i.indexrelid
  JOIN pg_class t ON t.oid = i.indrelid
  JOIN pg_am am ON am.oid = c.relam
  WHERE am.amname IN ('hnsw', 'ivfflat');
  RETURN jsonb_build_object('pgvector', true, 'tables', tables, 'indexes', indexes);
END
$$;
