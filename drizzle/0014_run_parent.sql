-- A run that another run started as one of its steps (setup-rag runs migrate-knowledge, ingest, ...)
-- names that run, so that the history shows whose step it was.
ALTER TABLE "task_runs" ADD COLUMN "parent_run_id" bigint;
