CREATE TABLE "task_runs" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"task" text NOT NULL,
	"args" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"trigger" text NOT NULL,
	"state" text NOT NULL,
	"attempt" integer DEFAULT 1 NOT NULL,
	"max_attempts" integer DEFAULT 1 NOT NULL,
	"dedupe_key" text,
	"concurrency_key" text,
	"scheduled_for" timestamp with time zone,
	"run_after" timestamp with time zone,
	"inserted_at" timestamp with time zone DEFAULT now() NOT NULL,
	"started_at" timestamp with time zone,
	"heartbeat_at" timestamp with time zone,
	"finished_at" timestamp with time zone,
	"duration_ms" integer,
	"timeout_ms" integer,
	"host" text,
	"pid" integer,
	"reason" text,
	"result" jsonb,
	"error" jsonb,
	"errors" jsonb DEFAULT '[]'::jsonb NOT NULL,
	"cancel_requested_at" timestamp with time zone,
	"retry_of" bigint,
	CONSTRAINT "task_runs_state_check" CHECK ("task_runs"."state" in ('scheduled','executing','completed','retryable','discarded','cancelled','skipped','missed')),
	CONSTRAINT "task_runs_trigger_check" CHECK ("task_runs"."trigger" in ('cli','ci','scheduler','setup','pg_cron','retry')),
	CONSTRAINT "task_runs_attempt_check" CHECK ("task_runs"."attempt" >= 1 and "task_runs"."max_attempts" >= 1)
);
--> statement-breakpoint
CREATE TABLE "work_plan_capabilities" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"epic_id" bigint NOT NULL,
	"slug" text NOT NULL,
	"name" text NOT NULL,
	"description" text NOT NULL,
	"position" integer NOT NULL,
	"inserted_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "work_plan_capabilities_slug_unique" UNIQUE("slug")
);
--> statement-breakpoint
CREATE TABLE "work_plan_epics" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"theme_id" bigint NOT NULL,
	"slug" text NOT NULL,
	"name" text NOT NULL,
	"description" text NOT NULL,
	"position" integer NOT NULL,
	"inserted_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "work_plan_epics_slug_unique" UNIQUE("slug")
);
--> statement-breakpoint
CREATE TABLE "work_plan_features" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"capability_id" bigint NOT NULL,
	"slug" text NOT NULL,
	"name" text NOT NULL,
	"description" text NOT NULL,
	"status" text DEFAULT 'planned' NOT NULL,
	"position" integer NOT NULL,
	"inserted_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "work_plan_features_slug_unique" UNIQUE("slug"),
	CONSTRAINT "work_plan_features_status_check" CHECK ("work_plan_features"."status" in ('planned','in_progress','done'))
);
--> statement-breakpoint
CREATE TABLE "work_plan_themes" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"slug" text NOT NULL,
	"name" text NOT NULL,
	"description" text NOT NULL,
	"position" integer NOT NULL,
	"inserted_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "work_plan_themes_slug_unique" UNIQUE("slug")
);
--> statement-breakpoint
ALTER TABLE "work_plan_capabilities" ADD CONSTRAINT "work_plan_capabilities_epic_id_work_plan_epics_id_fk" FOREIGN KEY ("epic_id") REFERENCES "public"."work_plan_epics"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "work_plan_epics" ADD CONSTRAINT "work_plan_epics_theme_id_work_plan_themes_id_fk" FOREIGN KEY ("theme_id") REFERENCES "public"."work_plan_themes"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "work_plan_features" ADD CONSTRAINT "work_plan_features_capability_id_work_plan_capabilities_id_fk" FOREIGN KEY ("capability_id") REFERENCES "public"."work_plan_capabilities"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "task_runs_dedupe_key_idx" ON "task_runs" USING btree ("dedupe_key");--> statement-breakpoint
CREATE UNIQUE INDEX "task_runs_one_executing_idx" ON "task_runs" USING btree ("concurrency_key") WHERE "task_runs"."state" = 'executing' and "task_runs"."concurrency_key" is not null;--> statement-breakpoint
CREATE INDEX "task_runs_task_inserted_idx" ON "task_runs" USING btree ("task","inserted_at" DESC NULLS LAST);--> statement-breakpoint
CREATE INDEX "task_runs_inserted_idx" ON "task_runs" USING btree ("inserted_at" DESC NULLS LAST);--> statement-breakpoint
CREATE INDEX "task_runs_active_idx" ON "task_runs" USING btree ("state","heartbeat_at") WHERE "task_runs"."state" in ('executing', 'retryable', 'scheduled');--> statement-breakpoint
CREATE INDEX "task_runs_finished_idx" ON "task_runs" USING btree ("finished_at") WHERE "task_runs"."finished_at" is not null;