-- pg_cron support. Tables and routines here live in migrations only (not in src/core/schema.ts).
--
-- pgcron_jobs: the jobs `singularity pgcron install` put into pg_cron, kept in this database so that
-- run-scheduler knows what pg_cron runs even when pg_cron lives in another database (cron.database_name).
CREATE TABLE pgcron_jobs (
  jobname text PRIMARY KEY,
  task text NOT NULL,
  entry text NOT NULL,
  schedule text NOT NULL,
  command text NOT NULL,
  cron_database text NOT NULL,
  installed_at timestamptz NOT NULL DEFAULT now()
);
--> statement-breakpoint
-- singularity_cron_run(task, entry, statement): how a pg_cron job runs a sql task, so that the run is in
-- the run history like any other: recorded executing (committed, so status sees it while it runs), then
-- completed with the statement's result, or discarded with the error. A run of the task already
-- executing makes this one a recorded skip, as everywhere else. The job itself ends successfully
-- either way: the outcome is in task_runs (cron.job_run_details only says the wrapper ran).
CREATE OR REPLACE PROCEDURE singularity_cron_run(p_task text, p_entry text, p_statement text)
LANGUAGE plpgsql AS $$
DECLARE
  run_id bigint;
  outcome jsonb;
  failure jsonb;
BEGIN
  INSERT INTO task_runs (task, args, trigger, state, attempt, max_attempts, concurrency_key, entry, scheduled_for,
                         started_at, heartbeat_at, host, pid)
  VALUES (p_task, '{}', 'pg_cron', 'executing', 1, 1, p_task, p_entry, date_trunc('minute', now()),
          now(), now(), 'pg_cron', pg_backend_pid())
  ON CONFLICT DO NOTHING
  RETURNING id INTO run_id;
  IF run_id IS NULL THEN
    INSERT INTO task_runs (task, args, trigger, state, max_attempts, entry, scheduled_for, finished_at, duration_ms,
                           host, pid, reason)
    VALUES (p_task, '{}', 'pg_cron', 'skipped', 1, p_entry, date_trunc('minute', now()), now(), 0, 'pg_cron',
            pg_backend_pid(), format('overlap: another run of %s was executing', p_task));
    RETURN;
  END IF;
  COMMIT;
  BEGIN
    -- A query's first row is the result; other statements (ANALYZE, CALL) have none.
    IF p_statement ~* '^\s*(select|with|values)\y' THEN
      EXECUTE format('select to_jsonb(r) from (%s) r limit 1', p_statement) INTO outcome;
    ELSE
      EXECUTE p_statement;
    END IF;
    -- A single column named result is the result itself, as the runner does it.
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
--> statement-breakpoint
-- prune_runs also prunes pg_cron's own history (cron.job_run_details grows without bound otherwise)
-- where pg_cron lives in this database; it returns both counts.
DROP PROCEDURE prune_runs(interval, integer, bigint);
--> statement-breakpoint
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
COMMENT ON PROCEDURE prune_runs(interval, integer, bigint, bigint) IS 'Deletes finished task_runs rows (and cron.job_run_details rows, where pg_cron lives in this database) older than older_than, batch_size rows per committed batch.';
