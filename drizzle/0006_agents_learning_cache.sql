-- Agents and their work, pattern learning, the learning outbox, metrics and the analysis cache: the tables
-- and procedures behind assign-tasks, learn-patterns, update-agent-knowledge, sync-learning,
-- refresh-metrics, cleanup-cache, refresh-cache and prewarm-cache.
-- These tables live here, in migrations (plain SQL), not in src/core/schema.ts: only SQL procedures use them.
-- drizzle-kit diffs schema.ts against its snapshots, so it neither sees nor drops them.
-- Everything here runs on PGlite too: no extensions (pg_prewarm is used only when it is installed).

-- Workers that take tasks. capacity: how many tasks it may hold at once (assigned or running).
CREATE TABLE agents (
  id bigserial PRIMARY KEY,
  name text NOT NULL UNIQUE,
  status text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'paused', 'retired')),
  capacity integer NOT NULL DEFAULT 1 CHECK (capacity >= 0),
  skills text[] NOT NULL DEFAULT '{}',
  last_seen_at timestamptz,
  -- Written by update_agent_knowledge(): what the agent has done and the patterns relevant to its skills.
  knowledge jsonb NOT NULL DEFAULT '{}',
  knowledge_updated_at timestamptz,
  inserted_at timestamptz NOT NULL DEFAULT now()
);
--> statement-breakpoint
-- Work for agents. kind: the kind of work (metrics are per kind); skill: the skill an agent needs for it
-- (NULL: any agent). completed_at is when it finished, successfully or not; success follows the status.
CREATE TABLE agent_tasks (
  id bigserial PRIMARY KEY,
  kind text NOT NULL,
  skill text,
  payload jsonb NOT NULL DEFAULT '{}',
  priority integer NOT NULL DEFAULT 0,
  status text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'assigned', 'running', 'completed', 'failed')),
  assigned_agent_id bigint REFERENCES agents (id),
  inserted_at timestamptz NOT NULL DEFAULT now(),
  assigned_at timestamptz,
  completed_at timestamptz,
  duration_ms integer CHECK (duration_ms >= 0),
  success boolean GENERATED ALWAYS AS (CASE WHEN status IN ('completed', 'failed') THEN status = 'completed' END) STORED,
  CONSTRAINT agent_tasks_pending_unassigned CHECK ((status = 'pending') = (assigned_agent_id IS NULL))
);
--> statement-breakpoint
-- assign_tasks() reads pending tasks in this order.
CREATE INDEX agent_tasks_pending_idx ON agent_tasks (priority DESC, inserted_at, id) WHERE status = 'pending';
--> statement-breakpoint
-- An agent's load (assigned + running) and its finished tasks.
CREATE INDEX agent_tasks_agent_idx ON agent_tasks (assigned_agent_id, status) WHERE assigned_agent_id IS NOT NULL;
--> statement-breakpoint
CREATE INDEX agent_tasks_completed_idx ON agent_tasks (completed_at) WHERE completed_at IS NOT NULL;
--> statement-breakpoint
-- assign_tasks(p_limit): give up to p_limit pending tasks to active agents and return
-- {"assigned", "pending_left", "agents"} (agents: how many agents received tasks).
-- Order: priority (highest first), then age. Fairness: each task goes to the eligible agent with the lowest
-- load/capacity (then the lowest load, then the lowest id), recomputed after every assignment, so work
-- spreads in proportion to capacity. Eligible: active, below capacity, and holding the task's skill if it
-- names one. Tasks that no active agent has the skill for are passed over, so they never block the queue.
-- Concurrency: the active agents are locked first (blocking, in id order), so assigners take turns and each
-- counts loads that include every earlier assigner's committed work: no agent goes over capacity. Pending
-- tasks are taken FOR UPDATE SKIP LOCKED, so a task is never assigned twice and a task someone else holds
-- is skipped, not waited for.
CREATE OR REPLACE FUNCTION assign_tasks(p_limit integer DEFAULT 100) RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
  v_agents bigint[];
  v_free bigint;
  v_task record;
  v_agent bigint;
  v_assigned integer := 0;
  v_receivers bigint[] := '{}';
  v_pending bigint;
