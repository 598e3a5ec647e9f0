-- The agent loop (issue 16): analyze-feedback turns agent_tasks into improvement suggestions
-- (agent_suggestions, by the rules of agent_suggestion_rules); evolve-agents applies the accepted ones as
-- new versions of the agent's configuration (agent_config_versions), and rolls a version back.
-- An agent's configuration, as versioned and as suggestions address it, is one JSON document: agents.config
-- with "capacity" and "skills" set from their columns (which assign_tasks reads). See docs/agents.md.

-- Cost of a task in the units its agent reports (dollars, tokens); NULL: not reported.
ALTER TABLE agent_tasks ADD COLUMN cost numeric CHECK (cost >= 0);
--> statement-breakpoint
ALTER TABLE agents
  ADD COLUMN config jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(config) = 'object'),
  ADD COLUMN config_version integer NOT NULL DEFAULT 1 CHECK (config_version >= 1);
--> statement-breakpoint
-- Every version of an agent's configuration document. Version 1 (what the agent had before its first
-- change) is recorded when the first change is made.
CREATE TABLE agent_config_versions (
  agent_id bigint NOT NULL REFERENCES agents (id) ON DELETE CASCADE,
  version integer NOT NULL,
  config jsonb NOT NULL,
  reason text NOT NULL,
  suggestion_id bigint,
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (agent_id, version)
);
--> statement-breakpoint
-- The rules of analyze_feedback, one row each; operators tune them with UPDATE (enabled, thresholds).
-- scope: what the metrics are grouped by. The meaning of threshold and bound per rule is in description.
CREATE TABLE agent_suggestion_rules (
  kind text PRIMARY KEY,
  scope text NOT NULL CHECK (scope IN ('agent', 'agent and task kind', 'agent and skill')),
  enabled boolean NOT NULL DEFAULT true,
  min_tasks integer NOT NULL CHECK (min_tasks >= 1),
  threshold numeric NOT NULL,
  bound numeric,
  description text NOT NULL
);
--> statement-breakpoint
INSERT INTO agent_suggestion_rules (kind, scope, min_tasks, threshold, bound, description) VALUES
  ('add_retry', 'agent and task kind', 10, 0.9, 3,
   'success rate below threshold (with at least one success): /kinds/<kind>/max_retries + 1, up to bound'),
  ('lower_capacity', 'agent', 20, 0.5, 1,
   'success rate over all kinds below threshold: /capacity - 1, down to bound'),
  ('set_timeout', 'agent and task kind', 10, 3, NULL,
   'p95 duration above threshold x the median of the other agents (at least min_tasks of theirs): '
   '/kinds/<kind>/timeout_ms = threshold x that median, in whole seconds, unless already lower'),
  ('remove_skill', 'agent and skill', 5, 0,
   NULL, 'success rate at most threshold on the tasks of a skill the agent has: remove it from /skills');
--> statement-breakpoint
-- change: {"path": a JSON pointer into the configuration document, "from": its value when proposed (null:
-- absent), "to": the value to set (null: remove)}. evidence: the numbers, window and sample behind it.
-- Open (proposed, accepted) suggestions are unique per agent, kind and path: re-runs record nothing twice.
CREATE TABLE agent_suggestions (
  id bigserial PRIMARY KEY,
  agent_id bigint NOT NULL REFERENCES agents (id) ON DELETE CASCADE,
  kind text NOT NULL,
  change jsonb NOT NULL CHECK (change ? 'path' AND change ? 'from' AND change ? 'to'),
  evidence jsonb NOT NULL,
  status text NOT NULL DEFAULT 'proposed' CHECK (status IN ('proposed', 'accepted', 'rejected', 'applied', 'superseded')),
  reason text,
  created_at timestamptz NOT NULL DEFAULT now(),
  decided_at timestamptz,
  applied_at timestamptz,
  applied_version integer
);
--> statement-breakpoint
CREATE UNIQUE INDEX agent_suggestions_open_key ON agent_suggestions (agent_id, kind, (change ->> 'path'))
  WHERE status IN ('proposed', 'accepted');
