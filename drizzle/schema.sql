-- The schema the migrations in drizzle/ produce, as pg_dump --schema-only prints it from a new
-- embedded database (PostgreSQL 18.3). Written by `npm run db:schema`: do not edit; write a migration.

--
-- Name: agents; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.agents (
    id bigint NOT NULL,
    name text NOT NULL,
    status text DEFAULT 'active'::text NOT NULL,
    capacity integer DEFAULT 1 NOT NULL,
    skills text[] DEFAULT '{}'::text[] NOT NULL,
    last_seen_at timestamp with time zone,
    knowledge jsonb DEFAULT '{}'::jsonb NOT NULL,
    knowledge_updated_at timestamp with time zone,
    inserted_at timestamp with time zone DEFAULT now() NOT NULL,
    config jsonb DEFAULT '{}'::jsonb NOT NULL,
    config_version integer DEFAULT 1 NOT NULL,
    CONSTRAINT agents_capacity_check CHECK ((capacity >= 0)),
    CONSTRAINT agents_config_check CHECK ((jsonb_typeof(config) = 'object'::text)),
    CONSTRAINT agents_config_version_check CHECK ((config_version >= 1)),
    CONSTRAINT agents_status_check CHECK ((status = ANY (ARRAY['active'::text, 'paused'::text, 'retired'::text])))
);

--
-- Name: agent_config_document(public.agents); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.agent_config_document(a public.agents) RETURNS jsonb
    LANGUAGE sql STABLE
    AS $$
  SELECT a.config || jsonb_build_object('capacity', a.capacity, 'skills', to_jsonb(a.skills))
$$;

--
-- Name: agent_config_key(text); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.agent_config_key(p_key text) RETURNS text
    LANGUAGE sql IMMUTABLE
    AS $$
  SELECT replace(replace(p_key, '~', '~0'), '/', '~1')
$$;

--
-- Name: agent_config_path(text); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.agent_config_path(p_pointer text) RETURNS text[]
    LANGUAGE sql IMMUTABLE
    AS $$
  SELECT array(SELECT replace(replace(k, '~1', '/'), '~0', '~')
               FROM unnest(string_to_array(substr(p_pointer, 2), '/')) WITH ORDINALITY AS u(k, i) ORDER BY i)
$$;

--
-- Name: agent_config_set(jsonb, text[], jsonb); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.agent_config_set(p_doc jsonb, p_path text[], p_value jsonb) RETURNS jsonb
    LANGUAGE plpgsql IMMUTABLE
    AS $$
