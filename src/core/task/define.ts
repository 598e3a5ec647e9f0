// A task is defined once, here in shape and in src/tasks/<name>.ts in substance. The CLI subcommand,
// its flags and help, the crontab entry and the status row are all derived from the definition.
import type { z } from 'zod';
import type { Config, Role } from '../config.js';
import type { Database } from '../database.js';
import type { RunTrigger } from '../run-states.js';

export type Engine = 'node' | 'sql';

export type { Role } from '../config.js';

/** One default crontab entry of a task: when, and the flags it runs with (as typed on the command line). */
export interface DefaultSchedule {
  cron: string;
  flags: string;
}

/** A task's default schedule as a list of entries (empty: it runs on demand only). */
export function defaultSchedules(schedule: string | readonly DefaultSchedule[] | undefined): DefaultSchedule[] {
  if (schedule === undefined) return [];
  return typeof schedule === 'string' ? [{ cron: schedule, flags: '' }] : [...schedule];
}

/** '0 * * * * (--type hourly), 0 1 * * * (--type daily)': a default schedule for people. */
export function describeSchedules(schedules: readonly DefaultSchedule[]): string {
  return schedules.map((s) => (s.flags ? `${s.cron} (${s.flags})` : s.cron)).join(', ');
}

export interface RetryPolicy {
  /** Total attempts, the first included (1 = never retry). */
  maxAttempts: number;
  /** Delay before the second attempt; doubles per attempt, with jitter. */
  backoffMs: number;
  maxBackoffMs: number;
}

export interface TaskContext<Args> {
  args: Args;
  db: Database;
  config: Config;
  /** Fires on timeout or cancellation; long work should check it and stop. */
  signal: AbortSignal;
  runId: number;
  attempt: number;
  /** What started the run; runs a task starts of its own (setup-rag's steps) take it over. */
  trigger: RunTrigger;
  /** Report what the task is doing now, and how much of it is done when it knows (a bar on a terminal). */
  progress: Progress;
  /** A flow task's steps, run before its own work (every one completed or skipped). */
  steps?: StepsOutcome;
}

/** What a task is doing now; `share`, from 0 to 1, says how much of it is done. */
export type Progress = (message: string, share?: number) => void;

/** A step of a flow task: a task by name, with its flags' values (defaults for the rest). */
export interface StepSpec {
  task: string;
  args?: Record<string, unknown>;
}

/** A step a flow has done: the step (task and arguments, see core/flow.ts stepKey) and the run that did it. */
export interface FlowDone {
  key: string;
  runId: number;
}

/** What a flow task's steps came to, for its own work after them. */
export interface StepsOutcome {
  steps: Array<{ order: number; task: string; state: 'completed' | 'skipped'; runId?: number; reason?: string }>;
}

interface TaskBase<Schema extends z.ZodObject> {
  name: string;
  /** One line, shown in --help and in the task table. */
  summary: string;
  /** Longer help text, shown by `singularity <task> --help`. */
  description?: string;
  /**
   * Default cron schedule (five fields) for `singularity crontab`; omit for tasks that only run on demand.
   * A list gives several default entries, each with its own flags (backup: hourly and daily).
   */
  schedule?: string | readonly DefaultSchedule[];
  /** An argument also given as the command's one positional argument (`ingest ./repo` for --path). */
  positional?: string;
  /** The roles the task runs in (default: both). A task started in another role is refused with exit 2. */
  roles?: readonly Role[];
  /** Position in `singularity setup` for once-ever set-up steps. */
  setupOrder?: number;
  args: Schema;
  timeoutMs: number;
  retry: RetryPolicy;
  /** 'skip': a start while another run with the same concurrency key executes is recorded as skipped. */
  overlap: 'skip' | 'allow';
  /** Runs with equal keys never overlap (default: the task name). */
  concurrencyKey?: (args: z.output<Schema>) => string;
  /** One human line about a finished run's result. */
  summarize?: (result: any) => string;
  /**
   * A completed run's result as a document (a report) for standard output: `singularity <task>` prints it
   * there and the run's line on standard error, so that `> report.md` keeps the document alone.
   */
  report?: (result: any, args: z.output<Schema>) => string;
  /**
   * Checks of the arguments against the machine (a folder that must exist), made when a person or CI starts
   * the task (trigger cli or ci), before a run is recorded (the database is open: a codebase id can be looked
   * up): a typo is a usage error (exit 2) and leaves no
   * failed run for status to page about. The run checks again when it starts, so a run a scheduler or
   * pg_cron starts with a bad path is recorded failing.
   */
  check?(ctx: { args: z.output<Schema>; config: Config; db: Database }): void | Promise<void>;
}

