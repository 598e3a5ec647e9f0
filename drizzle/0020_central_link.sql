-- The central role (issue 16): what an instance sends the central database, and how it is merged there.
-- Every database gets these tables: the central database is a singularity database like any other (its
-- maintenance tasks run on it too); on an instance the central_* tables stay empty.
-- learned_patterns gains use counts: an agent's use of a pattern's artifact (record_artifact_use, 0022)
-- counts here too, so the counts travel to the central database with the pattern's next version.
ALTER TABLE learned_patterns
  ADD COLUMN uses bigint NOT NULL DEFAULT 0,
  ADD COLUMN successes bigint NOT NULL DEFAULT 0,
  ADD CONSTRAINT learned_patterns_uses_check CHECK (successes >= 0 AND successes <= uses);
--> statement-breakpoint
-- Central-sourced knowledge: sync-templates with a central database copies the central's artifacts into an
-- instance as source 'central' (with the central's path), and adds, updates and deletes only those rows.
ALTER TABLE knowledge_artifacts DROP CONSTRAINT knowledge_artifacts_source_check;
--> statement-breakpoint
ALTER TABLE knowledge_artifacts ADD CONSTRAINT knowledge_artifacts_source_check CHECK (source IN ('file', 'learned', 'central'));
--> statement-breakpoint
ALTER TABLE knowledge_artifacts DROP CONSTRAINT knowledge_artifacts_path_check;
--> statement-breakpoint
ALTER TABLE knowledge_artifacts ADD CONSTRAINT knowledge_artifacts_path_check CHECK ((source IN ('file', 'central')) = (path IS NOT NULL));
--> statement-breakpoint
-- On the central database: the instances that send to it. instance_key identifies the instance's database,
-- so a second database that takes a name already registered is refused, not merged into the first.
CREATE TABLE central_instances (
  name text PRIMARY KEY,
  instance_key uuid NOT NULL,
  registered_at timestamptz NOT NULL DEFAULT now(),
  last_sync_at timestamptz,
  last_batch_id bigint,
  learnings_received bigint NOT NULL DEFAULT 0
);
--> statement-breakpoint
-- On the central database: every learning an instance sent, once. The key is the instance and its outbox
-- entry, so a batch sent again (after a failure between the central's commit and the instance's) inserts
-- nothing: senders insert with ON CONFLICT DO NOTHING.
CREATE TABLE central_learnings (
  instance text NOT NULL,
  outbox_id bigint NOT NULL,
  batch_id bigint NOT NULL,
  kind text NOT NULL,
  pattern_key text NOT NULL,
  pattern_version integer NOT NULL,
  payload jsonb NOT NULL,
  received_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (instance, outbox_id)
);
--> statement-breakpoint
-- On the central database: each instance's latest version of each pattern. A pattern's counts on an instance
-- are running totals, so the latest version replaces the earlier one (summing versions would count twice).
CREATE TABLE central_instance_patterns (
  instance text NOT NULL,
  kind text NOT NULL,
  pattern_key text NOT NULL,
  version integer NOT NULL,
  description text,
  example jsonb,
  occurrences bigint NOT NULL,
  confidence double precision NOT NULL,
  uses bigint NOT NULL DEFAULT 0,
  successes bigint NOT NULL DEFAULT 0,
  first_seen_at timestamptz NOT NULL,
  last_seen_at timestamptz NOT NULL,
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (kind, pattern_key, instance)
);
--> statement-breakpoint
-- Merge what arrived, once per INSERT statement (postgres_fdw sends a batch as one multi-row INSERT): the
-- transition table holds only the rows inserted, never those ON CONFLICT DO NOTHING skipped, so a resent
-- learning merges nothing. A version older than the one merged (sent out of order) changes nothing.
-- search_path is fixed: a postgres_fdw session runs with search_path = pg_catalog.
CREATE OR REPLACE FUNCTION merge_central_learnings() RETURNS trigger LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
BEGIN
  INSERT INTO central_instance_patterns AS p (instance, kind, pattern_key, version, description, example, occurrences,
                                              confidence, uses, successes, first_seen_at, last_seen_at)
  SELECT DISTINCT ON (instance, kind, pattern_key)
         instance, kind, pattern_key, pattern_version, payload ->> 'description', payload -> 'example',
         (payload ->> 'occurrences')::bigint, (payload ->> 'confidence')::float8,
         coalesce((payload ->> 'uses')::bigint, 0), coalesce((payload ->> 'successes')::bigint, 0),
         (payload ->> 'first_seen_at')::timestamptz, (payload ->> 'last_seen_at')::timestamptz
  FROM arrived
  ORDER BY instance, kind, pattern_key, pattern_version DESC
  ON CONFLICT (kind, pattern_key, instance) DO UPDATE SET
    version = excluded.version, description = coalesce(excluded.description, p.description), example = excluded.example,
    occurrences = excluded.occurrences, confidence = excluded.confidence, uses = excluded.uses,
    successes = excluded.successes, first_seen_at = excluded.first_seen_at, last_seen_at = excluded.last_seen_at,
    updated_at = now()
  WHERE excluded.version > p.version;

  UPDATE central_instances i SET learnings_received = i.learnings_received + a.n
  FROM (SELECT instance, count(*) AS n FROM arrived GROUP BY instance) a
  WHERE i.name = a.instance;
  RETURN NULL;
END
$$;
--> statement-breakpoint
CREATE TRIGGER central_learnings_merge AFTER INSERT ON central_learnings
  REFERENCING NEW TABLE AS arrived FOR EACH STATEMENT EXECUTE FUNCTION merge_central_learnings();
--> statement-breakpoint
-- On the central database: each pattern over all instances. Counts add up; confidence is the mean over all
-- occurrences; success_rate is successes / uses (null before any use). export-knowledge promotes from here.
CREATE VIEW central_patterns AS
SELECT kind, pattern_key,
       count(*)::integer AS instances,
       sum(occurrences)::bigint AS occurrences,
       (sum(confidence * occurrences) / sum(occurrences))::float8 AS confidence,
       sum(uses)::bigint AS uses,
       sum(successes)::bigint AS successes,
       CASE WHEN sum(uses) > 0 THEN (sum(successes)::numeric / sum(uses))::float8 END AS success_rate,
       (array_agg(description ORDER BY last_seen_at DESC) FILTER (WHERE description IS NOT NULL))[1] AS description,
       (array_agg(example ORDER BY last_seen_at DESC))[1] AS example,
       min(first_seen_at) AS first_seen_at,
       max(last_seen_at) AS last_seen_at
FROM central_instance_patterns
GROUP BY kind, pattern_key;
--> statement-breakpoint
-- On an instance: its link to the central database (one row, or none when no central database is linked).
-- mode 'fdw': through postgres_fdw (foreign tables in schema singularity_central), so sync_learning() sends
-- by itself and pg_cron can run it; mode 'connection': this database has no postgres_fdw (the embedded one),
-- and singularity sends over a connection of its own. The connection string is never stored here: the
-- foreign server keeps host, port and database, its user mapping the user and password.
CREATE TABLE central_link (
  only_row boolean PRIMARY KEY DEFAULT true CHECK (only_row),
  instance text NOT NULL,
  instance_key uuid NOT NULL DEFAULT gen_random_uuid(),
  mode text NOT NULL CHECK (mode IN ('fdw', 'connection')),
  target text NOT NULL,
  linked_at timestamptz NOT NULL DEFAULT now(),
  last_sync_at timestamptz,
  last_batch_id bigint
);
--> statement-breakpoint
-- What the central database receives of a pattern's version.
CREATE OR REPLACE FUNCTION learning_payload(p learned_patterns) RETURNS jsonb LANGUAGE sql STABLE AS $$
  SELECT jsonb_build_object('kind', p.kind, 'pattern_key', p.pattern_key, 'description', p.description,
                            'example', p.example, 'occurrences', p.occurrences, 'confidence', p.confidence,
                            'uses', p.uses, 'successes', p.successes,
                            'first_seen_at', p.first_seen_at, 'last_seen_at', p.last_seen_at, 'version', p.version)
$$;
--> statement-breakpoint
-- send_learning_range(instance, batch, from, to): send the batch's outbox entries with ids in [from, to]
-- through the foreign table (postgres_fdw inserts them 1,000 rows per remote INSERT). The id range keeps it
-- a primary-key scan; batch_id leaves out other syncs' entries that fall in the range.
CREATE OR REPLACE FUNCTION send_learning_range(p_instance text, p_batch bigint, p_from bigint, p_to bigint) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  -- Dynamic SQL: the foreign table exists only on a linked instance.
  EXECUTE 'INSERT INTO singularity_central.central_learnings (instance, outbox_id, batch_id, kind, pattern_key, pattern_version, payload)
           SELECT $1, o.id, o.batch_id, o.payload ->> ''kind'', o.payload ->> ''pattern_key'', o.pattern_version, o.payload
           FROM learning_outbox o WHERE o.id BETWEEN $3 AND $4 AND o.batch_id = $2
           ON CONFLICT DO NOTHING' USING p_instance, p_batch, p_from, p_to;
END
$$;
--> statement-breakpoint
-- The outbox's new entries: every learned pattern whose current version is not in it yet. Versions, not
-- timestamps, say what changed, so a change committed late is still enqueued; the unique
-- (pattern_id, pattern_version) makes concurrent enqueues insert each version once.
CREATE OR REPLACE FUNCTION enqueue_learnings() RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
  v_enqueued bigint;
BEGIN
  INSERT INTO learning_outbox (pattern_id, pattern_version, payload)
  SELECT p.id, p.version, learning_payload(p)
  FROM learned_patterns p
  WHERE NOT EXISTS (SELECT 1 FROM learning_outbox o WHERE o.pattern_id = p.id AND o.pattern_version = p.version)
  ORDER BY p.id
  ON CONFLICT (pattern_id, pattern_version) DO NOTHING;
  GET DIAGNOSTICS v_enqueued = ROW_COUNT;
  RETURN v_enqueued;
END
$$;
--> statement-breakpoint
-- take_learning_batch(p_batch, p_destination): the oldest p_batch unsent entries, locked FOR UPDATE SKIP
-- LOCKED (concurrent senders take disjoint batches), recorded as one batch and marked sent, and returned as
-- the rows central_learnings receives. The caller sends them in the same transaction: if sending fails, the
-- transaction rolls back and the entries are unsent again, in the outbox.
CREATE OR REPLACE FUNCTION take_learning_batch(p_batch integer, p_destination text)
RETURNS TABLE (outbox_id bigint, batch_id bigint, kind text, pattern_key text, pattern_version integer, payload jsonb)
LANGUAGE plpgsql AS $$
DECLARE
  v_ids bigint[];
  v_batch bigint;
BEGIN
  SELECT array_agg(u.id ORDER BY u.id) INTO v_ids
  FROM (SELECT o.id FROM learning_outbox o WHERE o.sent_at IS NULL ORDER BY o.id LIMIT p_batch FOR UPDATE SKIP LOCKED) u;
  IF v_ids IS NULL THEN
    RETURN;
  END IF;
  INSERT INTO learning_sync_batches (sent_at, items, destination) VALUES (now(), cardinality(v_ids), p_destination)
  RETURNING id INTO v_batch;
  RETURN QUERY
  UPDATE learning_outbox o SET sent_at = now(), batch_id = v_batch, attempts = o.attempts + 1
  WHERE o.id = ANY (v_ids)
  RETURNING o.id, v_batch, o.payload ->> 'kind', o.payload ->> 'pattern_key', o.pattern_version, o.payload;
END
$$;
--> statement-breakpoint
-- sync_learning(p_batch): enqueue, then send one batch of at most p_batch entries to the central database.
-- Returns {"enqueued", "sent", "batch_id", "unsent_left", "link"}. link 'fdw': sent through the foreign
-- tables, in this transaction (postgres_fdw commits the central's side when this one commits; a failure
-- anywhere rolls both back: nothing lost, nothing marked sent). link 'none': no central database is linked;
-- nothing is enqueued or sent. link 'connection': singularity sends them over its own connection (the
-- runner does that instead of this statement); a bare call, as pg_cron would make, only enqueues.
-- A second database that takes this instance's name on the central database is refused.
CREATE OR REPLACE FUNCTION sync_learning(p_batch integer DEFAULT 500) RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
  v_enqueued bigint;
  v_link central_link;
  v_key uuid;
  v_sent bigint := 0;
  v_old bigint := 0;
  v_min bigint;
  v_max bigint;
  v_batch bigint;
BEGIN
  IF p_batch IS NULL OR p_batch < 1 THEN
    RAISE EXCEPTION 'p_batch must be at least 1, got %', p_batch;
  END IF;
  SELECT * INTO v_link FROM central_link;
  IF NOT FOUND THEN
    -- Nothing is enqueued without a central database: once one is linked, the first sync enqueues the
    -- current version of every pattern, which is all the central database needs (counts are running totals).
    RETURN jsonb_build_object('enqueued', 0, 'sent', 0, 'batch_id', NULL,
                              'unsent_left', (SELECT count(*) FROM learning_outbox WHERE sent_at IS NULL), 'link', 'none');
  END IF;
  IF v_link.mode = 'connection' THEN
    v_enqueued := enqueue_learnings();
  ELSE
    -- Dynamic SQL: the foreign tables exist only on a linked instance.
    EXECUTE 'INSERT INTO singularity_central.central_instances (name, instance_key) VALUES ($1, $2) ON CONFLICT DO NOTHING'
      USING v_link.instance, v_link.instance_key;
    EXECUTE 'SELECT instance_key FROM singularity_central.central_instances WHERE name = $1' INTO v_key USING v_link.instance;
    IF v_key IS DISTINCT FROM v_link.instance_key THEN
      RAISE EXCEPTION 'another database is registered with the central database as instance ''%''', v_link.instance
        USING ERRCODE = 'unique_violation',
              HINT = 'Give this instance a name of its own (SINGULARITY_INSTANCE, or "central": {"instance": ...} in the config file) and run singularity migrate.';
    END IF;
    INSERT INTO learning_sync_batches (sent_at, items, destination) VALUES (now(), 0, v_link.target) RETURNING id INTO v_batch;
    -- Entries enqueued earlier and not sent yet (a bare call while the link was a connection) go first.
    WITH taken AS (
      UPDATE learning_outbox o SET sent_at = now(), batch_id = v_batch, attempts = o.attempts + 1
      WHERE o.id IN (SELECT u.id FROM learning_outbox u WHERE u.sent_at IS NULL ORDER BY u.id LIMIT p_batch FOR UPDATE SKIP LOCKED)
      RETURNING o.id)
    SELECT count(*), min(id), max(id) INTO v_old, v_min, v_max FROM taken;
    IF v_old > 0 THEN
      PERFORM send_learning_range(v_link.instance, v_batch, v_min, v_max);
    END IF;
    -- New versions go into the outbox already sent, with this batch: one write each, no enqueue-then-update.
    -- The unique (pattern_id, pattern_version) makes a concurrent sync's insert of the same version wait and
    -- skip it, so each version is sent once.
    WITH fresh AS (
      INSERT INTO learning_outbox (pattern_id, pattern_version, payload, sent_at, batch_id, attempts)
      SELECT p.id, p.version, learning_payload(p), now(), v_batch, 1
      FROM learned_patterns p
      WHERE NOT EXISTS (SELECT 1 FROM learning_outbox o WHERE o.pattern_id = p.id AND o.pattern_version = p.version)
      ORDER BY p.id
      LIMIT p_batch - v_old
      ON CONFLICT (pattern_id, pattern_version) DO NOTHING
      RETURNING id)
    SELECT count(*), min(id), max(id) INTO v_enqueued, v_min, v_max FROM fresh;
    IF v_enqueued > 0 THEN
      PERFORM send_learning_range(v_link.instance, v_batch, v_min, v_max);
    END IF;
    v_sent := v_old + v_enqueued;
    IF v_sent = 0 THEN
      DELETE FROM learning_sync_batches WHERE id = v_batch;
      v_batch := NULL;
    ELSE
      UPDATE learning_sync_batches SET items = v_sent WHERE id = v_batch;
      EXECUTE 'UPDATE singularity_central.central_instances SET last_sync_at = now(), last_batch_id = $2 WHERE name = $1'
        USING v_link.instance, v_batch;
    END IF;
    UPDATE central_link SET last_sync_at = now(), last_batch_id = coalesce(v_batch, last_batch_id);
  END IF;

  RETURN jsonb_build_object('enqueued', v_enqueued, 'sent', v_sent, 'batch_id', v_batch,
                            'unsent_left', (SELECT count(*) FROM learning_outbox WHERE sent_at IS NULL),
                            'link', v_link.mode);
END
$$;
--> statement-breakpoint
-- link_central(...): link this instance to the central database (or re-link it with new settings) and
-- return {"instance", "mode", "target"}. Mode 'fdw' (re)creates the foreign server singularity_central,
-- this user's mapping to the central user and password, and the foreign tables sync_learning() and
-- sync-templates use, in schema singularity_central. Mode 'connection' drops them: singularity connects itself.
-- The password arrives as a bind parameter and goes only into the user mapping; an error is raised again
-- with its message alone, so no statement text (which would hold the password) reaches a log or the caller.
CREATE OR REPLACE FUNCTION link_central(p_mode text, p_instance text, p_target text, p_host text DEFAULT NULL,
  p_port text DEFAULT NULL, p_dbname text DEFAULT NULL, p_user text DEFAULT NULL, p_password text DEFAULT NULL)
RETURNS jsonb LANGUAGE plpgsql AS $$
BEGIN
  IF p_mode NOT IN ('fdw', 'connection') THEN
    RAISE EXCEPTION 'link_central: mode must be fdw or connection, got %', p_mode;
  END IF;
  BEGIN
    DROP SCHEMA IF EXISTS singularity_central CASCADE;
    IF to_regclass('pg_catalog.pg_foreign_server') IS NOT NULL
       AND EXISTS (SELECT 1 FROM pg_foreign_server WHERE srvname = 'singularity_central') THEN
      DROP SERVER singularity_central CASCADE;
    END IF;
    IF p_mode = 'fdw' THEN
      CREATE EXTENSION IF NOT EXISTS postgres_fdw;
      -- batch_size: one INSERT per 1,000 rows sent, not one per row; fetch_size likewise for reads.
      EXECUTE format('CREATE SERVER singularity_central FOREIGN DATA WRAPPER postgres_fdw OPTIONS (host %L, port %L, dbname %L, '
                     'batch_size %L, fetch_size %L, application_name %L)',
                     p_host, p_port, p_dbname, '1000', '1000', 'singularity ' || p_instance);
      EXECUTE format('CREATE USER MAPPING FOR CURRENT_USER SERVER singularity_central OPTIONS (%s)',
                     concat_ws(', ', format('user %L', p_user), CASE WHEN p_password IS NOT NULL THEN format('password %L', p_password) END));
      CREATE SCHEMA singularity_central;
      CREATE FOREIGN TABLE singularity_central.central_instances (
        name text, instance_key uuid, last_sync_at timestamptz, last_batch_id bigint
      ) SERVER singularity_central OPTIONS (schema_name 'public', table_name 'central_instances');
      CREATE FOREIGN TABLE singularity_central.central_learnings (
        instance text, outbox_id bigint, batch_id bigint, kind text, pattern_key text, pattern_version integer, payload jsonb
      ) SERVER singularity_central OPTIONS (schema_name 'public', table_name 'central_learnings');
      CREATE FOREIGN TABLE singularity_central.knowledge_artifacts (
        artifact_type text, artifact_id text, version text, source text, path text, raw text, content jsonb,
        metadata jsonb, content_hash text
      ) SERVER singularity_central OPTIONS (schema_name 'public', table_name 'knowledge_artifacts');
    END IF;
  EXCEPTION WHEN others THEN
    RAISE EXCEPTION 'could not link the central database: %', SQLERRM USING ERRCODE = SQLSTATE;
  END;
  INSERT INTO central_link (instance, mode, target) VALUES (p_instance, p_mode, p_target)
  ON CONFLICT (only_row) DO UPDATE SET instance = excluded.instance, mode = excluded.mode, target = excluded.target,
    linked_at = now();
  RETURN jsonb_build_object('instance', p_instance, 'mode', p_mode, 'target', p_target);
END
$$;
--> statement-breakpoint
-- unlink_central(): forget the central database (CENTRAL_DATABASE_URL removed); the outbox keeps its rows.
CREATE OR REPLACE FUNCTION unlink_central() RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN
  DROP SCHEMA IF EXISTS singularity_central CASCADE;
  IF EXISTS (SELECT 1 FROM pg_foreign_server WHERE srvname = 'singularity_central') THEN
    DROP SERVER singularity_central CASCADE;
  END IF;
  DELETE FROM central_link;
  RETURN FOUND;
END
$$;
--> statement-breakpoint
-- sync_central_templates(p_source): bring this instance's central-sourced artifacts in line with the
-- central's file-loaded ones, read from p_source (the foreign table singularity_central.knowledge_artifacts,
-- or a copy singularity made over its own connection). Adds, updates (by content hash) and deletes rows
-- of source 'central' only: an artifact the instance loaded from its own files, or learned, with the same
-- identity is kept and counted as kept_local. Returns {"added", "updated", "deleted", "unchanged", "kept_local"}.
CREATE OR REPLACE FUNCTION sync_central_templates(p_source regclass) RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
  v_added bigint;
  v_updated bigint;
  v_deleted bigint;
  v_kept bigint;
  v_total bigint;