BEGIN
  IF p_limit IS NULL OR p_limit < 1 THEN
    RAISE EXCEPTION 'p_limit must be at least 1, got %', p_limit;
  END IF;

  SELECT coalesce(array_agg(id), '{}') INTO v_agents
  FROM (SELECT id FROM agents WHERE status = 'active' AND capacity > 0 ORDER BY id FOR UPDATE) a;

  -- Free slots in all: the loop stops as soon as every agent is full.
  SELECT coalesce(sum(greatest(a.capacity - l.n, 0)), 0) INTO v_free
  FROM agents a
  CROSS JOIN LATERAL (SELECT count(*) AS n FROM agent_tasks t
                      WHERE t.assigned_agent_id = a.id AND t.status IN ('assigned', 'running')) l
  WHERE a.id = ANY (v_agents);

  FOR v_task IN
    SELECT t.id, t.skill FROM agent_tasks t
    WHERE t.status = 'pending'
      AND (t.skill IS NULL OR EXISTS (SELECT 1 FROM agents a WHERE a.id = ANY (v_agents) AND t.skill = ANY (a.skills)))
    ORDER BY t.priority DESC, t.inserted_at, t.id
    FOR UPDATE SKIP LOCKED
  LOOP
    EXIT WHEN v_assigned >= p_limit OR v_free <= 0;
    v_agent := NULL;
    SELECT a.id INTO v_agent
    FROM agents a
    CROSS JOIN LATERAL (SELECT count(*) AS n FROM agent_tasks t
                        WHERE t.assigned_agent_id = a.id AND t.status IN ('assigned', 'running')) l
    WHERE a.id = ANY (v_agents)
      AND l.n < a.capacity
      AND (v_task.skill IS NULL OR v_task.skill = ANY (a.skills))
    ORDER BY l.n::float8 / a.capacity, l.n, a.id
    LIMIT 1;
    CONTINUE WHEN v_agent IS NULL; -- every agent with its skill is full; a later task may still fit

    UPDATE agent_tasks SET status = 'assigned', assigned_agent_id = v_agent, assigned_at = now() WHERE id = v_task.id;
    v_assigned := v_assigned + 1;
    v_free := v_free - 1;
    IF NOT v_agent = ANY (v_receivers) THEN
      v_receivers := v_receivers || v_agent;
    END IF;
  END LOOP;

  SELECT count(*) INTO v_pending FROM agent_tasks WHERE status = 'pending';
  RETURN jsonb_build_object('assigned', v_assigned, 'pending_left', v_pending, 'agents', cardinality(v_receivers));
