-- The dependency graph of ingested codebases: files and symbols as nodes; imports, calls, references,
-- contains and defines as edges (source depends on target). Several codebases share the tables.
-- These tables live in migrations only, not in src/core/schema.ts: they are filled by ingest and read
-- through the SQL functions below, so plain DDL here is their one definition.
CREATE TABLE graph_nodes (
  id bigserial PRIMARY KEY,
  codebase text NOT NULL,
  kind text NOT NULL CHECK (kind IN ('file', 'symbol')),
  -- A file's path; a symbol's name, qualified within its file (Class.method) so that it is unique there.
  name text NOT NULL,
  -- The file the node lives in (a file's own path); null for symbols outside the codebase (a library).
  path text,
  language text,
  line integer,
  metadata jsonb NOT NULL DEFAULT '{}',
  -- Derived from graph_edges by populate_graph(): sorted, distinct ids of edge targets / edge sources.
  dependency_node_ids bigint[] NOT NULL DEFAULT '{}',
  dependent_node_ids bigint[] NOT NULL DEFAULT '{}',
  -- Written by rank_graph(): sums to 1 over each codebase.
  pagerank double precision,
  pagerank_at timestamp with time zone,
  inserted_at timestamp with time zone NOT NULL DEFAULT now(),
  updated_at timestamp with time zone NOT NULL DEFAULT now(),
  CONSTRAINT graph_nodes_file_path_check CHECK (kind <> 'file' OR path = name),
  -- Ingest's upsert key (ON CONFLICT (codebase, kind, path, name)); a null path is one value, not a
  -- wildcard. Its leading column also serves lookups by codebase, so no separate index is needed.
  CONSTRAINT graph_nodes_identity UNIQUE NULLS NOT DISTINCT (codebase, kind, path, name)
);
--> statement-breakpoint
CREATE TABLE graph_edges (
  source_id bigint NOT NULL REFERENCES graph_nodes (id) ON DELETE CASCADE,
  target_id bigint NOT NULL REFERENCES graph_nodes (id) ON DELETE CASCADE,
  kind text NOT NULL CHECK (kind IN ('imports', 'calls', 'references', 'contains', 'defines')),
  -- Finite and positive: PageRank splits a node's rank in proportion to these (NaN > 0 in PostgreSQL).
  weight double precision NOT NULL DEFAULT 1 CHECK (weight > 0 AND weight < 'Infinity'),
  PRIMARY KEY (source_id, target_id, kind)
);
--> statement-breakpoint
-- The primary key serves a node's outgoing edges; this one its incoming edges (and the cascade).
CREATE INDEX graph_edges_target_id_idx ON graph_edges (target_id);
--> statement-breakpoint
-- populate_graph(codebase): recompute every node's dependency_node_ids and dependent_node_ids from
-- graph_edges in one statement, for one codebase or all. Nodes whose edges vanished get '{}' again;
-- rows whose arrays are already right are not written, so a second run updates nothing.
-- Called by `singularity populate-graph` and by pg_cron; returns {"nodes", "updated", "edges"}.
CREATE OR REPLACE FUNCTION populate_graph(p_codebase text DEFAULT NULL) RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
  v_nodes bigint;
  v_updated bigint;
  v_edges bigint;
BEGIN
  WITH scope AS (
    SELECT id FROM graph_nodes WHERE p_codebase IS NULL OR codebase = p_codebase
  ), dependencies AS (
    SELECT e.source_id AS id, array_agg(DISTINCT e.target_id ORDER BY e.target_id) AS ids
    FROM graph_edges e JOIN scope s ON s.id = e.source_id
    GROUP BY e.source_id
  ), dependents AS (
    SELECT e.target_id AS id, array_agg(DISTINCT e.source_id ORDER BY e.source_id) AS ids
    FROM graph_edges e JOIN scope s ON s.id = e.target_id
    GROUP BY e.target_id
  ), wanted AS (
    SELECT s.id, coalesce(d.ids, '{}') AS dependency_ids, coalesce(r.ids, '{}') AS dependent_ids
    FROM scope s
    LEFT JOIN dependencies d ON d.id = s.id
    LEFT JOIN dependents r ON r.id = s.id
  )
  UPDATE graph_nodes n
  SET dependency_node_ids = w.dependency_ids, dependent_node_ids = w.dependent_ids
  FROM wanted w
  WHERE n.id = w.id
    AND (n.dependency_node_ids <> w.dependency_ids OR n.dependent_node_ids <> w.dependent_ids);
  GET DIAGNOSTICS v_updated = ROW_COUNT;

  SELECT count(*) INTO v_nodes FROM graph_nodes WHERE p_codebase IS NULL OR codebase = p_codebase;
  -- Edges are counted with their source's codebase.
  SELECT count(*) INTO v_edges
  FROM graph_edges e JOIN graph_nodes n ON n.id = e.source_id
  WHERE p_codebase IS NULL OR n.codebase = p_codebase;
  RETURN jsonb_build_object('nodes', v_nodes, 'updated', v_updated, 'edges', v_edges);
END
$$;
--> statement-breakpoint
COMMENT ON FUNCTION populate_graph(text) IS 'Recomputes graph_nodes.dependency_node_ids / dependent_node_ids from graph_edges (one codebase, or all when null); writes only changed rows; returns {nodes, updated, edges}.';
--> statement-breakpoint
-- rank_graph(damping, tolerance, max_iterations, codebase): weighted PageRank over graph_edges, each
-- codebase its own graph (edges between codebases are ignored). A node's rank flows along its outgoing
-- edges in proportion to their weights (several kinds between one pair add up); the rank of dangling
-- nodes (no outgoing edges) is spread evenly over all nodes. Power iteration until the L1 change of
-- an iteration is below tolerance, or max_iterations. Results go to graph_nodes.pagerank (summing to 1
-- per codebase) and pagerank_at. Called by `singularity rank-graph` and by pg_cron; returns
-- {"codebases", "nodes", "edges", "iterations" (the most any codebase needed), "converged" (all did),
-- "delta" (the largest last change)}.
--
-- Set-based: the ranks are a float8[] indexed by a dense node number 1..n, and one iteration is one
-- aggregate over a temp table of the codebase's edges (array subscripts are O(1), where a join with
-- a rank table would build a hash table every iteration).
CREATE OR REPLACE FUNCTION rank_graph(
  p_damping double precision DEFAULT 0.85,
  p_tolerance double precision DEFAULT 1e-6,
  p_max_iterations integer DEFAULT 100,
  p_codebase text DEFAULT NULL
) RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
  v_codebase text;
  v_n integer;
  v_e bigint;
  v_dangling integer[];
  v_rank double precision[];
  v_next double precision[];
  v_base double precision;
  v_delta double precision;
  v_iterations integer;
  v_codebases integer := 0;
  v_nodes bigint := 0;
  v_edges bigint := 0;
  v_most_iterations integer := 0;
  v_converged boolean := true;
  v_worst_delta double precision := 0;
