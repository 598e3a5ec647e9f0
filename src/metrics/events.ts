// Telemetry events: a number a task (or anything with the database) records under a name, at a time. The
// aggregate-metrics task turns them into metrics per period; this module is all an emitter needs.
import type { Database } from '../core/database.js';
import { UsageError } from '../core/errors.js';

export interface EventOptions {
  /** The run that emitted it (a task's `runId`). */
  runId?: number;
  tags?: Record<string, unknown>;
  /** When it happened (default: now, the database's clock). */
  at?: Date;
}

/** Record one event; returns its id. */
export async function emitEvent(db: Database, name: string, value: number, options: EventOptions = {}): Promise<number> {
  // The table refuses these too; here the message says why.
  if (!name || name.startsWith('run.')) {
    throw new UsageError(`event name '${name}': must be non-empty and not start with 'run.' (the run metrics' names)`);
  }
  if (!Number.isFinite(value)) throw new UsageError(`event '${name}': value must be a finite number, got ${value}`);
  const [row] = await db.query<{ id: number }>(
    `insert into telemetry_events (name, value, at, run_id, tags) values ($1, $2, coalesce($3::timestamptz, now()), $4, $5) returning id`,
    [name, value, options.at ?? null, options.runId ?? null, JSON.stringify(options.tags ?? {})],
  );
  return row!.id;
}