END
$$;
--> statement-breakpoint
-- What code analysis found: one row per finding. learned_at is set once learn_patterns() has learned it.
CREATE TABLE analysis_results (
  id bigserial PRIMARY KEY,
  codebase text NOT NULL,
  kind text NOT NULL,
  subject text NOT NULL,
  finding jsonb NOT NULL DEFAULT '{}',
  confidence double precision NOT NULL CHECK (confidence BETWEEN 0 AND 1),
  created_at timestamptz NOT NULL DEFAULT now(),
  learned_at timestamptz
);
--> statement-breakpoint
CREATE INDEX analysis_results_unlearned_idx ON analysis_results (id) WHERE learned_at IS NULL;
--> statement-breakpoint
-- Patterns learned from analysis results, one per (kind, pattern_key). version goes up on every change;
-- sync_learning() sends each version once.
CREATE TABLE learned_patterns (
  id bigserial PRIMARY KEY,
  kind text NOT NULL,
  pattern_key text NOT NULL,
  description text,
  example jsonb,
  occurrences integer NOT NULL CHECK (occurrences > 0),
  confidence double precision NOT NULL CHECK (confidence BETWEEN 0 AND 1),
  first_seen_at timestamptz NOT NULL,
  last_seen_at timestamptz NOT NULL,
  version integer NOT NULL DEFAULT 1,
  updated_at timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT learned_patterns_kind_key UNIQUE (kind, pattern_key)
);
--> statement-breakpoint
-- learn_patterns(p_batch): learn up to p_batch unlearned analysis results (oldest first) into
-- learned_patterns and return {"learned", "new_patterns", "updated_patterns", "pending_left"}.
-- Pattern key of a result: finding->>'pattern' when the finding names one, else the result's subject.
-- occurrences: the number of results learned into the pattern.
-- confidence: the mean confidence of those results, kept as a running mean:
--   confidence' = (confidence * occurrences + sum(c of new results)) / (occurrences + count(new results))
--   e.g. 0.9 and 0.6 give 0.75; a third result at 0.3 gives (0.75 * 2 + 0.3) / 3 = 0.6.
--   (A noisy-or, 1 - (1 - c1)(1 - c2), would tend to 1 for any pattern seen often; occurrences already
--   says how often, so confidence says how sure each detection was. The mean stays in [0, 1] and does not
--   depend on how results are split into batches.)
-- description: the latest non-empty finding->>'description'; example: the finding of the latest result.
-- Exactly once: the batch is locked FOR UPDATE SKIP LOCKED and marked learned in the same statement that
-- learns it, so concurrent callers take disjoint batches and a result is never counted twice.
CREATE OR REPLACE FUNCTION learn_patterns(p_batch integer DEFAULT 1000) RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
  v_learned bigint;
  v_new bigint;
  v_updated bigint;
  v_pending bigint;
BEGIN
  IF p_batch IS NULL OR p_batch < 1 THEN
    RAISE EXCEPTION 'p_batch must be at least 1, got %', p_batch;
  END IF;

  WITH batch AS (
    SELECT id FROM analysis_results WHERE learned_at IS NULL ORDER BY id LIMIT p_batch FOR UPDATE SKIP LOCKED
  ), marked AS (
    UPDATE analysis_results r SET learned_at = now()
    FROM batch WHERE r.id = batch.id
    RETURNING r.id, r.kind, coalesce(nullif(r.finding ->> 'pattern', ''), r.subject) AS pattern_key,
              nullif(r.finding ->> 'description', '') AS description, r.finding, r.confidence, r.created_at
  ), grouped AS (
    SELECT kind, pattern_key,
           (array_agg(description ORDER BY created_at DESC, id DESC) FILTER (WHERE description IS NOT NULL))[1] AS description,
           (array_agg(finding ORDER BY created_at DESC, id DESC))[1] AS example,
           count(*)::integer AS n, sum(confidence) AS confidence_sum,
           min(created_at) AS first_seen_at, max(created_at) AS last_seen_at
    FROM marked GROUP BY kind, pattern_key
  ), upserted AS (
    INSERT INTO learned_patterns AS p (kind, pattern_key, description, example, occurrences, confidence, first_seen_at, last_seen_at)
    SELECT kind, pattern_key, description, example, n, confidence_sum / n, first_seen_at, last_seen_at FROM grouped
    ON CONFLICT (kind, pattern_key) DO UPDATE SET
      occurrences = p.occurrences + excluded.occurrences,
      confidence = (p.confidence * p.occurrences + excluded.confidence * excluded.occurrences)
                   / (p.occurrences + excluded.occurrences),
      description = coalesce(excluded.description, p.description),
      example = excluded.example,
      first_seen_at = least(p.first_seen_at, excluded.first_seen_at),
      last_seen_at = greatest(p.last_seen_at, excluded.last_seen_at),
      version = p.version + 1,
      updated_at = now()
    RETURNING (xmax = 0) AS inserted -- xmax is 0 on a freshly inserted row
  )
  SELECT (SELECT count(*) FROM marked), count(*) FILTER (WHERE inserted), count(*) FILTER (WHERE NOT inserted)
  INTO v_learned, v_new, v_updated
  FROM upserted;

  SELECT count(*) INTO v_pending FROM analysis_results WHERE learned_at IS NULL;
  RETURN jsonb_build_object('learned', v_learned, 'new_patterns', v_new, 'updated_patterns', v_updated,
                            'pending_left', v_pending);
