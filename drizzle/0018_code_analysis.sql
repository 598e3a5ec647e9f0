-- Code analysis (sync-registry, check-dead-code, report-dead-code): what each file mentions and its length,
-- recorded by ingest; architecture snapshots of each codebase; and the dead-code checks with their candidates.
-- names is null for a file ingested before it was recorded: the next ingest parses such files again.
ALTER TABLE code_files ADD COLUMN names text[];
--> statement-breakpoint
ALTER TABLE code_files ADD COLUMN line_count integer CHECK (line_count >= 0);
--> statement-breakpoint
CREATE TABLE registry_snapshots (
  id bigserial PRIMARY KEY,
  codebase text NOT NULL REFERENCES codebases (id) ON DELETE CASCADE,
  taken_at timestamptz NOT NULL DEFAULT now(),
  run_id bigint,
  summary jsonb NOT NULL
);
--> statement-breakpoint
CREATE INDEX registry_snapshots_codebase_idx ON registry_snapshots (codebase, id DESC);
--> statement-breakpoint
-- Each file as the snapshot saw it, with its symbols: the next snapshot's difference is a join of two of these.
CREATE TABLE registry_snapshot_files (
  snapshot_id bigint NOT NULL REFERENCES registry_snapshots (id) ON DELETE CASCADE,
  path text NOT NULL,
  language text,
  lines integer NOT NULL,
  bytes bigint NOT NULL,
  content_hash text NOT NULL,
  symbols text[] NOT NULL,
  PRIMARY KEY (snapshot_id, path)
);
--> statement-breakpoint
CREATE TABLE dead_code_checks (
  id bigserial PRIMARY KEY,
  codebase text NOT NULL REFERENCES codebases (id) ON DELETE CASCADE,
  checked_at timestamptz NOT NULL DEFAULT now(),
  run_id bigint,
  candidates integer NOT NULL,
  new_candidates integer NOT NULL,
  resolved integer NOT NULL,
  -- the rules the check applied, so that a change of rules explains a change of candidates
  rules jsonb NOT NULL
);
--> statement-breakpoint
CREATE INDEX dead_code_checks_codebase_idx ON dead_code_checks (codebase, checked_at DESC);
--> statement-breakpoint
CREATE TABLE dead_code_candidates (
  check_id bigint NOT NULL REFERENCES dead_code_checks (id) ON DELETE CASCADE,
  path text NOT NULL,
  symbol text NOT NULL,
  line integer NOT NULL,
  end_line integer NOT NULL,
  kind text NOT NULL,
  language text NOT NULL,
  reason text NOT NULL,
  -- when a check first found it, carried over from check to check while it stays a candidate
  first_seen_at timestamptz NOT NULL,
  PRIMARY KEY (check_id, path, symbol)
);
