// Pauses of schedule entries, kept in the database so that every run-scheduler and pg_cron honour them.
// A paused entry's ticks are recorded as skipped (reason "paused ..."), never run, never overdue.
import { hostname, userInfo } from 'node:os';
import type { Database } from '../core/database.js';
import { formatTime } from '../core/format.js';

export interface Pause {
  entry: string;
  pausedAt: Date;
  /** The pause ends by itself then; null: until `schedule resume`. */
  until: Date | null;
  reason: string | null;
  pausedBy: string;
}

const COLUMNS = `entry, paused_at as "pausedAt", until, reason, paused_by as "pausedBy"`;

export async function listPauses(db: Database): Promise<Pause[]> {
  return db.query<Pause>(`select ${COLUMNS} from schedule_pauses order by entry`);
}

/** Whether the pause holds a tick at `at`: it began at or before it and had not ended. */
export function pausedAt(pause: Pause | undefined, at: Date): boolean {
  return !!pause && pause.pausedAt <= at && (!pause.until || pause.until > at);
}

/** The reason a skipped tick records. */
export function pauseReason(pause: Pause): string {
  return `paused by ${pause.pausedBy} at ${formatTime(pause.pausedAt)}` +
    (pause.until ? ` until ${formatTime(pause.until)}` : '') + (pause.reason ? `: ${pause.reason}` : '');
}

export async function setPause(db: Database, entry: string, options: { until?: Date; reason?: string }): Promise<Pause> {
  const by = `${safeUser()}@${hostname()}`;
  const [pause] = await db.query<Pause>(
    `insert into schedule_pauses (entry, until, reason, paused_by) values ($1, $2, $3, $4)
     on conflict (entry) do update set until = excluded.until, reason = excluded.reason, paused_by = excluded.paused_by
     returning ${COLUMNS}`,
    [entry, options.until ?? null, options.reason ?? null, by],
  );
  return pause!;
}

/** End a pause; returns it, or undefined when the entry was not paused. */
export async function clearPause(db: Database, entry: string): Promise<Pause | undefined> {
  const [pause] = await db.query<Pause>(`delete from schedule_pauses where entry = $1 returning ${COLUMNS}`, [entry]);
  return pause;
}

function safeUser(): string {
  try {
    return userInfo().username;
  } catch {
    return 'unknown';
  }
}
