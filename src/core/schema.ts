// The database schema. drizzle-kit generates the migrations in drizzle/ from this file;
// SQL it cannot express (functions, procedures, extensions) is appended to those migrations by hand.
import { sql } from 'drizzle-orm';
import {
  bigserial,
  bigint,
  check,
  index,
  integer,
  jsonb,
  pgTable,
  text,
  timestamp,
  uniqueIndex,
} from 'drizzle-orm/pg-core';

export { RUN_STATES, RUN_TRIGGERS, type RunState, type RunTrigger } from './run-states.js';

const ts = (name: string) => timestamp(name, { withTimezone: true, mode: 'string' });

/** The run history: one row per execution of a task, whoever started it. */
export const taskRuns = pgTable(
  'task_runs',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    task: text('task').notNull(),
    args: jsonb('args').notNull().default({}),
    trigger: text('trigger').notNull(),
    state: text('state').notNull(),
    attempt: integer('attempt').notNull().default(1),
    maxAttempts: integer('max_attempts').notNull().default(1),
    // One scheduled tick (or one once-ever step) is one run: the unique index below decides races.
    dedupeKey: text('dedupe_key'),
    // Runs sharing a concurrency key never execute at the same time; NULL means overlap is allowed.
    concurrencyKey: text('concurrency_key'),
    scheduledFor: ts('scheduled_for'),
    runAfter: ts('run_after'),
    insertedAt: ts('inserted_at').notNull().defaultNow(),
    startedAt: ts('started_at'),
    heartbeatAt: ts('heartbeat_at'),
    finishedAt: ts('finished_at'),
    durationMs: integer('duration_ms'),
    timeoutMs: integer('timeout_ms'),
    host: text('host'),
    pid: integer('pid'),
    reason: text('reason'),
    result: jsonb('result'),
    /** One human line about the result, from the task's summarize(). */
    summary: text('summary'),
    error: jsonb('error'),
    errors: jsonb('errors').notNull().default([]),
    cancelRequestedAt: ts('cancel_requested_at'),
    retryOf: bigint('retry_of', { mode: 'number' }),
    /** The run that started this one as a step of its own (setup-rag's steps); null for the rest. */
    parentRunId: bigint('parent_run_id', { mode: 'number' }),
    /** The crontab entry whose tick this run is (null for runs started by hand). */
    entry: text('entry'),
  },
  (t) => [
    check('task_runs_state_check', sql`${t.state} in ('scheduled','executing','completed','retryable','discarded','cancelled','skipped','missed')`),
    check('task_runs_trigger_check', sql`${t.trigger} in ('cli','ci','scheduler','setup','pg_cron','retry','backfill')`),
    check('task_runs_attempt_check', sql`${t.attempt} >= 1 and ${t.maxAttempts} >= 1`),
    uniqueIndex('task_runs_dedupe_key_idx').on(t.dedupeKey),
    uniqueIndex('task_runs_one_executing_idx')
      .on(t.concurrencyKey)
      .where(sql`${t.state} = 'executing' and ${t.concurrencyKey} is not null`),
    index('task_runs_task_inserted_idx').on(t.task, t.insertedAt.desc()),
    index('task_runs_inserted_idx').on(t.insertedAt.desc()),
    index('task_runs_active_idx').on(t.state, t.heartbeatAt).where(sql`${t.state} in ('executing', 'retryable', 'scheduled')`),
    index('task_runs_finished_idx').on(t.finishedAt).where(sql`${t.finishedAt} is not null`),
    // `status`: each task's latest success and latest failure, without reading its history.
    index('task_runs_task_state_finished_idx').on(t.task, t.state, t.finishedAt.desc()),
    // `status`: each task's latest start (a missed tick is no start); partial, so that a task whose
    // recent rows are all missed is not looked for through the whole history.
    index('task_runs_task_started_idx').on(t.task, t.insertedAt.desc()).where(sql`${t.state} <> 'missed'`),
    // The scheduler finds each entry's latest tick through this (missed ticks after a restart).
    index('task_runs_entry_tick_idx').on(t.entry, t.scheduledFor.desc()).where(sql`${t.entry} is not null`),
  ],
);

/** Every run-scheduler process that ever started: liveness through its heartbeat, and what it serves. */
export const schedulers = pgTable(
  'schedulers',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    host: text('host').notNull(),
    pid: integer('pid').notNull(),
    version: text('version').notNull(),
    crontab: text('crontab'),
    /** The entries it runs: [{ id, schedule, task, timezone }]. */
    entries: jsonb('entries').notNull().default([]),
    /** Entries it leaves to pg_cron, by task name. */
    placedInPgCron: jsonb('placed_in_pg_cron').notNull().default([]),
    startedAt: ts('started_at').notNull().defaultNow(),
    heartbeatAt: ts('heartbeat_at').notNull().defaultNow(),
    stoppedAt: ts('stopped_at'),
    stopReason: text('stop_reason'),
  },
  (t) => [index('schedulers_live_idx').on(t.heartbeatAt.desc()).where(sql`${t.stoppedAt} is null`)],
);

/** The work plan that `seed-plan` seeds: themes > epics > capabilities > features. */
export const workPlanThemes = pgTable('work_plan_themes', {
  id: bigserial('id', { mode: 'number' }).primaryKey(),
  slug: text('slug').notNull().unique(),
  name: text('name').notNull(),
  description: text('description').notNull(),
  position: integer('position').notNull(),
  insertedAt: ts('inserted_at').notNull().defaultNow(),
});

export const workPlanEpics = pgTable('work_plan_epics', {
  id: bigserial('id', { mode: 'number' }).primaryKey(),
  themeId: bigint('theme_id', { mode: 'number' })
    .notNull()
    .references(() => workPlanThemes.id, { onDelete: 'cascade' }),
  slug: text('slug').notNull().unique(),
  name: text('name').notNull(),
  description: text('description').notNull(),
  position: integer('position').notNull(),
  insertedAt: ts('inserted_at').notNull().defaultNow(),
});

export const workPlanCapabilities = pgTable('work_plan_capabilities', {
  id: bigserial('id', { mode: 'number' }).primaryKey(),
  epicId: bigint('epic_id', { mode: 'number' })
    .notNull()
    .references(() => workPlanEpics.id, { onDelete: 'cascade' }),
  slug: text('slug').notNull().unique(),
  name: text('name').notNull(),
  description: text('description').notNull(),
  position: integer('position').notNull(),
  insertedAt: ts('inserted_at').notNull().defaultNow(),
});

export const workPlanFeatures = pgTable(
  'work_plan_features',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    capabilityId: bigint('capability_id', { mode: 'number' })
      .notNull()
      .references(() => workPlanCapabilities.id, { onDelete: 'cascade' }),
    slug: text('slug').notNull().unique(),
    name: text('name').notNull(),
    description: text('description').notNull(),
    status: text('status').notNull().default('planned'),
    position: integer('position').notNull(),
    insertedAt: ts('inserted_at').notNull().defaultNow(),
  },
  (t) => [check('work_plan_features_status_check', sql`${t.status} in ('planned','in_progress','done')`)],
);
