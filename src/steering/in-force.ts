// The schedule in force: every periodic entry someone is meant to run, from both engines. pg_cron's jobs
// (as `pgcron install` recorded them) for the tasks placed there; for the rest, the live schedulers'
// crontabs, else the crontab pg_cron was installed from, else the configured (or default) one. status,
// doctor and `schedule list` all judge against this one list.
import type { Database } from '../core/database.js';
import type { TaskSet } from '../core/task/registry.js';
import { recordedJobs } from '../pgcron/history.js';
import { tasksInPgCron } from '../pgcron/placement.js';
import { isScheduled, type Crontab } from '../schedule/crontab.js';
import { listPauses, pausedAt, type Pause } from '../schedule/pauses.js';

export interface EntryInForce {
  /** The crontab entry id: what `schedule pause | resume | trigger` take. */
  id: string;
  task: string;
  /** As written ('@daily', '0 1 * * *'). */
  schedule: string;
  timezone: string;
  engine: 'pg_cron' | 'run-scheduler';
  /** Who runs it now: pg_cron, a live scheduler, or nobody (no scheduler alive). */
  runBy: 'pg_cron' | 'scheduler' | 'nobody';
  /** The pg_cron job's name, for a pg_cron entry. */
  jobname?: string;
  /** The entry's arguments (what a run of it gets). */
  args: Record<string, unknown>;
  /** Ticks before this were nobody's to run (the first scheduler started, the job was installed). */
  since: Date | null;
  /** The pause set on the entry, whether or not it still holds. */
  pause: Pause | null;
  /** The pause holds now. */
  paused: boolean;
  /** Where the entry was read: a crontab path, the live scheduler, or pg_cron. */
  source: string;
}

interface SummaryEntry {
  id: string;
  schedule: string;
  task: string;
  timezone: string;
  args?: Record<string, unknown>;
}

export interface ScheduleInForce {
  entries: EntryInForce[];
  /** Schedulers with a fresh heartbeat. */
  liveSchedulers: number;
  /** When the first scheduler ever started against this database. */
  firstStart: Date | null;
}

export async function scheduleInForce(
  db: Database,
  options: { tasks: TaskSet; crontab: () => Promise<Crontab>; staleAfterMs: number; now?: Date },
): Promise<ScheduleInForce> {
  const now = options.now ?? new Date();
  const [live, [first], placed, jobs, pauseList, installed] = await Promise.all([
    db.query<{ id: number; entries: SummaryEntry[] }>(
      `select id, entries from schedulers where stopped_at is null
         and heartbeat_at > now() - make_interval(secs => $1::int / 1000.0) order by started_at`,
      [options.staleAfterMs],
    ),
    db.query<{ firstStart: Date | null }>('select min(started_at) as "firstStart" from schedulers'),
    tasksInPgCron(db),
    recordedJobs(db),
    listPauses(db),
    db.kind === 'postgres'
      ? db.query<{ crontab: string; entries: SummaryEntry[] }>('select crontab, entries from pgcron_install')
      : Promise.resolve([]),
  ]);
  const pauses = new Map(pauseList.map((p) => [p.entry, p]));
  const firstStart = first?.firstStart ?? null;
  const withPause = (id: string) => {
    const pause = pauses.get(id) ?? null;
    return { pause, paused: pausedAt(pause ?? undefined, now) };
  };

  const entries: EntryInForce[] = jobs
    .filter((j) => placed.has(j.task))
    .map((j) => ({
      id: j.entry, task: j.task, schedule: j.schedule, timezone: j.timezone, engine: 'pg_cron', runBy: 'pg_cron',
      jobname: j.jobname, args: j.args, since: j.installedAt, source: 'pg_cron', ...withPause(j.entry),
    }));
  const runBy = live.length ? 'scheduler' : 'nobody';
  const [source, list]: [string, SummaryEntry[]] = live.length
    ? ['run-scheduler', live.flatMap((s) => s.entries)]
    : installed[0]
      ? [installed[0].crontab, installed[0].entries]
      : await options.crontab().then((c) => [c.source, c.entries] as [string, SummaryEntry[]]);
  const seen = new Set(entries.map((e) => e.id));
  for (const e of list) {
    if (seen.has(e.id) || !isScheduled(e.schedule) || placed.has(e.task) || !options.tasks.find(e.task)) continue;
    seen.add(e.id);
    entries.push({
      id: e.id, task: e.task, schedule: e.schedule, timezone: e.timezone, engine: 'run-scheduler', runBy,
      args: e.args ?? {}, since: firstStart, source, ...withPause(e.id),
    });
  }
  return { entries, liveSchedulers: live.length, firstStart };
}
