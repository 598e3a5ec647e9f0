// `singularity status`: from each task's schedules (the live schedulers' crontabs, pg_cron's jobs) and the
// run history, what last succeeded, what fails, what is running, what is due next, and what is overdue:
// a tick that passed, plus a grace, with no run started since. A dead-man's switch for every task.
import type { Config } from '../core/config.js';
import type { Database } from '../core/database.js';
import { centralState } from '../central/link.js';
import { taskTrends } from '../metrics/trends.js';
import { syncPgCronHistory } from '../pgcron/history.js';
import { scheduleInForce } from '../steering/in-force.js';
import { isScheduled } from '../schedule/crontab.js';
import { pausedAt } from '../schedule/pauses.js';
import { sqlLiteral } from '../core/task/define.js';
import type { TaskSet } from '../core/task/registry.js';
import type { Crontab } from '../schedule/crontab.js';
import { lastTickAtOrBefore, nextTick, periodMs } from '../schedule/ticks.js';
import { healthOf, type Finding, type Severity } from './severity.js';
import type { Health, RunRef, SchedulerStatus, StatusReport, TaskState, TaskStatus } from './types.js';

export type { StatusReport } from './types.js';

/** The task's verdict from its other fields (see TaskState). */
export function taskStateOf(t: Omit<TaskStatus, 'state'>): TaskState {
  if (t.running.length) return 'running';
  if (t.failing) return 'failing';
  if (t.overdue) return 'overdue';
  if (t.schedules.length && t.schedules.every((s) => s.paused)) return 'paused';
  if (t.schedules.some((s) => s.runBy === 'nobody')) return 'unattended';
  if (t.placement === 'manual') return 'manual';
  return t.lastSuccess ? 'ok' : 'never-run';
}

/** How late a tick may start before it counts as overdue: a tenth of the period, between 1 min and 1 h. */
export function graceMs(period: number): number {
  return Math.min(Math.max(period / 10, 60_000), 3_600_000);
}


