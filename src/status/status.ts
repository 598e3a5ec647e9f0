// `singularity status`: from each task's schedules (the live schedulers' crontabs, pg_cron's jobs) and the
// run history, what last succeeded, what fails, what is running, what is due next, and what is overdue:
// a tick that passed, plus a grace, with no run started since. A dead-man's switch for every task.
import type { Config } from '../core/config.js';
import type { Database } from '../core/database.js';
import { tasksInPgCron } from '../pgcron/placement.js';
import { sqlLiteral } from '../core/task/define.js';
import type { TaskSet } from '../core/task/registry.js';
import type { Crontab } from '../schedule/crontab.js';
import { lastTickAtOrBefore, nextTick, periodMs } from '../schedule/ticks.js';
import type { Health, RunRef, ScheduleSource, SchedulerStatus, StatusReport, TaskState, TaskStatus } from './types.js';

export type { StatusReport } from './types.js';

/** The task's verdict from its other fields (see TaskState). */
export function taskStateOf(t: Omit<TaskStatus, 'state'>): TaskState {
  if (t.running.length) return 'running';
  if (t.failing) return 'failing';
  if (t.overdue) return 'overdue';
  if (t.schedules.some((s) => s.runBy === 'nobody')) return 'unattended';
  if (t.placement === 'manual') return 'manual';
  return t.lastSuccess ? 'ok' : 'never-run';
}

/** How late a tick may start before it counts as overdue: a tenth of the period, between 1 min and 1 h. */
export function graceMs(period: number): number {
  return Math.min(Math.max(period / 10, 60_000), 3_600_000);
}

interface ScheduledEntry extends ScheduleSource {
  task: string;
  /** Ticks before this were nobody's to run (the first scheduler started, the job was installed). */
  since: Date | null;
}

/** The crontab's on-start schedules: such an entry runs once each time a scheduler starts, not periodically. */
const ON_START = ['@setup', '@reboot'];
/** A periodic schedule, not an on-start one: what status (and doctor) count as a scheduled entry. */
export const isScheduled = (schedule: string) => !ON_START.includes(schedule);

interface TaskRow {
  task: string;
  lastSuccess: (Omit<RunRef, 'at'> & { at: string }) | null;
  lastFailure: (Omit<RunRef, 'at'> & { at: string; error: string }) | null;
  lastStart: Date | null;
}

/**
 * Each task's latest success, latest failure and latest start: index lookups, never a scan of the history.
 * The task names are written in as literals (they are kebab-case by definition): with a constant the
 * planner picks, per task, the index that finds its rows, which it cannot do for a parameter.
 */
export function tasksQuery(names: string[]): string {
  return names
    .map((name) => {
      const task = sqlLiteral(name);
      return `select ${task} as task,
         (select jsonb_build_object('runId', id, 'at', finished_at, 'trigger', trigger, 'durationMs', duration_ms)
            from task_runs r where r.task = ${task} and r.state = 'completed' order by r.finished_at desc nulls last limit 1) as "lastSuccess",
         (select jsonb_build_object('runId', id, 'at', finished_at, 'trigger', trigger, 'durationMs', duration_ms,
                 'error', coalesce(error->>'message', reason, 'failed'))
            from task_runs r where r.task = ${task} and r.state = 'discarded' order by r.finished_at desc nulls last limit 1) as "lastFailure",
         (select inserted_at from task_runs r where r.task = ${task} and r.state <> 'missed'
            order by r.inserted_at desc nulls last limit 1) as "lastStart"`;
    })
    .join('\nunion all\n');
}

export interface StatusOptions {
  tasks: TaskSet;
  /** The crontab to expect when no scheduler is alive (the configured one, else the default). */
  crontab: () => Promise<Crontab>;
  now?: Date;
}

