-- The knowledge base (issue 6) and ingested code (issue 7): the tables those issues fill, and the two
-- sql tasks that keep them bounded, prune-artifacts and prune-chunks.
-- These tables live here, in migrations (plain SQL), not in src/core/schema.ts, like those of 0006 and
-- 0007: drizzle-kit diffs schema.ts against its snapshots, so it neither sees nor drops them.
-- Everything here runs on PGlite too and needs no extension. Embedding columns are deliberately absent:
-- issue 6 adds them, as a pgvector column with an HNSW index where the server has pgvector and as a
-- portable array (exact search) where it has not, with the model id and dimension stored beside each
-- vector so that one index never mixes models. A migration cannot choose between the two by itself.

-- One row per version of a knowledge artifact: a JSON artifact of templates_data/ (migrate-knowledge),
-- a text template (load-templates: .hbs, .lua, .md, ...), or an artifact learned at run time.
CREATE TABLE knowledge_artifacts (
  id bigserial PRIMARY KEY,
  -- The type comes from the artifact's folder (issue 6 documents the rule); the id and version from the
  -- artifact itself. version is text because artifacts carry versions such as '1.2.0'; a loader gives
  -- files without one a fixed default, since a null version would not take part in the upsert key.
  artifact_type text NOT NULL,
  artifact_id text NOT NULL,
  version text NOT NULL,
  -- 'file': loaded from a file; sync-templates deletes these when their file vanishes.
  -- 'learned': made at run time; only prune-artifacts deletes these (when unused), never a sync.
  source text NOT NULL CHECK (source IN ('file', 'learned')),
  -- The file, relative to the loaded folder; exactly the file rows have one.
  path text,
  -- The text as loaded, byte for byte (what export-knowledge writes back and what is embedded).
  raw text NOT NULL,
  -- raw parsed, for JSON artifacts; null for text templates.
  content jsonb,
  -- Text templates' metadata (language, front matter); JSON artifacts keep theirs in content.
  metadata jsonb NOT NULL DEFAULT '{}',
  -- sha256 (hex) of raw: a re-load compares it and writes nothing when it is unchanged.
  content_hash text NOT NULL,
  -- A use bumps usage_count and last_used_at together (and success_count when it went well), so
  -- "never used" is last_used_at IS NULL. export-knowledge promotes on these (100+ uses, 95%+ success).
  usage_count bigint NOT NULL DEFAULT 0,
  success_count bigint NOT NULL DEFAULT 0,
  last_used_at timestamptz,
  created_at timestamptz NOT NULL DEFAULT now(),
  -- Set by the writer when raw changes (no trigger, as elsewhere in this schema).
  updated_at timestamptz NOT NULL DEFAULT now(),
  -- The loaders' upsert key (ON CONFLICT (artifact_type, artifact_id, version)).
  CONSTRAINT knowledge_artifacts_identity UNIQUE (artifact_type, artifact_id, version),
  CONSTRAINT knowledge_artifacts_path_check CHECK ((source = 'file') = (path IS NOT NULL)),
  CONSTRAINT knowledge_artifacts_usage_check CHECK (
    success_count >= 0 AND success_count <= usage_count AND (usage_count = 0) = (last_used_at IS NULL))
);
--> statement-breakpoint
-- prune_artifacts(unused_for, min_age): delete the learned artifacts nobody uses: those never used and
-- created longer than min_age ago (younger ones get a chance to be used first), and those last used
-- longer than unused_for ago. File rows are never deleted here, however unused: they mirror
-- templates_data/, which sync-templates keeps. Returns {"deleted", "kept_learned"}.
-- A use recorded concurrently wins: DELETE re-checks a row that changed while it waited for its lock.
CREATE OR REPLACE FUNCTION prune_artifacts(p_unused_for interval DEFAULT '90 days', p_min_age interval DEFAULT '30 days')
RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
  v_deleted bigint;
  v_kept bigint;
