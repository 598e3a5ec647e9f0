CREATE TABLE "schedulers" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"host" text NOT NULL,
	"pid" integer NOT NULL,
	"version" text NOT NULL,
	"crontab" text,
	"entries" jsonb DEFAULT '[]'::jsonb NOT NULL,
	"placed_in_pg_cron" jsonb DEFAULT '[]'::jsonb NOT NULL,
	"started_at" timestamp with time zone DEFAULT now() NOT NULL,
	"heartbeat_at" timestamp with time zone DEFAULT now() NOT NULL,
	"stopped_at" timestamp with time zone,
	"stop_reason" text
);
--> statement-breakpoint
ALTER TABLE "task_runs" DROP CONSTRAINT "task_runs_trigger_check";--> statement-breakpoint
ALTER TABLE "task_runs" ADD COLUMN "entry" text;--> statement-breakpoint
CREATE INDEX "schedulers_live_idx" ON "schedulers" USING btree ("heartbeat_at" DESC NULLS LAST) WHERE "schedulers"."stopped_at" is null;--> statement-breakpoint
CREATE INDEX "task_runs_entry_tick_idx" ON "task_runs" USING btree ("entry","scheduled_for" DESC NULLS LAST) WHERE "task_runs"."entry" is not null;--> statement-breakpoint
ALTER TABLE "task_runs" ADD CONSTRAINT "task_runs_trigger_check" CHECK ("task_runs"."trigger" in ('cli','ci','scheduler','setup','pg_cron','retry','backfill'));--> statement-breakpoint
-- prune_runs keeps completed set-up runs from now on (see the comment inside).
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
END
$$;
