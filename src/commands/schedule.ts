// `singularity schedule list | pause | resume | trigger`: thin; the work is in src/schedule/.
import { withDatabase, type GlobalOptions } from './context.js';
import { loadConfig, type Config } from '../core/config.js';
import type { Database } from '../core/database.js';
import { parseDuration } from '../core/duration.js';
import { formatDuration, formatTime } from '../core/format.js';
import type { TaskSet } from '../core/task/registry.js';
import type { SteerOptions } from '../steering/steer.js';
import { out, printJson, table } from './output.js';
import { withTaskRun } from './task.js';

async function steerOptions(config: Config): Promise<SteerOptions & { tasks: TaskSet }> {
  const [{ loadTasks }, { configuredCrontab }] = await Promise.all([import('../tasks/index.js'), import('../schedule/crontab.js')]);
  const tasks = await loadTasks(config);
  const crontab = () => configuredCrontab(config, tasks);
  return { tasks, crontab, staleAfterMs: config.runs.staleAfterMs };
}

/** pg_cron's record goes into the history first: a direct-command job's last run, a paused job's skips. */
async function upToDate(db: Database, tasks: TaskSet): Promise<void> {
  const { syncPgCronHistory } = await import('../pgcron/history.js');
  await syncPgCronHistory(db, tasks);
}

export async function scheduleList(opts: { json?: boolean }, globals: GlobalOptions): Promise<number> {
  const config = await loadConfig(globals);
  const options = await steerOptions(config);
  const { listSchedule } = await import('../steering/list.js');
  const rows = await withDatabase(config, async (db) => {
    await upToDate(db, options.tasks);
    return listSchedule(db, options);
  });
  if (opts.json || globals.json) {
    printJson({ entries: rows });
    return 0;
  }
  if (!rows.length) {
    out("no entry in force: no run-scheduler runs, and pg_cron has no jobs ('singularity crontab' prints the default crontab)");
    return 0;
  }
  out(table(
    ['ENTRY', 'SCHEDULE', 'TZ', 'ENGINE', 'PAUSED', 'LAST RUN', 'NEXT RUN'],
    rows.map((r) => [
      r.id, r.schedule, r.timezone,
      r.engine + (r.runBy === 'nobody' ? ' (none alive)' : ''),
      r.paused ? (r.paused.until ? `until ${formatTime(r.paused.until)}` : 'yes') : '-',
      r.lastRun ? `${r.lastRun.state} ${formatTime(r.lastRun.at)}${r.lastRun.durationMs !== null ? ` (${formatDuration(r.lastRun.durationMs)})` : ''}` : 'never',
      formatTime(r.nextRun),
    ]),
  ));
  return 0;
}

export async function schedulePause(id: string, opts: { until?: string; reason?: string; json?: boolean }, globals: GlobalOptions): Promise<number> {
  const config = await loadConfig(globals);
  const options = await steerOptions(config);
  const { pauseEntry, parseUntil } = await import('../steering/steer.js');
  const until = opts.until === undefined ? undefined : parseUntil(opts.until, new Date(), (s) => parseDuration(s, 'mhdw'));
  const { entry, pause } = await withDatabase(config, (db) => pauseEntry(db, options, id, { until, reason: opts.reason }));
  if (opts.json || globals.json) printJson({ entry: entry.id, engine: entry.engine, pause });
  else {
    out(`paused ${entry.id} (${entry.engine}${entry.jobname ? `: job ${entry.jobname} deactivated` : ''})` +
      `${pause.until ? ` until ${formatTime(pause.until)}` : " until 'singularity schedule resume'"}; its ticks are recorded as skipped`);
  }
  return 0;
}

export async function scheduleResume(id: string, opts: { json?: boolean }, globals: GlobalOptions): Promise<number> {
  const config = await loadConfig(globals);
  const options = await steerOptions(config);
  const { resumeEntry } = await import('../steering/steer.js');
  const { entry, pause } = await withDatabase(config, (db) => resumeEntry(db, options, id));
  if (opts.json || globals.json) printJson({ entry: entry?.id ?? id, engine: entry?.engine ?? null, wasPaused: !!pause });
  else out(pause ? `resumed ${entry?.id ?? id}${entry?.jobname ? ` (job ${entry.jobname} active again)` : ''}: its next tick runs` : `${entry?.id ?? id} was not paused; nothing to do`);
  return 0;
}

/** Run an entry now with its own flags: recorded with trigger manual and the entry's id. */
export async function scheduleTrigger(id: string, opts: { json?: boolean }, globals: GlobalOptions): Promise<number> {
  const config = await loadConfig(globals);
  const options = await steerOptions(config);
  const { findEntry, entryArgs } = await import('../steering/steer.js');
  const entry = await withDatabase(config, (db) => findEntry(db, options, id));
  const args = entryArgs(options.tasks, entry);
  const task = options.tasks.find(entry.task)!;
  return withTaskRun(task, { config, tasks: options.tasks }, { ...globals, json: opts.json || globals.json }, (execute) =>
    execute({ trigger: 'manual', args, entry: entry.id, scheduledFor: new Date() }));
}
