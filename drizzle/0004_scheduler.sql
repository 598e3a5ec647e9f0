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
ALTER TABLE "task_runs" ADD CONSTRAINT "task_runs_trigger_check" CHECK ("task_runs"."trigger" in ('cli','ci','scheduler','setup','pg_cron','retry','backfill'));