export async function collectStatus(db: Database, config: Config, options: StatusOptions): Promise<StatusReport> {
  const now = options.now ?? new Date();
  const names = options.tasks.all.map((t) => t.name);
  const [rows, executing, schedulerRows, [first], placed, jobs] = await Promise.all([
    db.query<TaskRow>(tasksQuery(names)),
    db.query<{ id: number; task: string; startedAt: Date; heartbeatAt: Date; host: string | null; pid: number | null; trigger: string; stale: boolean }>(
      `select id, task, started_at as "startedAt", heartbeat_at as "heartbeatAt", host, pid, trigger,
         heartbeat_at < now() - make_interval(secs => $1::int / 1000.0) as stale
       from task_runs where state = 'executing' order by started_at`,
      [config.runs.staleAfterMs],
    ),
    db.query<Omit<SchedulerStatus, 'entries'> & { entryList: Array<{ id: string; schedule: string; task: string; timezone: string }> }>(
      `select id, host, pid, version, crontab, entries as "entryList",
         started_at as "startedAt", heartbeat_at as "heartbeatAt",
         heartbeat_at > now() - make_interval(secs => $1::int / 1000.0) as alive
       from schedulers where stopped_at is null order by started_at`,
      [config.runs.staleAfterMs],
    ),
    db.query<{ firstStart: Date | null }>('select min(started_at) as "firstStart" from schedulers'),
    tasksInPgCron(db),
    db.kind === 'postgres'
      ? db.query<{ jobname: string; task: string; schedule: string; installedAt: Date }>(
          `select jobname, task, schedule, installed_at as "installedAt" from pgcron_jobs where jobname not like '%:cron-details@%'`,
        )
      : Promise.resolve([]),
  ]);

  const firstStart = first?.firstStart ?? null;
  const problems: string[] = [];
  const live = schedulerRows.filter((s) => s.alive);
  for (const dead of schedulerRows.filter((s) => !s.alive)) {
    problems.push(`scheduler ${dead.id} (pid ${dead.pid} on ${dead.host}) stopped sending heartbeats at ${dead.heartbeatAt.toISOString()} without signing off`);
  }

  // What should run, and who runs it.
  const entries: ScheduledEntry[] = jobs
    .filter((j) => placed.has(j.task))
    .map((j) => ({ id: j.jobname, task: j.task, schedule: j.schedule, timezone: 'UTC', runBy: 'pg_cron' as const, since: j.installedAt }));
  const servedBy = live.length ? 'scheduler' : 'nobody';
  const crontabEntries = live.length
    ? live.flatMap((s) => s.entryList)
    : (await options.crontab()).entries.map((e) => ({ id: e.id, schedule: e.schedule, task: e.task, timezone: e.timezone }));
  const seen = new Set<string>();
  for (const e of crontabEntries) {
    if (seen.has(e.id) || !isScheduled(e.schedule) || placed.has(e.task) || !options.tasks.find(e.task)) continue;
    seen.add(e.id);
    entries.push({ ...e, runBy: servedBy, since: firstStart });
  }
  const unserved = entries.filter((e) => e.runBy === 'nobody');
  if (unserved.length) {
    problems.push(
      firstStart
        ? `no scheduler is alive: ${unserved.length} scheduled entries are not being run (start 'singularity run-scheduler')`
        : `no run-scheduler has ever run against this database: ${unserved.length} scheduled entries are not being run`,
    );
  }

  const tasks: TaskStatus[] = options.tasks.all.map((task) => {
    const row = rows.find((r) => r.task === task.name)!;
    const schedules = entries.filter((e) => e.task === task.name);
    const running = executing
      .filter((r) => r.task === task.name)
      .map((r) => ({ runId: r.id, startedAt: r.startedAt, heartbeatAt: r.heartbeatAt, elapsedMs: now.getTime() - r.startedAt.getTime(), host: r.host, pid: r.pid, trigger: r.trigger, stale: r.stale }));
    let lastDue: Date | null = null;
    let nextDue: Date | null = null;
    for (const entry of schedules) {
      const scheduled = { expression: entry.schedule, timezone: entry.timezone };
      const due = lastTickAtOrBefore(scheduled, new Date(now.getTime() - graceMs(periodMs(scheduled)))) ?? null;
      // Only ticks someone was there to run count: after the first scheduler started, the job was installed.
      if (due && entry.since && due >= entry.since && (!lastDue || due > lastDue)) lastDue = due;
      const next = nextTick(scheduled, now);
      if (!nextDue || next < nextDue) nextDue = next;
    }
    const lastSuccess = row.lastSuccess && { ...row.lastSuccess, at: new Date(row.lastSuccess.at) };
    const lastFailure = row.lastFailure && { ...row.lastFailure, at: new Date(row.lastFailure.at) };
    const failing = !!lastFailure && (!lastSuccess || lastFailure.at > lastSuccess.at);
    const overdue = !!lastDue && running.length === 0 && (!row.lastStart || row.lastStart < lastDue);
    if (overdue) problems.push(`${task.name} is overdue: due at ${lastDue!.toISOString()}, no run since`);
    if (failing) problems.push(`${task.name} is failing: ${lastFailure!.error} (run ${lastFailure!.runId})`);
    for (const r of running.filter((r) => r.stale)) {
      problems.push(`run ${r.runId} of ${task.name} is stuck: no heartbeat since ${r.heartbeatAt.toISOString()} (pid ${r.pid} on ${r.host})`);
    }
    const status: Omit<TaskStatus, 'state'> = {
      task: task.name,
      engine: task.engine,
      placement: placed.has(task.name) ? 'pg_cron' : schedules.length ? 'scheduler' : 'manual',
      schedules: schedules.map(({ id, schedule, timezone, runBy }) => ({ id, schedule, timezone, runBy })),
      lastSuccess,
      lastFailure,
      failing,
      lastDue,
      nextDue,
      overdue,
      overdueByMs: overdue ? now.getTime() - lastDue!.getTime() : null,
      running,
    };
    return { ...status, state: taskStateOf(status) };
  });

  const health: Health = problems.length ? 'degraded' : 'healthy';
  return {
    health,
    generatedAt: now,
    database: db.target,
    problems,
    // A scheduler's entries, counted as above: its scheduled ones (its list also has the @setup / @reboot lines).
    schedulers: schedulerRows.map(({ entryList, ...s }) => ({ ...s, entries: entryList.filter((e) => isScheduled(e.schedule)).length })),
    tasks,
  };
}