--> statement-breakpoint
-- The configuration document of an agent: config, with capacity and skills from their columns.
CREATE OR REPLACE FUNCTION agent_config_document(a agents) RETURNS jsonb LANGUAGE sql STABLE AS $$
  SELECT a.config || jsonb_build_object('capacity', a.capacity, 'skills', to_jsonb(a.skills))
$$;
--> statement-breakpoint
-- A JSON pointer ('/kinds/review/max_retries') as a path of keys for #> and jsonb_set.
CREATE OR REPLACE FUNCTION agent_config_path(p_pointer text) RETURNS text[] LANGUAGE sql IMMUTABLE AS $$
  SELECT array(SELECT replace(replace(k, '~1', '/'), '~0', '~')
               FROM unnest(string_to_array(substr(p_pointer, 2), '/')) WITH ORDINALITY AS u(k, i) ORDER BY i)
$$;
--> statement-breakpoint
-- A key of a task kind, escaped for a JSON pointer.
CREATE OR REPLACE FUNCTION agent_config_key(p_key text) RETURNS text LANGUAGE sql IMMUTABLE AS $$
  SELECT replace(replace(p_key, '~', '~0'), '/', '~1')
$$;
--> statement-breakpoint
-- p_doc with the value at p_path set to p_value (missing objects on the way are created); JSON null removes it.
CREATE OR REPLACE FUNCTION agent_config_set(p_doc jsonb, p_path text[], p_value jsonb) RETURNS jsonb LANGUAGE plpgsql IMMUTABLE AS $$
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
--> statement-breakpoint
-- set_agent_config(agent, document, reason, suggestion): make p_doc the agent's configuration as its next
-- version; returns that version. The version it replaces is recorded first if it never was (version 1).
CREATE OR REPLACE FUNCTION set_agent_config(p_agent bigint, p_doc jsonb, p_reason text, p_suggestion bigint DEFAULT NULL)
RETURNS integer LANGUAGE plpgsql AS $$
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
--> statement-breakpoint
-- analyze_feedback(p_window): per agent and task kind, the tasks finished within p_window and under the
-- agent's current configuration version (so a change is judged by what came after it): success rate, mean and
-- p95 duration, cost. Each enabled rule of agent_suggestion_rules that holds proposes a suggestion, unless
-- one is open for the same agent, kind and path, or the same change was rejected since the agent's
-- configuration last changed; a proposed suggestion whose rule no longer holds, or whose
-- "from" is no longer the agent's value, is superseded. Returns {"window", "metrics", "proposed",
-- "superseded", "open"} (open: every proposed and accepted suggestion, with its "why").
CREATE OR REPLACE FUNCTION analyze_feedback(p_window interval DEFAULT '7 days') RETURNS jsonb LANGUAGE plpgsql AS $$
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
--> statement-breakpoint
-- evolve_agents_check(...): refuse what evolve_agents cannot do, with SQLSTATE 22023 (invalid_parameter_value),
-- which the command line reports as a usage error (exit 2) before a run is recorded.
CREATE OR REPLACE FUNCTION evolve_agents_check(p_accept bigint[], p_reject bigint[], p_auto_accept text[], p_rollback text)
RETURNS void LANGUAGE plpgsql STABLE AS $$
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
--> statement-breakpoint
-- evolve_agents(accept, reject, auto_accept, rollback): with p_rollback, make the named agent's previous
-- version its configuration again, as a new version. Otherwise reject and accept the given suggestions,
-- accept the proposed ones of the p_auto_accept kinds, then apply every accepted suggestion, oldest first,
-- each as a new version of its agent's configuration; one whose "from" is no longer the agent's value is
-- superseded instead. Returns {"accepted", "rejected", "applied", "superseded", "rolled_back"}.
CREATE OR REPLACE FUNCTION evolve_agents(p_accept bigint[] DEFAULT '{}', p_reject bigint[] DEFAULT '{}',
                                         p_auto_accept text[] DEFAULT '{}', p_rollback text DEFAULT NULL)
RETURNS jsonb LANGUAGE plpgsql AS $$
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