BEGIN
  IF p_value = 'null' THEN
    RETURN p_doc #- p_path;
  END IF;
  FOR i IN 1 .. cardinality(p_path) - 1 LOOP
    IF jsonb_typeof(p_doc #> p_path[1:i]) IS DISTINCT FROM 'object' THEN
      p_doc := jsonb_set(p_doc, p_path[1:i], '{}');
    END IF;
  END LOOP;
  RETURN jsonb_set(p_doc, p_path, p_value);
END
$$;

--
-- Name: analyze_feedback(interval); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.analyze_feedback(p_window interval DEFAULT '7 days'::interval) RETURNS jsonb
    LANGUAGE plpgsql
    AS $$
DECLARE
  v_metrics jsonb;
  v_candidates jsonb;
  v_superseded jsonb;
  v_proposed jsonb;
  v_open jsonb;
BEGIN
  IF p_window IS NULL OR p_window <= interval '0' THEN
    RAISE EXCEPTION 'p_window must be positive, got %', p_window;
  END IF;

  CREATE TEMP TABLE IF NOT EXISTS feedback_finished (agent_id bigint, kind text, skill text, ok boolean,
    duration_ms integer, cost numeric) ON COMMIT DROP;
  TRUNCATE feedback_finished;
  INSERT INTO feedback_finished
  SELECT t.assigned_agent_id, t.kind, t.skill, t.status = 'completed', t.duration_ms, t.cost
  FROM agents a
  LEFT JOIN agent_config_versions v ON v.agent_id = a.id AND v.version = a.config_version
  JOIN agent_tasks t ON t.assigned_agent_id = a.id
  WHERE a.status <> 'retired' AND t.status IN ('completed', 'failed')
    AND t.completed_at >= greatest(now() - p_window, v.created_at); -- greatest() ignores a NULL

  WITH per_kind AS (
    SELECT f.agent_id, a.name AS agent, f.kind,
           count(*)::integer AS tasks, count(*) FILTER (WHERE f.ok)::integer AS completed,
           count(*) FILTER (WHERE NOT f.ok)::integer AS failed,
           round(avg(f.ok::integer), 4) AS success_rate,
           count(f.duration_ms)::integer AS timed,
           round(avg(f.duration_ms))::bigint AS mean_duration_ms,
           round(percentile_cont(0.95) WITHIN GROUP (ORDER BY f.duration_ms))::bigint AS p95_duration_ms,
           sum(f.cost) AS cost_total, round(avg(f.cost), 6) AS cost_per_task
    FROM feedback_finished f JOIN agents a ON a.id = f.agent_id
    GROUP BY f.agent_id, a.name, f.kind
  )
  SELECT coalesce(jsonb_agg(to_jsonb(p) ORDER BY p.agent, p.kind), '[]') INTO v_metrics FROM per_kind p;

  WITH rule AS (SELECT r.*, jsonb_build_object('min_tasks', r.min_tasks, 'threshold', r.threshold, 'bound', r.bound) AS params
                FROM agent_suggestion_rules r WHERE r.enabled),
  agent AS (SELECT a.*, agent_config_document(a) AS doc FROM agents a WHERE a.status <> 'retired'),
  per_kind AS (SELECT * FROM jsonb_to_recordset(v_metrics) AS m(agent_id bigint, agent text, kind text, tasks integer,
                 completed integer, failed integer, success_rate numeric, timed integer, mean_duration_ms bigint,
                 p95_duration_ms bigint, cost_total numeric, cost_per_task numeric)),
  per_agent AS (
    SELECT agent_id, count(*)::integer AS tasks, count(*) FILTER (WHERE ok)::integer AS completed,
           round(avg(ok::integer), 4) AS success_rate, sum(cost) AS cost_total
    FROM feedback_finished GROUP BY agent_id
  ),
  per_skill AS (
    SELECT agent_id, skill, count(*)::integer AS tasks, count(*) FILTER (WHERE ok)::integer AS completed,
           round(avg(ok::integer), 4) AS success_rate
    FROM feedback_finished WHERE skill IS NOT NULL GROUP BY agent_id, skill
  ),
  -- The other agents' durations on a kind, over the whole window.
  fleet AS (
    SELECT k.agent_id, k.kind, o.median, o.tasks
    FROM per_kind k
    CROSS JOIN LATERAL (
      SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY t.duration_ms) AS median, count(t.duration_ms)::integer AS tasks
      FROM agent_tasks t
      WHERE t.kind = k.kind AND t.assigned_agent_id <> k.agent_id AND t.status IN ('completed', 'failed')
        AND t.completed_at >= now() - p_window) o
  ),
  -- The skills an agent fails, per agent: one suggestion for all of them, so removing one leaves none stale.
  failing AS (
    SELECT ps.agent_id, array_agg(ps.skill ORDER BY ps.skill) AS skills, sum(ps.tasks)::integer AS tasks,
           string_agg(format('skill %s: success rate %s <= %s over %s tasks', ps.skill, trim_scale(ps.success_rate), r.threshold, ps.tasks),
                      '; ' ORDER BY ps.skill) AS why,
           jsonb_agg(to_jsonb(ps) - 'agent_id' ORDER BY ps.skill) AS detail
    FROM per_skill ps JOIN agent a ON a.id = ps.agent_id JOIN rule r ON r.kind = 'remove_skill'
    WHERE ps.tasks >= r.min_tasks AND ps.success_rate <= r.threshold AND ps.skill = ANY (a.skills)
    GROUP BY ps.agent_id
  ),
  candidate AS (
    SELECT a.id AS agent_id, r.kind,
           '/kinds/' || agent_config_key(k.kind) || '/max_retries' AS path,
           coalesce(a.doc #> array['kinds', k.kind, 'max_retries'], 'null') AS from_value,
           to_jsonb(coalesce((a.doc #>> array['kinds', k.kind, 'max_retries'])::integer, 0) + 1) AS to_value,
           format('%s: success rate %s < %s over %s tasks', k.kind, trim_scale(k.success_rate), r.threshold, k.tasks) AS why,
           k.tasks AS sample, to_jsonb(k) - 'agent_id' AS numbers, r.params
    FROM per_kind k JOIN agent a ON a.id = k.agent_id JOIN rule r ON r.kind = 'add_retry'
    WHERE k.tasks >= r.min_tasks AND k.success_rate < r.threshold AND k.completed > 0
      AND coalesce((a.doc #>> array['kinds', k.kind, 'max_retries'])::integer, 0) < r.bound
    UNION ALL
    SELECT a.id, r.kind, '/capacity', to_jsonb(a.capacity), to_jsonb(a.capacity - 1),
           format('success rate %s < %s over %s tasks of all kinds', trim_scale(g.success_rate), r.threshold, g.tasks),
           g.tasks, to_jsonb(g) - 'agent_id' || jsonb_build_object('agent', a.name), r.params
    FROM per_agent g JOIN agent a ON a.id = g.agent_id JOIN rule r ON r.kind = 'lower_capacity'
    WHERE g.tasks >= r.min_tasks AND g.success_rate < r.threshold AND a.capacity > r.bound
    UNION ALL
    SELECT a.id, r.kind, '/kinds/' || agent_config_key(k.kind) || '/timeout_ms',
           coalesce(a.doc #> array['kinds', k.kind, 'timeout_ms'], 'null'), to_jsonb(x.timeout_ms),
           format('%s: p95 %s ms > %s x the fleet median %s ms (%s tasks; the fleet %s)', k.kind, k.p95_duration_ms,
                  r.threshold, round(f.median), k.timed, f.tasks),
           k.timed, to_jsonb(k) - 'agent_id' || jsonb_build_object('fleet_median_ms', round(f.median), 'fleet_tasks', f.tasks),
           r.params
    FROM per_kind k JOIN agent a ON a.id = k.agent_id JOIN rule r ON r.kind = 'set_timeout'
    JOIN fleet f ON f.agent_id = k.agent_id AND f.kind = k.kind
    CROSS JOIN LATERAL (SELECT (ceil(r.threshold * f.median / 1000) * 1000)::bigint AS timeout_ms) x
    WHERE k.timed >= r.min_tasks AND f.tasks >= r.min_tasks AND f.median > 0
      AND k.p95_duration_ms > r.threshold * f.median
      AND coalesce((a.doc #>> array['kinds', k.kind, 'timeout_ms'])::numeric, 'Infinity') > x.timeout_ms
    UNION ALL
    SELECT a.id, r.kind, '/skills', to_jsonb(a.skills),
           to_jsonb(array(SELECT s FROM unnest(a.skills) WITH ORDINALITY AS u(s, i) WHERE s <> ALL (fs.skills) ORDER BY i)),
           fs.why,
           fs.tasks, jsonb_build_object('agent', a.name, 'skills', fs.detail), r.params
    FROM failing fs JOIN agent a ON a.id = fs.agent_id JOIN rule r ON r.kind = 'remove_skill'
  )
  SELECT coalesce(jsonb_agg(jsonb_build_object(
           'agent_id', c.agent_id, 'kind', c.kind,
           'change', jsonb_build_object('path', c.path, 'from', c.from_value, 'to', c.to_value),
           'evidence', c.numbers || jsonb_build_object('why', c.why, 'window', p_window::text, 'sample', c.sample, 'rule', c.params))
         ORDER BY c.agent_id, c.kind, c.path), '[]')
  INTO v_candidates FROM candidate c;

  -- Proposed suggestions the data no longer supports, or made for a value the agent no longer has.
  WITH stale AS (
    SELECT s.id,
           CASE WHEN x.value <> s.change -> 'from'
                THEN format('the configuration changed since it was proposed: %s is %s, not %s', s.change ->> 'path', x.value, s.change -> 'from')
                WHEN v.created_at > s.created_at
                THEN format('the agent has a new configuration version (%s): it is judged again on the tasks after it', a.config_version)
                ELSE 'the evidence no longer holds' END AS reason
    FROM agent_suggestions s JOIN agents a ON a.id = s.agent_id
    LEFT JOIN agent_config_versions v ON v.agent_id = a.id AND v.version = a.config_version
    CROSS JOIN LATERAL (SELECT coalesce(agent_config_document(a) #> agent_config_path(s.change ->> 'path'), 'null') AS value) x
    WHERE s.status = 'proposed'
      AND NOT EXISTS (SELECT 1 FROM jsonb_array_elements(v_candidates) c
                      WHERE (c ->> 'agent_id')::bigint = s.agent_id AND c ->> 'kind' = s.kind
                        AND c #> '{change,path}' = s.change -> 'path' AND c #> '{change,from}' = s.change -> 'from')
    FOR UPDATE OF s
  ), done AS (
    UPDATE agent_suggestions s SET status = 'superseded', reason = stale.reason, decided_at = now()
    FROM stale WHERE s.id = stale.id
    RETURNING s.id, s.agent_id, s.kind, s.reason
  )
  SELECT coalesce(jsonb_agg(jsonb_build_object('id', d.id, 'agent', a.name, 'kind', d.kind, 'reason', d.reason) ORDER BY d.id), '[]')
  INTO v_superseded FROM done d JOIN agents a ON a.id = d.agent_id;

  WITH added AS (
    INSERT INTO agent_suggestions (agent_id, kind, change, evidence)
    SELECT (c ->> 'agent_id')::bigint, c ->> 'kind', c -> 'change', c -> 'evidence'
    FROM jsonb_array_elements(v_candidates) WITH ORDINALITY AS e(c, i)
    -- A rejected change stays away until the agent's configuration changes.
    WHERE NOT EXISTS (
      SELECT 1 FROM agent_suggestions r
      JOIN agents a ON a.id = r.agent_id
      LEFT JOIN agent_config_versions v ON v.agent_id = a.id AND v.version = a.config_version
      WHERE r.status = 'rejected' AND r.agent_id = (c ->> 'agent_id')::bigint AND r.kind = c ->> 'kind'
        AND r.change -> 'path' = c #> '{change,path}' AND r.change -> 'from' = c #> '{change,from}'
        AND r.decided_at >= coalesce(v.created_at, '-infinity'))
    ORDER BY e.i
    ON CONFLICT (agent_id, kind, (change ->> 'path')) WHERE status IN ('proposed', 'accepted') DO NOTHING
    RETURNING id
  )
  SELECT coalesce(jsonb_agg(id ORDER BY id), '[]') INTO v_proposed FROM added;

  SELECT coalesce(jsonb_agg(jsonb_build_object('id', s.id, 'agent', a.name, 'kind', s.kind, 'status', s.status,
                                               'change', s.change, 'why', s.evidence ->> 'why', 'created_at', s.created_at)
                            ORDER BY s.id), '[]')
  INTO v_open
  FROM agent_suggestions s JOIN agents a ON a.id = s.agent_id
  WHERE s.status IN ('proposed', 'accepted');

  RETURN jsonb_build_object('window', p_window::text, 'metrics', v_metrics, 'proposed', v_proposed,
                            'superseded', v_superseded, 'open', v_open);
END
$$;

--
-- Name: archive_backups(interval, text); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.archive_backups(p_older_than interval DEFAULT '90 days'::interval, p_mode text DEFAULT 'archive'::text) RETURNS jsonb
    LANGUAGE plpgsql
    AS $$
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

--
-- Name: assign_tasks(integer); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.assign_tasks(p_limit integer DEFAULT 100) RETURNS jsonb
    LANGUAGE plpgsql
    AS $$
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

--
-- Name: cleanup_cache(); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.cleanup_cache() RETURNS jsonb
    LANGUAGE plpgsql
    AS $$
DECLARE
  v_deleted bigint;
BEGIN
  DELETE FROM analysis_cache WHERE expires_at <= now();
  GET DIAGNOSTICS v_deleted = ROW_COUNT;
  RETURN jsonb_build_object('deleted', v_deleted, 'remaining', (SELECT count(*) FROM analysis_cache));
END
$$;

--
-- Name: code_search_text(text, text); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.code_search_text(p_symbol text, p_content text) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $_$
  SELECT regexp_replace(
           regexp_replace(coalesce(p_symbol, '') || ' ' || p_content, '([a-z0-9])([A-Z])', '\1 \2', 'g'),
           '[_.:/\\#$@-]+', ' ', 'g')
$_$;

--
-- Name: drop_outbox_entries_of_deleted_patterns(); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.drop_outbox_entries_of_deleted_patterns() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
BEGIN
  IF TG_OP = 'TRUNCATE' THEN
    DELETE FROM learning_outbox;
  ELSE
    DELETE FROM learning_outbox o USING deleted_patterns d WHERE o.pattern_id = d.id;
  END IF;
  RETURN NULL;
END
$$;

--
-- Name: enqueue_learnings(); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.enqueue_learnings() RETURNS bigint
    LANGUAGE plpgsql
    AS $$
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

--
-- Name: evolve_agents(bigint[], bigint[], text[], text); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.evolve_agents(p_accept bigint[] DEFAULT '{}'::bigint[], p_reject bigint[] DEFAULT '{}'::bigint[], p_auto_accept text[] DEFAULT '{}'::text[], p_rollback text DEFAULT NULL::text) RETURNS jsonb
    LANGUAGE plpgsql
    AS $$
DECLARE
  v_agent agents;
  v_version integer;
  v_s agent_suggestions;
  v_path text[];
  v_current jsonb;
  v_accepted jsonb;
  v_rejected jsonb;
  v_applied jsonb := '[]';
  v_superseded jsonb := '[]';
BEGIN
  PERFORM evolve_agents_check(p_accept, p_reject, p_auto_accept, p_rollback);

  IF p_rollback IS NOT NULL THEN
    SELECT * INTO v_agent FROM agents WHERE name = p_rollback FOR UPDATE;
    v_version := set_agent_config(v_agent.id,
      (SELECT config FROM agent_config_versions WHERE agent_id = v_agent.id AND version = v_agent.config_version - 1),
      format('rollback of version %s to version %s', v_agent.config_version, v_agent.config_version - 1));
    RETURN jsonb_build_object('accepted', '[]'::jsonb, 'rejected', '[]'::jsonb, 'applied', '[]'::jsonb, 'superseded', '[]'::jsonb,
      'rolled_back', jsonb_build_object('agent', v_agent.name, 'from_version', v_agent.config_version,
                                        'restored_version', v_agent.config_version - 1, 'version', v_version));
  END IF;

  WITH r AS (UPDATE agent_suggestions SET status = 'rejected', reason = 'rejected by the operator', decided_at = now()
             WHERE id = ANY (p_reject) AND status IN ('proposed', 'accepted') RETURNING id)
  SELECT coalesce(jsonb_agg(id ORDER BY id), '[]') INTO v_rejected FROM r;

  WITH a AS (UPDATE agent_suggestions
                SET status = 'accepted', decided_at = now(),
                    reason = CASE WHEN id = ANY (p_accept) THEN 'accepted by the operator' ELSE 'auto-accepted: ' || kind END
              WHERE status = 'proposed' AND (id = ANY (p_accept) OR kind = ANY (p_auto_accept)) RETURNING id)
  SELECT coalesce(jsonb_agg(id ORDER BY id), '[]') INTO v_accepted FROM a;

  FOR v_s IN SELECT * FROM agent_suggestions WHERE status = 'accepted' ORDER BY id FOR UPDATE SKIP LOCKED LOOP
    SELECT * INTO v_agent FROM agents WHERE id = v_s.agent_id FOR UPDATE;
    v_path := agent_config_path(v_s.change ->> 'path');
    v_current := coalesce(agent_config_document(v_agent) #> v_path, 'null');
    IF v_current <> v_s.change -> 'from' THEN
      UPDATE agent_suggestions
         SET status = 'superseded', decided_at = now(),
             reason = format('the configuration changed since it was proposed: %s is %s, not %s',
                             v_s.change ->> 'path', v_current, v_s.change -> 'from')
       WHERE id = v_s.id
      RETURNING * INTO v_s;
      v_superseded := v_superseded || jsonb_build_object('id', v_s.id, 'agent', v_agent.name, 'kind', v_s.kind, 'reason', v_s.reason);
    ELSE
      v_version := set_agent_config(v_agent.id, agent_config_set(agent_config_document(v_agent), v_path, v_s.change -> 'to'),
        format('suggestion %s (%s): %s %s -> %s', v_s.id, v_s.kind, v_s.change ->> 'path', v_s.change -> 'from', v_s.change -> 'to'),
        v_s.id);
      UPDATE agent_suggestions SET status = 'applied', applied_at = now(), applied_version = v_version WHERE id = v_s.id;
      v_applied := v_applied || jsonb_build_object('id', v_s.id, 'agent', v_agent.name, 'kind', v_s.kind,
                                                   'change', v_s.change, 'version', v_version);
    END IF;
  END LOOP;

  RETURN jsonb_build_object('accepted', v_accepted, 'rejected', v_rejected, 'applied', v_applied,
                            'superseded', v_superseded, 'rolled_back', NULL);
END
$$;

--
-- Name: evolve_agents_check(bigint[], bigint[], text[], text); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.evolve_agents_check(p_accept bigint[], p_reject bigint[], p_auto_accept text[], p_rollback text) RETURNS void
    LANGUAGE plpgsql STABLE
    AS $$
DECLARE
  v_agent agents;
  v_bad text;
BEGIN
  IF p_rollback IS NOT NULL THEN
    IF cardinality(p_accept) + cardinality(p_reject) + cardinality(p_auto_accept) > 0 THEN
      RAISE EXCEPTION 'a rollback runs alone, without accepting, rejecting or applying suggestions' USING ERRCODE = '22023';
    END IF;
    SELECT * INTO v_agent FROM agents WHERE name = p_rollback;
    IF NOT FOUND THEN
      RAISE EXCEPTION 'no agent is named ''%''', p_rollback USING ERRCODE = '22023';
    END IF;
    IF NOT EXISTS (SELECT 1 FROM agent_config_versions WHERE agent_id = v_agent.id AND version = v_agent.config_version - 1) THEN
      RAISE EXCEPTION 'agent ''%'' has no earlier configuration version (it is at version %)', p_rollback, v_agent.config_version
        USING ERRCODE = '22023';
    END IF;
  END IF;

  SELECT string_agg(u.id::text, ', ' ORDER BY u.id) INTO v_bad FROM unnest(p_accept) AS u(id) WHERE u.id = ANY (p_reject);
  IF v_bad IS NOT NULL THEN
    RAISE EXCEPTION 'suggestion % is both accepted and rejected', v_bad USING ERRCODE = '22023';
  END IF;
  SELECT string_agg(u.id::text, ', ' ORDER BY u.id) INTO v_bad
  FROM unnest(p_accept || p_reject) AS u(id) WHERE NOT EXISTS (SELECT 1 FROM agent_suggestions s WHERE s.id = u.id);
  IF v_bad IS NOT NULL THEN
    RAISE EXCEPTION 'no suggestion has id %', v_bad USING ERRCODE = '22023';
  END IF;
  SELECT string_agg(format('%s is %s', s.id, s.status), ', ' ORDER BY s.id) INTO v_bad
  FROM agent_suggestions s
  WHERE (s.id = ANY (p_accept) AND s.status NOT IN ('proposed', 'accepted'))
     OR (s.id = ANY (p_reject) AND s.status NOT IN ('proposed', 'accepted', 'rejected'));
  IF v_bad IS NOT NULL THEN
    RAISE EXCEPTION 'only open suggestions can be accepted or rejected: suggestion %', v_bad USING ERRCODE = '22023';
  END IF;
  SELECT string_agg(u.k, ', ') INTO v_bad
  FROM unnest(p_auto_accept) AS u(k) WHERE NOT EXISTS (SELECT 1 FROM agent_suggestion_rules r WHERE r.kind = u.k);
  IF v_bad IS NOT NULL THEN
    RAISE EXCEPTION 'no kind of suggestion is named %', v_bad USING ERRCODE = '22023';
  END IF;
END
$$;

--
-- Name: learn_patterns(integer); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.learn_patterns(p_batch integer DEFAULT 1000) RETURNS jsonb
    LANGUAGE plpgsql
    AS $$
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

--
-- Name: learned_artifact_id(text, text); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.learned_artifact_id(p_kind text, p_pattern_key text) RETURNS text
    LANGUAGE sql IMMUTABLE STRICT
    AS $$
  SELECT pattern_slug(p_kind, 40) || '.' || pattern_slug(p_pattern_key, 79)
$$;

--
-- Name: learned_patterns; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.learned_patterns (
    id bigint NOT NULL,
    kind text NOT NULL,
    pattern_key text NOT NULL,
    description text,
    example jsonb,
    occurrences integer NOT NULL,
    confidence double precision NOT NULL,
    first_seen_at timestamp with time zone NOT NULL,
    last_seen_at timestamp with time zone NOT NULL,
    version integer DEFAULT 1 NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    uses bigint DEFAULT 0 NOT NULL,
    successes bigint DEFAULT 0 NOT NULL,
    CONSTRAINT learned_patterns_confidence_check CHECK (((confidence >= (0)::double precision) AND (confidence <= (1)::double precision))),
    CONSTRAINT learned_patterns_occurrences_check CHECK ((occurrences > 0)),
    CONSTRAINT learned_patterns_uses_check CHECK (((successes >= 0) AND (successes <= uses)))
);

--
-- Name: learning_payload(public.learned_patterns); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.learning_payload(p public.learned_patterns) RETURNS jsonb
    LANGUAGE sql STABLE
    AS $$
  SELECT jsonb_build_object('kind', p.kind, 'pattern_key', p.pattern_key, 'description', p.description,
                            'example', p.example, 'occurrences', p.occurrences, 'confidence', p.confidence,
                            'uses', p.uses, 'successes', p.successes,
                            'first_seen_at', p.first_seen_at, 'last_seen_at', p.last_seen_at, 'version', p.version)
$$;

--
-- Name: link_central(text, text, text, text, text, text, text, text); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.link_central(p_mode text, p_instance text, p_target text, p_host text DEFAULT NULL::text, p_port text DEFAULT NULL::text, p_dbname text DEFAULT NULL::text, p_user text DEFAULT NULL::text, p_password text DEFAULT NULL::text) RETURNS jsonb
    LANGUAGE plpgsql
    AS $$
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

--
-- Name: merge_central_learnings(); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.merge_central_learnings() RETURNS trigger
    LANGUAGE plpgsql
    SET search_path TO 'public'
    AS $$
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

--
-- Name: pattern_slug(text, integer); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.pattern_slug(p_text text, p_max integer) RETURNS text
    LANGUAGE sql IMMUTABLE STRICT
    AS $_$
  SELECT CASE
    WHEN p_text ~ '^[a-z0-9]+([-_][a-z0-9]+)*$' AND length(p_text) <= p_max THEN p_text
    ELSE coalesce(nullif(trim(BOTH '-' FROM left(trim(BOTH '-' FROM regexp_replace(lower(p_text), '[^a-z0-9]+', '-', 'g')), p_max - 9)), '') || '-', '')
         || left(encode(sha256(convert_to(p_text, 'UTF8')), 'hex'), 8)
  END
$_$;

--
-- Name: populate_graph(text); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.populate_graph(p_codebase text DEFAULT NULL::text) RETURNS jsonb
    LANGUAGE plpgsql
    AS $$
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

--
-- Name: FUNCTION populate_graph(p_codebase text); Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON FUNCTION public.populate_graph(p_codebase text) IS 'Recomputes graph_nodes.dependency_node_ids / dependent_node_ids from graph_edges (one codebase, or all when null); writes only changed rows; returns {nodes, updated, edges}.';

--
-- Name: prewarm_cache(interval); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.prewarm_cache(p_extend interval DEFAULT '1 day'::interval) RETURNS jsonb
    LANGUAGE plpgsql
    AS $$
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

--
-- Name: prune_artifacts(interval, interval); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.prune_artifacts(p_unused_for interval DEFAULT '90 days'::interval, p_min_age interval DEFAULT '30 days'::interval) RETURNS jsonb
    LANGUAGE plpgsql
    AS $$
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

--
-- Name: FUNCTION prune_artifacts(p_unused_for interval, p_min_age interval); Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON FUNCTION public.prune_artifacts(p_unused_for interval, p_min_age interval) IS 'Deletes learned knowledge_artifacts never used and older than min_age, or last used longer than unused_for ago (file rows never); returns {deleted, kept_learned}.';

--
-- Name: prune_chunks(interval, integer, jsonb); Type: PROCEDURE; Schema: public; Owner: -
--

CREATE PROCEDURE public.prune_chunks(IN p_deleted_for interval DEFAULT '00:00:00'::interval, IN p_batch integer DEFAULT 5000, INOUT result jsonb DEFAULT NULL::jsonb)
    LANGUAGE plpgsql
    AS $$
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

--
-- Name: PROCEDURE prune_chunks(IN p_deleted_for interval, IN p_batch integer, INOUT result jsonb); Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON PROCEDURE public.prune_chunks(IN p_deleted_for interval, IN p_batch integer, INOUT result jsonb) IS 'Deletes code_files marked deleted at least deleted_for ago with their code_chunks, and chunks without a file, committing per batch of about batch chunks; result is {files, chunks}.';

--
-- Name: prune_runs(interval, integer, bigint, bigint); Type: PROCEDURE; Schema: public; Owner: -
--

CREATE PROCEDURE public.prune_runs(IN older_than interval DEFAULT '30 days'::interval, IN batch_size integer DEFAULT 1000, INOUT deleted bigint DEFAULT 0, INOUT deleted_cron_details bigint DEFAULT 0)
    LANGUAGE plpgsql
    AS $_$
DECLARE
  n bigint;
BEGIN
  IF batch_size < 1 THEN
    RAISE EXCEPTION 'batch_size must be at least 1, got %', batch_size;
  END IF;
  IF older_than < interval '0' THEN
    RAISE EXCEPTION 'older_than must not be negative, got %', older_than;
  END IF;
  deleted := 0;
  LOOP
    DELETE FROM task_runs
    WHERE id IN (
      SELECT id FROM task_runs
      WHERE finished_at < now() - older_than
        AND state IN ('completed', 'discarded', 'cancelled', 'skipped', 'missed')
        -- A completed set-up step is what makes it once-ever: pruning it would run it again.
        AND NOT (trigger = 'setup' AND state = 'completed')
      ORDER BY finished_at
      LIMIT batch_size
      FOR UPDATE SKIP LOCKED
    );
    GET DIAGNOSTICS n = ROW_COUNT;
    deleted := deleted + n;
    EXIT WHEN n < batch_size;
    COMMIT;
  END LOOP;
  -- Alert incidents that ended before the bound go too, with their messages (ON DELETE CASCADE).
  DELETE FROM alert_incidents WHERE resolved_at < now() - older_than;
  COMMIT;
  -- Events can be many: in batches too.
  LOOP
    DELETE FROM telemetry_events
    WHERE id IN (SELECT id FROM telemetry_events WHERE at < now() - older_than ORDER BY at LIMIT batch_size);
    GET DIAGNOSTICS n = ROW_COUNT;
    EXIT WHEN n < batch_size;
    COMMIT;
  END LOOP;
  COMMIT;
  deleted_cron_details := 0;
  IF to_regclass('cron.job_run_details') IS NOT NULL THEN
    LOOP
      EXECUTE 'DELETE FROM cron.job_run_details WHERE runid IN (
                 SELECT runid FROM cron.job_run_details WHERE end_time < now() - $1 ORDER BY end_time LIMIT $2)'
        USING older_than, batch_size;
      GET DIAGNOSTICS n = ROW_COUNT;
      deleted_cron_details := deleted_cron_details + n;
      EXIT WHEN n < batch_size;
      COMMIT;
    END LOOP;
  END IF;
END
$_$;

--
-- Name: PROCEDURE prune_runs(IN older_than interval, IN batch_size integer, INOUT deleted bigint, INOUT deleted_cron_details bigint); Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON PROCEDURE public.prune_runs(IN older_than interval, IN batch_size integer, INOUT deleted bigint, INOUT deleted_cron_details bigint) IS 'Deletes finished task_runs rows, alert incidents resolved before older_than (with their messages), telemetry events and cron.job_run_details rows (where pg_cron lives in this database) older than older_than, batch_size rows per committed batch.';

--
-- Name: rank_graph(double precision, double precision, integer, text); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.rank_graph(p_damping double precision DEFAULT 0.85, p_tolerance double precision DEFAULT 0.000001, p_max_iterations integer DEFAULT 100, p_codebase text DEFAULT NULL::text) RETURNS jsonb
    LANGUAGE plpgsql
    AS $$
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

--
-- Name: FUNCTION rank_graph(p_damping double precision, p_tolerance double precision, p_max_iterations integer, p_codebase text); Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON FUNCTION public.rank_graph(p_damping double precision, p_tolerance double precision, p_max_iterations integer, p_codebase text) IS 'Weighted PageRank over graph_edges per codebase (dangling rank spread evenly), written to graph_nodes.pagerank and pagerank_at; returns {codebases, nodes, edges, iterations, converged, delta}.';

--
-- Name: record_artifact_use(text, text, boolean, integer, text); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.record_artifact_use(p_type text, p_id text, p_success boolean, p_uses integer DEFAULT 1, p_version text DEFAULT NULL::text) RETURNS jsonb
    LANGUAGE plpgsql
    AS $$
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

--
-- Name: FUNCTION record_artifact_use(p_type text, p_id text, p_success boolean, p_uses integer, p_version text); Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON FUNCTION public.record_artifact_use(p_type text, p_id text, p_success boolean, p_uses integer, p_version text) IS 'Records p_uses uses (successful or not) of a knowledge artifact, and of its learned pattern (whose version moves); returns the new counts.';

--
-- Name: refresh_cache(); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.refresh_cache() RETURNS jsonb
    LANGUAGE plpgsql
    AS $$
BEGIN
  REFRESH MATERIALIZED VIEW CONCURRENTLY hot_cache_entries;
  RETURN (SELECT jsonb_build_object('hot_entries', count(*), 'hot_bytes', coalesce(sum(size_bytes), 0))
          FROM hot_cache_entries);
END
$$;

--
-- Name: refresh_code_search_terms(text); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.refresh_code_search_terms(p_codebase text) RETURNS integer
    LANGUAGE plpgsql
    AS $$
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

--
-- Name: refresh_metrics(); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.refresh_metrics() RETURNS jsonb
    LANGUAGE plpgsql
    AS $$
BEGIN
  REFRESH MATERIALIZED VIEW CONCURRENTLY agent_performance;
  REFRESH MATERIALIZED VIEW CONCURRENTLY task_run_performance;
  RETURN jsonb_build_object('agent_performance', (SELECT count(*) FROM agent_performance),
                            'task_run_performance', (SELECT count(*) FROM task_run_performance));
END
$$;

--
-- Name: reindex_candidates(double precision, bigint); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.reindex_candidates(min_bloat double precision DEFAULT 2.0, min_bytes bigint DEFAULT 1048576) RETURNS TABLE(index_name text, table_name text, size_bytes bigint, expected_bytes bigint, bloat double precision, statement text)
    LANGUAGE sql STABLE
    AS $$
  WITH idx AS (
    SELECT i.indexrelid, i.indrelid, c.relname AS index_name, t.relname AS table_name, n.nspname,
           pg_relation_size(i.indexrelid) AS size_bytes, greatest(c.reltuples, 0) AS tuples,
           (SELECT coalesce(sum(s.avg_width), 8)
              FROM pg_attribute a
              JOIN pg_stats s ON s.schemaname = n.nspname AND s.tablename = t.relname AND s.attname = a.attname
             WHERE a.attrelid = i.indrelid AND a.attnum = ANY (i.indkey)) AS key_width
    FROM pg_index i
    JOIN pg_class c ON c.oid = i.indexrelid
    JOIN pg_class t ON t.oid = i.indrelid
    JOIN pg_namespace n ON n.oid = c.relnamespace
    JOIN pg_am am ON am.oid = c.relam
    WHERE i.indisvalid AND i.indisready AND am.amname = 'btree'
      AND n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast', 'cron', 'drizzle')
      AND t.relpersistence <> 't'
  ), sized AS (
    SELECT *, greatest(8192, ceil(tuples * (key_width + 16) / (8192 * 0.9)) * 8192 + 8192)::bigint AS expected_bytes
    FROM idx
  )
  SELECT index_name, table_name, size_bytes, expected_bytes, round((size_bytes::numeric / expected_bytes), 2)::float8,
         format('REINDEX INDEX CONCURRENTLY %I.%I', nspname, index_name)
  FROM sized
  WHERE size_bytes >= min_bytes AND size_bytes::float8 / expected_bytes >= min_bloat
  ORDER BY size_bytes - expected_bytes DESC
$$;

--
-- Name: seed_work_plan(); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.seed_work_plan() RETURNS jsonb
    LANGUAGE plpgsql
    AS $$
DECLARE
  v_themes_inserted integer;
  v_epics_inserted integer;
  v_capabilities_inserted integer;
  v_features_inserted integer;
  v_themes_total bigint;
  v_epics_total bigint;
  v_capabilities_total bigint;
  v_features_total bigint;
BEGIN
  INSERT INTO work_plan_themes (slug, name, description, position)
  SELECT v.slug, v.name, v.description, v.position
  FROM (VALUES
    ('knowledge-base', 'Knowledge base',
     'Load, validate and sync the JSON and text templates of templates_data/ so every artifact in the database is valid, current and searchable.', 1),
    ('code-intelligence', 'Code intelligence',
     'Turn codebases into syntax-aware chunks, local embeddings and a ranked dependency graph that search answers from.', 2),
    ('database-care', 'Database care',
     'Keep every database backed up, provably restorable and healthy without hand-run maintenance.', 3),
    ('scheduling-and-runs', 'Scheduling and run history',
     'Run every task on schedule in the app or in pg_cron, once per tick, and record every run whoever started it.', 4),
    ('operator-experience', 'Operator experience',
     'Give operators, CI pipelines and monitors clear output, meaningful exit codes and health reports that say how to fix what is wrong.', 5)
  ) AS v(slug, name, description, position)
  ON CONFLICT (slug) DO NOTHING;
  GET DIAGNOSTICS v_themes_inserted = ROW_COUNT;

  INSERT INTO work_plan_epics (theme_id, slug, name, description, position)
  SELECT t.id, v.slug, v.name, v.description, v.position
  FROM (VALUES
    ('knowledge-base', 'template-validation', 'Template validation',
     'Make every template file pass the schema of its artifact type and report the ones that do not without stopping the load.', 1),
    ('knowledge-base', 'template-loading-and-sync', 'Template loading and sync',
     'Load templates_data/ into the database once and keep it in step with the files, or with a central database, by content hash.', 2),
    ('code-intelligence', 'incremental-ingest', 'Incremental ingest',
     'Ingest a codebase through scan, plan and apply so only changed files are re-processed and a killed run resumes.', 1),
    ('code-intelligence', 'local-embeddings', 'Local embeddings',
     'Embed code chunks and knowledge artifacts with a local model of one agreed dimension, and only when their text is new.', 2),
    ('code-intelligence', 'graph-ranking-and-search', 'Graph, ranking and search',
     'Build a graph of files and symbols linked by imports and references, rank it with PageRank and search it together with the chunks.', 3),
    ('database-care', 'verified-backups', 'Verified backups',
     'Back up every configured database with retention per backup type and proof that each backup restores.', 1),
    ('database-care', 'database-maintenance', 'Database maintenance',
     'Keep tables, indexes, planner statistics and caches healthy with scheduled SQL procedures.', 2),
    ('scheduling-and-runs', 'task-registry', 'Task registry',
     'Define each task once so its CLI command, crontab entry, pg_cron job, status row and documentation all derive from it.', 1),
    ('scheduling-and-runs', 'run-history', 'Run history',
     'Record every run as one row of task_runs and let the database, not the process, enforce the rules about runs.', 2),
    ('scheduling-and-runs', 'two-engine-scheduling', 'Two-engine scheduling',
     'Schedule node tasks in run-scheduler and sql tasks in pg_cron where available, so no task runs twice and none is left out.', 3),
    ('operator-experience', 'health-reporting', 'Health reporting',
     'Tell monitors and operators whether the system is healthy and, when it is not, what to do about it.', 1),
    ('operator-experience', 'command-line', 'Command line',
     'Make every command start fast, read well for people, parse cleanly for machines and work with no database server.', 2)
  ) AS v(theme_slug, slug, name, description, position)
  JOIN work_plan_themes t ON t.slug = v.theme_slug
  ON CONFLICT (slug) DO NOTHING;
  GET DIAGNOSTICS v_epics_inserted = ROW_COUNT;

  INSERT INTO work_plan_capabilities (epic_id, slug, name, description, position)
  SELECT e.id, v.slug, v.name, v.description, v.position
  FROM (VALUES
    ('template-validation', 'json-schema-per-artifact-type', 'JSON Schema per artifact type',
     'Infer each artifact''s type from its path under templates_data/ and validate it against that type''s JSON Schema, which only 1 of the 121 shipped templates used to pass.', 1),
    ('template-loading-and-sync', 'knowledge-and-template-load', 'Knowledge and template load',
     'Load JSON artifacts into the knowledge base and JSON and text templates into the templates table in one pass over templates_data/.', 1),
    ('template-loading-and-sync', 'content-hash-sync', 'Content-hash sync',
     'Add, update and delete database templates by comparing their content hashes with the files of templates_data/.', 2),
    ('template-loading-and-sync', 'central-template-source', 'Central template source',
     'Share templates and learnings with a central database through postgres_fdw when the CentralCloud role is configured.', 3),
    ('incremental-ingest', 'scan-and-plan', 'Scan and plan',
     'Walk the tree, hash file contents and diff them against the database into a pure plan of files to add, change and delete.', 1),
    ('incremental-ingest', 'syntax-aware-chunking', 'Syntax-aware chunking',
     'Parse files with tree-sitter in 30+ languages and chunk them along syntax within the embedding model''s token limit.', 2),
    ('incremental-ingest', 'resumable-apply', 'Resumable apply',
     'Apply the plan in batches with recorded progress so an ingest that was killed resumes where it stopped.', 3),
    ('local-embeddings', 'local-embedder', 'Local embedder',
     'Embed with a local ONNX model behind one interface, at one fixed dimension, and only text that has no vector from the current model yet.', 1),
    ('graph-ranking-and-search', 'graph-extraction', 'Graph extraction',
     'Extract definitions, imports and references during ingest as graph nodes and edges, with dependency arrays for fast queries.', 1),
    ('graph-ranking-and-search', 'pagerank-ranking', 'PageRank ranking',
     'Rank graph nodes with PageRank in a SQL procedure and use the graph to find code nothing depends on.', 2),
    ('graph-ranking-and-search', 'hybrid-search', 'Hybrid search',
     'Answer queries over code and knowledge by combining vector similarity, text match and graph rank.', 3),
    ('verified-backups', 'backup-retention', 'Backups with retention',
     'Dump each configured database with pg_dump and keep the last 6 hourly and the last 7 daily backups.', 1),
    ('verified-backups', 'backup-verification', 'Backup verification',
     'Prove each backup complete and restorable before retention deletes an older one.', 2),
    ('database-maintenance', 'vacuum-and-statistics', 'Vacuum and statistics',
     'Run VACUUM ANALYZE nightly and ANALYZE every six hours so dead rows are reclaimed and planner statistics stay current.', 1),
    ('database-maintenance', 'index-and-data-upkeep', 'Index and data upkeep',
     'Rebuild bloated indexes without blocking readers and delete data that no longer belongs to anything.', 2),
    ('database-maintenance', 'cache-upkeep', 'Cache upkeep',
     'Expire, refresh and prewarm the analysis cache on schedule so it stays small and hot.', 3),
    ('task-registry', 'single-task-definition', 'Single task definition',
     'Describe each task in one file of src/tasks/ listed in the registry, the single source for everything derived from it.', 1),
    ('task-registry', 'once-ever-setup', 'Once-ever set-up',
     'Run the set-up tasks once ever, in their order, with singularity setup, and again only with --force.', 2),
    ('run-history', 'database-enforced-run-rules', 'Database-enforced run rules',
     'Use unique indexes so one scheduled tick is one run and a task that must not overlap never has two executing runs.', 1),
    ('run-history', 'stalled-run-recovery', 'Stalled-run recovery',
     'Find runs whose heartbeat stopped, mark them, and retry them where their retry policy allows.', 2),
    ('run-history', 'run-history-management', 'Run history management',
     'Let operators list, inspect, retry and cancel runs, and prune old runs so the history never grows without bound.', 3),
    ('two-engine-scheduling', 'app-scheduler', 'App-side scheduler',
     'Run the entries of a crontab in a long-running process that a process manager keeps alive.', 1),
    ('two-engine-scheduling', 'pg-cron-integration', 'pg_cron integration',
     'Install, uninstall and show the sql tasks as pg_cron jobs and record their executions like any other run.', 2),
    ('health-reporting', 'status-report', 'Status report',
     'Report the last and next run of every task and flag the overdue and failing ones for operators and monitors.', 1),
    ('health-reporting', 'doctor-diagnosis', 'Doctor diagnosis',
     'Check configuration, extensions, pg_cron and the run history in depth and give a fix for each problem found.', 2),
    ('command-line', 'output-and-exit-codes', 'Output and exit codes',
     'Render human output with progress by default and --json on every command, with exit codes 0, 1 and 2 that mean something.', 1),
    ('command-line', 'embedded-database', 'Embedded database',
     'Run everything on an embedded PGlite with pgvector when no DATABASE_URL is set, and migrate safely from several processes.', 2)
  ) AS v(epic_slug, slug, name, description, position)
  JOIN work_plan_epics e ON e.slug = v.epic_slug
  ON CONFLICT (slug) DO NOTHING;
  GET DIAGNOSTICS v_capabilities_inserted = ROW_COUNT;

  INSERT INTO work_plan_features (capability_id, slug, name, description, position)
  SELECT c.id, v.slug, v.name, v.description, v.position
  FROM (VALUES
    ('json-schema-per-artifact-type', 'infer-artifact-type-from-path', 'Infer artifact type from path',
     'Map each file''s directory under templates_data/ to its artifact type and reject files whose path names no known type.', 1),
    ('json-schema-per-artifact-type', 'report-invalid-files-with-json-pointer', 'Report invalid files with JSON pointer',
     'Report each invalid file with its path, the JSON pointer of the failing value and the reason, then skip it and continue the load.', 2),
    ('json-schema-per-artifact-type', 'fix-shipped-templates', 'Fix the shipped templates',
     'Correct the JSON files in templates_data/ until every one validates against the schema of its artifact type.', 3),
    ('knowledge-and-template-load', 'store-raw-text-and-jsonb', 'Store raw text and JSONB',
     'Store every JSON artifact both as its raw text and as JSONB so it can be shown exactly as written and queried by field.', 1),
    ('knowledge-and-template-load', 'load-text-templates', 'Load text templates',
     'Load .hbs, .lua, .md and other text templates into the templates table beside the JSON ones with load-templates.', 2),
    ('content-hash-sync', 'sync-templates-by-hash', 'Sync templates by content hash',
     'Let sync-templates add new files, update changed ones and delete vanished ones while leaving every unchanged hash untouched.', 1),
    ('central-template-source', 'pull-templates-through-postgres-fdw', 'Pull templates through postgres_fdw',
     'Sync templates from the central database through postgres_fdw instead of the local files when a central database is configured.', 1),
    ('central-template-source', 'export-learned-artifacts', 'Export learned artifacts',
     'Promote learned artifacts with 100+ uses and a 95%+ success rate to templates_data/learned/ on a git branch with a commit.', 2),
    ('scan-and-plan', 'respect-gitignore-and-deny-list', 'Respect .gitignore and a deny list',
     'Skip files matched by .gitignore or a default deny list, and skip binary, minified, build-output and oversized files.', 1),
    ('scan-and-plan', 'plan-from-content-hashes', 'Plan from content hashes',
     'Compare each file''s content hash with the stored one so unchanged files are never parsed or embedded again.', 2),
    ('syntax-aware-chunking', 'lazy-tree-sitter-grammars', 'Lazy tree-sitter grammars',
     'Load the tree-sitter grammar of each detected language only when a file in that language is parsed.', 1),
    ('syntax-aware-chunking', 'chunk-within-token-limit', 'Chunk within the token limit',
     'Split code at function and class boundaries so that no chunk exceeds the embedding model''s token limit.', 2),
    ('resumable-apply', 'batched-upserts', 'Batched upserts',
     'Upsert chunks and graph rows in batches and delete the rows of files that vanished in the same run.', 1),
    ('resumable-apply', 'resume-killed-ingest', 'Resume a killed ingest',
     'Record progress per file so a run started after a crash skips the files that were already applied.', 2),
    ('local-embedder', 'local-onnx-embedder', 'Local ONNX embedder',
     'Embed text with a local ONNX model that is loaded only when a command needs embeddings.', 1),
    ('local-embedder', 'one-embedding-dimension', 'One embedding dimension',
     'Record the model and dimension with every vector and refuse to mix dimensions, ending the 768/1536/2560 disagreement.', 2),
    ('local-embedder', 'embed-templates-task', 'Re-embed templates weekly',
     'Let embed-templates recompute the embeddings of templates and knowledge artifacts that are missing or were made by another model.', 3),
    ('graph-extraction', 'extract-definitions-and-references', 'Extract definitions and references',
     'Record the symbols each file defines and the imports and references it makes as graph nodes and edges.', 1),
    ('graph-extraction', 'populate-dependency-arrays', 'Populate dependency arrays',
     'Fill each node''s dependency_node_ids and dependent_node_ids arrays from the edges in the populate-graph procedure.', 2),
    ('pagerank-ranking', 'pagerank-procedure', 'PageRank in SQL',
     'Compute PageRank over the dependency graph in a stored procedure that rank-graph runs nightly and that converges within an iteration limit.', 1),
    ('pagerank-ranking', 'dead-code-check', 'Dead-code check',
     'Flag symbols that nothing references in a daily check-dead-code run and summarise them weekly with report-dead-code.', 2),
    ('hybrid-search', 'search-command', 'Search command',
     'Let singularity search QUERY return ranked chunks and artifacts with path, line range and score, as text or --json.', 1),
    ('hybrid-search', 'search-without-pgvector', 'Search without pgvector',
     'Fall back to full-text search when pgvector is missing and say so in the search result and in doctor.', 2),
    ('hybrid-search', 'setup-rag-smoke-test', 'Retrieval set-up with smoke test',
     'Let setup-rag run knowledge, templates, ingest, embeddings, graph, ranking and vector indexes in order and finish with a real search.', 3),
    ('backup-retention', 'custom-format-dumps', 'Custom-format dumps',
     'Write backups in the custom format of pg_dump with a checksum instead of plain SQL files.', 1),
    ('backup-retention', 'retention-by-backup-record', 'Retention by backup record',
     'Apply retention per backup type from the recorded backups rather than by counting directories.', 2),
    ('backup-verification', 'verify-backup-checksums', 'Verify backups',
     'Check each backup''s checksum and list its contents with pg_restore before it counts towards retention.', 1),
    ('backup-verification', 'archive-backup-records', 'Archive backup records',
     'Move backup records older than the retention window to an archive each month with archive-backups.', 2),
    ('vacuum-and-statistics', 'nightly-vacuum-analyze', 'Nightly VACUUM ANALYZE',
     'Run VACUUM ANALYZE every night with vacuum-analyze and ANALYZE every six hours with analyze-stats.', 1),
    ('vacuum-and-statistics', 'vector-index-statistics', 'Vector index statistics',
     'Refresh the statistics of the vector indexes weekly with vector-stats where pgvector is installed.', 2),
    ('index-and-data-upkeep', 'reindex-bloated-indexes', 'Reindex bloated indexes',
     'Rebuild with REINDEX CONCURRENTLY only the indexes whose estimated bloat passes a threshold.', 1),
    ('index-and-data-upkeep', 'prune-stale-chunks', 'Prune stale chunks',
     'Delete the code chunks of files that no longer exist every week with prune-chunks.', 2),
    ('cache-upkeep', 'delete-expired-cache-entries', 'Delete expired cache entries',
     'Delete expired entries every fifteen minutes with cleanup-cache and clear stale analysis entries nightly with clear-cache.', 1),
    ('cache-upkeep', 'refresh-and-prewarm-hot-entries', 'Refresh and prewarm hot entries',
     'Refresh the hot-entries view every hour with refresh-cache and prewarm the cache from it every six hours with prewarm-cache.', 2),
    ('single-task-definition', 'task-definition-with-argument-schema', 'Task definition with argument schema',
     'Give each task its name, summary, engine, default schedule, argument schema, timeout and retry policy in one definition.', 1),
    ('single-task-definition', 'derived-cli-and-crontab', 'Derived CLI flags and crontab syntax',
     'Derive subcommands, flags, crontab entries and the documentation table from the registry so no task name or schedule is repeated by hand.', 2),
    ('once-ever-setup', 'ordered-setup-flow', 'Ordered set-up flow',
     'Run migrate-knowledge, load-templates, seed-plan, ingest, populate-graph and setup-rag in order and skip steps already done once.', 1),
    ('once-ever-setup', 'seed-work-plan', 'Seed the work plan',
     'Seed themes, epics, capabilities and features with ON CONFLICT DO NOTHING so seed-plan can run any number of times.', 2),
    ('database-enforced-run-rules', 'one-run-per-tick', 'One run per tick',
     'Key each scheduled tick with a unique dedupe key so schedulers racing on several hosts create exactly one run.', 1),
    ('database-enforced-run-rules', 'no-overlapping-runs', 'No overlapping runs',
     'Mark a run skipped with reason overlap when its concurrency key already has an executing run.', 2),
    ('stalled-run-recovery', 'heartbeat-reaper', 'Heartbeat reaper',
     'Mark executing runs whose heartbeat is older than their timeout as failed, with host and pid kept in the error.', 1),
    ('stalled-run-recovery', 'retry-with-backoff', 'Retry with backoff',
     'Reschedule failed runs as retryable with backoff until their maximum attempts, then discard them with every error kept.', 2),
    ('run-history-management', 'runs-command', 'Runs command',
     'Let singularity runs list, show, retry and cancel runs, filtered by task, state and trigger.', 1),
    ('run-history-management', 'prune-old-runs', 'Prune old runs',
     'Delete finished runs older than the retention window every week with prune-runs.', 2),
    ('app-scheduler', 'crontab-driven-scheduler', 'Crontab-driven scheduler',
     'Let run-scheduler read a crontab file, run the entries that are due and record each run with trigger scheduler.', 1),
    ('app-scheduler', 'missed-tick-detection', 'Missed-tick detection',
     'Record each tick that passed while no scheduler was running as a missed run.', 2),
    ('app-scheduler', 'crontab-check-and-preview', 'Crontab check and preview',
     'Let singularity crontab print the default crontab, check a file with the line number in every error and show the next runs.', 3),
    ('pg-cron-integration', 'pgcron-install', 'Install sql tasks into pg_cron',
     'Create one pg_cron job per sql task with pgcron install and have run-scheduler skip those tasks with reason placed in pg_cron.', 1),
    ('pg-cron-integration', 'record-pg-cron-runs', 'Record pg_cron runs',
     'Wrap each pg_cron job so that its executions appear in the run history with trigger pg_cron.', 2),
    ('status-report', 'last-and-next-run-per-task', 'Last and next run per task',
     'Show the last run, its state and duration, and the next scheduled run of every task with the engine that runs it.', 1),
    ('status-report', 'unhealthy-exit-code', 'Unhealthy exit code',
     'Exit 1 from status when any task is overdue or failing so a monitor can alert on the exit code alone.', 2),
    ('doctor-diagnosis', 'report-missing-extensions', 'Report missing extensions',
     'Say what each missing extension among pg_cron, pgvector and postgres_fdw costs and how to install it.', 1),
    ('doctor-diagnosis', 'show-pg-cron-job-details', 'Show pg_cron job details',
     'Show cron.job and cron.job_run_details beside the run history so both engines are seen side by side.', 2),
    ('output-and-exit-codes', 'json-on-every-command', 'JSON on every command',
     'Accept --json on every command and print one JSON document on stdout that CI pipelines and monitors can parse.', 1),
    ('output-and-exit-codes', 'redact-secrets', 'Redact secrets',
     'Strip passwords from connection strings in all output, logs and error messages.', 2),
    ('embedded-database', 'pglite-by-default', 'PGlite by default',
     'Use an embedded PGlite with pgvector in the project data directory when no DATABASE_URL or config file names a server.', 1),
    ('embedded-database', 'concurrent-processes-and-migrations', 'Concurrent processes and migrations',
     'Let a scheduler and a status call share the embedded database and serialise migrations so processes starting together migrate once.', 2)
  ) AS v(capability_slug, slug, name, description, position)
  JOIN work_plan_capabilities c ON c.slug = v.capability_slug
  ON CONFLICT (slug) DO NOTHING;
  GET DIAGNOSTICS v_features_inserted = ROW_COUNT;

  SELECT count(*) INTO v_themes_total FROM work_plan_themes;
  SELECT count(*) INTO v_epics_total FROM work_plan_epics;
  SELECT count(*) INTO v_capabilities_total FROM work_plan_capabilities;
  SELECT count(*) INTO v_features_total FROM work_plan_features;

  RETURN jsonb_build_object(
    'themes', jsonb_build_object('inserted', v_themes_inserted, 'total', v_themes_total),
    'epics', jsonb_build_object('inserted', v_epics_inserted, 'total', v_epics_total),
    'capabilities', jsonb_build_object('inserted', v_capabilities_inserted, 'total', v_capabilities_total),
    'features', jsonb_build_object('inserted', v_features_inserted, 'total', v_features_total)
  );
END;
$$;

--
-- Name: FUNCTION seed_work_plan(); Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON FUNCTION public.seed_work_plan() IS 'Idempotently seeds the singularity roadmap into the work_plan tables and returns, per table, the rows this call inserted and the rows present afterwards.';

--
-- Name: send_learning_range(text, bigint, bigint, bigint); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.send_learning_range(p_instance text, p_batch bigint, p_from bigint, p_to bigint) RETURNS void
    LANGUAGE plpgsql
    AS $_$
BEGIN
  -- Dynamic SQL: the foreign table exists only on a linked instance.
  EXECUTE 'INSERT INTO singularity_central.central_learnings (instance, outbox_id, batch_id, kind, pattern_key, pattern_version, payload)
           SELECT $1, o.id, o.batch_id, o.payload ->> ''kind'', o.payload ->> ''pattern_key'', o.pattern_version, o.payload
           FROM learning_outbox o WHERE o.id BETWEEN $3 AND $4 AND o.batch_id = $2
           ON CONFLICT DO NOTHING' USING p_instance, p_batch, p_from, p_to;
END
$_$;

--
-- Name: set_agent_config(bigint, jsonb, text, bigint); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.set_agent_config(p_agent bigint, p_doc jsonb, p_reason text, p_suggestion bigint DEFAULT NULL::bigint) RETURNS integer
    LANGUAGE plpgsql
    AS $$
DECLARE
  a agents;
BEGIN
  SELECT * INTO a FROM agents WHERE id = p_agent FOR UPDATE;
  INSERT INTO agent_config_versions (agent_id, version, config, reason)
  VALUES (a.id, a.config_version, agent_config_document(a), 'as it was before the first change')
  ON CONFLICT DO NOTHING;
  UPDATE agents
     SET capacity = (p_doc ->> 'capacity')::integer,
         skills = array(SELECT jsonb_array_elements_text(p_doc -> 'skills')),
         config = p_doc - 'capacity' - 'skills',
         config_version = a.config_version + 1
   WHERE id = a.id;
  INSERT INTO agent_config_versions (agent_id, version, config, reason, suggestion_id)
  VALUES (a.id, a.config_version + 1, p_doc, p_reason, p_suggestion);
  RETURN a.config_version + 1;
END
$$;

--
-- Name: singularity_cron_run(text, text, text); Type: PROCEDURE; Schema: public; Owner: -
--

CREATE PROCEDURE public.singularity_cron_run(IN p_task text, IN p_entry text, IN p_statement text)
    LANGUAGE plpgsql
    AS $$
BEGIN
  CALL singularity_cron_run(p_task, p_entry, '{}'::jsonb, p_statement);
END
$$;

--
-- Name: singularity_cron_run(text, text, jsonb, text); Type: PROCEDURE; Schema: public; Owner: -
--

CREATE PROCEDURE public.singularity_cron_run(IN p_task text, IN p_entry text, IN p_args jsonb, IN p_statement text)
    LANGUAGE plpgsql
    AS $$
DECLARE
  run_id bigint;
  outcome jsonb;
  failure jsonb;
BEGIN
  INSERT INTO task_runs (task, args, trigger, state, attempt, max_attempts, concurrency_key, entry, scheduled_for,
                         started_at, heartbeat_at, host, pid)
  VALUES (p_task, p_args, 'pg_cron', 'executing', 1, 1, p_task, p_entry, date_trunc('minute', now()),
          now(), now(), 'pg_cron', pg_backend_pid())
  ON CONFLICT DO NOTHING
  RETURNING id INTO run_id;
  IF run_id IS NULL THEN
    INSERT INTO task_runs (task, args, trigger, state, max_attempts, entry, scheduled_for, finished_at, duration_ms,
                           host, pid, reason)
    VALUES (p_task, p_args, 'pg_cron', 'skipped', 1, p_entry, date_trunc('minute', now()), now(), 0, 'pg_cron',
            pg_backend_pid(), format('overlap: another run of %s was executing', p_task));
    RETURN;
  END IF;
  COMMIT;
  BEGIN
    IF p_statement ~* '^\s*(select|with|values)\y' THEN
      EXECUTE format('select to_jsonb(r) from (%s) r limit 1', p_statement) INTO outcome;
    ELSE
      EXECUTE p_statement;
    END IF;
    IF outcome IS NOT NULL AND (SELECT array_agg(k) FROM jsonb_object_keys(outcome) k) = ARRAY['result'] THEN
      outcome := outcome -> 'result';
    END IF;
    UPDATE task_runs SET state = 'completed', result = coalesce(outcome, 'null'::jsonb), finished_at = clock_timestamp(),
      duration_ms = (extract(epoch from (clock_timestamp() - started_at)) * 1000)::int
    WHERE id = run_id;
  EXCEPTION WHEN OTHERS THEN
    failure := jsonb_build_object('name', 'PostgresError', 'message', SQLERRM, 'code', SQLSTATE);
    UPDATE task_runs SET state = 'discarded', error = failure, finished_at = clock_timestamp(),
      errors = errors || jsonb_build_array(failure || jsonb_build_object('attempt', 1, 'at', clock_timestamp())),
      duration_ms = (extract(epoch from (clock_timestamp() - started_at)) * 1000)::int
    WHERE id = run_id;
  END;
END
$$;

--
-- Name: sync_central_templates(regclass); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.sync_central_templates(p_source regclass) RETURNS jsonb
    LANGUAGE plpgsql
    AS $$
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

--
-- Name: sync_learning(integer); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.sync_learning(p_batch integer DEFAULT 500) RETURNS jsonb
    LANGUAGE plpgsql
    AS $_$
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
$_$;

--
-- Name: sync_patterns(double precision, integer); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.sync_patterns(p_min_confidence double precision DEFAULT 0.7, p_min_occurrences integer DEFAULT 3) RETURNS jsonb
    LANGUAGE plpgsql
    AS $$
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

--
-- Name: FUNCTION sync_patterns(p_min_confidence double precision, p_min_occurrences integer); Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON FUNCTION public.sync_patterns(p_min_confidence double precision, p_min_occurrences integer) IS 'Publishes the learned patterns that qualify as learned knowledge_artifacts (withdrawing those that no longer do), caches one list per kind in analysis_cache and NOTIFYs singularity_patterns per changed kind; returns the counts.';

--
-- Name: take_learning_batch(integer, text); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.take_learning_batch(p_batch integer, p_destination text) RETURNS TABLE(outbox_id bigint, batch_id bigint, kind text, pattern_key text, pattern_version integer, payload jsonb)
    LANGUAGE plpgsql
    AS $$
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

--
-- Name: unlink_central(); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.unlink_central() RETURNS boolean
    LANGUAGE plpgsql
    AS $$
BEGIN
  DROP SCHEMA IF EXISTS singularity_central CASCADE;
  IF EXISTS (SELECT 1 FROM pg_foreign_server WHERE srvname = 'singularity_central') THEN
    DROP SERVER singularity_central CASCADE;
  END IF;
  DELETE FROM central_link;
  RETURN FOUND;
END
$$;

--
-- Name: update_agent_knowledge(); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.update_agent_knowledge() RETURNS jsonb
    LANGUAGE plpgsql
    AS $$
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

--
-- Name: vector_stats(); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.vector_stats() RETURNS jsonb
    LANGUAGE plpgsql
    AS $$
DECLARE
  tbl regclass;
  tables jsonb := '[]';
  indexes jsonb;
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_type WHERE typname = 'vector') THEN
    RETURN jsonb_build_object('pgvector', false, 'tables', '[]'::jsonb, 'indexes', '[]'::jsonb);
  END IF;
  FOR tbl IN
    SELECT DISTINCT a.attrelid::regclass
    FROM pg_attribute a
    JOIN pg_type ty ON ty.oid = a.atttypid AND ty.typname = 'vector'
    JOIN pg_class c ON c.oid = a.attrelid AND c.relkind = 'r'
    JOIN pg_namespace n ON n.oid = c.relnamespace AND n.nspname NOT IN ('pg_catalog', 'information_schema')
    WHERE a.attnum > 0 AND NOT a.attisdropped
  LOOP
    EXECUTE format('ANALYZE %s', tbl);
    tables := tables || jsonb_build_object('table', tbl::text, 'rows', (SELECT reltuples::bigint FROM pg_class WHERE oid = tbl));
  END LOOP;
  SELECT coalesce(jsonb_agg(jsonb_build_object('index', c.relname, 'table', t.relname, 'method', am.amname,
           'options', coalesce(to_jsonb(c.reloptions), '[]'::jsonb), 'bytes', pg_relation_size(c.oid)) ORDER BY c.relname), '[]')
    INTO indexes
  FROM pg_index i
  JOIN pg_class c ON c.oid = i.indexrelid
  JOIN pg_class t ON t.oid = i.indrelid
  JOIN pg_am am ON am.oid = c.relam
  WHERE am.amname IN ('hnsw', 'ivfflat');
  RETURN jsonb_build_object('pgvector', true, 'tables', tables, 'indexes', indexes);
END
$$;

--
-- Name: agent_config_versions; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.agent_config_versions (
    agent_id bigint NOT NULL,
    version integer NOT NULL,
    config jsonb NOT NULL,
    reason text NOT NULL,
    suggestion_id bigint,
    created_at timestamp with time zone DEFAULT now() NOT NULL
);

--
-- Name: agent_tasks; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.agent_tasks (
    id bigint NOT NULL,
    kind text NOT NULL,
    skill text,
    payload jsonb DEFAULT '{}'::jsonb NOT NULL,
    priority integer DEFAULT 0 NOT NULL,
    status text DEFAULT 'pending'::text NOT NULL,
    assigned_agent_id bigint,
    inserted_at timestamp with time zone DEFAULT now() NOT NULL,
    assigned_at timestamp with time zone,
    completed_at timestamp with time zone,
    duration_ms integer,
    success boolean GENERATED ALWAYS AS (
CASE
    WHEN (status = ANY (ARRAY['completed'::text, 'failed'::text])) THEN (status = 'completed'::text)
    ELSE NULL::boolean
END) STORED,
    cost numeric,
    CONSTRAINT agent_tasks_cost_check CHECK ((cost >= (0)::numeric)),
    CONSTRAINT agent_tasks_duration_ms_check CHECK ((duration_ms >= 0)),
    CONSTRAINT agent_tasks_pending_unassigned CHECK (((status = 'pending'::text) = (assigned_agent_id IS NULL))),
    CONSTRAINT agent_tasks_status_check CHECK ((status = ANY (ARRAY['pending'::text, 'assigned'::text, 'running'::text, 'completed'::text, 'failed'::text])))
);

--
-- Name: agent_performance; Type: MATERIALIZED VIEW; Schema: public; Owner: -
--

CREATE MATERIALIZED VIEW public.agent_performance AS
 SELECT a.id AS agent_id,
    a.name AS agent_name,
    t.kind,
    (count(*) FILTER (WHERE (t.status = 'completed'::text)))::integer AS completed,
    (count(*) FILTER (WHERE (t.status = 'failed'::text)))::integer AS failed,
    (round(((count(*) FILTER (WHERE (t.status = 'completed'::text)))::numeric / (count(*))::numeric), 4))::double precision AS success_rate,
    (avg(t.duration_ms))::double precision AS avg_duration_ms,
    percentile_cont((0.95)::double precision) WITHIN GROUP (ORDER BY ((t.duration_ms)::double precision)) AS p95_duration_ms,
    max(t.completed_at) AS last_finished_at
   FROM (public.agent_tasks t
     JOIN public.agents a ON ((a.id = t.assigned_agent_id)))
  WHERE ((t.status = ANY (ARRAY['completed'::text, 'failed'::text])) AND (t.completed_at >= (now() - '7 days'::interval)))
  GROUP BY a.id, a.name, t.kind
  WITH NO DATA;

--
-- Name: agent_suggestion_rules; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.agent_suggestion_rules (
    kind text NOT NULL,
    scope text NOT NULL,
    enabled boolean DEFAULT true NOT NULL,
    min_tasks integer NOT NULL,
    threshold numeric NOT NULL,
    bound numeric,
    description text NOT NULL,
    CONSTRAINT agent_suggestion_rules_min_tasks_check CHECK ((min_tasks >= 1)),
    CONSTRAINT agent_suggestion_rules_scope_check CHECK ((scope = ANY (ARRAY['agent'::text, 'agent and task kind'::text, 'agent and skill'::text])))
);

--
-- Name: agent_suggestions; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.agent_suggestions (
    id bigint NOT NULL,
    agent_id bigint NOT NULL,
    kind text NOT NULL,
    change jsonb NOT NULL,
    evidence jsonb NOT NULL,
    status text DEFAULT 'proposed'::text NOT NULL,
    reason text,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    decided_at timestamp with time zone,
    applied_at timestamp with time zone,
    applied_version integer,
    CONSTRAINT agent_suggestions_change_check CHECK (((change ? 'path'::text) AND (change ? 'from'::text) AND (change ? 'to'::text))),
    CONSTRAINT agent_suggestions_status_check CHECK ((status = ANY (ARRAY['proposed'::text, 'accepted'::text, 'rejected'::text, 'applied'::text, 'superseded'::text])))
);

--
-- Name: agent_suggestions_id_seq; Type: SEQUENCE; Schema: public; Owner: -
--

CREATE SEQUENCE public.agent_suggestions_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;

--
-- Name: agent_suggestions_id_seq; Type: SEQUENCE OWNED BY; Schema: public; Owner: -
--

ALTER SEQUENCE public.agent_suggestions_id_seq OWNED BY public.agent_suggestions.id;

--
-- Name: agent_tasks_id_seq; Type: SEQUENCE; Schema: public; Owner: -
--

CREATE SEQUENCE public.agent_tasks_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;

--
-- Name: agent_tasks_id_seq; Type: SEQUENCE OWNED BY; Schema: public; Owner: -
--

ALTER SEQUENCE public.agent_tasks_id_seq OWNED BY public.agent_tasks.id;

--
-- Name: agents_id_seq; Type: SEQUENCE; Schema: public; Owner: -
--

CREATE SEQUENCE public.agents_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;

--
-- Name: agents_id_seq; Type: SEQUENCE OWNED BY; Schema: public; Owner: -
--

ALTER SEQUENCE public.agents_id_seq OWNED BY public.agents.id;

--
-- Name: alert_deliveries; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.alert_deliveries (
    id bigint NOT NULL,
    incident_id bigint NOT NULL,
    event text NOT NULL,
    webhook text NOT NULL,
    payload jsonb NOT NULL,
    state text DEFAULT 'pending'::text NOT NULL,
    attempts integer DEFAULT 0 NOT NULL,
    created_at timestamp with time zone NOT NULL,
    next_attempt_at timestamp with time zone NOT NULL,
    last_attempt_at timestamp with time zone,
    last_error text,
    last_error_at timestamp with time zone,
    delivered_at timestamp with time zone,
    CONSTRAINT alert_deliveries_attempts_check CHECK ((attempts >= 0)),
    CONSTRAINT alert_deliveries_event_check CHECK ((event = ANY (ARRAY['opened'::text, 'resolved'::text]))),
    CONSTRAINT alert_deliveries_state_check CHECK ((state = ANY (ARRAY['pending'::text, 'delivered'::text, 'failed'::text])))
);

--
-- Name: alert_deliveries_id_seq; Type: SEQUENCE; Schema: public; Owner: -
--

CREATE SEQUENCE public.alert_deliveries_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;

--
-- Name: alert_deliveries_id_seq; Type: SEQUENCE OWNED BY; Schema: public; Owner: -
--

ALTER SEQUENCE public.alert_deliveries_id_seq OWNED BY public.alert_deliveries.id;

--
-- Name: alert_incidents; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.alert_incidents (
    id bigint NOT NULL,
    task text NOT NULL,
    kind text NOT NULL,
    opened_at timestamp with time zone NOT NULL,
    opened_by_run bigint,
    detail text NOT NULL,
    resolved_at timestamp with time zone,
    resolved_by_run bigint,
    resolved_detail text,
    CONSTRAINT alert_incidents_kind_check CHECK ((kind = ANY (ARRAY['failing'::text, 'overdue'::text])))
);

--
-- Name: alert_incidents_id_seq; Type: SEQUENCE; Schema: public; Owner: -
--

CREATE SEQUENCE public.alert_incidents_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;

--
-- Name: alert_incidents_id_seq; Type: SEQUENCE OWNED BY; Schema: public; Owner: -
--

ALTER SEQUENCE public.alert_incidents_id_seq OWNED BY public.alert_incidents.id;

--
-- Name: analysis_cache; Type: TABLE; Schema: public; Owner: -
--

CREATE UNLOGGED TABLE public.analysis_cache (
    key text NOT NULL,
    value jsonb NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    expires_at timestamp with time zone,
    hits bigint DEFAULT 0 NOT NULL,
    last_hit_at timestamp with time zone,
    size_bytes integer GENERATED ALWAYS AS (octet_length((value)::text)) STORED
);

--
-- Name: analysis_results; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.analysis_results (
    id bigint NOT NULL,
    codebase text NOT NULL,
    kind text NOT NULL,
    subject text NOT NULL,
    finding jsonb DEFAULT '{}'::jsonb NOT NULL,
    confidence double precision NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    learned_at timestamp with time zone,
    CONSTRAINT analysis_results_confidence_check CHECK (((confidence >= (0)::double precision) AND (confidence <= (1)::double precision)))
);

--
-- Name: analysis_results_id_seq; Type: SEQUENCE; Schema: public; Owner: -
--

CREATE SEQUENCE public.analysis_results_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;

--
-- Name: analysis_results_id_seq; Type: SEQUENCE OWNED BY; Schema: public; Owner: -
--

ALTER SEQUENCE public.analysis_results_id_seq OWNED BY public.analysis_results.id;

--
-- Name: backups; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.backups (
    id bigint NOT NULL,
    type text NOT NULL,
    database text NOT NULL,
    path text NOT NULL,
    format text DEFAULT 'custom'::text NOT NULL,
    size_bytes bigint,
    sha256 text,
    started_at timestamp with time zone DEFAULT now() NOT NULL,
    finished_at timestamp with time zone,
    server_version text,
    pg_dump_version text,
    status text DEFAULT 'running'::text NOT NULL,
    verified_at timestamp with time zone,
    verified_how text,
    verify_error text,
    pruned_at timestamp with time zone,
    run_id bigint,
    error jsonb,
    CONSTRAINT backups_failed_why CHECK (((status = 'failed'::text) = (error IS NOT NULL))),
    CONSTRAINT backups_file_described CHECK (((status <> ALL (ARRAY['succeeded'::text, 'pruned'::text])) OR ((size_bytes IS NOT NULL) AND (sha256 IS NOT NULL) AND (server_version IS NOT NULL) AND (pg_dump_version IS NOT NULL)))),
    CONSTRAINT backups_finished CHECK (((status = 'running'::text) = (finished_at IS NULL))),
    CONSTRAINT backups_format_check CHECK ((format = ANY (ARRAY['custom'::text, 'plain'::text]))),
    CONSTRAINT backups_pruned_when CHECK (((status = 'pruned'::text) = (pruned_at IS NOT NULL))),
    CONSTRAINT backups_sha256_check CHECK ((sha256 ~ '^[0-9a-f]{64}$'::text)),
    CONSTRAINT backups_size_bytes_check CHECK ((size_bytes >= 0)),
    CONSTRAINT backups_status_check CHECK ((status = ANY (ARRAY['running'::text, 'succeeded'::text, 'failed'::text, 'pruned'::text]))),
    CONSTRAINT backups_type_check CHECK ((type ~ '^[a-z][a-z0-9_-]{0,62}$'::text)),
    CONSTRAINT backups_verified CHECK ((((verified_at IS NULL) = (verified_how IS NULL)) AND ((verify_error IS NULL) OR (verified_at IS NOT NULL)))),
    CONSTRAINT backups_verified_how_check CHECK ((verified_how = ANY (ARRAY['checksum'::text, 'list'::text, 'full'::text])))
);

--
-- Name: backups_archive; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.backups_archive (
    id bigint NOT NULL,
    type text NOT NULL,
    database text NOT NULL,
    path text NOT NULL,
    format text NOT NULL,
    size_bytes bigint,
    sha256 text,
    started_at timestamp with time zone NOT NULL,
    finished_at timestamp with time zone,
    server_version text,
    pg_dump_version text,
    status text NOT NULL,
    verified_at timestamp with time zone,
    verified_how text,
    verify_error text,
    pruned_at timestamp with time zone,
    run_id bigint,
    error jsonb,
    archived_at timestamp with time zone DEFAULT now() NOT NULL
);

--
-- Name: backups_id_seq; Type: SEQUENCE; Schema: public; Owner: -
--

CREATE SEQUENCE public.backups_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;

--
-- Name: backups_id_seq; Type: SEQUENCE OWNED BY; Schema: public; Owner: -
--

ALTER SEQUENCE public.backups_id_seq OWNED BY public.backups.id;

--
-- Name: central_instance_patterns; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.central_instance_patterns (
    instance text NOT NULL,
    kind text NOT NULL,
    pattern_key text NOT NULL,
    version integer NOT NULL,
    description text,
    example jsonb,
    occurrences bigint NOT NULL,
    confidence double precision NOT NULL,
    uses bigint DEFAULT 0 NOT NULL,
    successes bigint DEFAULT 0 NOT NULL,
    first_seen_at timestamp with time zone NOT NULL,
    last_seen_at timestamp with time zone NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL
);

--
-- Name: central_instances; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.central_instances (
    name text NOT NULL,
    instance_key uuid NOT NULL,
    registered_at timestamp with time zone DEFAULT now() NOT NULL,
    last_sync_at timestamp with time zone,
    last_batch_id bigint,
    learnings_received bigint DEFAULT 0 NOT NULL
);

--
-- Name: central_learnings; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.central_learnings (
    instance text NOT NULL,
    outbox_id bigint NOT NULL,
    batch_id bigint NOT NULL,
    kind text NOT NULL,
    pattern_key text NOT NULL,
    pattern_version integer NOT NULL,
    payload jsonb NOT NULL,
    received_at timestamp with time zone DEFAULT now() NOT NULL
);

--
-- Name: central_link; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.central_link (
    only_row boolean DEFAULT true NOT NULL,
    instance text NOT NULL,
    instance_key uuid DEFAULT gen_random_uuid() NOT NULL,
    mode text NOT NULL,
    target text NOT NULL,
    linked_at timestamp with time zone DEFAULT now() NOT NULL,
    last_sync_at timestamp with time zone,
    last_batch_id bigint,
    CONSTRAINT central_link_mode_check CHECK ((mode = ANY (ARRAY['fdw'::text, 'connection'::text]))),
    CONSTRAINT central_link_only_row_check CHECK (only_row)
);

--
-- Name: central_patterns; Type: VIEW; Schema: public; Owner: -
--

CREATE VIEW public.central_patterns AS
 SELECT kind,
    pattern_key,
    (count(*))::integer AS instances,
    (sum(occurrences))::bigint AS occurrences,
    (sum((confidence * (occurrences)::double precision)) / (sum(occurrences))::double precision) AS confidence,
    (sum(uses))::bigint AS uses,
    (sum(successes))::bigint AS successes,
        CASE
            WHEN (sum(uses) > (0)::numeric) THEN ((sum(successes) / sum(uses)))::double precision
            ELSE NULL::double precision
        END AS success_rate,
    (array_agg(description ORDER BY central_instance_patterns.last_seen_at DESC) FILTER (WHERE (description IS NOT NULL)))[1] AS description,
    (array_agg(example ORDER BY central_instance_patterns.last_seen_at DESC))[1] AS example,
    min(first_seen_at) AS first_seen_at,
    max(last_seen_at) AS last_seen_at
   FROM public.central_instance_patterns
  GROUP BY kind, pattern_key;

--
-- Name: code_chunks; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.code_chunks (
    id bigint NOT NULL,
    file_id bigint NOT NULL,
    codebase text NOT NULL,
    start_line integer NOT NULL,
    end_line integer NOT NULL,
    kind text NOT NULL,
    symbol text,
    content text NOT NULL,
    content_hash text NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    search tsvector GENERATED ALWAYS AS (to_tsvector('english'::regconfig, public.code_search_text(symbol, content))) STORED,
    embedding real[],
    embedding_model text,
    embedding_dim integer,
    name_search tsvector GENERATED ALWAYS AS (to_tsvector('english'::regconfig, public.code_search_text(symbol, ''::text))) STORED,
    CONSTRAINT code_chunks_embedding_check CHECK ((((embedding IS NULL) = (embedding_model IS NULL)) AND ((embedding IS NULL) = (embedding_dim IS NULL)) AND ((embedding IS NULL) OR (cardinality(embedding) = embedding_dim)))),
    CONSTRAINT code_chunks_lines_check CHECK ((end_line >= start_line)),
    CONSTRAINT code_chunks_start_line_check CHECK ((start_line >= 1))
);

--
-- Name: code_chunks_id_seq; Type: SEQUENCE; Schema: public; Owner: -
--

CREATE SEQUENCE public.code_chunks_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;

--
-- Name: code_chunks_id_seq; Type: SEQUENCE OWNED BY; Schema: public; Owner: -
--

ALTER SEQUENCE public.code_chunks_id_seq OWNED BY public.code_chunks.id;

--
-- Name: code_files; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.code_files (
    id bigint NOT NULL,
    codebase text NOT NULL,
    path text NOT NULL,
    language text,
    size_bytes bigint NOT NULL,
    mtime timestamp with time zone NOT NULL,
    content_hash text NOT NULL,
    ingested_at timestamp with time zone DEFAULT now() NOT NULL,
    deleted_at timestamp with time zone,
    refs jsonb DEFAULT '[]'::jsonb NOT NULL,
    names text[],
    line_count integer,
    path_search tsvector GENERATED ALWAYS AS (to_tsvector('english'::regconfig, public.code_search_text(NULL::text, path))) STORED,
    CONSTRAINT code_files_line_count_check CHECK ((line_count >= 0)),
    CONSTRAINT code_files_size_bytes_check CHECK ((size_bytes >= 0))
);

--
-- Name: code_files_id_seq; Type: SEQUENCE; Schema: public; Owner: -
--

CREATE SEQUENCE public.code_files_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;

--
-- Name: code_files_id_seq; Type: SEQUENCE OWNED BY; Schema: public; Owner: -
--

ALTER SEQUENCE public.code_files_id_seq OWNED BY public.code_files.id;

--
-- Name: code_search_terms; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.code_search_terms (
    term text NOT NULL,
    codebase text NOT NULL,
    chunks integer NOT NULL
);

--
-- Name: codebases; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.codebases (
    id text NOT NULL,
    root text NOT NULL,
    first_ingested_at timestamp with time zone DEFAULT now() NOT NULL,
    last_ingested_at timestamp with time zone DEFAULT now() NOT NULL,
    search_chunks integer,
    search_files integer,
    search_lines bigint,
    search_terms_at timestamp with time zone
);

--
-- Name: dead_code_candidates; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.dead_code_candidates (
    check_id bigint NOT NULL,
    path text NOT NULL,
    symbol text NOT NULL,
    line integer NOT NULL,
    end_line integer NOT NULL,
    kind text NOT NULL,
    language text NOT NULL,
    reason text NOT NULL,
    first_seen_at timestamp with time zone NOT NULL
);

--
-- Name: dead_code_checks; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.dead_code_checks (
    id bigint NOT NULL,
    codebase text NOT NULL,
    checked_at timestamp with time zone DEFAULT now() NOT NULL,
    run_id bigint,
    candidates integer NOT NULL,
    new_candidates integer NOT NULL,
    resolved integer NOT NULL,
    rules jsonb NOT NULL
);

--
-- Name: dead_code_checks_id_seq; Type: SEQUENCE; Schema: public; Owner: -
--

CREATE SEQUENCE public.dead_code_checks_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;

--
-- Name: dead_code_checks_id_seq; Type: SEQUENCE OWNED BY; Schema: public; Owner: -
--

ALTER SEQUENCE public.dead_code_checks_id_seq OWNED BY public.dead_code_checks.id;

--
-- Name: embedding_cache; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.embedding_cache (
    model text NOT NULL,
    text_hash text NOT NULL,
    dimension integer NOT NULL,
    embedding real[] NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT embedding_cache_dimension_check CHECK ((dimension > 0)),
    CONSTRAINT embedding_cache_length_check CHECK ((cardinality(embedding) = dimension))
);

--
-- Name: graph_edges; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.graph_edges (
    source_id bigint NOT NULL,
    target_id bigint NOT NULL,
    kind text NOT NULL,
    weight double precision DEFAULT 1 NOT NULL,
    CONSTRAINT graph_edges_kind_check CHECK ((kind = ANY (ARRAY['imports'::text, 'calls'::text, 'references'::text, 'contains'::text, 'defines'::text]))),
    CONSTRAINT graph_edges_weight_check CHECK (((weight > (0)::double precision) AND (weight < 'Infinity'::double precision)))
);

--
-- Name: graph_nodes; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.graph_nodes (
    id bigint NOT NULL,
    codebase text NOT NULL,
    kind text NOT NULL,
    name text NOT NULL,
    path text,
    language text,
    line integer,
    metadata jsonb DEFAULT '{}'::jsonb NOT NULL,
    dependency_node_ids bigint[] DEFAULT '{}'::bigint[] NOT NULL,
    dependent_node_ids bigint[] DEFAULT '{}'::bigint[] NOT NULL,
    pagerank double precision,
    pagerank_at timestamp with time zone,
    inserted_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT graph_nodes_file_path_check CHECK (((kind <> 'file'::text) OR (path = name))),
    CONSTRAINT graph_nodes_kind_check CHECK ((kind = ANY (ARRAY['file'::text, 'symbol'::text])))
);

--
-- Name: graph_nodes_id_seq; Type: SEQUENCE; Schema: public; Owner: -
--

CREATE SEQUENCE public.graph_nodes_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;

--
-- Name: graph_nodes_id_seq; Type: SEQUENCE OWNED BY; Schema: public; Owner: -
--

ALTER SEQUENCE public.graph_nodes_id_seq OWNED BY public.graph_nodes.id;

--
-- Name: hot_cache_entries; Type: MATERIALIZED VIEW; Schema: public; Owner: -
--

CREATE MATERIALIZED VIEW public.hot_cache_entries AS
 SELECT key,
    hits,
    last_hit_at,
    expires_at,
    size_bytes,
    score,
    row_number() OVER (ORDER BY score DESC, key) AS rank
   FROM ( SELECT analysis_cache.key,
            analysis_cache.hits,
            analysis_cache.last_hit_at,
            analysis_cache.expires_at,
            analysis_cache.size_bytes,
            (((analysis_cache.hits)::numeric / ((1)::numeric + (EXTRACT(epoch FROM (now() - COALESCE(analysis_cache.last_hit_at, analysis_cache.created_at))) / (3600)::numeric))))::double precision AS score
           FROM public.analysis_cache
          WHERE ((analysis_cache.hits > 0) AND ((analysis_cache.expires_at IS NULL) OR (analysis_cache.expires_at > now())))) live
  ORDER BY score DESC, key
 LIMIT 100
  WITH NO DATA;

--
-- Name: knowledge_artifacts; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.knowledge_artifacts (
    id bigint NOT NULL,
    artifact_type text NOT NULL,
    artifact_id text NOT NULL,
    version text NOT NULL,
    source text NOT NULL,
    path text,
    raw text NOT NULL,
    content jsonb,
    metadata jsonb DEFAULT '{}'::jsonb NOT NULL,
    content_hash text NOT NULL,
    usage_count bigint DEFAULT 0 NOT NULL,
    success_count bigint DEFAULT 0 NOT NULL,
    last_used_at timestamp with time zone,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    file_stamp text,
    embedding real[],
    embedding_model text,
    embedding_dim integer,
    embedded_hash text,
    search tsvector GENERATED ALWAYS AS (to_tsvector('english'::regconfig, ((((COALESCE((content ->> 'name'::text), artifact_id) || ' '::text) || COALESCE((content ->> 'description'::text), ''::text)) || ' '::text) || public.code_search_text(NULL::text, raw)))) STORED,
    learned_pattern_id bigint,
    CONSTRAINT knowledge_artifacts_embedding_check CHECK ((((embedding IS NULL) = (embedding_model IS NULL)) AND ((embedding IS NULL) = (embedding_dim IS NULL)) AND ((embedding IS NULL) = (embedded_hash IS NULL)) AND ((embedding IS NULL) OR (cardinality(embedding) = embedding_dim)))),
    CONSTRAINT knowledge_artifacts_learned_pattern_check CHECK (((learned_pattern_id IS NULL) OR (source = 'learned'::text))),
    CONSTRAINT knowledge_artifacts_path_check CHECK (((source = ANY (ARRAY['file'::text, 'central'::text])) = (path IS NOT NULL))),
    CONSTRAINT knowledge_artifacts_source_check CHECK ((source = ANY (ARRAY['file'::text, 'learned'::text, 'central'::text]))),
    CONSTRAINT knowledge_artifacts_usage_check CHECK (((success_count >= 0) AND (success_count <= usage_count) AND ((usage_count = 0) = (last_used_at IS NULL))))
);

--
-- Name: knowledge_artifacts_id_seq; Type: SEQUENCE; Schema: public; Owner: -
--

CREATE SEQUENCE public.knowledge_artifacts_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;

--
-- Name: knowledge_artifacts_id_seq; Type: SEQUENCE OWNED BY; Schema: public; Owner: -
--

ALTER SEQUENCE public.knowledge_artifacts_id_seq OWNED BY public.knowledge_artifacts.id;

--
-- Name: learned_patterns_id_seq; Type: SEQUENCE; Schema: public; Owner: -
--

CREATE SEQUENCE public.learned_patterns_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;

--
-- Name: learned_patterns_id_seq; Type: SEQUENCE OWNED BY; Schema: public; Owner: -
--

ALTER SEQUENCE public.learned_patterns_id_seq OWNED BY public.learned_patterns.id;

--
-- Name: learning_outbox; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.learning_outbox (
    id bigint NOT NULL,
    pattern_id bigint NOT NULL,
    pattern_version integer NOT NULL,
    payload jsonb NOT NULL,
    enqueued_at timestamp with time zone DEFAULT now() NOT NULL,
    sent_at timestamp with time zone,
    batch_id bigint,
    attempts integer DEFAULT 0 NOT NULL
);

--
-- Name: learning_outbox_id_seq; Type: SEQUENCE; Schema: public; Owner: -
--

CREATE SEQUENCE public.learning_outbox_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;

--
-- Name: learning_outbox_id_seq; Type: SEQUENCE OWNED BY; Schema: public; Owner: -
--

ALTER SEQUENCE public.learning_outbox_id_seq OWNED BY public.learning_outbox.id;

--
-- Name: learning_sync_batches; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.learning_sync_batches (
    id bigint NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    sent_at timestamp with time zone,
    items integer NOT NULL,
    destination text DEFAULT 'none'::text NOT NULL
);

--
-- Name: learning_sync_batches_id_seq; Type: SEQUENCE; Schema: public; Owner: -
--

CREATE SEQUENCE public.learning_sync_batches_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;

--
-- Name: learning_sync_batches_id_seq; Type: SEQUENCE OWNED BY; Schema: public; Owner: -
--

ALTER SEQUENCE public.learning_sync_batches_id_seq OWNED BY public.learning_sync_batches.id;

--
-- Name: metrics; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.metrics (
    period text NOT NULL,
    bucket_start timestamp with time zone NOT NULL,
    name text NOT NULL,
    task text DEFAULT ''::text NOT NULL,
    count bigint NOT NULL,
    sum double precision,
    avg double precision,
    min double precision,
    max double precision,
    p95 double precision,
    computed_at timestamp with time zone NOT NULL,
    CONSTRAINT metrics_period_check CHECK ((period = ANY (ARRAY['5m'::text, '1h'::text, '1d'::text])))
);

--
-- Name: metrics_watermark; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.metrics_watermark (
    id boolean DEFAULT true NOT NULL,
    watermark timestamp with time zone NOT NULL,
    aggregated_at timestamp with time zone NOT NULL,
    CONSTRAINT metrics_watermark_id_check CHECK (id)
);

--
-- Name: pgcron_import; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.pgcron_import (
    cron_database text NOT NULL,
    next_runid bigint NOT NULL
);

--
-- Name: pgcron_install; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.pgcron_install (
    id integer DEFAULT 1 NOT NULL,
    crontab text NOT NULL,
    entries jsonb NOT NULL,
    installed_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT pgcron_install_id_check CHECK ((id = 1))
);

--
-- Name: pgcron_jobs; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.pgcron_jobs (
    jobname text NOT NULL,
    task text NOT NULL,
    entry text NOT NULL,
    schedule text NOT NULL,
    command text NOT NULL,
    cron_database text NOT NULL,
    installed_at timestamp with time zone DEFAULT now() NOT NULL,
    args jsonb DEFAULT '{}'::jsonb NOT NULL,
    direct boolean DEFAULT false NOT NULL,
    timezone text DEFAULT 'GMT'::text NOT NULL
);

--
-- Name: registry_snapshot_files; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.registry_snapshot_files (
    snapshot_id bigint NOT NULL,
    path text NOT NULL,
    language text,
    lines integer NOT NULL,
    bytes bigint NOT NULL,
    content_hash text NOT NULL,
    symbols text[] NOT NULL
);

--
-- Name: registry_snapshots; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.registry_snapshots (
    id bigint NOT NULL,
    codebase text NOT NULL,
    taken_at timestamp with time zone DEFAULT now() NOT NULL,
    run_id bigint,
    summary jsonb NOT NULL
);

--
-- Name: registry_snapshots_id_seq; Type: SEQUENCE; Schema: public; Owner: -
--

CREATE SEQUENCE public.registry_snapshots_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;

--
-- Name: registry_snapshots_id_seq; Type: SEQUENCE OWNED BY; Schema: public; Owner: -
--

ALTER SEQUENCE public.registry_snapshots_id_seq OWNED BY public.registry_snapshots.id;

--
-- Name: schedule_pauses; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.schedule_pauses (
    entry text NOT NULL,
    paused_at timestamp with time zone DEFAULT now() NOT NULL,
    until timestamp with time zone,
    reason text,
    paused_by text NOT NULL
);

--
-- Name: schedulers; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.schedulers (
    id bigint NOT NULL,
    host text NOT NULL,
    pid integer NOT NULL,
    version text NOT NULL,
    crontab text,
    entries jsonb DEFAULT '[]'::jsonb NOT NULL,
    placed_in_pg_cron jsonb DEFAULT '[]'::jsonb NOT NULL,
    started_at timestamp with time zone DEFAULT now() NOT NULL,
    heartbeat_at timestamp with time zone DEFAULT now() NOT NULL,
    stopped_at timestamp with time zone,
    stop_reason text
);

--
-- Name: schedulers_id_seq; Type: SEQUENCE; Schema: public; Owner: -
--

CREATE SEQUENCE public.schedulers_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;

--
-- Name: schedulers_id_seq; Type: SEQUENCE OWNED BY; Schema: public; Owner: -
--

ALTER SEQUENCE public.schedulers_id_seq OWNED BY public.schedulers.id;

--
-- Name: task_runs; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.task_runs (
    id bigint NOT NULL,
    task text NOT NULL,
    args jsonb DEFAULT '{}'::jsonb NOT NULL,
    trigger text NOT NULL,
    state text NOT NULL,
    attempt integer DEFAULT 1 NOT NULL,
    max_attempts integer DEFAULT 1 NOT NULL,
    dedupe_key text,
    concurrency_key text,
    scheduled_for timestamp with time zone,
    run_after timestamp with time zone,
    inserted_at timestamp with time zone DEFAULT now() NOT NULL,
    started_at timestamp with time zone,
    heartbeat_at timestamp with time zone,
    finished_at timestamp with time zone,
    duration_ms integer,
    timeout_ms integer,
    host text,
    pid integer,
    reason text,
    result jsonb,
    error jsonb,
    errors jsonb DEFAULT '[]'::jsonb NOT NULL,
    cancel_requested_at timestamp with time zone,
    retry_of bigint,
    summary text,
    entry text,
    parent_run_id bigint,
    CONSTRAINT task_runs_attempt_check CHECK (((attempt >= 1) AND (max_attempts >= 1))),
    CONSTRAINT task_runs_state_check CHECK ((state = ANY (ARRAY['scheduled'::text, 'executing'::text, 'completed'::text, 'retryable'::text, 'discarded'::text, 'cancelled'::text, 'skipped'::text, 'missed'::text]))),
    CONSTRAINT task_runs_trigger_check CHECK ((trigger = ANY (ARRAY['cli'::text, 'ci'::text, 'scheduler'::text, 'setup'::text, 'pg_cron'::text, 'retry'::text, 'backfill'::text, 'manual'::text])))
);

--
-- Name: task_run_performance; Type: MATERIALIZED VIEW; Schema: public; Owner: -
--

CREATE MATERIALIZED VIEW public.task_run_performance AS
 SELECT task,
    (count(*))::integer AS runs,
    (count(*) FILTER (WHERE (state = 'completed'::text)))::integer AS completed,
    (count(*) FILTER (WHERE (state = 'discarded'::text)))::integer AS failed,
    (round(((count(*) FILTER (WHERE (state = 'completed'::text)))::numeric / (count(*))::numeric), 4))::double precision AS success_rate,
    (avg(duration_ms))::double precision AS avg_duration_ms,
    percentile_cont((0.95)::double precision) WITHIN GROUP (ORDER BY ((duration_ms)::double precision)) AS p95_duration_ms,
    max(finished_at) AS last_finished_at
   FROM public.task_runs
  WHERE ((state = ANY (ARRAY['completed'::text, 'discarded'::text, 'cancelled'::text])) AND (finished_at >= (now() - '7 days'::interval)))
  GROUP BY task
  WITH NO DATA;

--
-- Name: task_runs_id_seq; Type: SEQUENCE; Schema: public; Owner: -
--

CREATE SEQUENCE public.task_runs_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;

--
-- Name: task_runs_id_seq; Type: SEQUENCE OWNED BY; Schema: public; Owner: -
--

ALTER SEQUENCE public.task_runs_id_seq OWNED BY public.task_runs.id;

--
-- Name: telemetry_events; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.telemetry_events (
    id bigint NOT NULL,
    name text NOT NULL,
    value double precision NOT NULL,
    at timestamp with time zone DEFAULT now() NOT NULL,
    run_id bigint,
    tags jsonb DEFAULT '{}'::jsonb NOT NULL,
    CONSTRAINT telemetry_events_name_check CHECK (((name <> ''::text) AND (name !~~ 'run.%'::text)))
);

--
-- Name: telemetry_events_id_seq; Type: SEQUENCE; Schema: public; Owner: -
--

CREATE SEQUENCE public.telemetry_events_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;

--
-- Name: telemetry_events_id_seq; Type: SEQUENCE OWNED BY; Schema: public; Owner: -
--

ALTER SEQUENCE public.telemetry_events_id_seq OWNED BY public.telemetry_events.id;

--
-- Name: work_plan_capabilities; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.work_plan_capabilities (
    id bigint NOT NULL,
    epic_id bigint NOT NULL,
    slug text NOT NULL,
    name text NOT NULL,
    description text NOT NULL,
    "position" integer NOT NULL,
    inserted_at timestamp with time zone DEFAULT now() NOT NULL
);

--
-- Name: work_plan_capabilities_id_seq; Type: SEQUENCE; Schema: public; Owner: -
--

CREATE SEQUENCE public.work_plan_capabilities_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;

--
-- Name: work_plan_capabilities_id_seq; Type: SEQUENCE OWNED BY; Schema: public; Owner: -
--

ALTER SEQUENCE public.work_plan_capabilities_id_seq OWNED BY public.work_plan_capabilities.id;

--
-- Name: work_plan_epics; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.work_plan_epics (
    id bigint NOT NULL,
    theme_id bigint NOT NULL,
    slug text NOT NULL,
    name text NOT NULL,
    description text NOT NULL,
    "position" integer NOT NULL,
    inserted_at timestamp with time zone DEFAULT now() NOT NULL
);

--
-- Name: work_plan_epics_id_seq; Type: SEQUENCE; Schema: public; Owner: -
--

CREATE SEQUENCE public.work_plan_epics_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;

--
-- Name: work_plan_epics_id_seq; Type: SEQUENCE OWNED BY; Schema: public; Owner: -
--

ALTER SEQUENCE public.work_plan_epics_id_seq OWNED BY public.work_plan_epics.id;

--
-- Name: work_plan_features; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.work_plan_features (
    id bigint NOT NULL,
    capability_id bigint NOT NULL,
    slug text NOT NULL,
    name text NOT NULL,
    description text NOT NULL,
    status text DEFAULT 'planned'::text NOT NULL,
    "position" integer NOT NULL,
    inserted_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT work_plan_features_status_check CHECK ((status = ANY (ARRAY['planned'::text, 'in_progress'::text, 'done'::text])))
);

--
-- Name: work_plan_features_id_seq; Type: SEQUENCE; Schema: public; Owner: -
--

CREATE SEQUENCE public.work_plan_features_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;

--
-- Name: work_plan_features_id_seq; Type: SEQUENCE OWNED BY; Schema: public; Owner: -
--

ALTER SEQUENCE public.work_plan_features_id_seq OWNED BY public.work_plan_features.id;

--
-- Name: work_plan_themes; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.work_plan_themes (
    id bigint NOT NULL,
    slug text NOT NULL,
    name text NOT NULL,
    description text NOT NULL,
    "position" integer NOT NULL,
    inserted_at timestamp with time zone DEFAULT now() NOT NULL
);

--
-- Name: work_plan_themes_id_seq; Type: SEQUENCE; Schema: public; Owner: -
--

CREATE SEQUENCE public.work_plan_themes_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;

--
-- Name: work_plan_themes_id_seq; Type: SEQUENCE OWNED BY; Schema: public; Owner: -
--

ALTER SEQUENCE public.work_plan_themes_id_seq OWNED BY public.work_plan_themes.id;

--
-- Name: agent_suggestions id; Type: DEFAULT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.agent_suggestions ALTER COLUMN id SET DEFAULT nextval('public.agent_suggestions_id_seq'::regclass);

--
-- Name: agent_tasks id; Type: DEFAULT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.agent_tasks ALTER COLUMN id SET DEFAULT nextval('public.agent_tasks_id_seq'::regclass);

--
-- Name: agents id; Type: DEFAULT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.agents ALTER COLUMN id SET DEFAULT nextval('public.agents_id_seq'::regclass);

--
-- Name: alert_deliveries id; Type: DEFAULT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.alert_deliveries ALTER COLUMN id SET DEFAULT nextval('public.alert_deliveries_id_seq'::regclass);

--
-- Name: alert_incidents id; Type: DEFAULT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.alert_incidents ALTER COLUMN id SET DEFAULT nextval('public.alert_incidents_id_seq'::regclass);

--
-- Name: analysis_results id; Type: DEFAULT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.analysis_results ALTER COLUMN id SET DEFAULT nextval('public.analysis_results_id_seq'::regclass);

--
-- Name: backups id; Type: DEFAULT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.backups ALTER COLUMN id SET DEFAULT nextval('public.backups_id_seq'::regclass);

--
-- Name: code_chunks id; Type: DEFAULT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.code_chunks ALTER COLUMN id SET DEFAULT nextval('public.code_chunks_id_seq'::regclass);

--
-- Name: code_files id; Type: DEFAULT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.code_files ALTER COLUMN id SET DEFAULT nextval('public.code_files_id_seq'::regclass);

--
-- Name: dead_code_checks id; Type: DEFAULT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.dead_code_checks ALTER COLUMN id SET DEFAULT nextval('public.dead_code_checks_id_seq'::regclass);

--
-- Name: graph_nodes id; Type: DEFAULT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.graph_nodes ALTER COLUMN id SET DEFAULT nextval('public.graph_nodes_id_seq'::regclass);

--
-- Name: knowledge_artifacts id; Type: DEFAULT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.knowledge_artifacts ALTER COLUMN id SET DEFAULT nextval('public.knowledge_artifacts_id_seq'::regclass);

--
-- Name: learned_patterns id; Type: DEFAULT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.learned_patterns ALTER COLUMN id SET DEFAULT nextval('public.learned_patterns_id_seq'::regclass);

--
-- Name: learning_outbox id; Type: DEFAULT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.learning_outbox ALTER COLUMN id SET DEFAULT nextval('public.learning_outbox_id_seq'::regclass);

--
-- Name: learning_sync_batches id; Type: DEFAULT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.learning_sync_batches ALTER COLUMN id SET DEFAULT nextval('public.learning_sync_batches_id_seq'::regclass);

--
-- Name: registry_snapshots id; Type: DEFAULT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.registry_snapshots ALTER COLUMN id SET DEFAULT nextval('public.registry_snapshots_id_seq'::regclass);

--
-- Name: schedulers id; Type: DEFAULT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.schedulers ALTER COLUMN id SET DEFAULT nextval('public.schedulers_id_seq'::regclass);

--
-- Name: task_runs id; Type: DEFAULT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.task_runs ALTER COLUMN id SET DEFAULT nextval('public.task_runs_id_seq'::regclass);

--
-- Name: telemetry_events id; Type: DEFAULT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.telemetry_events ALTER COLUMN id SET DEFAULT nextval('public.telemetry_events_id_seq'::regclass);

--
-- Name: work_plan_capabilities id; Type: DEFAULT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.work_plan_capabilities ALTER COLUMN id SET DEFAULT nextval('public.work_plan_capabilities_id_seq'::regclass);

--
-- Name: work_plan_epics id; Type: DEFAULT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.work_plan_epics ALTER COLUMN id SET DEFAULT nextval('public.work_plan_epics_id_seq'::regclass);

--
-- Name: work_plan_features id; Type: DEFAULT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.work_plan_features ALTER COLUMN id SET DEFAULT nextval('public.work_plan_features_id_seq'::regclass);

--
-- Name: work_plan_themes id; Type: DEFAULT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.work_plan_themes ALTER COLUMN id SET DEFAULT nextval('public.work_plan_themes_id_seq'::regclass);

--
-- Name: agent_config_versions agent_config_versions_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.agent_config_versions
    ADD CONSTRAINT agent_config_versions_pkey PRIMARY KEY (agent_id, version);

--
-- Name: agent_suggestion_rules agent_suggestion_rules_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.agent_suggestion_rules
    ADD CONSTRAINT agent_suggestion_rules_pkey PRIMARY KEY (kind);

--
-- Name: agent_suggestions agent_suggestions_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.agent_suggestions
    ADD CONSTRAINT agent_suggestions_pkey PRIMARY KEY (id);

--
-- Name: agent_tasks agent_tasks_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.agent_tasks
    ADD CONSTRAINT agent_tasks_pkey PRIMARY KEY (id);

--
-- Name: agents agents_name_key; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.agents
    ADD CONSTRAINT agents_name_key UNIQUE (name);

--
-- Name: agents agents_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.agents
    ADD CONSTRAINT agents_pkey PRIMARY KEY (id);

--
-- Name: alert_deliveries alert_deliveries_incident_id_event_webhook_key; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.alert_deliveries
    ADD CONSTRAINT alert_deliveries_incident_id_event_webhook_key UNIQUE (incident_id, event, webhook);

--
-- Name: alert_deliveries alert_deliveries_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.alert_deliveries
    ADD CONSTRAINT alert_deliveries_pkey PRIMARY KEY (id);

--
-- Name: alert_incidents alert_incidents_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.alert_incidents
    ADD CONSTRAINT alert_incidents_pkey PRIMARY KEY (id);

--
-- Name: analysis_cache analysis_cache_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.analysis_cache
    ADD CONSTRAINT analysis_cache_pkey PRIMARY KEY (key);

--
-- Name: analysis_results analysis_results_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.analysis_results
    ADD CONSTRAINT analysis_results_pkey PRIMARY KEY (id);

--
-- Name: backups_archive backups_archive_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.backups_archive
    ADD CONSTRAINT backups_archive_pkey PRIMARY KEY (id);

--
-- Name: backups backups_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.backups
    ADD CONSTRAINT backups_pkey PRIMARY KEY (id);

--
-- Name: central_instance_patterns central_instance_patterns_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.central_instance_patterns
    ADD CONSTRAINT central_instance_patterns_pkey PRIMARY KEY (kind, pattern_key, instance);

--
-- Name: central_instances central_instances_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.central_instances
    ADD CONSTRAINT central_instances_pkey PRIMARY KEY (name);

--
-- Name: central_learnings central_learnings_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.central_learnings
    ADD CONSTRAINT central_learnings_pkey PRIMARY KEY (instance, outbox_id);

--
-- Name: central_link central_link_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.central_link
    ADD CONSTRAINT central_link_pkey PRIMARY KEY (only_row);

--
-- Name: code_chunks code_chunks_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.code_chunks
    ADD CONSTRAINT code_chunks_pkey PRIMARY KEY (id);

--
-- Name: code_files code_files_id_codebase; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.code_files
    ADD CONSTRAINT code_files_id_codebase UNIQUE (id, codebase);

--
-- Name: code_files code_files_identity; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.code_files
    ADD CONSTRAINT code_files_identity UNIQUE (codebase, path);

--
-- Name: code_files code_files_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.code_files
    ADD CONSTRAINT code_files_pkey PRIMARY KEY (id);

--
-- Name: code_search_terms code_search_terms_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.code_search_terms
    ADD CONSTRAINT code_search_terms_pkey PRIMARY KEY (term, codebase);

--
-- Name: codebases codebases_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.codebases
    ADD CONSTRAINT codebases_pkey PRIMARY KEY (id);

--
-- Name: dead_code_candidates dead_code_candidates_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.dead_code_candidates
    ADD CONSTRAINT dead_code_candidates_pkey PRIMARY KEY (check_id, path, symbol);

--
-- Name: dead_code_checks dead_code_checks_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.dead_code_checks
    ADD CONSTRAINT dead_code_checks_pkey PRIMARY KEY (id);

--
-- Name: embedding_cache embedding_cache_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.embedding_cache
    ADD CONSTRAINT embedding_cache_pkey PRIMARY KEY (model, text_hash);

--
-- Name: graph_edges graph_edges_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.graph_edges
    ADD CONSTRAINT graph_edges_pkey PRIMARY KEY (source_id, target_id, kind);

--
-- Name: graph_nodes graph_nodes_identity; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.graph_nodes
    ADD CONSTRAINT graph_nodes_identity UNIQUE NULLS NOT DISTINCT (codebase, kind, path, name);

--
-- Name: graph_nodes graph_nodes_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.graph_nodes
    ADD CONSTRAINT graph_nodes_pkey PRIMARY KEY (id);

--
-- Name: knowledge_artifacts knowledge_artifacts_identity; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.knowledge_artifacts
    ADD CONSTRAINT knowledge_artifacts_identity UNIQUE (artifact_type, artifact_id, version);

--
-- Name: knowledge_artifacts knowledge_artifacts_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.knowledge_artifacts
    ADD CONSTRAINT knowledge_artifacts_pkey PRIMARY KEY (id);

--
-- Name: learned_patterns learned_patterns_kind_key; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.learned_patterns
    ADD CONSTRAINT learned_patterns_kind_key UNIQUE (kind, pattern_key);

--
-- Name: learned_patterns learned_patterns_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.learned_patterns
    ADD CONSTRAINT learned_patterns_pkey PRIMARY KEY (id);

--
-- Name: learning_outbox learning_outbox_pattern_version; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.learning_outbox
    ADD CONSTRAINT learning_outbox_pattern_version UNIQUE (pattern_id, pattern_version);

--
-- Name: learning_outbox learning_outbox_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.learning_outbox
    ADD CONSTRAINT learning_outbox_pkey PRIMARY KEY (id);

--
-- Name: learning_sync_batches learning_sync_batches_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.learning_sync_batches
    ADD CONSTRAINT learning_sync_batches_pkey PRIMARY KEY (id);

--
-- Name: metrics metrics_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.metrics
    ADD CONSTRAINT metrics_pkey PRIMARY KEY (period, bucket_start, name, task);

--
-- Name: metrics_watermark metrics_watermark_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.metrics_watermark
    ADD CONSTRAINT metrics_watermark_pkey PRIMARY KEY (id);

--
-- Name: pgcron_import pgcron_import_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.pgcron_import
    ADD CONSTRAINT pgcron_import_pkey PRIMARY KEY (cron_database);

--
-- Name: pgcron_install pgcron_install_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.pgcron_install
    ADD CONSTRAINT pgcron_install_pkey PRIMARY KEY (id);

--
-- Name: pgcron_jobs pgcron_jobs_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.pgcron_jobs
    ADD CONSTRAINT pgcron_jobs_pkey PRIMARY KEY (jobname);

--
-- Name: registry_snapshot_files registry_snapshot_files_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.registry_snapshot_files
    ADD CONSTRAINT registry_snapshot_files_pkey PRIMARY KEY (snapshot_id, path);

--
-- Name: registry_snapshots registry_snapshots_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.registry_snapshots
    ADD CONSTRAINT registry_snapshots_pkey PRIMARY KEY (id);

--
-- Name: schedule_pauses schedule_pauses_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.schedule_pauses
    ADD CONSTRAINT schedule_pauses_pkey PRIMARY KEY (entry);

--
-- Name: schedulers schedulers_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.schedulers
    ADD CONSTRAINT schedulers_pkey PRIMARY KEY (id);

--
-- Name: task_runs task_runs_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.task_runs
    ADD CONSTRAINT task_runs_pkey PRIMARY KEY (id);

--
-- Name: telemetry_events telemetry_events_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.telemetry_events
    ADD CONSTRAINT telemetry_events_pkey PRIMARY KEY (id);

--
-- Name: work_plan_capabilities work_plan_capabilities_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.work_plan_capabilities
    ADD CONSTRAINT work_plan_capabilities_pkey PRIMARY KEY (id);

--
-- Name: work_plan_capabilities work_plan_capabilities_slug_unique; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.work_plan_capabilities
    ADD CONSTRAINT work_plan_capabilities_slug_unique UNIQUE (slug);

--
-- Name: work_plan_epics work_plan_epics_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.work_plan_epics
    ADD CONSTRAINT work_plan_epics_pkey PRIMARY KEY (id);

--
-- Name: work_plan_epics work_plan_epics_slug_unique; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.work_plan_epics
    ADD CONSTRAINT work_plan_epics_slug_unique UNIQUE (slug);

--
-- Name: work_plan_features work_plan_features_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.work_plan_features
    ADD CONSTRAINT work_plan_features_pkey PRIMARY KEY (id);

--
-- Name: work_plan_features work_plan_features_slug_unique; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.work_plan_features
    ADD CONSTRAINT work_plan_features_slug_unique UNIQUE (slug);

--
-- Name: work_plan_themes work_plan_themes_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.work_plan_themes
    ADD CONSTRAINT work_plan_themes_pkey PRIMARY KEY (id);

--
-- Name: work_plan_themes work_plan_themes_slug_unique; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.work_plan_themes
    ADD CONSTRAINT work_plan_themes_slug_unique UNIQUE (slug);

--
-- Name: agent_performance_key; Type: INDEX; Schema: public; Owner: -
--

CREATE UNIQUE INDEX agent_performance_key ON public.agent_performance USING btree (agent_id, kind);

--
-- Name: agent_suggestions_open_key; Type: INDEX; Schema: public; Owner: -
--

CREATE UNIQUE INDEX agent_suggestions_open_key ON public.agent_suggestions USING btree (agent_id, kind, ((change ->> 'path'::text))) WHERE (status = ANY (ARRAY['proposed'::text, 'accepted'::text]));

--
-- Name: agent_tasks_agent_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX agent_tasks_agent_idx ON public.agent_tasks USING btree (assigned_agent_id, status) WHERE (assigned_agent_id IS NOT NULL);

--
-- Name: agent_tasks_completed_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX agent_tasks_completed_idx ON public.agent_tasks USING btree (completed_at) WHERE (completed_at IS NOT NULL);

--
-- Name: agent_tasks_pending_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX agent_tasks_pending_idx ON public.agent_tasks USING btree (priority DESC, inserted_at, id) WHERE (status = 'pending'::text);

--
-- Name: alert_deliveries_created_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX alert_deliveries_created_idx ON public.alert_deliveries USING btree (created_at);

--
-- Name: alert_deliveries_due_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX alert_deliveries_due_idx ON public.alert_deliveries USING btree (next_attempt_at) WHERE (state = 'pending'::text);

--
-- Name: alert_incidents_open_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE UNIQUE INDEX alert_incidents_open_idx ON public.alert_incidents USING btree (task, kind) WHERE (resolved_at IS NULL);

--
-- Name: analysis_cache_expires_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX analysis_cache_expires_idx ON public.analysis_cache USING btree (expires_at) WHERE (expires_at IS NOT NULL);

--
-- Name: analysis_results_unlearned_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX analysis_results_unlearned_idx ON public.analysis_results USING btree (id) WHERE (learned_at IS NULL);

--
-- Name: backups_live_path_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE UNIQUE INDEX backups_live_path_idx ON public.backups USING btree (path) WHERE (status = ANY (ARRAY['running'::text, 'succeeded'::text]));

--
-- Name: backups_type_database_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX backups_type_database_idx ON public.backups USING btree (type, database, started_at DESC);

--
-- Name: code_chunks_content_hash_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX code_chunks_content_hash_idx ON public.code_chunks USING btree (codebase, content_hash);

--
-- Name: code_chunks_file_id_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX code_chunks_file_id_idx ON public.code_chunks USING btree (file_id);

--
-- Name: code_chunks_pending_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX code_chunks_pending_idx ON public.code_chunks USING btree (id) WHERE (embedding IS NULL);

--
-- Name: code_chunks_search_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX code_chunks_search_idx ON public.code_chunks USING gin (search);

--
-- Name: code_files_deleted_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX code_files_deleted_idx ON public.code_files USING btree (deleted_at) WHERE (deleted_at IS NOT NULL);

--
-- Name: dead_code_checks_codebase_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX dead_code_checks_codebase_idx ON public.dead_code_checks USING btree (codebase, checked_at DESC);

--
-- Name: graph_edges_target_id_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX graph_edges_target_id_idx ON public.graph_edges USING btree (target_id);

--
-- Name: graph_nodes_codebase_path_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX graph_nodes_codebase_path_idx ON public.graph_nodes USING btree (codebase, path);

--
-- Name: hot_cache_entries_key; Type: INDEX; Schema: public; Owner: -
--

CREATE UNIQUE INDEX hot_cache_entries_key ON public.hot_cache_entries USING btree (key);

--
-- Name: knowledge_artifacts_learned_pattern_id_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE UNIQUE INDEX knowledge_artifacts_learned_pattern_id_idx ON public.knowledge_artifacts USING btree (artifact_id) WHERE ((artifact_type = 'learned_pattern'::text) AND (source = 'learned'::text));

--
-- Name: knowledge_artifacts_learned_pattern_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE UNIQUE INDEX knowledge_artifacts_learned_pattern_idx ON public.knowledge_artifacts USING btree (learned_pattern_id) WHERE (learned_pattern_id IS NOT NULL);

--
-- Name: knowledge_artifacts_search_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX knowledge_artifacts_search_idx ON public.knowledge_artifacts USING gin (search);

--
-- Name: learning_outbox_unsent_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX learning_outbox_unsent_idx ON public.learning_outbox USING btree (id) WHERE (sent_at IS NULL);

--
-- Name: registry_snapshots_codebase_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX registry_snapshots_codebase_idx ON public.registry_snapshots USING btree (codebase, id DESC);

--
-- Name: schedulers_live_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX schedulers_live_idx ON public.schedulers USING btree (heartbeat_at DESC NULLS LAST) WHERE (stopped_at IS NULL);

--
-- Name: task_run_performance_key; Type: INDEX; Schema: public; Owner: -
--

CREATE UNIQUE INDEX task_run_performance_key ON public.task_run_performance USING btree (task);

--
-- Name: task_runs_active_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX task_runs_active_idx ON public.task_runs USING btree (state, heartbeat_at) WHERE (state = ANY (ARRAY['executing'::text, 'retryable'::text, 'scheduled'::text]));

--
-- Name: task_runs_dedupe_key_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE UNIQUE INDEX task_runs_dedupe_key_idx ON public.task_runs USING btree (dedupe_key);

--
-- Name: task_runs_entry_tick_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX task_runs_entry_tick_idx ON public.task_runs USING btree (entry, scheduled_for DESC NULLS LAST) WHERE (entry IS NOT NULL);

--
-- Name: task_runs_finished_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX task_runs_finished_idx ON public.task_runs USING btree (finished_at) WHERE (finished_at IS NOT NULL);

--
-- Name: task_runs_inserted_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX task_runs_inserted_idx ON public.task_runs USING btree (inserted_at DESC NULLS LAST);

--
-- Name: task_runs_one_executing_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE UNIQUE INDEX task_runs_one_executing_idx ON public.task_runs USING btree (concurrency_key) WHERE ((state = 'executing'::text) AND (concurrency_key IS NOT NULL));

--
-- Name: task_runs_task_inserted_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX task_runs_task_inserted_idx ON public.task_runs USING btree (task, inserted_at DESC NULLS LAST);

--
-- Name: task_runs_task_started_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX task_runs_task_started_idx ON public.task_runs USING btree (task, inserted_at DESC NULLS LAST) WHERE (state <> 'missed'::text);

--
-- Name: task_runs_task_state_finished_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX task_runs_task_state_finished_idx ON public.task_runs USING btree (task, state, finished_at DESC NULLS LAST);

--
-- Name: task_runs_unsummarized_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX task_runs_unsummarized_idx ON public.task_runs USING btree (id) WHERE ((trigger = 'pg_cron'::text) AND (state = 'completed'::text) AND (summary IS NULL));

--
-- Name: telemetry_events_at_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX telemetry_events_at_idx ON public.telemetry_events USING btree (at);

--
-- Name: task_runs_task_state_stats; Type: STATISTICS; Schema: public; Owner: -
--

CREATE STATISTICS public.task_runs_task_state_stats (mcv) ON task, state FROM public.task_runs;

--
-- Name: central_learnings central_learnings_merge; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER central_learnings_merge AFTER INSERT ON public.central_learnings REFERENCING NEW TABLE AS arrived FOR EACH STATEMENT EXECUTE FUNCTION public.merge_central_learnings();

--
-- Name: learned_patterns learned_patterns_delete_outbox_entries; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER learned_patterns_delete_outbox_entries AFTER DELETE ON public.learned_patterns REFERENCING OLD TABLE AS deleted_patterns FOR EACH STATEMENT EXECUTE FUNCTION public.drop_outbox_entries_of_deleted_patterns();

--
-- Name: learned_patterns learned_patterns_truncate_outbox_entries; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER learned_patterns_truncate_outbox_entries AFTER TRUNCATE ON public.learned_patterns FOR EACH STATEMENT EXECUTE FUNCTION public.drop_outbox_entries_of_deleted_patterns();

--
-- Name: agent_config_versions agent_config_versions_agent_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.agent_config_versions
    ADD CONSTRAINT agent_config_versions_agent_id_fkey FOREIGN KEY (agent_id) REFERENCES public.agents(id) ON DELETE CASCADE;

--
-- Name: agent_suggestions agent_suggestions_agent_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.agent_suggestions
    ADD CONSTRAINT agent_suggestions_agent_id_fkey FOREIGN KEY (agent_id) REFERENCES public.agents(id) ON DELETE CASCADE;

--
-- Name: agent_tasks agent_tasks_assigned_agent_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.agent_tasks
    ADD CONSTRAINT agent_tasks_assigned_agent_id_fkey FOREIGN KEY (assigned_agent_id) REFERENCES public.agents(id);

--
-- Name: alert_deliveries alert_deliveries_incident_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.alert_deliveries
    ADD CONSTRAINT alert_deliveries_incident_id_fkey FOREIGN KEY (incident_id) REFERENCES public.alert_incidents(id) ON DELETE CASCADE;

--
-- Name: code_chunks code_chunks_file_fk; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.code_chunks
    ADD CONSTRAINT code_chunks_file_fk FOREIGN KEY (file_id, codebase) REFERENCES public.code_files(id, codebase) ON DELETE CASCADE;

--
-- Name: code_search_terms code_search_terms_codebase_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.code_search_terms
    ADD CONSTRAINT code_search_terms_codebase_fkey FOREIGN KEY (codebase) REFERENCES public.codebases(id) ON DELETE CASCADE;

--
-- Name: dead_code_candidates dead_code_candidates_check_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.dead_code_candidates
    ADD CONSTRAINT dead_code_candidates_check_id_fkey FOREIGN KEY (check_id) REFERENCES public.dead_code_checks(id) ON DELETE CASCADE;

--
-- Name: dead_code_checks dead_code_checks_codebase_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.dead_code_checks
    ADD CONSTRAINT dead_code_checks_codebase_fkey FOREIGN KEY (codebase) REFERENCES public.codebases(id) ON DELETE CASCADE;

--
-- Name: graph_edges graph_edges_source_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.graph_edges
    ADD CONSTRAINT graph_edges_source_id_fkey FOREIGN KEY (source_id) REFERENCES public.graph_nodes(id) ON DELETE CASCADE;

--
-- Name: graph_edges graph_edges_target_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.graph_edges
    ADD CONSTRAINT graph_edges_target_id_fkey FOREIGN KEY (target_id) REFERENCES public.graph_nodes(id) ON DELETE CASCADE;

--
-- Name: knowledge_artifacts knowledge_artifacts_learned_pattern_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.knowledge_artifacts
    ADD CONSTRAINT knowledge_artifacts_learned_pattern_id_fkey FOREIGN KEY (learned_pattern_id) REFERENCES public.learned_patterns(id) ON DELETE SET NULL;

--
-- Name: registry_snapshot_files registry_snapshot_files_snapshot_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.registry_snapshot_files
    ADD CONSTRAINT registry_snapshot_files_snapshot_id_fkey FOREIGN KEY (snapshot_id) REFERENCES public.registry_snapshots(id) ON DELETE CASCADE;

--
-- Name: registry_snapshots registry_snapshots_codebase_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.registry_snapshots
    ADD CONSTRAINT registry_snapshots_codebase_fkey FOREIGN KEY (codebase) REFERENCES public.codebases(id) ON DELETE CASCADE;

--
-- Name: work_plan_capabilities work_plan_capabilities_epic_id_work_plan_epics_id_fk; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.work_plan_capabilities
    ADD CONSTRAINT work_plan_capabilities_epic_id_work_plan_epics_id_fk FOREIGN KEY (epic_id) REFERENCES public.work_plan_epics(id) ON DELETE CASCADE;

--
-- Name: work_plan_epics work_plan_epics_theme_id_work_plan_themes_id_fk; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.work_plan_epics
    ADD CONSTRAINT work_plan_epics_theme_id_work_plan_themes_id_fk FOREIGN KEY (theme_id) REFERENCES public.work_plan_themes(id) ON DELETE CASCADE;

--
-- Name: work_plan_features work_plan_features_capability_id_work_plan_capabilities_id_fk; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.work_plan_features
    ADD CONSTRAINT work_plan_features_capability_id_work_plan_capabilities_id_fk FOREIGN KEY (capability_id) REFERENCES public.work_plan_capabilities(id) ON DELETE CASCADE;
