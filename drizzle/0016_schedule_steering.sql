-- Steering the schedule: pauses an operator sets (honoured by run-scheduler and pg_cron), runs started by
-- `schedule trigger` (trigger 'manual'), the arguments of each pg_cron job (so its runs record them and a
-- retry gets them), and the crontab pg_cron was installed from (the schedule in force when no scheduler runs).
CREATE TABLE schedule_pauses (
  entry text PRIMARY KEY,
  paused_at timestamptz NOT NULL DEFAULT now(),
  -- The pause ends by itself at this time; null: until `schedule resume`.
  until timestamptz,
  reason text,
  paused_by text NOT NULL
);
--> statement-breakpoint
ALTER TABLE task_runs DROP CONSTRAINT task_runs_trigger_check;
--> statement-breakpoint
ALTER TABLE task_runs ADD CONSTRAINT task_runs_trigger_check
  CHECK (trigger in ('cli','ci','scheduler','setup','pg_cron','retry','backfill','manual'));
--> statement-breakpoint
ALTER TABLE pgcron_jobs ADD COLUMN args jsonb NOT NULL DEFAULT '{}';
--> statement-breakpoint
-- A direct-command job (VACUUM, committing procedures) runs outside the recording wrapper: its outcome is
-- read from cron.job_run_details into the run history; true for those jobs.
ALTER TABLE pgcron_jobs ADD COLUMN direct boolean NOT NULL DEFAULT false;
--> statement-breakpoint
-- The zone pg_cron reads the job's schedule in (cron.timezone).
ALTER TABLE pgcron_jobs ADD COLUMN timezone text NOT NULL DEFAULT 'GMT';
--> statement-breakpoint
-- How far cron.job_run_details has been read into the run history, per database pg_cron lives in.
CREATE TABLE pgcron_import (
  cron_database text PRIMARY KEY,
  next_runid bigint NOT NULL
);
--> statement-breakpoint
-- Completed pg_cron runs whose one-line summary the task's own code has not written yet.
CREATE INDEX task_runs_unsummarized_idx ON task_runs (id) WHERE trigger = 'pg_cron' AND state = 'completed' AND summary IS NULL;
--> statement-breakpoint
CREATE TABLE pgcron_install (
  id integer PRIMARY KEY DEFAULT 1 CHECK (id = 1),
  crontab text NOT NULL,
  -- Every entry of that crontab: {id, schedule, task, timezone, args}.
  entries jsonb NOT NULL,
  installed_at timestamptz NOT NULL DEFAULT now()
);
--> statement-breakpoint
-- singularity_cron_run(task, entry, args, statement): as before, now recording the job's arguments.
CREATE OR REPLACE PROCEDURE singularity_cron_run(p_task text, p_entry text, p_args jsonb, p_statement text)
LANGUAGE plpgsql AS $$
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
--> statement-breakpoint
-- Jobs installed before this migration call the three-argument form until `pgcron install` rewrites them.
CREATE OR REPLACE PROCEDURE singularity_cron_run(p_task text, p_entry text, p_statement text)
LANGUAGE plpgsql AS $$
BEGIN
  CALL singularity_cron_run(p_task, p_entry, '{}'::jsonb, p_statement);
END
$$;
