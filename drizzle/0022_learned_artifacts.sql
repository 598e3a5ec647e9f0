-- Learned knowledge artifacts (issue 16, "the loop is closed"): sync-patterns publishes each qualifying
-- learned pattern as a knowledge_artifacts row (source 'learned', type 'learned_pattern'), agents record their
-- uses of artifacts with record_artifact_use(), and a use of a learned one counts on its pattern too, whose
-- new version sync_learning() then sends to the central database. See docs/learned-patterns.md.
-- Runs on PGlite and PostgreSQL alike: no extensions.

-- The pattern an artifact is the published form of. A deleted pattern leaves its artifact (with its uses)
-- unlinked; prune-artifacts deletes it once it is unused.
ALTER TABLE knowledge_artifacts
  ADD COLUMN learned_pattern_id bigint REFERENCES learned_patterns (id) ON DELETE SET NULL,
  ADD CONSTRAINT knowledge_artifacts_learned_pattern_check CHECK (learned_pattern_id IS NULL OR source = 'learned');
--> statement-breakpoint
CREATE UNIQUE INDEX knowledge_artifacts_learned_pattern_idx ON knowledge_artifacts (learned_pattern_id)
  WHERE learned_pattern_id IS NOT NULL;
--> statement-breakpoint
-- One row per published pattern: its (type, id) names it without a version, and sync_patterns() upserts on
-- this index, so a pattern deleted and learned again under the same kind and key gets its old row back.
CREATE UNIQUE INDEX knowledge_artifacts_learned_pattern_id_idx ON knowledge_artifacts (artifact_id)
  WHERE artifact_type = 'learned_pattern' AND source = 'learned';
--> statement-breakpoint
-- pattern_slug(text, max): text as a slug of at most max characters (lower-case letters and digits joined by
-- single '-' or '_'): the text itself when it is one already, else its letters and digits joined by '-' and the
-- first 8 hex digits of its sha256, so that two texts that slug alike ('React Hooks', 'react  hooks') still differ.
CREATE OR REPLACE FUNCTION pattern_slug(p_text text, p_max integer) RETURNS text LANGUAGE sql IMMUTABLE STRICT AS $$
  SELECT CASE
    WHEN p_text ~ '^[a-z0-9]+([-_][a-z0-9]+)*$' AND length(p_text) <= p_max THEN p_text
    ELSE coalesce(nullif(trim(BOTH '-' FROM left(trim(BOTH '-' FROM regexp_replace(lower(p_text), '[^a-z0-9]+', '-', 'g')), p_max - 9)), '') || '-', '')
         || left(encode(sha256(convert_to(p_text, 'UTF8')), 'hex'), 8)
  END
$$;
--> statement-breakpoint
-- The artifact id of a learned pattern: '<kind slug>.<pattern key slug>' (at most 120 characters, a valid
-- artifact id of templates_data/). Stable: a pattern's kind and key never change.
CREATE OR REPLACE FUNCTION learned_artifact_id(p_kind text, p_pattern_key text) RETURNS text LANGUAGE sql IMMUTABLE STRICT AS $$
  SELECT pattern_slug(p_kind, 40) || '.' || pattern_slug(p_pattern_key, 79)
