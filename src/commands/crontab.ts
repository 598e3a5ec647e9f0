// `singularity crontab`: print the default crontab, check a crontab file, preview its next runs. No database.
import type { GlobalOptions } from './context.js';
import { err, out, printJson, table } from './output.js';
import { loadConfig } from '../core/config.js';
import { EXIT, UsageError } from '../core/errors.js';
import {
  defaultCrontab,
  defaultCrontabText,
  formatInZone,
  inspectCrontab,
  readCrontab,
  upcomingRuns,
  type CrontabEntry,
} from '../schedule/crontab.js';
import { loadTasks } from '../tasks/index.js';

const MAX_HOURS = 8784; // a leap year

export async function crontabPrint(globals: GlobalOptions): Promise<number> {
  const tasks = await loadTasks(await loadConfig(globals));
  // Fails, naming the line, if a task module's default schedule is bad: never print a crontab that does not parse.
  defaultCrontab(tasks);
  process.stdout.write(defaultCrontabText(tasks));
  return EXIT.ok;
}

export async function crontabCheck(file: string, opts: { json?: boolean }, globals: GlobalOptions): Promise<number> {
  const tasks = await loadTasks(await loadConfig(globals));
  const { crontab, problems } = await inspectCrontab(file, tasks);
  const n = crontab.entries.length;
  if (opts.json) printJson({ ok: problems.length === 0, source: file, entries: crontab.entries, problems });
  else if (problems.length === 0) out(`${file}: ${n} ${n === 1 ? 'entry' : 'entries'}, no problems`);
  else {
    for (const p of problems) err(`${file}:${p.line}:${p.column}: ${p.message}`);
    err(`${file}: ${problems.length} ${problems.length === 1 ? 'problem' : 'problems'}`);
  }
  return problems.length ? EXIT.usage : EXIT.ok;
}

export async function crontabNext(file: string | undefined, opts: { hours: string; json?: boolean }, globals: GlobalOptions): Promise<number> {
  const hours = Number(opts.hours);
  if (!(hours > 0 && hours <= MAX_HOURS)) {
    throw new UsageError(`--hours must be a number above 0 and at most ${MAX_HOURS} (a year), got '${opts.hours}'`);
  }
  const from = now();
  const until = new Date(from.getTime() + hours * 3600_000);
  const config = await loadConfig(globals);
  const tasks = await loadTasks(config);
  const path = file ?? config.scheduler.crontab;
  const crontab = path ? await readCrontab(path, tasks) : defaultCrontab(tasks);
  const onStart = crontab.entries.filter((e) => e.onStart);
  const runs = upcomingRuns(crontab, from, until);

  if (opts.json) {
    printJson({
      source: crontab.source,
      from: from.toISOString(),
      until: until.toISOString(),
      onStart: onStart.map((e) => ({ entry: e.id, task: e.task, command: e.command })),
      runs: runs.map(({ at, entry }) => ({ at: at.toISOString(), entry: entry.id, task: entry.task, command: entry.command, timezone: entry.timezone })),
    });
    return EXIT.ok;
  }
  out(`${crontab.source}: ${runs.length} ${runs.length === 1 ? 'run' : 'runs'} in the next ${hours} h`);
  const rows = [
    ...onStart.map((e) => ['on start', '-', label(e)]),
    ...runs.map(({ at, entry }) => [formatInZone(at, entry.timezone), relative(at.getTime() - from.getTime()), label(entry)]),
  ];
  if (rows.length) out(table(['WHEN', 'IN', 'COMMAND'], rows));
  return EXIT.ok;
}

/** The current time; SINGULARITY_NOW (an ISO timestamp) pins it, to preview or test a given moment. */
function now(): Date {
  const pinned = process.env.SINGULARITY_NOW;
  if (!pinned) return new Date();
  const date = new Date(pinned);
  if (isNaN(date.getTime())) throw new UsageError(`SINGULARITY_NOW is not a timestamp: '${pinned}'`, { hint: 'Use ISO 8601, e.g. 2026-03-28T12:00:00Z.' });
  return date;
}

const label = (entry: CrontabEntry) => (entry.id === entry.command ? entry.command : `${entry.command} (id ${entry.id})`);

/** 'in 3h 10m', to the minute. */
function relative(ms: number): string {
  const minutes = Math.round(ms / 60_000);
  if (minutes < 1) return 'in <1m';
  const parts = [[Math.floor(minutes / 1440), 'd'], [Math.floor((minutes % 1440) / 60), 'h'], [minutes % 60, 'm']] as const;
  return 'in ' + parts.filter(([n]) => n > 0).map(([n, unit]) => `${n}${unit}`).join(' ');
}
