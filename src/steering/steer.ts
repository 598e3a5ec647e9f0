// Steering the schedule without editing files: pause, resume and trigger an entry in force, on either
// engine. A pause is a row every run-scheduler reads at each pass; a pg_cron entry's job is deactivated
// as well (cron.alter_job), so pg_cron does not start it.
import type { Database } from '../core/database.js';
import { UsageError } from '../core/errors.js';
import { formatTime } from '../core/format.js';
import type { TaskSet } from '../core/task/registry.js';
import { parseArgs } from '../core/task/args.js';
import { openCronDatabaseNamed } from '../pgcron/pgcron.js';
import type { Crontab } from '../schedule/crontab.js';
import { scheduleInForce, type EntryInForce } from './in-force.js';
import { clearPause, listPauses, setPause, type Pause } from '../schedule/pauses.js';

export interface SteerOptions {
  tasks: TaskSet;
  crontab: () => Promise<Crontab>;
  staleAfterMs: number;
  now?: Date;
}

/** The entry in force with this id; an unknown id is a usage error listing the known ones. */
export async function findEntry(db: Database, options: SteerOptions, id: string): Promise<EntryInForce> {
  const { entries } = await scheduleInForce(db, options);
  const entry = entries.find((e) => e.id === id) ?? entries.find((e) => e.jobname === id);
  if (entry) return entry;
  // A task's name names its entry when it has exactly one.
  const ofTask = entries.filter((e) => e.task === id);
  if (ofTask.length === 1) return ofTask[0]!;
  if (ofTask.length > 1) {
    throw new UsageError(`task '${id}' has ${ofTask.length} entries in force; name one`, {
      hint: `Entries of ${id}: ${ofTask.map((e) => `'${e.id}'`).join(', ')} (quote an id with spaces: singularity schedule pause '${ofTask[0]!.id}').`,
    });
  }
  const known = entries.map((e) => e.id);
  throw new UsageError(`no schedule entry '${id}' is in force`, {
    hint: known.length
      ? `Entries in force: ${known.map((k) => `'${k}'`).join(', ')} ('singularity schedule list' shows them).`
      : "No entry is in force: no run-scheduler runs and pg_cron has no jobs ('singularity schedule list').",
  });
}

/** Parse `--until`: an ISO time, or a duration from now (90m, 2h, 1d). Must lie in the future. */
export function parseUntil(text: string, now: Date, parseDuration: (s: string) => number | undefined): Date {
  const ms = parseDuration(text);
  const until = ms !== undefined ? new Date(now.getTime() + ms) : /^\d{4}-\d\d-\d\d/.test(text) ? new Date(text) : new Date(NaN);
  if (Number.isNaN(until.getTime())) {
    throw new UsageError(`--until: '${text}' is neither a time nor a duration`, {
      hint: "Give an ISO time (2026-12-07T18:00Z, 2026-12-08) or a duration from now (90m, 2h, 1d).",
    });
  }
  if (until <= now) throw new UsageError(`--until: ${formatTime(until)} is not in the future`, { hint: 'A pause must end after it begins.' });
  return until;
}

export async function pauseEntry(db: Database, options: SteerOptions, id: string, pause: { until?: Date; reason?: string }): Promise<{ entry: EntryInForce; pause: Pause }> {
  const entry = await findEntry(db, options, id);
  const row = await setPause(db, entry.id, pause);
  if (entry.jobname) await setJobActive(db, entry.jobname, false);
  return { entry, pause: row };
}

/** End a pause. An id no longer in force may still be resumed (its pause row goes). */
export async function resumeEntry(db: Database, options: SteerOptions, id: string): Promise<{ entry?: EntryInForce; pause?: Pause }> {
  const entry = await findEntry(db, options, id).catch((error) => {
    if (error instanceof UsageError) return undefined;
    throw error;
  });
  const pause = await clearPause(db, entry?.id ?? id);
  if (!entry && !pause) await findEntry(db, options, id); // throws: unknown and not paused
  if (entry?.jobname) await setJobActive(db, entry.jobname, true);
  return { entry, pause };
}

/** Pauses whose --until has passed: ended, their pg_cron jobs active again. Run by run-scheduler's housekeeping. */
export async function endExpiredPauses(db: Database, now = new Date()): Promise<Pause[]> {
  const expired = (await listPauses(db)).filter((p) => p.until && p.until <= now);
  if (!expired.length) return [];
  const jobs = db.kind === 'postgres'
    ? await db.query<{ jobname: string; entry: string }>('select jobname, entry from pgcron_jobs where entry = any($1)', [expired.map((p) => p.entry)])
    : [];
  for (const job of jobs) await setJobActive(db, job.jobname, true);
  await db.query('delete from schedule_pauses where entry = any($1) and until <= $2', [expired.map((p) => p.entry), now]);
  return expired;
}

/** The arguments a run of the entry gets: its own, validated by the task's schema (defaults filled in). */
export function entryArgs(tasks: TaskSet, entry: Pick<EntryInForce, 'task' | 'args'>): Record<string, unknown> {
  const task = tasks.find(entry.task);
  if (!task) throw new UsageError(`the entry runs task '${entry.task}', which this version of singularity and its task modules do not have`);
  return parseArgs(task.args, entry.args, task.name) as Record<string, unknown>;
}

async function setJobActive(db: Database, jobname: string, active: boolean): Promise<void> {
  const [job] = await db.query<{ cronDatabase: string }>('select cron_database as "cronDatabase" from pgcron_jobs where jobname = $1', [jobname]);
  if (!job) return;
  const cronDb = await openCronDatabaseNamed(db, job.cronDatabase);
  try {
    await cronDb.query('select cron.alter_job(jobid, active => $2) from cron.job where jobname = $1', [jobname, active]);
  } finally {
    if (cronDb !== db) await cronDb.close();
  }
}
