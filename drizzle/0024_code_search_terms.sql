-- How many chunks of a codebase hold each search term (lexeme): search weighs a word it finds by how rare
-- it is in the codebase (inverse document frequency), which PostgreSQL's full-text ranking does not do.
-- ingest refreshes a codebase's rows whenever it changed something; they are statistics, so a stale
-- count (chunks pruned since) only shifts a weight a little.
CREATE TABLE code_search_terms (
  term text NOT NULL,
  codebase text NOT NULL REFERENCES codebases (id) ON DELETE CASCADE,
  chunks integer NOT NULL,
  -- Term first: a search looks its words up in one codebase or in all of them.
  PRIMARY KEY (term, codebase)
);
--> statement-breakpoint
-- The codebase's searchable chunks, files and their lines when its terms were counted: the N of the
-- weight, and a file's usual length (a long file holds more of any question's words).
ALTER TABLE codebases ADD COLUMN search_chunks integer, ADD COLUMN search_files integer, ADD COLUMN search_lines bigint,
  ADD COLUMN search_terms_at timestamptz;
--> statement-breakpoint
-- The words of a chunk's symbol and of a file's path, split and stemmed as the chunk's text is: search
-- weighs a word found there more than one in the body.
ALTER TABLE code_chunks ADD COLUMN name_search tsvector GENERATED ALWAYS AS (to_tsvector('english', code_search_text(symbol, ''))) STORED;
--> statement-breakpoint
ALTER TABLE code_files ADD COLUMN path_search tsvector GENERATED ALWAYS AS (to_tsvector('english', code_search_text(NULL, path))) STORED;
--> statement-breakpoint
-- refresh_code_search_terms(codebase): count the terms of the codebase's chunks in files not deleted
-- (ts_stat over its tsvectors) and replace its rows. Returns the number of terms.
CREATE OR REPLACE FUNCTION refresh_code_search_terms(p_codebase text) RETURNS integer LANGUAGE plpgsql AS $$
DECLARE
  v_terms integer;
  v_chunks integer;
  v_files integer;
  v_lines bigint;
BEGIN
  DELETE FROM code_search_terms WHERE codebase = p_codebase;
  INSERT INTO code_search_terms (codebase, term, chunks)
  SELECT p_codebase, word, ndoc FROM ts_stat(format(
    'SELECT c.search FROM code_chunks c JOIN code_files f ON f.id = c.file_id WHERE c.codebase = %L AND f.deleted_at IS NULL', p_codebase));
  GET DIAGNOSTICS v_terms = ROW_COUNT;
  SELECT count(*) INTO v_chunks FROM code_chunks c JOIN code_files f ON f.id = c.file_id WHERE c.codebase = p_codebase AND f.deleted_at IS NULL;
  SELECT count(*), coalesce(sum(line_count), 0) INTO v_files, v_lines FROM code_files WHERE codebase = p_codebase AND deleted_at IS NULL;
  UPDATE codebases SET search_chunks = v_chunks, search_files = v_files, search_lines = v_lines, search_terms_at = now() WHERE id = p_codebase;
  RETURN v_terms;
END
$$;
--> statement-breakpoint
-- Codebases ingested before this migration.
SELECT refresh_code_search_terms(id) FROM codebases;
