// Alerts: are the webhooks' messages getting through? The last 24 h of the outbox by state, the last failed
// attempt with its error, the open incidents; a warning for a message given up on or one nobody delivers.
import type { Config } from '../core/config.js';
import type { Database } from '../core/database.js';
import { plural } from '../core/format.js';
import { ok, warn, type Check } from './types.js';

const ID = 'notifications';
const TITLE = 'notifications';
/** A pending message this late has nobody delivering it: every run-scheduler tries the due ones each poll. */
const STUCK_AFTER = '10 minutes';

const iso = (date: Date) => date.toISOString().replace(/\.\d+Z$/, 'Z');

interface Failure {
  id: number;
  webhook: string;
  event: string;
  incident: number;
  task: string;
  kind: string;
  state: string;
  attempts: number;
  error: string;
  at: Date;
}

export async function checkNotifications(db: Database, config: Config): Promise<Check> {
  const names = config.notify.webhooks.map((w) => w.name);
  if (!names.length) {
    return ok(ID, TITLE, 'no webhooks configured (notify.webhooks): no alerts are sent; status and doctor still report every problem');
  }
  const [[counts], [last], open, stuck] = await Promise.all([
    db.query<{ delivered: number; pending: number; failed: number; failedIds: number[] | null }>(
      `select count(*) filter (where state = 'delivered')::int as delivered, count(*) filter (where state = 'pending')::int as pending,
         count(*) filter (where state = 'failed')::int as failed, array_agg(id::int order by id) filter (where state = 'failed') as "failedIds"
       from alert_deliveries where created_at > now() - interval '24 hours'`,
    ),
    db.query<Failure>(
      `select d.id::int, d.webhook, d.event, d.incident_id::int as incident, i.task, i.kind, d.state, d.attempts, d.last_error as error,
         d.last_error_at as at
       from alert_deliveries d join alert_incidents i on i.id = d.incident_id
       where d.last_error_at is not null order by d.last_error_at desc, d.id desc limit 1`,
    ),
    db.query<{ task: string; kind: string; openedAt: Date }>(
      `select task, kind, opened_at as "openedAt" from alert_incidents where resolved_at is null order by opened_at`,
    ),
    db.query<{ id: number; webhook: string; due: Date }>(
      `select id::int, webhook, next_attempt_at as due from alert_deliveries
       where state = 'pending' and next_attempt_at < now() - interval '${STUCK_AFTER}' order by next_attempt_at`,
    ),
  ]);

  const lines = [
    `${plural(names.length, 'webhook')}: ${names.join(', ')}`,
    `last 24 h: ${counts!.delivered} delivered, ${counts!.pending} pending, ${counts!.failed} failed`,
  ];
  if (last) {
    const where = last.state === 'failed' ? `given up after ${plural(last.attempts, 'attempt')}` : last.state === 'pending' ? `attempt ${last.attempts}, to be retried` : 'delivered since';
    lines.push(`last failure: to ${last.webhook} at ${iso(last.at)}: ${last.error} (the '${last.event}' message of incident ${last.incident}, ${last.task} ${last.kind}; ${where})`);
  }
  lines.push(open.length ? `open incidents: ${open.map((i) => `${i.task} ${i.kind} since ${iso(i.openedAt)}`).join(', ')}` : 'open incidents: none');

  const fixes: string[] = [];
  if (counts!.failed) {
    lines.unshift(`${plural(counts!.failed, 'message')} given up in the last 24 h (deliveries ${counts!.failedIds!.join(', ')})`);
    fixes.push(
      'Make the webhook take the messages: check its URL and headers, and that it answers 2xx (the error above says what it answered). ' +
        "A message given up on is not sent again by itself; to send one again: update alert_deliveries set state = 'pending', attempts = 0, next_attempt_at = now() where id = ID.",
    );
  }
  if (stuck.length) {
    const unknown = [...new Set(stuck.map((s) => s.webhook).filter((w) => !names.includes(w)))];
    lines.unshift(`${plural(stuck.length, 'pending message')} due since ${iso(stuck[0]!.due)} and not delivered (deliveries ${stuck.map((s) => s.id).join(', ')})`);
    fixes.push(
      "run-scheduler delivers the messages in its housekeeping: make sure one runs against this database with this notify.webhooks" +
        (unknown.length ? `; ${unknown.join(', ')} ${unknown.length === 1 ? 'is' : 'are'} no longer in notify.webhooks here, so nothing here sends ${unknown.length === 1 ? 'its' : 'their'} messages` : '') +
        '.',
    );
  }
  if (fixes.length) return warn(ID, TITLE, lines.join('\n'), fixes.join(' '));
  return ok(ID, TITLE, lines.join('; '));
}
