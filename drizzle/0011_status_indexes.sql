CREATE INDEX "task_runs_task_state_finished_idx" ON "task_runs" USING btree ("task","state","finished_at" DESC NULLS LAST);--> statement-breakpoint
CREATE INDEX "task_runs_task_started_idx" ON "task_runs" USING btree ("task","inserted_at" DESC NULLS LAST) WHERE "task_runs"."state" <> 'missed';--> statement-breakpoint
-- Which states each task's rows are in (a task whose recent runs are all missed, say): without this the
-- planner assumes task and state independent and may look for such a task's latest run through the
-- whole history.
CREATE STATISTICS task_runs_task_state_stats (mcv) ON task, state FROM task_runs;