/**
 * The report in node-exporter's textfile format, for a scraper. A timestamp gauge has a sample only when there
 * is a time: a task that never completed has no last-success sample (a 0 would make `time() - x > N` fire at
 * once), and `singularity_task_never_succeeded` says so, for an alert to catch it.
 */
export function prometheusText(report: StatusReport): string {
  const lines: string[] = [];
  const metric = (name: string, help: string, type: 'gauge', samples: Array<[Record<string, string>, number | null | undefined]>) => {
    lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
    for (const [labels, value] of samples) {
      if (value === null || value === undefined) continue;
      const text = Object.entries(labels).map(([k, v]) => `${k}="${v.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`).join(',');
      lines.push(`${name}${text ? `{${text}}` : ''} ${value}`);
    }
  };
  const seconds = (d: Date | null | undefined) => (d ? d.getTime() / 1000 : null);
  metric('singularity_health', 'Overall health: 1 for the current state', 'gauge',
    (['healthy', 'degraded', 'down'] as const).map((state) => [{ state }, report.health === state ? 1 : 0]));
  metric('singularity_problems', 'Number of problems status reports', 'gauge', [[{}, report.problems.length]]);
  metric('singularity_schedulers_alive', 'Schedulers with a fresh heartbeat', 'gauge', [[{}, report.schedulers.filter((s) => s.alive).length]]);
  metric('singularity_task_last_success_timestamp_seconds', 'When the task last completed (no sample: never)', 'gauge',
    report.tasks.map((t) => [{ task: t.task }, seconds(t.lastSuccess?.at)]));
  metric('singularity_task_never_succeeded', '1 if the task has no completed run in the history (and so no last-success sample)', 'gauge',
    report.tasks.map((t) => [{ task: t.task }, t.lastSuccess ? 0 : 1]));
  metric('singularity_task_last_failure_timestamp_seconds', 'When the task last failed (no sample: never)', 'gauge',
    report.tasks.map((t) => [{ task: t.task }, seconds(t.lastFailure?.at)]));
  metric('singularity_task_overdue', '1 if a due run has not started within its grace', 'gauge', report.tasks.map((t) => [{ task: t.task }, t.overdue ? 1 : 0]));
  metric('singularity_task_failing', '1 if the latest finished run failed', 'gauge', report.tasks.map((t) => [{ task: t.task }, t.failing ? 1 : 0]));
  metric('singularity_task_running', 'Runs of the task executing now', 'gauge', report.tasks.map((t) => [{ task: t.task }, t.running.length]));
  metric('singularity_task_next_due_timestamp_seconds', 'When the task is next due (no sample: not scheduled)', 'gauge',
    report.tasks.map((t) => [{ task: t.task }, seconds(t.nextDue)]));
  return lines.join('\n') + '\n';
}