export interface NodeTask<Schema extends z.ZodObject = z.ZodObject> extends TaskBase<Schema> {
  engine: 'node';
  /**
   * A flow task: these steps run first, in order, each a run that names this run as its parent. A step
   * that the enclosing flow (`singularity setup`) already did is not run again; the first that fails
   * fails this run. Tasks are found by name in the task set, so a step may be
   * a task of a task module.
   */
  steps?(ctx: { args: z.output<Schema>; config: Config }): Promise<readonly StepSpec[]> | readonly StepSpec[];
  run(ctx: TaskContext<z.output<Schema>>): Promise<unknown>;
}

export interface SqlTask<Schema extends z.ZodObject = z.ZodObject> extends TaskBase<Schema> {
  engine: 'sql';
  /** The statement, with arguments already rendered as SQL literals (pg_cron runs it as plain text). */
  sql(args: z.output<Schema>): string;
  /** false for statements PostgreSQL refuses inside a transaction block (VACUUM, REINDEX CONCURRENTLY, CALL with COMMIT). */
  transaction: boolean;
  /**
   * The statement chooses the work: it returns one row per statement to run next (column `statement`),
   * and each then runs on its own, outside any transaction (REINDEX CONCURRENTLY is refused inside
   * functions and transactions). pg_cron cannot run such a task, whose statements are chosen at run
   * time; run-scheduler does.
   */
  expands?: boolean;
  /**
   * Work the statement cannot do in some databases (sync-learning where postgres_fdw is missing): when
   * `applies` says so, the runner calls `run` in this process instead of the statement. pg_cron, which has
   * only the statement, runs the statement.
   */
  inProcess?: {
    applies(ctx: { db: Database; config: Config }): Promise<boolean>;
    run(ctx: TaskContext<z.output<Schema>>): Promise<unknown>;
  };
}

export type TaskDefinition<Schema extends z.ZodObject = z.ZodObject> = NodeTask<Schema> | SqlTask<Schema>;

export const DEFAULT_RETRY: RetryPolicy = { maxAttempts: 1, backoffMs: 1_000, maxBackoffMs: 60_000 };

type Defaults = 'retry' | 'overlap';
type NodeInput<S extends z.ZodObject> = Omit<NodeTask<S>, Defaults> & Partial<Pick<NodeTask<S>, Defaults>>;
type SqlInput<S extends z.ZodObject> = Omit<SqlTask<S>, Defaults | 'transaction'> &
  Partial<Pick<SqlTask<S>, Defaults | 'transaction'>>;

const NAME = /^[a-z][a-z0-9]*(-[a-z0-9]+)*$/;

export function defineTask<S extends z.ZodObject>(input: NodeInput<S>): NodeTask<S>;
export function defineTask<S extends z.ZodObject>(input: SqlInput<S>): SqlTask<S>;
export function defineTask<S extends z.ZodObject>(input: NodeInput<S> | SqlInput<S>): TaskDefinition<S> {
  if (!NAME.test(input.name)) throw new Error(`task name '${input.name}' must be kebab-case`);
  if (!(input.timeoutMs > 0)) throw new Error(`task '${input.name}': timeoutMs must be positive`);
  const retry = { ...DEFAULT_RETRY, ...input.retry };
  if (!Number.isInteger(retry.maxAttempts) || retry.maxAttempts < 1) {
    throw new Error(`task '${input.name}': retry.maxAttempts must be a whole number >= 1`);
  }
  const common = { overlap: 'skip' as const, ...input, retry };
  if (input.engine === 'sql') return { transaction: true, ...common } as SqlTask<S>;
  return common as NodeTask<S>;
}

/** The key that keeps runs from overlapping, or null where the task allows overlap. */
export function concurrencyKeyOf(task: TaskDefinition, args: unknown): string | null {
  if (task.overlap === 'allow') return null;
  return task.concurrencyKey ? task.concurrencyKey(args as never) : task.name;
}

/** A value as a SQL literal, for sql tasks whose statement pg_cron must run as plain text. */
export function sqlLiteral(value: string | number | boolean): string {
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new Error(`not a finite number: ${value}`);
    return String(value);
  }
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  return `'${value.replace(/'/g, "''")}'`;
}

/** Why a task does not run in a role, or undefined when it does. */
export function refusedInRole(task: Pick<TaskDefinition, 'name' | 'roles'>, role: Role): string | undefined {
  if (!task.roles || task.roles.includes(role)) return undefined;
  return `${task.name} runs in the ${task.roles.join(' and ')} role${task.roles.length > 1 ? 's' : ''} only, and this is the ${role} role`;
}
