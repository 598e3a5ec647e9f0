-- Alerts: an incident per task and kind (failing, overdue) from when it starts until it ends, and an outbox
-- of the webhook messages its events send. The database decides who opens, resolves and delivers, so that
-- any number of schedulers ticking at once send each message once.
CREATE TABLE alert_incidents (
  id bigserial PRIMARY KEY,
  task text NOT NULL,
  kind text NOT NULL CHECK (kind IN ('failing', 'overdue')),
  opened_at timestamptz NOT NULL,
  -- The failed run that opened it (none for overdue). No foreign key: prune-runs deletes old runs.
  opened_by_run bigint,
  detail text NOT NULL,
  resolved_at timestamptz,
  resolved_by_run bigint,
  resolved_detail text
);
--> statement-breakpoint
-- At most one open incident per task and kind: a second scheduler's insert of the same one does nothing.
CREATE UNIQUE INDEX alert_incidents_open_idx ON alert_incidents (task, kind) WHERE resolved_at IS NULL;
--> statement-breakpoint
CREATE TABLE alert_deliveries (
  id bigserial PRIMARY KEY,
  incident_id bigint NOT NULL REFERENCES alert_incidents (id) ON DELETE CASCADE,
  event text NOT NULL CHECK (event IN ('opened', 'resolved')),
  -- The webhook's name in notify.webhooks, never its URL (which may carry a token).
  webhook text NOT NULL,
  payload jsonb NOT NULL,
  state text NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'delivered', 'failed')),
  attempts integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
  created_at timestamptz NOT NULL,
  -- When a pending delivery is next tried; while an attempt is under way, when its lease runs out.
  next_attempt_at timestamptz NOT NULL,
  last_attempt_at timestamptz,
  -- The latest failed attempt's error, kept once a later attempt delivers it.
  last_error text,
  last_error_at timestamptz,
  delivered_at timestamptz,
  UNIQUE (incident_id, event, webhook)
);
--> statement-breakpoint
CREATE INDEX alert_deliveries_due_idx ON alert_deliveries (next_attempt_at) WHERE state = 'pending';
--> statement-breakpoint
CREATE INDEX alert_deliveries_created_idx ON alert_deliveries (created_at);
--> statement-breakpoint
-- prune_runs also prunes the alert history: incidents resolved before its bound, and their messages.
CREATE OR REPLACE PROCEDURE prune_runs(older_than interval DEFAULT '30 days', batch_size integer DEFAULT 1000,
                                       INOUT deleted bigint DEFAULT 0, INOUT deleted_cron_details bigint DEFAULT 0)
LANGUAGE plpgsql AS $$
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
$$;
--> statement-breakpoint
COMMENT ON PROCEDURE prune_runs(interval, integer, bigint, bigint) IS 'Deletes finished task_runs rows, alert incidents resolved before older_than (with their messages) and cron.job_run_details rows (where pg_cron lives in this database) older than older_than, batch_size rows per committed batch.';