END
$$;
--> statement-breakpoint
-- update_agent_knowledge(): rewrite the knowledge summary of each agent that is not retired, from its
-- finished tasks and the learned patterns relevant to its skills (a pattern is relevant when its kind is one
-- of the agent's skills). Returns {"updated", "unchanged"}.
-- Summary: {"completed", "failed", "success_rate" (completed / finished, 4 decimals; null before any),
-- "avg_duration_ms", "last_finished_at", "by_kind": {kind: {"completed", "failed"}},
-- "top_patterns": the 5 most confident relevant patterns [{"kind", "pattern", "confidence", "occurrences"}]}.
-- Only agents whose summary comes out different are rewritten (knowledge_updated_at moves only then). The
-- summary is compared, not timestamps, so a task finished in a transaction that commits late is never missed.
CREATE OR REPLACE FUNCTION update_agent_knowledge() RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
  v_considered bigint;
  v_updated bigint;
BEGIN
  SELECT count(*) INTO v_considered FROM agents WHERE status <> 'retired';

  WITH summary AS (
    SELECT a.id, jsonb_build_object(
             'completed', t.completed,
             'failed', t.failed,
             'success_rate', CASE WHEN t.completed + t.failed > 0
                                  THEN round(t.completed::numeric / (t.completed + t.failed), 4) END,
             'avg_duration_ms', t.avg_duration_ms,
             'last_finished_at', t.last_finished_at,
             'by_kind', coalesce(k.by_kind, '{}'),
             'top_patterns', coalesce(p.top, '[]')) AS knowledge
    FROM agents a
    CROSS JOIN LATERAL (
      SELECT count(*) FILTER (WHERE status = 'completed') AS completed,
             count(*) FILTER (WHERE status = 'failed') AS failed,
             round(avg(duration_ms))::bigint AS avg_duration_ms,
             max(completed_at) AS last_finished_at
      FROM agent_tasks WHERE assigned_agent_id = a.id AND status IN ('completed', 'failed')) t
    CROSS JOIN LATERAL (
      SELECT jsonb_object_agg(kind, jsonb_build_object('completed', completed, 'failed', failed)) AS by_kind
      FROM (SELECT kind, count(*) FILTER (WHERE status = 'completed') AS completed,
                   count(*) FILTER (WHERE status = 'failed') AS failed
            FROM agent_tasks WHERE assigned_agent_id = a.id AND status IN ('completed', 'failed')
            GROUP BY kind) per_kind) k
    CROSS JOIN LATERAL (
      SELECT jsonb_agg(jsonb_build_object('kind', kind, 'pattern', pattern_key, 'confidence', confidence,
                                          'occurrences', occurrences)
                       ORDER BY confidence DESC, occurrences DESC, id) AS top
      FROM (SELECT * FROM learned_patterns lp WHERE lp.kind = ANY (a.skills)
            ORDER BY confidence DESC, occurrences DESC, id LIMIT 5) relevant) p
    WHERE a.status <> 'retired'
  )
  UPDATE agents a SET knowledge = s.knowledge, knowledge_updated_at = now()
  FROM summary s
  WHERE a.id = s.id AND a.knowledge IS DISTINCT FROM s.knowledge;
  GET DIAGNOSTICS v_updated = ROW_COUNT;

  RETURN jsonb_build_object('updated', v_updated, 'unchanged', v_considered - v_updated);
END
$$;
--> statement-breakpoint
-- Per agent and kind of task, over the tasks finished in the last 7 days (as of the last refresh):
-- completed, failed, success rate, and the mean and 95th percentile (linear interpolation,
-- percentile_cont) of the duration of the finished tasks that report one.
CREATE MATERIALIZED VIEW agent_performance AS
SELECT a.id AS agent_id, a.name AS agent_name, t.kind,
       count(*) FILTER (WHERE t.status = 'completed')::integer AS completed,
       count(*) FILTER (WHERE t.status = 'failed')::integer AS failed,
       round(count(*) FILTER (WHERE t.status = 'completed')::numeric / count(*), 4)::float8 AS success_rate,
       avg(t.duration_ms)::float8 AS avg_duration_ms,
       percentile_cont(0.95) WITHIN GROUP (ORDER BY t.duration_ms) AS p95_duration_ms,
       max(t.completed_at) AS last_finished_at
FROM agent_tasks t
JOIN agents a ON a.id = t.assigned_agent_id
WHERE t.status IN ('completed', 'failed') AND t.completed_at >= now() - interval '7 days'
GROUP BY a.id, a.name, t.kind;
--> statement-breakpoint
-- REFRESH ... CONCURRENTLY needs a unique index over plain columns.
CREATE UNIQUE INDEX agent_performance_key ON agent_performance (agent_id, kind);
--> statement-breakpoint
-- Per task of the run history, over the runs finished in the last 7 days (as of the last refresh): runs
-- (completed, discarded or cancelled; skipped and missed ticks never ran), completed, failed (discarded:
-- failed for good, timeouts included), success rate, and the mean and 95th percentile of their duration.
CREATE MATERIALIZED VIEW task_run_performance AS
SELECT task,
       count(*)::integer AS runs,
       count(*) FILTER (WHERE state = 'completed')::integer AS completed,
       count(*) FILTER (WHERE state = 'discarded')::integer AS failed,
       round(count(*) FILTER (WHERE state = 'completed')::numeric / count(*), 4)::float8 AS success_rate,
       avg(duration_ms)::float8 AS avg_duration_ms,
       percentile_cont(0.95) WITHIN GROUP (ORDER BY duration_ms) AS p95_duration_ms,
       max(finished_at) AS last_finished_at
FROM task_runs
WHERE state IN ('completed', 'discarded', 'cancelled') AND finished_at >= now() - interval '7 days'
GROUP BY task;
--> statement-breakpoint
CREATE UNIQUE INDEX task_run_performance_key ON task_run_performance (task);
--> statement-breakpoint
-- refresh_metrics(): recompute both metrics views; returns their row counts.
-- CONCURRENTLY (allowed inside a function and a transaction, unlike CREATE INDEX CONCURRENTLY) lets readers
-- keep reading the old rows during the refresh; it needs the unique indexes above and a populated view,
-- which CREATE MATERIALIZED VIEW (WITH DATA, the default) guarantees.
CREATE OR REPLACE FUNCTION refresh_metrics() RETURNS jsonb LANGUAGE plpgsql AS $$
BEGIN
  REFRESH MATERIALIZED VIEW CONCURRENTLY agent_performance;
  REFRESH MATERIALIZED VIEW CONCURRENTLY task_run_performance;
  RETURN jsonb_build_object('agent_performance', (SELECT count(*) FROM agent_performance),
                            'task_run_performance', (SELECT count(*) FROM task_run_performance));
END
$$;
--> statement-breakpoint
-- Batches of learnings handed to the central database. destination 'none': no central database is
-- configured (none exists yet), so the batch is only recorded here, for a central database to pull.
CREATE TABLE learning_sync_batches (
  id bigserial PRIMARY KEY,
  created_at timestamptz NOT NULL DEFAULT now(),
  sent_at timestamptz,
  items integer NOT NULL,
  destination text NOT NULL DEFAULT 'none'
);
--> statement-breakpoint
-- One row per version of a learned pattern to send: payload is the pattern as it was when enqueued.
CREATE TABLE learning_outbox (
  id bigserial PRIMARY KEY,
  pattern_id bigint NOT NULL REFERENCES learned_patterns (id) ON DELETE CASCADE,
  pattern_version integer NOT NULL,
  payload jsonb NOT NULL,
  enqueued_at timestamptz NOT NULL DEFAULT now(),
  sent_at timestamptz,
  batch_id bigint REFERENCES learning_sync_batches (id),
  attempts integer NOT NULL DEFAULT 0,
  CONSTRAINT learning_outbox_pattern_version UNIQUE (pattern_id, pattern_version)
);
--> statement-breakpoint
CREATE INDEX learning_outbox_unsent_idx ON learning_outbox (id) WHERE sent_at IS NULL;
--> statement-breakpoint
-- sync_learning(p_batch): enqueue every learned pattern whose current version is not in the outbox yet (new
-- patterns, and patterns changed since their last enqueue), then send the oldest p_batch unsent entries as
-- one batch. Returns {"enqueued", "sent", "batch_id", "unsent_left"}.
-- Versions, not timestamps, say what changed, so a change committed late is still enqueued. The unique
-- (pattern_id, pattern_version) makes concurrent enqueues insert each version once; the unsent entries are
-- taken FOR UPDATE SKIP LOCKED, so concurrent callers send disjoint batches and nothing twice.
-- The central transport plugs in where the batch is sent (marked below): with postgres_fdw, insert the
-- batch's payloads into a foreign table of the central database in this same transaction; with a pull, the
-- central database reads learning_outbox by batch_id. Neither exists yet: the batch is recorded as sent
-- with destination 'none'.
CREATE OR REPLACE FUNCTION sync_learning(p_batch integer DEFAULT 500) RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
  v_enqueued bigint;
  v_ids bigint[];
  v_batch bigint;
  v_unsent bigint;
BEGIN
  IF p_batch IS NULL OR p_batch < 1 THEN
    RAISE EXCEPTION 'p_batch must be at least 1, got %', p_batch;
  END IF;

  INSERT INTO learning_outbox (pattern_id, pattern_version, payload)
  SELECT p.id, p.version,
         jsonb_build_object('kind', p.kind, 'pattern_key', p.pattern_key, 'description', p.description,
                            'example', p.example, 'occurrences', p.occurrences, 'confidence', p.confidence,
                            'first_seen_at', p.first_seen_at, 'last_seen_at', p.last_seen_at, 'version', p.version)
  FROM learned_patterns p
  WHERE NOT EXISTS (SELECT 1 FROM learning_outbox o WHERE o.pattern_id = p.id AND o.pattern_version = p.version)
  ORDER BY p.id
  ON CONFLICT (pattern_id, pattern_version) DO NOTHING;
  GET DIAGNOSTICS v_enqueued = ROW_COUNT;

  SELECT array_agg(id ORDER BY id) INTO v_ids
  FROM (SELECT id FROM learning_outbox WHERE sent_at IS NULL ORDER BY id LIMIT p_batch FOR UPDATE SKIP LOCKED) unsent;

  IF v_ids IS NOT NULL THEN
    -- The central transport goes here (see above). Without one, the batch is sent by recording it.
    INSERT INTO learning_sync_batches (sent_at, items, destination)
    VALUES (now(), cardinality(v_ids), 'none')
    RETURNING id INTO v_batch;
    UPDATE learning_outbox SET sent_at = now(), batch_id = v_batch, attempts = attempts + 1 WHERE id = ANY (v_ids);
  END IF;

  SELECT count(*) INTO v_unsent FROM learning_outbox WHERE sent_at IS NULL;
  RETURN jsonb_build_object('enqueued', v_enqueued, 'sent', coalesce(cardinality(v_ids), 0), 'batch_id', v_batch,
                            'unsent_left', v_unsent);
END
$$;
--> statement-breakpoint
-- Results of code analysis, by key. UNLOGGED: a cache may be lost in a crash (PostgreSQL empties it) and
-- skipping the WAL makes writes cheaper. expires_at NULL: never expires. size_bytes: the value's size as text.
CREATE UNLOGGED TABLE analysis_cache (
  key text PRIMARY KEY,
  value jsonb NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  expires_at timestamptz,
  hits bigint NOT NULL DEFAULT 0,
  last_hit_at timestamptz,
  size_bytes integer GENERATED ALWAYS AS (octet_length(value::text)) STORED
);
--> statement-breakpoint
CREATE INDEX analysis_cache_expires_idx ON analysis_cache (expires_at) WHERE expires_at IS NOT NULL;
--> statement-breakpoint
-- The 100 hottest live entries (as of the last refresh): hit at least once, not expired, ranked by
--   score = hits / (1 + hours since the last hit)    (since creation when never hit)
-- so that an entry hit often long ago cools down: 100 hits an hour ago score 50, 10 hits just now score 10.
CREATE MATERIALIZED VIEW hot_cache_entries AS
SELECT key, hits, last_hit_at, expires_at, size_bytes, score,
       row_number() OVER (ORDER BY score DESC, key) AS rank
FROM (SELECT key, hits, last_hit_at, expires_at, size_bytes,
             (hits / (1 + extract(epoch FROM now() - coalesce(last_hit_at, created_at)) / 3600))::float8 AS score
      FROM analysis_cache
      WHERE hits > 0 AND (expires_at IS NULL OR expires_at > now())) live
ORDER BY score DESC, key
LIMIT 100;
--> statement-breakpoint
CREATE UNIQUE INDEX hot_cache_entries_key ON hot_cache_entries (key);
--> statement-breakpoint
-- cleanup_cache(): delete the expired entries; returns {"deleted", "remaining"}.
CREATE OR REPLACE FUNCTION cleanup_cache() RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
  v_deleted bigint;
BEGIN
  DELETE FROM analysis_cache WHERE expires_at <= now();
  GET DIAGNOSTICS v_deleted = ROW_COUNT;
  RETURN jsonb_build_object('deleted', v_deleted, 'remaining', (SELECT count(*) FROM analysis_cache));
END
$$;
--> statement-breakpoint
-- refresh_cache(): recompute hot_cache_entries (CONCURRENTLY: readers keep the old list meanwhile);
-- returns {"hot_entries", "hot_bytes"}.
CREATE OR REPLACE FUNCTION refresh_cache() RETURNS jsonb LANGUAGE plpgsql AS $$
BEGIN
  REFRESH MATERIALIZED VIEW CONCURRENTLY hot_cache_entries;
  RETURN (SELECT jsonb_build_object('hot_entries', count(*), 'hot_bytes', coalesce(sum(size_bytes), 0))
          FROM hot_cache_entries);
END
$$;
--> statement-breakpoint
-- prewarm_cache(p_extend): keep the hot entries (as of the last refresh-cache) alive and in memory.
-- Each hot entry that has not expired and would expire within p_extend gets expires_at = now() + p_extend
-- (expired entries are stale and are left to cleanup_cache; later expiries are never shortened). p_extend
-- should exceed the time to the next prewarm (the task runs every 6 hours and passes 1 day), or hot entries
-- would expire just before it. Where the pg_prewarm extension is installed (PGlite has none), the cache
-- table and its key index are loaded into shared buffers. Returns {"renewed", "pg_prewarm", "prewarmed_blocks"}.
CREATE OR REPLACE FUNCTION prewarm_cache(p_extend interval DEFAULT '1 day') RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
  v_renewed bigint;
  v_blocks bigint;
  v_prewarm boolean := to_regprocedure('pg_prewarm(regclass,text,text,bigint,bigint)') IS NOT NULL;
BEGIN
  IF p_extend IS NULL OR p_extend <= interval '0' THEN
    RAISE EXCEPTION 'p_extend must be positive, got %', p_extend;
  END IF;

  UPDATE analysis_cache c SET expires_at = now() + p_extend
  FROM hot_cache_entries h
  WHERE c.key = h.key AND c.expires_at > now() AND c.expires_at < now() + p_extend;
  GET DIAGNOSTICS v_renewed = ROW_COUNT;

  IF v_prewarm THEN
    -- Dynamic, so the function compiles and runs where pg_prewarm is absent.
    EXECUTE 'SELECT pg_prewarm(''analysis_cache''::regclass) + pg_prewarm(''analysis_cache_pkey''::regclass)' INTO v_blocks;
  END IF;
  RETURN jsonb_build_object('renewed', v_renewed, 'pg_prewarm', v_prewarm, 'prewarmed_blocks', v_blocks);
END
$$;
