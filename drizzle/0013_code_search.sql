-- Search over code chunks and knowledge artifacts: full-text always, vectors where they were embedded.
-- Code is tokenised for people's words: camelCase and snake_case split, paths and qualified names
-- broken at their separators, English stemming, so "where are backups pruned" finds pruneBackups().
CREATE FUNCTION code_search_text(p_symbol text, p_content text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT regexp_replace(
           regexp_replace(coalesce(p_symbol, '') || ' ' || p_content, '([a-z0-9])([A-Z])', '\1 \2', 'g'),
           '[_.:/\\#$@-]+', ' ', 'g')
$$;
--> statement-breakpoint
ALTER TABLE code_chunks
  ADD COLUMN search tsvector GENERATED ALWAYS AS (to_tsvector('english', code_search_text(symbol, content))) STORED,
  -- As on knowledge_artifacts (0012): a plain real[] with its model and dimension; an HNSW index per
  -- model where pgvector exists. A chunk's text never changes (a changed file gets new chunks), so a
  -- missing vector is all "pending" means here.
  ADD COLUMN embedding real[],
  ADD COLUMN embedding_model text,
  ADD COLUMN embedding_dim integer,
  ADD CONSTRAINT code_chunks_embedding_check CHECK (
    (embedding IS NULL) = (embedding_model IS NULL) AND (embedding IS NULL) = (embedding_dim IS NULL) AND
    (embedding IS NULL OR cardinality(embedding) = embedding_dim));
--> statement-breakpoint
CREATE INDEX code_chunks_search_idx ON code_chunks USING gin (search);
--> statement-breakpoint
-- Chunks still to embed (ingest fills them in batches; embed what is pending finds them by this).
CREATE INDEX code_chunks_pending_idx ON code_chunks (id) WHERE embedding IS NULL;
--> statement-breakpoint
ALTER TABLE knowledge_artifacts
  ADD COLUMN search tsvector GENERATED ALWAYS AS (
    to_tsvector('english', coalesce(content ->> 'name', artifact_id) || ' ' || coalesce(content ->> 'description', '') || ' ' ||
                           code_search_text(NULL, raw))) STORED;
--> statement-breakpoint
CREATE INDEX knowledge_artifacts_search_idx ON knowledge_artifacts USING gin (search);
--> statement-breakpoint
-- What a file's code refers to (imports, calls; tree-sitter tags), kept so that ingest can resolve the
-- graph's edges across the codebase without parsing unchanged files again.
ALTER TABLE code_files ADD COLUMN refs jsonb NOT NULL DEFAULT '[]';
--> statement-breakpoint
-- Ingest replaces a file's nodes by (codebase, path); the identity index has kind between the two.
CREATE INDEX graph_nodes_codebase_path_idx ON graph_nodes (codebase, path);
