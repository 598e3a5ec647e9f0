// The run history's vocabulary, apart from the drizzle schema so that hot paths need not load drizzle.

export const RUN_STATES = [
  'scheduled',
  'executing',
  'completed',
  'retryable',
  'discarded',
  'cancelled',
  'skipped',
  'missed',
] as const;
export type RunState = (typeof RUN_STATES)[number];

export const RUN_TRIGGERS = ['cli', 'ci', 'scheduler', 'setup', 'pg_cron', 'retry', 'backfill', 'manual'] as const;
export type RunTrigger = (typeof RUN_TRIGGERS)[number];
