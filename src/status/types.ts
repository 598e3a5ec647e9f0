// The shape of `singularity status --json`: stable and documented (docs/status-and-doctor.md). Dates are ISO strings
// in JSON; the library returns Date objects.

import type { CentralState } from '../central/link.js';
import type { TaskTrend } from '../metrics/trends.js';
import type { Finding } from './severity.js';

/** healthy: no failure (warnings allowed); degraded: at least one finding of severity fail; down: no database. */
export type Health = 'healthy' | 'degraded' | 'down';

/** Where a task's scheduled runs come from. 'manual': no schedule anywhere; only by hand. */
export type Placement = 'pg_cron' | 'scheduler' | 'manual';

export interface ScheduleSource {
  /** The crontab entry id (for a pg_cron job too: the entry it was installed from). */
  id: string;
  /** The pg_cron job that runs it, for a pg_cron entry. */
  jobname?: string;
  /** Five-field cron expression. */
  schedule: string;
  timezone: string;
  /** Who runs it: a live scheduler, pg_cron, or nobody (a crontab no live scheduler serves). */
  runBy: 'scheduler' | 'pg_cron' | 'nobody';
  /** The pause holding the entry now (`schedule pause`), or null. */
  paused: { since: Date; until: Date | null; by: string; reason: string | null } | null;
}

export interface RunRef {
  runId: number;
  at: Date;
  trigger: string;
  durationMs: number | null;
}

/**
 * A task's verdict, first match wins: running (a run executes), failing, overdue, paused (every schedule of
 * it is paused), unattended (scheduled, but nobody runs the schedule: no live scheduler), manual (no
 * schedule), never-run (scheduled, never completed), ok.
 */
export type TaskState = 'running' | 'failing' | 'overdue' | 'paused' | 'unattended' | 'manual' | 'never-run' | 'ok';

export interface TaskStatus {
  task: string;
  /** The verdict `status`, the dashboard and (through its gauges) the Prometheus file show for the task. */
  state: TaskState;
  engine: 'node' | 'sql';
  placement: Placement;
  schedules: ScheduleSource[];
  lastSuccess: RunRef | null;
  lastFailure: (RunRef & { error: string }) | null;
  /** The latest finished run failed (discarded) after the latest success. */
  failing: boolean;
  /** The most recent tick that should have started by now (due + grace), if any. */
  lastDue: Date | null;
  nextDue: Date | null;
  /** No run started since lastDue, and none is executing. */
  overdue: boolean;
  overdueByMs: number | null;
  running: Array<{ runId: number; startedAt: Date; heartbeatAt: Date; elapsedMs: number; host: string | null; pid: number | null; trigger: string; stale: boolean }>;
  /** The latest runs (at most 30, missed ticks left out), oldest first: the dashboard's sparkline. */
  recent: Array<{ state: string; durationMs: number | null }>;
  /** From the metrics (aggregate-metrics): the last 24 h against the 24 h before; null before any aggregation. */
  trend: TaskTrend | null;
}

export interface SchedulerStatus {
  id: number;
  host: string;
  pid: number;
  version: string;
  crontab: string | null;
  entries: number;
  startedAt: Date;
  heartbeatAt: Date;
  alive: boolean;
}

export interface StatusReport {
  health: Health;
  generatedAt: Date;
  /** The database, with any password masked. */
  database: string;
  /** One line per finding, worst first: what is wrong, for a human or an alert (the texts of `findings`). */
  problems: string[];
  /** The same, each with its severity on the scale doctor uses too: any 'fail' makes the health degraded. */
  findings: Finding[];
  schedulers: SchedulerStatus[];
  tasks: TaskStatus[];
  /** The link to the central database as this database holds it (doctor also checks that it answers); null when the database is down. */
  central: CentralState | null;
}