BEGIN
  -- NaN compares greater than every number in PostgreSQL: the upper bounds keep it out.
  IF p_damping IS NULL OR NOT (p_damping > 0 AND p_damping < 1) THEN
    RAISE EXCEPTION 'rank_graph: damping must be between 0 and 1 (both excluded), got %', p_damping;
  END IF;
  IF p_tolerance IS NULL OR NOT (p_tolerance > 0 AND p_tolerance < 'Infinity') THEN
    RAISE EXCEPTION 'rank_graph: tolerance must be a positive number, got %', p_tolerance;
  END IF;
  IF p_max_iterations IS NULL OR p_max_iterations < 1 THEN
    RAISE EXCEPTION 'rank_graph: max_iterations must be at least 1, got %', p_max_iterations;
  END IF;

  FOR v_codebase IN
    SELECT DISTINCT codebase FROM graph_nodes WHERE p_codebase IS NULL OR codebase = p_codebase ORDER BY 1
  LOOP
    -- Temp tables live until the DROP below: an error rolls their creation back with everything else.
    -- The codebase's nodes, numbered 1..n, with their total outgoing weight (null: dangling).
    CREATE TEMP TABLE rank_graph_nodes AS
      SELECT n.id, (row_number() OVER (ORDER BY n.id))::integer AS i, o.weight AS out_weight
      FROM graph_nodes n
      LEFT JOIN (
        SELECT e.source_id, sum(e.weight) AS weight
        FROM graph_edges e JOIN graph_nodes t ON t.id = e.target_id AND t.codebase = v_codebase
        GROUP BY e.source_id
      ) o ON o.source_id = n.id
      WHERE n.codebase = v_codebase;
    GET DIAGNOSTICS v_n = ROW_COUNT;
    -- Its edges, each weight already divided by its source's total (kinds of one pair stay separate
    -- rows; the aggregate below adds them up).
    CREATE TEMP TABLE rank_graph_edges AS
      SELECT s.i AS src, t.i AS dst, e.weight / s.out_weight AS share
      FROM graph_edges e
      JOIN rank_graph_nodes s ON s.id = e.source_id
      JOIN rank_graph_nodes t ON t.id = e.target_id;
    GET DIAGNOSTICS v_e = ROW_COUNT;
    SELECT coalesce(array_agg(i), '{}') INTO v_dangling FROM rank_graph_nodes WHERE out_weight IS NULL;

    v_rank := array_fill(1.0::double precision / v_n, ARRAY[v_n]);
    v_iterations := 0;
    LOOP
      -- Teleport plus the dangling nodes' rank, which every node receives an equal part of.
      SELECT (1 - p_damping) / v_n + p_damping * coalesce(sum(v_rank[i]), 0) / v_n INTO v_base
      FROM unnest(v_dangling) AS d(i);
      SELECT array_agg(v_base + p_damping * coalesce(s.inflow, 0) ORDER BY n.i) INTO v_next
      FROM generate_series(1, v_n) AS n(i)
      LEFT JOIN (
        SELECT dst, sum(v_rank[src] * share) AS inflow FROM rank_graph_edges GROUP BY dst
      ) s ON s.dst = n.i;
      SELECT sum(abs(a - b)) INTO v_delta FROM unnest(v_next, v_rank) AS r(a, b);
      v_rank := v_next;
      v_iterations := v_iterations + 1;
      EXIT WHEN v_delta < p_tolerance OR v_iterations >= p_max_iterations;
    END LOOP;

    UPDATE graph_nodes g SET pagerank = v_rank[n.i], pagerank_at = now()
    FROM rank_graph_nodes n WHERE g.id = n.id;
    DROP TABLE pg_temp.rank_graph_nodes, pg_temp.rank_graph_edges;

    v_codebases := v_codebases + 1;
    v_nodes := v_nodes + v_n;
    v_edges := v_edges + v_e;
    v_most_iterations := greatest(v_most_iterations, v_iterations);
    v_converged := v_converged AND v_delta < p_tolerance;
    v_worst_delta := greatest(v_worst_delta, v_delta);
  END LOOP;

  RETURN jsonb_build_object('codebases', v_codebases, 'nodes', v_nodes, 'edges', v_edges,
    'iterations', v_most_iterations, 'converged', v_converged, 'delta', v_worst_delta);
END
$$;
--> statement-breakpoint
COMMENT ON FUNCTION rank_graph(double precision, double precision, integer, text) IS 'Weighted PageRank over graph_edges per codebase (dangling rank spread evenly), written to graph_nodes.pagerank and pagerank_at; returns {codebases, nodes, edges, iterations, converged, delta}.';