$$;
--> statement-breakpoint
-- record_artifact_use(type, id, success, uses, version): an agent used the artifact (type, id) p_uses times,
-- all successfully or all not. Bumps its usage_count, success_count and last_used_at; when it is the published
-- form of a learned pattern, bumps that pattern's uses and successes too, and its version (so sync_learning()
-- sends the new counts to the central database). p_version NULL: the artifact's most recently created
-- version (a learned artifact has only one). Returns {"type", "id", "version", "usage_count", "success_count",
-- "last_used_at", "pattern_id", "pattern_uses", "pattern_successes", "pattern_version"} (pattern_* null when
-- the artifact is no learned pattern's). An unknown artifact raises SQLSTATE P0002 (no_data_found).
-- Concurrency: one UPDATE per table, each adding to the row as it is when locked, so concurrent uses all count.
-- Locks: the artifact, then its pattern; learn_patterns() locks patterns only and sync_patterns() artifacts
-- only, so no two of them wait on each other in a cycle.
CREATE OR REPLACE FUNCTION record_artifact_use(p_type text, p_id text, p_success boolean, p_uses integer DEFAULT 1,
                                               p_version text DEFAULT NULL)
RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
  v_artifact record;
  v_pattern record;
BEGIN
  IF p_uses IS NULL OR p_uses < 1 THEN
    RAISE EXCEPTION 'record_artifact_use: uses must be at least 1, got %', p_uses USING ERRCODE = 'invalid_parameter_value';
  END IF;
  IF p_success IS NULL THEN
    RAISE EXCEPTION 'record_artifact_use: success must be true or false, not null' USING ERRCODE = 'invalid_parameter_value';
  END IF;

  UPDATE knowledge_artifacts k
  SET usage_count = k.usage_count + p_uses,
      success_count = k.success_count + CASE WHEN p_success THEN p_uses ELSE 0 END,
      -- greatest() skips the null of a first use, and a use that commits late never moves the time back.
      last_used_at = greatest(k.last_used_at, now())
  WHERE k.id = (SELECT a.id FROM knowledge_artifacts a
                WHERE a.artifact_type = p_type AND a.artifact_id = p_id AND (p_version IS NULL OR a.version = p_version)
                ORDER BY a.created_at DESC, a.id DESC LIMIT 1)
  RETURNING k.artifact_type, k.artifact_id, k.version, k.usage_count, k.success_count, k.last_used_at, k.learned_pattern_id
  INTO v_artifact;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'no knowledge artifact % ''%''%', p_type, p_id, coalesce(' version ' || p_version, '')
      USING ERRCODE = 'no_data_found',
            HINT = 'An artifact is named by its artifact_type and artifact_id (and version) in knowledge_artifacts.';
  END IF;

  IF v_artifact.learned_pattern_id IS NOT NULL THEN
    UPDATE learned_patterns p
    SET uses = p.uses + p_uses,
        successes = p.successes + CASE WHEN p_success THEN p_uses ELSE 0 END,
        version = p.version + 1,
        updated_at = now()
    WHERE p.id = v_artifact.learned_pattern_id
    RETURNING p.id, p.uses, p.successes, p.version INTO v_pattern;
  END IF;

  RETURN jsonb_build_object(
    'type', v_artifact.artifact_type, 'id', v_artifact.artifact_id, 'version', v_artifact.version,
    'usage_count', v_artifact.usage_count, 'success_count', v_artifact.success_count,
    'last_used_at', v_artifact.last_used_at,
    'pattern_id', v_pattern.id, 'pattern_uses', v_pattern.uses, 'pattern_successes', v_pattern.successes,
    'pattern_version', v_pattern.version);
END
$$;
--> statement-breakpoint
COMMENT ON FUNCTION record_artifact_use(text, text, boolean, integer, text) IS 'Records p_uses uses (successful or not) of a knowledge artifact, and of its learned pattern (whose version moves); returns the new counts.';
--> statement-breakpoint
-- sync_patterns(min_confidence, min_occurrences): publish the learned patterns that qualify (confidence and
-- occurrences at least the bounds) as knowledge_artifacts rows and cache one list per kind; returns
-- {"published", "new", "updated", "withdrawn", "unchanged", "changed", "kinds", "cache_written",
-- "cache_deleted"} (kinds: the kinds with a change).
-- An artifact: type 'learned_pattern', id learned_artifact_id(kind, key), source 'learned', content the
-- published pattern {"id", "kind", "pattern_key", "description", "example", "occurrences", "confidence" (4
-- decimals), "first_seen_at", "last_seen_at" (UTC, ISO 8601), "version"}, raw its JSON text, content_hash the
-- sha256 of raw, metadata {"published": true}. version is the pattern's version when the content last changed:
-- a use moves the pattern's version but changes nothing published, so it is not republished.
-- Nothing unchanged is written. A pattern that no longer qualifies, or was deleted, is withdrawn: its artifact
-- is kept (with its uses) with metadata {"published": false}, and leaves the lists; only prune-artifacts
-- deletes learned artifacts. It is published again when it qualifies again.
-- The cache: analysis_cache 'patterns:<kind>' = the kind's published patterns, by pattern key (never
-- expiring; rewritten only when different; deleted when a kind has none).
-- Listeners: one NOTIFY on channel singularity_patterns per changed kind, delivered when the transaction
-- commits: {"kind", "new", "updated", "withdrawn", "ids"} (ids: the knowledge_artifacts row ids changed, or
-- null with "truncated": true when they would not fit in a NOTIFY payload).
-- Concurrent callers take turns (an advisory lock held to the end of the transaction).
CREATE OR REPLACE FUNCTION sync_patterns(p_min_confidence double precision DEFAULT 0.7, p_min_occurrences integer DEFAULT 3)
RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
  v_changes jsonb;
  v_published bigint;
  v_cache_written bigint;
  v_cache_deleted bigint;
  v_note record;
  v_payload jsonb;