BEGIN
  EXECUTE format('CREATE TEMP TABLE central_incoming ON COMMIT DROP AS
                  SELECT artifact_type, artifact_id, version, path, raw, content, metadata, content_hash FROM %s
                  WHERE source = %L', p_source, 'file');
  SELECT count(*) INTO v_total FROM central_incoming;
  SELECT count(*) INTO v_kept FROM central_incoming i
  JOIN knowledge_artifacts k USING (artifact_type, artifact_id, version) WHERE k.source <> 'central';

  WITH upserted AS (
    INSERT INTO knowledge_artifacts AS k (artifact_type, artifact_id, version, source, path, raw, content, metadata, content_hash)
    SELECT artifact_type, artifact_id, version, 'central', path, raw, content, metadata, content_hash FROM central_incoming
    ON CONFLICT (artifact_type, artifact_id, version) DO UPDATE SET
      path = excluded.path, raw = excluded.raw, content = excluded.content, metadata = excluded.metadata,
      content_hash = excluded.content_hash, updated_at = now()
    WHERE k.source = 'central' AND (k.content_hash <> excluded.content_hash OR k.path <> excluded.path)
    RETURNING (xmax = 0) AS inserted
  )
  SELECT count(*) FILTER (WHERE inserted), count(*) FILTER (WHERE NOT inserted) INTO v_added, v_updated FROM upserted;

  DELETE FROM knowledge_artifacts k WHERE k.source = 'central' AND NOT EXISTS (
    SELECT 1 FROM central_incoming i
    WHERE (i.artifact_type, i.artifact_id, i.version) = (k.artifact_type, k.artifact_id, k.version));
  GET DIAGNOSTICS v_deleted = ROW_COUNT;
  DROP TABLE central_incoming;

  RETURN jsonb_build_object('added', v_added, 'updated', v_updated, 'deleted', v_deleted,
                            'unchanged', v_total - v_added - v_updated - v_kept, 'kept_local', v_kept);
END
$$;