BEGIN
  IF p_unused_for IS NULL OR p_unused_for < interval '0' THEN
    RAISE EXCEPTION 'prune_artifacts: unused_for must not be negative, got %', p_unused_for;
  END IF;
  IF p_min_age IS NULL OR p_min_age < interval '0' THEN
    RAISE EXCEPTION 'prune_artifacts: min_age must not be negative, got %', p_min_age;
  END IF;

  DELETE FROM knowledge_artifacts
  WHERE source = 'learned'
    AND ((last_used_at IS NULL AND created_at < now() - p_min_age) OR last_used_at < now() - p_unused_for);
  GET DIAGNOSTICS v_deleted = ROW_COUNT;

  SELECT count(*) INTO v_kept FROM knowledge_artifacts WHERE source = 'learned';
  RETURN jsonb_build_object('deleted', v_deleted, 'kept_learned', v_kept);
END
$$;
--> statement-breakpoint
COMMENT ON FUNCTION prune_artifacts(interval, interval) IS 'Deletes learned knowledge_artifacts never used and older than min_age, or last used longer than unused_for ago (file rows never); returns {deleted, kept_learned}.';
--> statement-breakpoint
-- One row per file of an ingested codebase. Ingest's plan compares size_bytes and mtime, then
-- content_hash, with the file on disk. A file that vanished is not deleted by ingest but marked
-- (deleted_at): ingest stays quick, and a file that comes back (a branch switch, a move) or a chunk
-- whose text reappears elsewhere (a rename) can take its embedding instead of being embedded again.
-- Search must join code_files and skip rows with deleted_at set. prune-chunks deletes them for good.
-- Ingest un-marks a returning file by updating its row (FOR UPDATE, or a plain UPDATE): prune-chunks
-- skips rows locked by others and re-checks deleted_at, so it never deletes a file being brought back.
-- The graph (graph_nodes, 0007) is keyed by (codebase, path) too; ingest removes a vanished file's
-- nodes and edges at once, since the graph must describe the code as it is.
CREATE TABLE code_files (
  id bigserial PRIMARY KEY,
  codebase text NOT NULL,
  -- Relative to the codebase's root, '/'-separated.
  path text NOT NULL,
  -- null: no grammar for it (its chunks are line windows).
  language text,
  size_bytes bigint NOT NULL CHECK (size_bytes >= 0),
  mtime timestamptz NOT NULL,
  -- sha256 (hex) of the file's bytes.
  content_hash text NOT NULL,
  ingested_at timestamptz NOT NULL DEFAULT now(),
  deleted_at timestamptz,
  -- Ingest's upsert key; its leading column also serves lookups by codebase.
  CONSTRAINT code_files_identity UNIQUE (codebase, path),
  -- The target of code_chunks' foreign key, which keeps a chunk's codebase equal to its file's.
  CONSTRAINT code_files_id_codebase UNIQUE (id, codebase)
);
--> statement-breakpoint
-- prune_chunks() finds the marked files through this (few rows, so a small index).
CREATE INDEX code_files_deleted_idx ON code_files (deleted_at) WHERE deleted_at IS NOT NULL;
--> statement-breakpoint
-- The chunks of a file that search returns and that get embedded: a definition whole when it fits the
-- embedding model's token limit, parts of it when not, line windows otherwise. Lines are 1-based and
-- inclusive. codebase is the file's (the foreign key guarantees it), copied here so that search and the
-- embedding lookup by content need no join. Full-text search columns are issue 7's (how code is
-- tokenised is its decision), as are the embedding columns (see the top of this file).
CREATE TABLE code_chunks (
  id bigserial PRIMARY KEY,
  file_id bigint NOT NULL,
  codebase text NOT NULL,
  start_line integer NOT NULL CHECK (start_line >= 1),
  end_line integer NOT NULL,
  -- What the chunk is: function, class, method, ... or lines (a line window).
  kind text NOT NULL,
  -- The definition's name, qualified within its file (Class.method) as in graph_nodes; null for line windows.
  symbol text,
  content text NOT NULL,
  -- sha256 (hex) of content: an equal hash means an embedding already made can be reused.
  content_hash text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT code_chunks_lines_check CHECK (end_line >= start_line),
  CONSTRAINT code_chunks_file_fk FOREIGN KEY (file_id, codebase) REFERENCES code_files (id, codebase) ON DELETE CASCADE
);
--> statement-breakpoint
-- A file's chunks (re-chunking a changed file; the cascade).
CREATE INDEX code_chunks_file_id_idx ON code_chunks (file_id);
--> statement-breakpoint
-- Is there already a chunk with this text in this codebase (whose embedding can be reused)?
CREATE INDEX code_chunks_content_hash_idx ON code_chunks (codebase, content_hash);
--> statement-breakpoint
-- prune_chunks(deleted_for, batch, result): delete for good the files marked deleted at least
-- deleted_for ago, with their chunks, and any chunk whose file row is gone; result is
-- {"files", "chunks"} (chunks counts both kinds).
-- A procedure, committing after each batch: a big prune (a whole codebase dropped) keeps the work it has
-- done when it is stopped, and no transaction grows with the codebase. A batch is the next marked
-- files whose chunks add up to at most p_batch, but always one file at least: a file and all its chunks
-- go in one transaction, never a file half-pruned. Files locked by a concurrent ingest are passed by and
-- re-checked, so a file being brought back keeps its chunks; a later run prunes what was passed by.
-- The foreign key makes chunks without a file impossible, unless rows were loaded with triggers off
-- (pg_restore --disable-triggers, session_replication_role = replica): the last step clears those.
CREATE OR REPLACE PROCEDURE prune_chunks(p_deleted_for interval DEFAULT '0 seconds', p_batch integer DEFAULT 5000,
                                         INOUT result jsonb DEFAULT NULL)