BEGIN
  IF p_min_confidence IS NULL OR p_min_confidence < 0 OR p_min_confidence > 1 THEN
    RAISE EXCEPTION 'sync_patterns: min_confidence must be between 0 and 1, got %', p_min_confidence;
  END IF;
  IF p_min_occurrences IS NULL OR p_min_occurrences < 1 THEN
    RAISE EXCEPTION 'sync_patterns: min_occurrences must be at least 1, got %', p_min_occurrences;
  END IF;
  -- The first 8 bytes of sha1('singularity:sync-patterns'), as a signed bigint.
  PERFORM pg_advisory_xact_lock(1350417291552538819);

  WITH qualifying AS (
    SELECT p.id, p.version, learned_artifact_id(p.kind, p.pattern_key) AS artifact_id,
           jsonb_build_object(
             'id', learned_artifact_id(p.kind, p.pattern_key), 'kind', p.kind, 'pattern_key', p.pattern_key,
             'description', p.description, 'example', p.example, 'occurrences', p.occurrences,
             'confidence', round(p.confidence::numeric, 4)::float8,
             -- Text in UTC, not the session's time zone: the same pattern must give the same text everywhere.
             'first_seen_at', to_char(p.first_seen_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
             'last_seen_at', to_char(p.last_seen_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
             'version', p.version::text) AS content
    FROM learned_patterns p
    WHERE p.confidence >= p_min_confidence AND p.occurrences >= p_min_occurrences
    ORDER BY p.id
  ), upserted AS (
    INSERT INTO knowledge_artifacts AS k (artifact_type, artifact_id, version, source, raw, content, metadata,
                                          content_hash, learned_pattern_id)
    SELECT 'learned_pattern', q.artifact_id, q.version::text, 'learned', q.content::text, q.content,
           '{"published": true}', encode(sha256(convert_to(q.content::text, 'UTF8')), 'hex'), q.id
    FROM qualifying q
    ON CONFLICT (artifact_id) WHERE artifact_type = 'learned_pattern' AND source = 'learned' DO UPDATE
      SET version = excluded.version, raw = excluded.raw, content = excluded.content, metadata = excluded.metadata,
          content_hash = excluded.content_hash, learned_pattern_id = excluded.learned_pattern_id, updated_at = now()
      -- The version alone moving (a use) is no change.
      WHERE (k.content - 'version') IS DISTINCT FROM (excluded.content - 'version')
         OR k.metadata IS DISTINCT FROM excluded.metadata
         OR k.learned_pattern_id IS DISTINCT FROM excluded.learned_pattern_id
    RETURNING k.id, k.content ->> 'kind' AS kind, CASE WHEN k.xmax = 0 THEN 'new' ELSE 'updated' END AS change
  ), withdrawn AS (
    UPDATE knowledge_artifacts k SET metadata = k.metadata || '{"published": false}'
    WHERE k.artifact_type = 'learned_pattern' AND k.source = 'learned' AND k.metadata ->> 'published' = 'true'
      AND NOT EXISTS (SELECT 1 FROM qualifying q WHERE q.artifact_id = k.artifact_id)
    RETURNING k.id, k.content ->> 'kind' AS kind, 'withdrawn' AS change
  )
  SELECT coalesce(jsonb_agg(jsonb_build_object('id', c.id, 'kind', c.kind, 'change', c.change) ORDER BY c.id), '[]'),
         (SELECT count(*) FROM qualifying)
  INTO v_changes, v_published
  FROM (SELECT * FROM upserted UNION ALL SELECT * FROM withdrawn) c;

  -- The per-kind lists, from the artifacts as this statement now sees them. COLLATE "C": the same order on
  -- every server, whatever its default collation.
  WITH lists AS (
    SELECT 'patterns:' || (content ->> 'kind') AS key,
           jsonb_agg(content ORDER BY content ->> 'pattern_key' COLLATE "C", artifact_id COLLATE "C") AS value
    FROM knowledge_artifacts
    WHERE artifact_type = 'learned_pattern' AND source = 'learned' AND metadata ->> 'published' = 'true'
    GROUP BY content ->> 'kind'
  ), dropped AS (
    DELETE FROM analysis_cache c
    WHERE c.key LIKE 'patterns:%' AND NOT EXISTS (SELECT 1 FROM lists l WHERE l.key = c.key)
    RETURNING 1
  ), written AS (
    INSERT INTO analysis_cache AS c (key, value) SELECT key, value FROM lists
    ON CONFLICT (key) DO UPDATE SET value = excluded.value, created_at = now(), expires_at = NULL
      WHERE c.value IS DISTINCT FROM excluded.value OR c.expires_at IS NOT NULL
    RETURNING 1
  )
  SELECT (SELECT count(*) FROM written), (SELECT count(*) FROM dropped) INTO v_cache_written, v_cache_deleted;

  FOR v_note IN
    SELECT c.kind,
           count(*) FILTER (WHERE c.change = 'new') AS new,
           count(*) FILTER (WHERE c.change = 'updated') AS updated,
           count(*) FILTER (WHERE c.change = 'withdrawn') AS withdrawn,
           jsonb_agg(c.id ORDER BY c.id) AS ids
    FROM jsonb_to_recordset(v_changes) AS c(id bigint, kind text, change text)
    GROUP BY c.kind ORDER BY c.kind COLLATE "C"
  LOOP
    v_payload := jsonb_build_object('kind', v_note.kind, 'new', v_note.new, 'updated', v_note.updated,
                                    'withdrawn', v_note.withdrawn, 'ids', v_note.ids);
    -- A NOTIFY payload must stay under 8000 bytes: listeners that get no ids re-read the kind.
    IF octet_length(v_payload::text) > 7000 THEN
      v_payload := v_payload || '{"ids": null, "truncated": true}';
    END IF;
    PERFORM pg_notify('singularity_patterns', v_payload::text);
  END LOOP;

  RETURN jsonb_build_object(
    'published', v_published,
    'new', (SELECT count(*) FROM jsonb_array_elements(v_changes) e WHERE e ->> 'change' = 'new'),
    'updated', (SELECT count(*) FROM jsonb_array_elements(v_changes) e WHERE e ->> 'change' = 'updated'),
    'withdrawn', (SELECT count(*) FROM jsonb_array_elements(v_changes) e WHERE e ->> 'change' = 'withdrawn'),
    'changed', jsonb_array_length(v_changes),
    'unchanged', v_published - (SELECT count(*) FROM jsonb_array_elements(v_changes) e WHERE e ->> 'change' <> 'withdrawn'),
    'kinds', (SELECT coalesce(jsonb_agg(DISTINCT e ->> 'kind'), '[]') FROM jsonb_array_elements(v_changes) e),
    'cache_written', v_cache_written, 'cache_deleted', v_cache_deleted);
END
$$;
--> statement-breakpoint
COMMENT ON FUNCTION sync_patterns(double precision, integer) IS 'Publishes the learned patterns that qualify as learned knowledge_artifacts (withdrawing those that no longer do), caches one list per kind in analysis_cache and NOTIFYs singularity_patterns per changed kind; returns the counts.';
