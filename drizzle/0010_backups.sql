-- Backups: the record of every backup that `backup` makes (issue 8), and the archive that
-- `archive-backups` moves old records of pruned and failed backups to. Like 0006-0008, these tables live
-- in migrations only, not in src/core/schema.ts. Everything here runs on PGlite too.
--
-- A backup record and its file always agree. The states:
--   running    the dump is being written to a temporary file beside `path`. A record left running by a
--              killed process must be resolved by the next backup of its type and database: partial
--              file removed, then failed. archive-backups never touches it (the partial file may exist).
--   succeeded  the file at `path` is complete (renamed into place after fsync); size_bytes and sha256
--              describe it. Good = succeeded and verified without error: only good backups count
--              towards retention's newest N, and the newest good one is never pruned.
--   failed     the dump, or the verification right after it, failed; `error` says why. No file exists:
--              the partial or unverifiable file was removed.
--   pruned     retention removed the file (pruned_at). The record stays for history (what existed,
--              its checksum, when it went) until archive-backups moves it. Pruning marks the record in
--              the transaction that deletes the file, committing only once the file is gone.
-- So only failed and pruned records have no file, and only they are ever archived or deleted.
CREATE TABLE backups (
  id bigserial PRIMARY KEY,
  -- The retention class: hourly, daily, or any other name given to --type (weekly, pre-upgrade, ...).
  -- A pattern, not a fixed list: retention works per (type, database) whatever the name. Kept to
  -- lower-case letters, digits, '-' and '_' because the type names a folder of the backup path.
  type text NOT NULL CHECK (type ~ '^[a-z][a-z0-9_-]{0,62}$'),
  -- The database dumped, by its name in singularity's configuration (unique there): retention and
  -- `backup list` group by it, so two servers' databases of the same name must be configured apart.
  database text NOT NULL,
  -- Absolute path of the backup file (of the file it was to be, for a failed backup).
  path text NOT NULL,
  -- pg_dump's output format: custom (-Fc: compressed, restored by pg_restore, selectively), or plain
  -- SQL (what PGlite's pg_dump writes for the embedded database). Restore dispatches on it.
  format text NOT NULL DEFAULT 'custom' CHECK (format IN ('custom', 'plain')),
  size_bytes bigint CHECK (size_bytes >= 0),
  -- Hex SHA-256 of the file as written; verification recomputes it.
  sha256 text CHECK (sha256 ~ '^[0-9a-f]{64}$'),
  started_at timestamptz NOT NULL DEFAULT now(),
  finished_at timestamptz,
  -- Versions of the dumped server (server_version) and of the dump tool (pg_dump --version): a
  -- restore needs a server at least as new; null where a failure came first.
  server_version text,
  pg_dump_version text,
  status text NOT NULL DEFAULT 'running' CHECK (status IN ('running', 'succeeded', 'failed', 'pruned')),
  -- The last verification: when, and the strongest check it made: checksum (the SHA-256 matches),
  -- list (and pg_restore --list reads the archive), full (restored into a scratch database, table
  -- row counts compared with the source at dump time). verify_error: why it failed; null: it passed.
  verified_at timestamptz,
  verified_how text CHECK (verified_how IN ('checksum', 'list', 'full')),
  verify_error text,
  pruned_at timestamptz,
  -- The run of the task_runs history that made it. No foreign key: prune-runs deletes runs after 30
  -- days, while backup records outlive them (90 days here, longer in the archive).
  run_id bigint,
  -- Why a failed backup failed ({"message", ...}, as a run's error).
  error jsonb,
  -- Every state above, checked by the database so that `backup list` can trust what it reads.
  CONSTRAINT backups_finished CHECK ((status = 'running') = (finished_at IS NULL)),
  CONSTRAINT backups_file_described CHECK (status NOT IN ('succeeded', 'pruned') OR
    (size_bytes IS NOT NULL AND sha256 IS NOT NULL AND server_version IS NOT NULL AND pg_dump_version IS NOT NULL)),
  CONSTRAINT backups_failed_why CHECK ((status = 'failed') = (error IS NOT NULL)),
  CONSTRAINT backups_pruned_when CHECK ((status = 'pruned') = (pruned_at IS NOT NULL)),
  CONSTRAINT backups_verified CHECK ((verified_at IS NULL) = (verified_how IS NULL) AND
    (verify_error IS NULL OR verified_at IS NOT NULL))
);
--> statement-breakpoint
-- One record per existing file: two records can never claim the same file, so pruning one never
-- deletes another's. (A failed or pruned record's path has no file, and may be used again.)
CREATE UNIQUE INDEX backups_live_path_idx ON backups (path) WHERE status IN ('running', 'succeeded');
--> statement-breakpoint
-- Retention and `backup list`: the backups of a type and database, newest first. The table stays small
-- (the kept backups and 90 days of pruned ones), so archive_backups() needs no index of its own.
CREATE INDEX backups_type_database_idx ON backups (type, database, started_at DESC);
--> statement-breakpoint
-- Records archive_backups() moved out of backups: the same columns (no checks: they were checked in
-- backups; none has a file) plus archived_at. id is the id the record had in backups, so a run result
-- or a log line naming backup 42 still finds it. A column added to backups must be added here and to
-- archive_backups() (the tests compare the two tables).
CREATE TABLE backups_archive (
  id bigint PRIMARY KEY,
  type text NOT NULL,
  database text NOT NULL,
  path text NOT NULL,
  format text NOT NULL,
  size_bytes bigint,
  sha256 text,
  started_at timestamptz NOT NULL,
  finished_at timestamptz,
  server_version text,
  pg_dump_version text,
  status text NOT NULL,
  verified_at timestamptz,
  verified_how text,
  verify_error text,
  pruned_at timestamptz,
  run_id bigint,
  error jsonb,
  archived_at timestamptz NOT NULL DEFAULT now()
);
--> statement-breakpoint
-- archive_backups(p_older_than, p_mode): take the records of pruned and failed backups that started more
-- than p_older_than ago out of backups: p_mode 'archive' moves them to backups_archive, 'delete' deletes
-- them. Returns {"archived": n} or {"deleted": n}, and "kept": the records left in backups.
-- Never a record whose file may exist: succeeded backups (kept by retention, however old: a type or
-- database no longer backed up keeps its last ones, so the newest good backup of each type and database
-- always stays) and running ones. Age is started_at, the backup's time as `backup list` shows it.
-- One statement moves the rows (DELETE ... RETURNING feeding the INSERT), so a record is never in both
-- tables nor lost; concurrent callers each take only rows still there.
CREATE OR REPLACE FUNCTION archive_backups(p_older_than interval DEFAULT '90 days', p_mode text DEFAULT 'archive')
RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
  v_taken bigint;
BEGIN
  IF p_mode IS NULL OR p_mode NOT IN ('archive', 'delete') THEN
    RAISE EXCEPTION 'p_mode must be ''archive'' or ''delete'', got %', coalesce(quote_literal(p_mode), 'null');
  END IF;
  IF p_older_than IS NULL OR p_older_than < interval '0' THEN
    RAISE EXCEPTION 'p_older_than must not be negative, got %', coalesce(p_older_than::text, 'null');
  END IF;

  -- In delete mode the INSERT selects nothing; a data-modifying CTE runs either way.
  WITH taken AS (
    DELETE FROM backups
    WHERE status IN ('pruned', 'failed') AND started_at < now() - p_older_than
    RETURNING *
  ), archived AS (
    INSERT INTO backups_archive (id, type, database, path, format, size_bytes, sha256, started_at, finished_at,
                                 server_version, pg_dump_version, status, verified_at, verified_how, verify_error,
                                 pruned_at, run_id, error, archived_at)
    SELECT id, type, database, path, format, size_bytes, sha256, started_at, finished_at,
           server_version, pg_dump_version, status, verified_at, verified_how, verify_error,
           pruned_at, run_id, error, now()
    FROM taken WHERE p_mode = 'archive'
  )
  SELECT count(*) INTO v_taken FROM taken;

  RETURN jsonb_build_object(CASE p_mode WHEN 'archive' THEN 'archived' ELSE 'deleted' END, v_taken,
                            'kept', (SELECT count(*) FROM backups));
END
$$;
