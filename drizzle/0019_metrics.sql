-- Metrics: the telemetry events tasks emit, and aggregates per period (5 minutes, an hour, a day) of those
-- events and of the run history. aggregate-metrics recomputes whole buckets from the raw rows and replaces
-- them, so running it again over the same time changes no number; the raw rows can then be pruned.
CREATE TABLE telemetry_events (
  id bigserial PRIMARY KEY,
  -- 'run.*' names belong to the run metrics aggregate-metrics makes from task_runs.
  name text NOT NULL CHECK (name <> '' AND name NOT LIKE 'run.%'),
  value double precision NOT NULL,
  at timestamptz NOT NULL DEFAULT now(),
  -- The run that emitted it, if one. No foreign key: prune-runs deletes old runs.
  run_id bigint,
  tags jsonb NOT NULL DEFAULT '{}'
);
--> statement-breakpoint
CREATE INDEX telemetry_events_at_idx ON telemetry_events (at);
--> statement-breakpoint
-- One row per period, bucket, metric and task ('' for events, which belong to no task). Buckets are aligned
-- in UTC. For a run metric the values are the runs' duration_ms (none for skipped and missed runs, which
-- never ran: only their count); for an event, the events' values.
CREATE TABLE metrics (
  period text NOT NULL CHECK (period IN ('5m', '1h', '1d')),
  bucket_start timestamptz NOT NULL,
  name text NOT NULL,
  task text NOT NULL DEFAULT '',
  count bigint NOT NULL,
  sum double precision,
  avg double precision,
  min double precision,
  max double precision,
  p95 double precision,
  computed_at timestamptz NOT NULL,
  PRIMARY KEY (period, bucket_start, name, task)
);
--> statement-breakpoint
-- How far the last aggregation read (one row): the next one recomputes the buckets from there on.
CREATE TABLE metrics_watermark (
  id boolean PRIMARY KEY DEFAULT true CHECK (id),
  watermark timestamptz NOT NULL,
  aggregated_at timestamptz NOT NULL
);
--> statement-breakpoint
-- prune_runs also prunes the telemetry events older than its bound (their metrics stay).
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
$$;
--> statement-breakpoint
COMMENT ON PROCEDURE prune_runs(interval, integer, bigint, bigint) IS 'Deletes finished task_runs rows, alert incidents resolved before older_than (with their messages), telemetry events and cron.job_run_details rows (where pg_cron lives in this database) older than older_than, batch_size rows per committed batch.';
