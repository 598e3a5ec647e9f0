-- seed_work_plan() inserts the singularity roadmap (themes, epics, capabilities, features) idempotently and returns per-table inserted/total counts as jsonb.
-- Called by `singularity seed-plan` and by pg_cron; rows that already exist (matched by slug) are left untouched.
CREATE OR REPLACE FUNCTION seed_work_plan() RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
  v_themes_inserted integer;
  v_epics_inserted integer;
  v_capabilities_inserted integer;
  v_features_inserted integer;
  v_themes_total bigint;
  v_epics_total bigint;
  v_capabilities_total bigint;
  v_features_total bigint;
BEGIN
  INSERT INTO work_plan_themes (slug, name, description, position)
  SELECT v.slug, v.name, v.description, v.position
  FROM (VALUES
    ('knowledge-base', 'Knowledge base',
     'Load, validate and sync the JSON and text templates of templates_data/ so every artifact in the database is valid, current and searchable.', 1),
    ('code-intelligence', 'Code intelligence',
     'Turn codebases into syntax-aware chunks, local embeddings and a ranked dependency graph that search answers from.', 2),
    ('database-care', 'Database care',
     'Keep every database backed up, provably restorable and healthy without hand-run maintenance.', 3),
    ('scheduling-and-runs', 'Scheduling and run history',
     'Run every task on schedule in the app or in pg_cron, once per tick, and record every run whoever started it.', 4),
    ('operator-experience', 'Operator experience',
     'Give operators, CI pipelines and monitors clear output, meaningful exit codes and health reports that say how to fix what is wrong.', 5)
  ) AS v(slug, name, description, position)
  ON CONFLICT (slug) DO NOTHING;
  GET DIAGNOSTICS v_themes_inserted = ROW_COUNT;

  INSERT INTO work_plan_epics (theme_id, slug, name, description, position)
  SELECT t.id, v.slug, v.name, v.description, v.position
  FROM (VALUES
    ('knowledge-base', 'template-validation', 'Template validation',
     'Make every template file pass the schema of its artifact type and report the ones that do not without stopping the load.', 1),
    ('knowledge-base', 'template-loading-and-sync', 'Template loading and sync',
     'Load templates_data/ into the database once and keep it in step with the files, or with a central database, by content hash.', 2),
    ('code-intelligence', 'incremental-ingest', 'Incremental ingest',
     'Ingest a codebase through scan, plan and apply so only changed files are re-processed and a killed run resumes.', 1),
    ('code-intelligence', 'local-embeddings', 'Local embeddings',
     'Embed code chunks and knowledge artifacts with a local model of one agreed dimension, and only when their text is new.', 2),
    ('code-intelligence', 'graph-ranking-and-search', 'Graph, ranking and search',
     'Build a graph of files and symbols linked by imports and references, rank it with PageRank and search it together with the chunks.', 3),
    ('database-care', 'verified-backups', 'Verified backups',
     'Back up every configured database with retention per backup type and proof that each backup restores.', 1),
    ('database-care', 'database-maintenance', 'Database maintenance',
     'Keep tables, indexes, planner statistics and caches healthy with scheduled SQL procedures.', 2),
    ('scheduling-and-runs', 'task-registry', 'Task registry',
     'Define each task once so its CLI command, crontab entry, pg_cron job, status row and documentation all derive from it.', 1),
    ('scheduling-and-runs', 'run-history', 'Run history',
     'Record every run as one row of task_runs and let the database, not the process, enforce the rules about runs.', 2),
    ('scheduling-and-runs', 'two-engine-scheduling', 'Two-engine scheduling',
     'Schedule node tasks in run-scheduler and sql tasks in pg_cron where available, so no task runs twice and none is left out.', 3),
    ('operator-experience', 'health-reporting', 'Health reporting',
     'Tell monitors and operators whether the system is healthy and, when it is not, what to do about it.', 1),
    ('operator-experience', 'command-line', 'Command line',
     'Make every command start fast, read well for people, parse cleanly for machines and work with no database server.', 2)
  ) AS v(theme_slug, slug, name, description, position)
  JOIN work_plan_themes t ON t.slug = v.theme_slug
  ON CONFLICT (slug) DO NOTHING;
  GET DIAGNOSTICS v_epics_inserted = ROW_COUNT;

  INSERT INTO work_plan_capabilities (epic_id, slug, name, description, position)
  SELECT e.id, v.slug, v.name, v.description, v.position
  FROM (VALUES
    ('template-validation', 'json-schema-per-artifact-type', 'JSON Schema per artifact type',
     'Infer each artifact''s type from its path under templates_data/ and validate it against that type''s JSON Schema, which only 1 of the 121 shipped templates used to pass.', 1),
    ('template-loading-and-sync', 'knowledge-and-template-load', 'Knowledge and template load',
     'Load JSON artifacts into the knowledge base and JSON and text templates into the templates table in one pass over templates_data/.', 1),
    ('template-loading-and-sync', 'content-hash-sync', 'Content-hash sync',
     'Add, update and delete database templates by comparing their content hashes with the files of templates_data/.', 2),
    ('template-loading-and-sync', 'central-template-source', 'Central template source',
     'Share templates and learnings with a central database through postgres_fdw when the CentralCloud role is configured.', 3),
    ('incremental-ingest', 'scan-and-plan', 'Scan and plan',
     'Walk the tree, hash file contents and diff them against the database into a pure plan of files to add, change and delete.', 1),
    ('incremental-ingest', 'syntax-aware-chunking', 'Syntax-aware chunking',
     'Parse files with tree-sitter in 30+ languages and chunk them along syntax within the embedding model''s token limit.', 2),
    ('incremental-ingest', 'resumable-apply', 'Resumable apply',
     'Apply the plan in batches with recorded progress so an ingest that was killed resumes where it stopped.', 3),
    ('local-embeddings', 'local-embedder', 'Local embedder',
     'Embed with a local ONNX model behind one interface, at one fixed dimension, and only text that has no vector from the current model yet.', 1),
    ('graph-ranking-and-search', 'graph-extraction', 'Graph extraction',
     'Extract definitions, imports and references during ingest as graph nodes and edges, with dependency arrays for fast queries.', 1),
    ('graph-ranking-and-search', 'pagerank-ranking', 'PageRank ranking',
     'Rank graph nodes with PageRank in a SQL procedure and use the graph to find code nothing depends on.', 2),
    ('graph-ranking-and-search', 'hybrid-search', 'Hybrid search',
     'Answer queries over code and knowledge by combining vector similarity, text match and graph rank.', 3),
    ('verified-backups', 'backup-retention', 'Backups with retention',
     'Dump each configured database with pg_dump and keep the last 6 hourly and the last 7 daily backups.', 1),
    ('verified-backups', 'backup-verification', 'Backup verification',
     'Prove each backup complete and restorable before retention deletes an older one.', 2),
    ('database-maintenance', 'vacuum-and-statistics', 'Vacuum and statistics',
     'Run VACUUM ANALYZE nightly and ANALYZE every six hours so dead rows are reclaimed and planner statistics stay current.', 1),
    ('database-maintenance', 'index-and-data-upkeep', 'Index and data upkeep',
     'Rebuild bloated indexes without blocking readers and delete data that no longer belongs to anything.', 2),
    ('database-maintenance', 'cache-upkeep', 'Cache upkeep',
     'Expire, refresh and prewarm the analysis cache on schedule so it stays small and hot.', 3),
    ('task-registry', 'single-task-definition', 'Single task definition',
     'Describe each task in one file of src/tasks/ listed in the registry, the single source for everything derived from it.', 1),
    ('task-registry', 'once-ever-setup', 'Once-ever set-up',
     'Run the set-up tasks once ever, in their order, with singularity setup, and again only with --force.', 2),
    ('run-history', 'database-enforced-run-rules', 'Database-enforced run rules',
     'Use unique indexes so one scheduled tick is one run and a task that must not overlap never has two executing runs.', 1),
    ('run-history', 'stalled-run-recovery', 'Stalled-run recovery',
     'Find runs whose heartbeat stopped, mark them, and retry them where their retry policy allows.', 2),
    ('run-history', 'run-history-management', 'Run history management',
     'Let operators list, inspect, retry and cancel runs, and prune old runs so the history never grows without bound.', 3),
    ('two-engine-scheduling', 'app-scheduler', 'App-side scheduler',
     'Run the entries of a crontab in a long-running process that a process manager keeps alive.', 1),
    ('two-engine-scheduling', 'pg-cron-integration', 'pg_cron integration',
     'Install, uninstall and show the sql tasks as pg_cron jobs and record their executions like any other run.', 2),
    ('health-reporting', 'status-report', 'Status report',
     'Report the last and next run of every task and flag the overdue and failing ones for operators and monitors.', 1),
    ('health-reporting', 'doctor-diagnosis', 'Doctor diagnosis',
     'Check configuration, extensions, pg_cron and the run history in depth and give a fix for each problem found.', 2),
    ('command-line', 'output-and-exit-codes', 'Output and exit codes',
     'Render human output with progress by default and --json on every command, with exit codes 0, 1 and 2 that mean something.', 1),
    ('command-line', 'embedded-database', 'Embedded database',
     'Run everything on an embedded PGlite with pgvector when no DATABASE_URL is set, and migrate safely from several processes.', 2)
  ) AS v(epic_slug, slug, name, description, position)
  JOIN work_plan_epics e ON e.slug = v.epic_slug
  ON CONFLICT (slug) DO NOTHING;
  GET DIAGNOSTICS v_capabilities_inserted = ROW_COUNT;

  INSERT INTO work_plan_features (capability_id, slug, name, description, position)
  SELECT c.id, v.slug, v.name, v.description, v.position
  FROM (VALUES
    ('json-schema-per-artifact-type', 'infer-artifact-type-from-path', 'Infer artifact type from path',
     'Map each file''s directory under templates_data/ to its artifact type and reject files whose path names no known type.', 1),
    ('json-schema-per-artifact-type', 'report-invalid-files-with-json-pointer', 'Report invalid files with JSON pointer',
     'Report each invalid file with its path, the JSON pointer of the failing value and the reason, then skip it and continue the load.', 2),
    ('json-schema-per-artifact-type', 'fix-shipped-templates', 'Fix the shipped templates',
     'Correct the JSON files in templates_data/ until every one validates against the schema of its artifact type.', 3),
    ('knowledge-and-template-load', 'store-raw-text-and-jsonb', 'Store raw text and JSONB',
     'Store every JSON artifact both as its raw text and as JSONB so it can be shown exactly as written and queried by field.', 1),
    ('knowledge-and-template-load', 'load-text-templates', 'Load text templates',
     'Load .hbs, .lua, .md and other text templates into the templates table beside the JSON ones with load-templates.', 2),
    ('content-hash-sync', 'sync-templates-by-hash', 'Sync templates by content hash',
     'Let sync-templates add new files, update changed ones and delete vanished ones while leaving every unchanged hash untouched.', 1),
    ('central-template-source', 'pull-templates-through-postgres-fdw', 'Pull templates through postgres_fdw',
     'Sync templates from the central database through postgres_fdw instead of the local files when a central database is configured.', 1),
    ('central-template-source', 'export-learned-artifacts', 'Export learned artifacts',
     'Promote learned artifacts with 100+ uses and a 95%+ success rate to templates_data/learned/ on a git branch with a commit.', 2),
    ('scan-and-plan', 'respect-gitignore-and-deny-list', 'Respect .gitignore and a deny list',
     'Skip files matched by .gitignore or a default deny list, and skip binary, minified, build-output and oversized files.', 1),
    ('scan-and-plan', 'plan-from-content-hashes', 'Plan from content hashes',
     'Compare each file''s content hash with the stored one so unchanged files are never parsed or embedded again.', 2),
    ('syntax-aware-chunking', 'lazy-tree-sitter-grammars', 'Lazy tree-sitter grammars',
     'Load the tree-sitter grammar of each detected language only when a file in that language is parsed.', 1),
    ('syntax-aware-chunking', 'chunk-within-token-limit', 'Chunk within the token limit',
     'Split code at function and class boundaries so that no chunk exceeds the embedding model''s token limit.', 2),
    ('resumable-apply', 'batched-upserts', 'Batched upserts',
     'Upsert chunks and graph rows in batches and delete the rows of files that vanished in the same run.', 1),
    ('resumable-apply', 'resume-killed-ingest', 'Resume a killed ingest',
     'Record progress per file so a run started after a crash skips the files that were already applied.', 2),
    ('local-embedder', 'local-onnx-embedder', 'Local ONNX embedder',
     'Embed text with a local ONNX model that is loaded only when a command needs embeddings.', 1),
    ('local-embedder', 'one-embedding-dimension', 'One embedding dimension',
     'Record the model and dimension with every vector and refuse to mix dimensions, ending the 768/1536/2560 disagreement.', 2),
    ('local-embedder', 'embed-templates-task', 'Re-embed templates weekly',
     'Let embed-templates recompute the embeddings of templates and knowledge artifacts that are missing or were made by another model.', 3),
    ('graph-extraction', 'extract-definitions-and-references', 'Extract definitions and references',
     'Record the symbols each file defines and the imports and references it makes as graph nodes and edges.', 1),
    ('graph-extraction', 'populate-dependency-arrays', 'Populate dependency arrays',
     'Fill each node''s dependency_node_ids and dependent_node_ids arrays from the edges in the populate-graph procedure.', 2),
    ('pagerank-ranking', 'pagerank-procedure', 'PageRank in SQL',
     'Compute PageRank over the dependency graph in a stored procedure that rank-graph runs nightly and that converges within an iteration limit.', 1),
    ('pagerank-ranking', 'dead-code-check', 'Dead-code check',
     'Flag symbols that nothing references in a daily check-dead-code run and summarise them weekly with report-dead-code.', 2),
    ('hybrid-search', 'search-command', 'Search command',
     'Let singularity search QUERY return ranked chunks and artifacts with path, line range and score, as text or --json.', 1),
    ('hybrid-search', 'search-without-pgvector', 'Search without pgvector',
     'Fall back to full-text search when pgvector is missing and say so in the search result and in doctor.', 2),
    ('hybrid-search', 'setup-rag-smoke-test', 'Retrieval set-up with smoke test',
     'Let setup-rag run knowledge, templates, ingest, embeddings, graph, ranking and vector indexes in order and finish with a real search.', 3),
    ('backup-retention', 'custom-format-dumps', 'Custom-format dumps',
     'Write backups in the custom format of pg_dump with a checksum instead of plain SQL files.', 1),
    ('backup-retention', 'retention-by-backup-record', 'Retention by backup record',
     'Apply retention per backup type from the recorded backups rather than by counting directories.', 2),
    ('backup-verification', 'verify-backup-checksums', 'Verify backups',
     'Check each backup''s checksum and list its contents with pg_restore before it counts towards retention.', 1),
    ('backup-verification', 'archive-backup-records', 'Archive backup records',
     'Move backup records older than the retention window to an archive each month with archive-backups.', 2),
    ('vacuum-and-statistics', 'nightly-vacuum-analyze', 'Nightly VACUUM ANALYZE',
     'Run VACUUM ANALYZE every night with vacuum-analyze and ANALYZE every six hours with analyze-stats.', 1),
    ('vacuum-and-statistics', 'vector-index-statistics', 'Vector index statistics',
     'Refresh the statistics of the vector indexes weekly with vector-stats where pgvector is installed.', 2),
    ('index-and-data-upkeep', 'reindex-bloated-indexes', 'Reindex bloated indexes',
     'Rebuild with REINDEX CONCURRENTLY only the indexes whose estimated bloat passes a threshold.', 1),
    ('index-and-data-upkeep', 'prune-stale-chunks', 'Prune stale chunks',
     'Delete the code chunks of files that no longer exist every week with prune-chunks.', 2),
    ('cache-upkeep', 'delete-expired-cache-entries', 'Delete expired cache entries',
     'Delete expired entries every fifteen minutes with cleanup-cache and clear stale analysis entries nightly with clear-cache.', 1),
    ('cache-upkeep', 'refresh-and-prewarm-hot-entries', 'Refresh and prewarm hot entries',
     'Refresh the hot-entries view every hour with refresh-cache and prewarm the cache from it every six hours with prewarm-cache.', 2),
    ('single-task-definition', 'task-definition-with-argument-schema', 'Task definition with argument schema',
     'Give each task its name, summary, engine, default schedule, argument schema, timeout and retry policy in one definition.', 1),
    ('single-task-definition', 'derived-cli-and-crontab', 'Derived CLI flags and crontab syntax',
     'Derive subcommands, flags, crontab entries and the documentation table from the registry so no task name or schedule is repeated by hand.', 2),
    ('once-ever-setup', 'ordered-setup-flow', 'Ordered set-up flow',
     'Run migrate-knowledge, load-templates, seed-plan, ingest, populate-graph and setup-rag in order and skip steps already done once.', 1),
    ('once-ever-setup', 'seed-work-plan', 'Seed the work plan',
     'Seed themes, epics, capabilities and features with ON CONFLICT DO NOTHING so seed-plan can run any number of times.', 2),
    ('database-enforced-run-rules', 'one-run-per-tick', 'One run per tick',
     'Key each scheduled tick with a unique dedupe key so schedulers racing on several hosts create exactly one run.', 1),
    ('database-enforced-run-rules', 'no-overlapping-runs', 'No overlapping runs',
     'Mark a run skipped with reason overlap when its concurrency key already has an executing run.', 2),
    ('stalled-run-recovery', 'heartbeat-reaper', 'Heartbeat reaper',
     'Mark executing runs whose heartbeat is older than their timeout as failed, with host and pid kept in the error.', 1),
    ('stalled-run-recovery', 'retry-with-backoff', 'Retry with backoff',
     'Reschedule failed runs as retryable with backoff until their maximum attempts, then discard them with every error kept.', 2),
    ('run-history-management', 'runs-command', 'Runs command',
     'Let singularity runs list, show, retry and cancel runs, filtered by task, state and trigger.', 1),
    ('run-history-management', 'prune-old-runs', 'Prune old runs',
     'Delete finished runs older than the retention window every week with prune-runs.', 2),
    ('app-scheduler', 'crontab-driven-scheduler', 'Crontab-driven scheduler',
     'Let run-scheduler read a crontab file, run the entries that are due and record each run with trigger scheduler.', 1),
    ('app-scheduler', 'missed-tick-detection', 'Missed-tick detection',
     'Record each tick that passed while no scheduler was running as a missed run.', 2),
    ('app-scheduler', 'crontab-check-and-preview', 'Crontab check and preview',
     'Let singularity crontab print the default crontab, check a file with the line number in every error and show the next runs.', 3),
    ('pg-cron-integration', 'pgcron-install', 'Install sql tasks into pg_cron',
     'Create one pg_cron job per sql task with pgcron install and have run-scheduler skip those tasks with reason placed in pg_cron.', 1),
    ('pg-cron-integration', 'record-pg-cron-runs', 'Record pg_cron runs',
     'Wrap each pg_cron job so that its executions appear in the run history with trigger pg_cron.', 2),
    ('status-report', 'last-and-next-run-per-task', 'Last and next run per task',
     'Show the last run, its state and duration, and the next scheduled run of every task with the engine that runs it.', 1),
    ('status-report', 'unhealthy-exit-code', 'Unhealthy exit code',
     'Exit 1 from status when any task is overdue or failing so a monitor can alert on the exit code alone.', 2),
    ('doctor-diagnosis', 'report-missing-extensions', 'Report missing extensions',
     'Say what each missing extension among pg_cron, pgvector and postgres_fdw costs and how to install it.', 1),
    ('doctor-diagnosis', 'show-pg-cron-job-details', 'Show pg_cron job details',
     'Show cron.job and cron.job_run_details beside the run history so both engines are seen side by side.', 2),
    ('output-and-exit-codes', 'json-on-every-command', 'JSON on every command',
     'Accept --json on every command and print one JSON document on stdout that CI pipelines and monitors can parse.', 1),
    ('output-and-exit-codes', 'redact-secrets', 'Redact secrets',
     'Strip passwords from connection strings in all output, logs and error messages.', 2),
    ('embedded-database', 'pglite-by-default', 'PGlite by default',
     'Use an embedded PGlite with pgvector in the project data directory when no DATABASE_URL or config file names a server.', 1),
    ('embedded-database', 'concurrent-processes-and-migrations', 'Concurrent processes and migrations',
     'Let a scheduler and a status call share the embedded database and serialise migrations so processes starting together migrate once.', 2)
  ) AS v(capability_slug, slug, name, description, position)
  JOIN work_plan_capabilities c ON c.slug = v.capability_slug
  ON CONFLICT (slug) DO NOTHING;
  GET DIAGNOSTICS v_features_inserted = ROW_COUNT;

  SELECT count(*) INTO v_themes_total FROM work_plan_themes;
  SELECT count(*) INTO v_epics_total FROM work_plan_epics;
  SELECT count(*) INTO v_capabilities_total FROM work_plan_capabilities;
  SELECT count(*) INTO v_features_total FROM work_plan_features;

  RETURN jsonb_build_object(
    'themes', jsonb_build_object('inserted', v_themes_inserted, 'total', v_themes_total),
    'epics', jsonb_build_object('inserted', v_epics_inserted, 'total', v_epics_total),
    'capabilities', jsonb_build_object('inserted', v_capabilities_inserted, 'total', v_capabilities_total),
    'features', jsonb_build_object('inserted', v_features_inserted, 'total', v_features_total)
  );
END;
$$;
--> statement-breakpoint
COMMENT ON FUNCTION seed_work_plan() IS 'Idempotently seeds the singularity roadmap into the work_plan tables and returns, per table, the rows this call inserted and the rows present afterwards.';
