// Incidents from the status report: a task that turns failing or overdue opens one, a task that is no longer
// so resolves it, and each of those events queues one message per webhook. The unique index on open
// incidents and the row lock of the resolving UPDATE decide between schedulers doing this at the same time.
import type { Database } from '../core/database.js';
import type { StatusReport } from '../status/status.js';
import type { AlertEvent, AlertMessage, IncidentKind } from './types.js';

export interface OpenIncident {
  id: number;
  task: string;
  kind: IncidentKind;
  openedAt: Date;
  openedByRun: number | null;
}

/** A change to make: open an incident, or resolve an open one. */
export type Transition =
  | { event: 'opened'; task: string; kind: IncidentKind; runId: number | null; detail: string }
  | { event: 'resolved'; incident: OpenIncident; runId: number | null; detail: string };

type TaskReport = Pick<StatusReport['tasks'][number], 'task' | 'failing' | 'overdue' | 'lastFailure' | 'lastSuccess' | 'lastDue'>;

export async function openIncidents(db: Database): Promise<OpenIncident[]> {
  return db.query<OpenIncident>(
    `select id::int, task, kind, opened_at as "openedAt", opened_by_run::int as "openedByRun" from alert_incidents where resolved_at is null`,
  );
}

/** What the report asks of the open incidents. Pure: the database applies it. */
export function transitions(tasks: readonly TaskReport[], open: readonly OpenIncident[]): Transition[] {
  const out: Transition[] = [];
  for (const t of tasks) {
    const failing = open.find((i) => i.task === t.task && i.kind === 'failing');
    // Failing still, but with a success since the incident opened and a new failure after it: it recovered
    // and failed again between two looks, which is two incidents.
    const recovered = !!failing && t.failing && !!t.lastSuccess && t.lastSuccess.at > failing.openedAt && t.lastFailure!.runId !== failing.openedByRun;
    if (failing && (!t.failing || recovered)) {
      // Not failing means the latest success came after the latest failure (or the failures were pruned).
      const success = t.lastSuccess?.runId ?? null;
      out.push({
        event: 'resolved',
        incident: failing,
        runId: success,
        detail: success ? `${t.task} completed again (run ${success})` : `${t.task} is no longer failing`,
      });
    }
    if (t.failing && (!failing || recovered)) {
      const f = t.lastFailure!;
      out.push({ event: 'opened', task: t.task, kind: 'failing', runId: f.runId, detail: `${t.task} is failing: ${f.error} (run ${f.runId})` });
    }

    const overdue = open.find((i) => i.task === t.task && i.kind === 'overdue');
    if (overdue && !t.overdue) {
      // The newest finished run, if it came after the incident opened; a run still executing has none yet.
      const latest = [t.lastSuccess, t.lastFailure].filter((r) => r && r.at > overdue.openedAt).sort((a, b) => b!.runId - a!.runId)[0];
      out.push({
        event: 'resolved',
        incident: overdue,
        runId: latest?.runId ?? null,
        detail: latest ? `${t.task} ran again (run ${latest.runId})` : `${t.task} is no longer overdue`,
      });
    }
    if (t.overdue && !overdue) {
      out.push({ event: 'opened', task: t.task, kind: 'overdue', runId: null, detail: `${t.task} is overdue: due at ${t.lastDue!.toISOString()}, no run since` });
    }
  }
  return out;
}

/** The message of an event, without the incident id an 'opened' gets from its insert. */
export function messageOf(
  event: AlertEvent,
  { kind, task, at, openedAt, detail, runId, database }: Omit<AlertMessage, 'event' | 'incident' | 'text' | 'at' | 'openedAt'> & { at: Date; openedAt: Date },
): Omit<AlertMessage, 'incident'> {
  const text = event === 'opened' ? `singularity: ${detail}` : `singularity: resolved: ${detail} (${kind} since ${openedAt.toISOString()})`;
  return { event, kind, task, at: at.toISOString(), openedAt: openedAt.toISOString(), detail, runId, database, text };
}

/**
 * Open an incident and queue its 'opened' messages, in one statement. Returns its id, or undefined when
 * an open incident of the task and kind exists already (another scheduler was first).
 */
export async function openIncident(
  db: Database,
  t: Extract<Transition, { event: 'opened' }>,
  at: Date,
  webhooks: string[],
): Promise<number | undefined> {
  const payload = messageOf('opened', { ...t, at, openedAt: at, database: db.target });
  const [row] = await db.query<{ id: number }>(
    `with opened as (
       insert into alert_incidents (task, kind, opened_at, opened_by_run, detail) values ($1, $2, $3, $4, $5)
       on conflict (task, kind) where resolved_at is null do nothing
       returning id),
     queued as (
       insert into alert_deliveries (incident_id, event, webhook, payload, created_at, next_attempt_at)
       select opened.id, 'opened', w, $6::jsonb || jsonb_build_object('incident', opened.id), $3, $3
       from opened, unnest($7::text[]) w)
     select id::int from opened`,
    [t.task, t.kind, at, t.runId, t.detail, JSON.stringify(payload), webhooks],
  );
  return row?.id;
}

/** Resolve an open incident and queue its 'resolved' messages; false when it was resolved already. */
export async function resolveIncident(
  db: Database,
  t: Extract<Transition, { event: 'resolved' }>,
  at: Date,
  webhooks: string[],
): Promise<boolean> {
  const { incident } = t;
  const payload: AlertMessage = {
    ...messageOf('resolved', { ...incident, at, detail: t.detail, runId: t.runId, database: db.target }),
    incident: incident.id,
  };
  const rows = await db.query(
    `with resolved as (
       update alert_incidents set resolved_at = $2, resolved_by_run = $3, resolved_detail = $4
       where id = $1 and resolved_at is null
       returning id),
     queued as (
       insert into alert_deliveries (incident_id, event, webhook, payload, created_at, next_attempt_at)
       select resolved.id, 'resolved', w, $5::jsonb, $2, $2 from resolved, unnest($6::text[]) w)
     select id from resolved`,
    [incident.id, at, t.runId, t.detail, JSON.stringify(payload), webhooks],
  );
  return rows.length > 0;
}
