-- prune_runs(older_than, batch_size, deleted): delete finished runs of the run history older than a bound,
-- in batches that commit one by one, so pruning a large history never holds locks for long.
-- Called by `singularity prune-runs` and by pg_cron; never touches executing, scheduled or retryable runs.
CREATE OR REPLACE PROCEDURE prune_runs(older_than interval DEFAULT '30 days', batch_size integer DEFAULT 1000, INOUT deleted bigint DEFAULT 0)
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
      ORDER BY finished_at
      LIMIT batch_size
      FOR UPDATE SKIP LOCKED
    );
    GET DIAGNOSTICS n = ROW_COUNT;
    deleted := deleted + n;
    EXIT WHEN n < batch_size;
    COMMIT;
  END LOOP;
END
$$;
--> statement-breakpoint
COMMENT ON PROCEDURE prune_runs(interval, integer, bigint) IS 'Deletes finished task_runs rows older than older_than, batch_size rows per committed batch; returns the count in deleted.';