LANGUAGE plpgsql AS $$
DECLARE
  -- Fixed once: each batch commits, and now() moves on with every new transaction.
  v_cutoff timestamptz := now() - p_deleted_for;
  v_due bigint[];
  v_ids bigint[];
  v_files bigint := 0;
  v_chunks bigint := 0;
  n bigint;
BEGIN
  IF p_batch IS NULL OR p_batch < 1 THEN
    RAISE EXCEPTION 'prune_chunks: batch must be at least 1, got %', p_batch;
  END IF;
  IF p_deleted_for IS NULL OR p_deleted_for < interval '0' THEN
    RAISE EXCEPTION 'prune_chunks: deleted_for must not be negative, got %', p_deleted_for;
  END IF;

  LOOP
    SELECT coalesce(array_agg(id ORDER BY id), '{}') INTO v_due FROM (
      SELECT id FROM code_files WHERE deleted_at <= v_cutoff ORDER BY id LIMIT p_batch FOR UPDATE SKIP LOCKED
    ) locked;
    EXIT WHEN cardinality(v_due) = 0;
    -- The first of them whose chunks fit the batch: a file is taken while the chunks before it are fewer than p_batch.
    SELECT array_agg(id ORDER BY id) INTO v_ids FROM (
      SELECT id, sum(chunks) OVER (ORDER BY id) - chunks AS before
      FROM (SELECT f.id, (SELECT count(*) FROM code_chunks c WHERE c.file_id = f.id) AS chunks
            FROM unnest(v_due) AS f(id)) counted
    ) running
    WHERE before < p_batch;

    DELETE FROM code_chunks WHERE file_id = ANY (v_ids);
    GET DIAGNOSTICS n = ROW_COUNT;
    v_chunks := v_chunks + n;
    DELETE FROM code_files WHERE id = ANY (v_ids);
    GET DIAGNOSTICS n = ROW_COUNT;
    v_files := v_files + n;
    COMMIT;
  END LOOP;

  -- Chunks without a file. The distinct file ids come from the small file_id index, not from a scan
  -- of the chunks' text.
  DELETE FROM code_chunks
  WHERE file_id IN (SELECT file_id FROM code_chunks EXCEPT SELECT id FROM code_files);
  GET DIAGNOSTICS n = ROW_COUNT;
  v_chunks := v_chunks + n;

  result := jsonb_build_object('files', v_files, 'chunks', v_chunks);
END
$$;
--> statement-breakpoint
COMMENT ON PROCEDURE prune_chunks(interval, integer, jsonb) IS 'Deletes code_files marked deleted at least deleted_for ago with their code_chunks, and chunks without a file, committing per batch of about batch chunks; result is {files, chunks}.';
