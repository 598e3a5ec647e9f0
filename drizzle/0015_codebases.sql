-- Each ingested codebase and the folder it was ingested from. Two folders of the same name would
-- otherwise share a codebase id (the folder's name by default), and each ingest would mark the other's
-- files deleted: ingest refuses a folder other than the recorded one unless the id was given.
CREATE TABLE codebases (
  id text PRIMARY KEY,
  root text NOT NULL,
  first_ingested_at timestamptz NOT NULL DEFAULT now(),
  last_ingested_at timestamptz NOT NULL DEFAULT now()
);
--> statement-breakpoint
-- Codebases ingested before this table existed: their folder is not known; the next ingest records it.
INSERT INTO codebases (id, root)
SELECT DISTINCT codebase, '' FROM code_files
ON CONFLICT DO NOTHING;
