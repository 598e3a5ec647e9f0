// `schedule list`: every entry in force, from both engines, with its pause, its last run and its next tick.
import type { Database } from '../core/database.js';
import { scheduleInForce, type EntryInForce } from './in-force.js';
import { nextTick } from '../schedule/ticks.js';
import type { SteerOptions } from './steer.js';

export interface ScheduleRow {
  id: string;
  task: string;
  schedule: string;
  timezone: string;
  engine: EntryInForce['engine'];
  runBy: EntryInForce['runBy'];
  jobname: string | null;
  paused: { since: Date; until: Date | null; by: string; reason: string | null } | null;
  lastRun: { runId: number; state: string; trigger: string; at: Date; durationMs: number | null } | null;
  /** The next tick that will run: none while paused without an end, the first after the pause otherwise. */
  nextRun: Date | null;
}

export async function listSchedule(db: Database, options: SteerOptions): Promise<ScheduleRow[]> {
  const now = options.now ?? new Date();
  const { entries } = await scheduleInForce(db, { ...options, now });
  const last = new Map(
    (await db.query<{ entry: string; runId: number; state: string; trigger: string; at: Date; durationMs: number | null }>(
      `select e.entry, r.id as "runId", r.state, r.trigger, coalesce(r.started_at, r.finished_at, r.inserted_at) as at, r.duration_ms as "durationMs"
       from unnest($1::text[]) as e(entry)
       cross join lateral (select * from task_runs t where t.entry = e.entry
                           order by t.scheduled_for desc nulls last, t.id desc limit 1) r`,
      [entries.map((e) => e.id)],
    )).map(({ entry, ...run }) => [entry, run]),
  );
  return entries.map((e) => {
    const scheduled = { expression: e.schedule, timezone: e.timezone };
    const from = e.paused ? e.pause!.until : now;
    return {
      id: e.id, task: e.task, schedule: e.schedule, timezone: e.timezone, engine: e.engine, runBy: e.runBy, jobname: e.jobname ?? null,
      paused: e.paused && e.pause ? { since: e.pause.pausedAt, until: e.pause.until, by: e.pause.pausedBy, reason: e.pause.reason } : null,
      lastRun: last.get(e.id) ?? null,
      nextRun: from ? nextTick(scheduled, new Date(from.getTime() - 1)) : null,
    };
  });
}