interface TaskRow {
  task: string;
  lastSuccess: (Omit<RunRef, 'at'> & { at: string }) | null;
  lastFailure: (Omit<RunRef, 'at'> & { at: string; error: string }) | null;
  lastStart: Date | null;
  recent: Array<{ state: string; durationMs: number | null }> | null;
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
            order by r.inserted_at desc nulls last limit 1) as "lastStart",
         (select jsonb_agg(jsonb_build_object('state', state, 'durationMs', duration_ms) order by inserted_at)
            from (select state, duration_ms, inserted_at from task_runs r where r.task = ${task} and r.state <> 'missed'
                  order by r.inserted_at desc nulls last limit ${RECENT_RUNS}) recent) as recent`;
    })
    .join('\nunion all\n');
}

/** How many of a task's latest runs the report carries (the dashboard's sparkline). */
export const RECENT_RUNS = 30;

export interface StatusOptions {
  tasks: TaskSet;
  /** The crontab to expect when no scheduler is alive (the configured one, else the default). */
  crontab: () => Promise<Crontab>;
  now?: Date;
}

export async function collectStatus(db: Database, config: Config, options: StatusOptions): Promise<StatusReport> {
  const now = options.now ?? new Date();
  const names = options.tasks.all.map((t) => t.name);
  const findings: Finding[] = [];
  const note = (severity: Severity, text: string, task?: string) => findings.push({ severity, text, ...(task ? { task } : {}) });
  // pg_cron's own record of what it ran goes into the history first, so that every view agrees.
  await syncPgCronHistory(db, options.tasks, now).catch((error: Error) => {
    note('warn', `pg_cron's record of its runs could not be read (${error.message}): runs of its direct-command jobs may be missing here`);
  });
  const [rows, executing, schedulerRows, inForce, trendOf, central] = await Promise.all([
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
    scheduleInForce(db, { tasks: options.tasks, crontab: options.crontab, staleAfterMs: config.runs.staleAfterMs, now }),
    taskTrends(db, now),
    centralState(db, config),
  ]);

  for (const dead of schedulerRows.filter((s) => !s.alive)) {
    // A warning: whether its entries are run is judged below, entry by entry.
    note('warn', `scheduler ${dead.id} (pid ${dead.pid} on ${dead.host}) stopped sending heartbeats at ${dead.heartbeatAt.toISOString()} without signing off`);
  }
  const entries = inForce.entries;
  const unserved = entries.filter((e) => e.runBy === 'nobody' && !e.paused);
  if (unserved.length) {
    note('fail',
      inForce.firstStart
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
      // Only ticks someone was there to run count: after the first scheduler started, the job was installed;
      // a tick a pause held was not meant to run.
      if (due && entry.since && due >= entry.since && !pausedAt(entry.pause ?? undefined, due) && (!lastDue || due > lastDue)) lastDue = due;
      if (entry.paused) continue;
      const next = nextTick(scheduled, now);
      if (!nextDue || next < nextDue) nextDue = next;
    }
    const lastSuccess = row.lastSuccess && { ...row.lastSuccess, at: new Date(row.lastSuccess.at) };
    const lastFailure = row.lastFailure && { ...row.lastFailure, at: new Date(row.lastFailure.at) };
    const failing = !!lastFailure && (!lastSuccess || lastFailure.at > lastSuccess.at);
    const overdue = !!lastDue && running.length === 0 && (!row.lastStart || row.lastStart < lastDue);
    if (overdue) note('fail', `${task.name} is overdue: due at ${lastDue!.toISOString()}, no run since`, task.name);
    if (failing) note('fail', `${task.name} is failing: ${lastFailure!.error} (run ${lastFailure!.runId})`, task.name);
    for (const r of running.filter((r) => r.stale)) {
      note('fail', `run ${r.runId} of ${task.name} is stuck: no heartbeat since ${r.heartbeatAt.toISOString()} (pid ${r.pid} on ${r.host})`);
    }
    const status: Omit<TaskStatus, 'state'> = {
      task: task.name,
      engine: task.engine,
      placement: schedules.some((e) => e.engine === 'pg_cron') ? 'pg_cron' : schedules.length ? 'scheduler' : 'manual',
      schedules: schedules.map(({ id, schedule, timezone, runBy, jobname, pause, paused }) => ({
        id, schedule, timezone, runBy, ...(jobname ? { jobname } : {}),
        paused: paused && pause ? { since: pause.pausedAt, until: pause.until, by: pause.pausedBy, reason: pause.reason } : null,
      })),
      lastSuccess,
      lastFailure,
      failing,
      lastDue,
      nextDue,
      overdue,
      overdueByMs: overdue ? now.getTime() - lastDue!.getTime() : null,
      running,
      recent: row.recent ?? [],
      trend: trendOf?.(task.name) ?? null,
    };
    return { ...status, state: taskStateOf(status) };
  });

  // A pause whose --until passed, still holding (no run-scheduler's housekeeping has ended it).
  for (const e of entries.filter((e) => e.pause?.until && e.pause.until <= now)) {
    note('warn', `the pause of ${e.id} was to end at ${e.pause!.until!.toISOString()} but still holds: a run-scheduler ends it at its next housekeeping, or 'singularity schedule resume ${e.id}'`, e.task);
  }
  if (central.configured && !central.link && config.role === 'instance') {
    note('warn', `CENTRAL_DATABASE_URL names ${central.configured} but this database is not linked to it: run 'singularity migrate'`, 'sync-learning');
  }
  findings.sort((a, b) => (a.severity === b.severity ? 0 : a.severity === 'fail' ? -1 : 1));
  const health: Health = healthOf(findings);
  return {
    health,
    generatedAt: now,
    database: db.target,
    problems: findings.map((f) => f.text),
    findings,
    // A scheduler's entries, counted as above: its scheduled ones (its list also has the @setup / @reboot lines).
    schedulers: schedulerRows.map(({ entryList, ...s }) => ({ ...s, entries: entryList.filter((e) => isScheduled(e.schedule)).length })),
    tasks,
    central,
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
  metric('singularity_central_unsent_learnings', 'Learned patterns the central database has not received', 'gauge', report.central ? [[{}, report.central.unsent]] : []);
  metric('singularity_central_last_sync_timestamp_seconds', 'When the last batch reached the central database (no sample: never)', 'gauge',
    [[{}, seconds(report.central?.link?.lastSyncAt ?? undefined)]]);
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
