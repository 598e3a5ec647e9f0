// The registry of run-scheduler processes: each one registers, heartbeats and signs off, so that
// `status` can say which schedulers are alive and which entries each serves.
import { hostname } from 'node:os';
import type { Database } from './database.js';

export interface SchedulerEntrySummary {
  id: string;
  schedule: string;
  task: string;
  timezone: string;
  /** The entry's arguments (absent in records of older versions). */
  args?: Record<string, unknown>;
}

export interface SchedulerRecord {
  id: number;
  host: string;
  pid: number;
  version: string;
  crontab: string | null;
  entries: SchedulerEntrySummary[];
  placedInPgCron: string[];
  startedAt: Date;
  heartbeatAt: Date;
  stoppedAt: Date | null;
  stopReason: string | null;
}

const COLUMNS = `id, host, pid, version, crontab, entries, placed_in_pg_cron as "placedInPgCron", started_at as "startedAt",
  heartbeat_at as "heartbeatAt", stopped_at as "stoppedAt", stop_reason as "stopReason"`;

export async function registerScheduler(
  db: Database,
  record: { version: string; crontab: string; entries: SchedulerEntrySummary[]; placedInPgCron: string[] },
): Promise<SchedulerRecord> {
  const rows = await db.query<SchedulerRecord>(
    `insert into schedulers (host, pid, version, crontab, entries, placed_in_pg_cron)
     values ($1, $2, $3, $4, $5, $6) returning ${COLUMNS}`,
    [hostname(), process.pid, record.version, record.crontab, JSON.stringify(record.entries), JSON.stringify(record.placedInPgCron)],
  );
  return rows[0]!;
}

export async function heartbeatScheduler(db: Database, id: number): Promise<void> {
  await db.query('update schedulers set heartbeat_at = now() where id = $1', [id]);
}

export async function updateSchedulerEntries(db: Database, id: number, crontab: string, entries: SchedulerEntrySummary[], placedInPgCron: string[]): Promise<void> {
  await db.query('update schedulers set crontab = $2, entries = $3, placed_in_pg_cron = $4 where id = $1', [
    id, crontab, JSON.stringify(entries), JSON.stringify(placedInPgCron),
  ]);
}

export async function stopScheduler(db: Database, id: number, reason: string): Promise<void> {
  await db.query('update schedulers set stopped_at = now(), stop_reason = $2 where id = $1', [id, reason]);
}

/** Schedulers that have not signed off and whose heartbeat is fresher than `staleAfterMs`. */
export async function liveSchedulers(db: Database, staleAfterMs: number): Promise<SchedulerRecord[]> {
  return db.query<SchedulerRecord>(
    `select ${COLUMNS} from schedulers where stopped_at is null
       and heartbeat_at > now() - make_interval(secs => $1::int / 1000.0)
     order by started_at`,
    [staleAfterMs],
  );
}
