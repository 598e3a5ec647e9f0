// The outbox: pending messages are claimed with a lease (FOR UPDATE SKIP LOCKED, so two schedulers never
// take the same one), POSTed with no database connection held, and recorded delivered, or retried with
// exponential backoff until they are given up as failed.
import type { Database } from '../core/database.js';
import type { Webhook } from '../core/webhooks.js';
import { redact } from '../core/redact.js';
import type { AlertMessage } from './types.js';

export const DELIVERY = {
  /** How long a webhook has to answer. */
  timeoutMs: 10_000,
  /** The wait after the first failed attempt; it doubles after each one. */
  firstRetryMs: 30_000,
  /** Attempts before a message is given up as failed (30 s, 1, 2, 4 ... 32 min apart: about an hour in all). */
  maxAttempts: 8,
  /** A claimed message is tried again after this if its claimer died mid-attempt. Longer than the timeout. */
  leaseMs: 60_000,
  /** Messages claimed per pass. */
  batch: 20,
} as const;

export interface ClaimedDelivery {
  id: number;
  webhook: string;
  payload: AlertMessage;
  attempts: number;
}

/** Take the due pending messages of these webhooks: each is leased to this caller, with its attempt counted. */
export async function claimDue(db: Database, now: Date, webhooks: string[]): Promise<ClaimedDelivery[]> {
  return db.query<ClaimedDelivery>(
    `update alert_deliveries d
     set attempts = d.attempts + 1, last_attempt_at = $1, next_attempt_at = $1::timestamptz + make_interval(secs => $2::int / 1000.0)
     from (select id from alert_deliveries
           where state = 'pending' and next_attempt_at <= $1 and webhook = any($3::text[])
           order by next_attempt_at, id limit $4
           for update skip locked) due
     where d.id = due.id
     returning d.id::int, d.webhook, d.payload, d.attempts`,
    [now, DELIVERY.leaseMs, webhooks, DELIVERY.batch],
  );
}

/** POST the message; undefined when the webhook took it (2xx), else why not. Never throws. */
export async function post(webhook: Webhook, delivery: ClaimedDelivery): Promise<string | undefined> {
  try {
    const response = await fetch(webhook.url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'user-agent': 'singularity',
        // The same id on every attempt: a receiver that saw a timed-out attempt arrive can drop the retry.
        'x-singularity-delivery': String(delivery.id),
        ...webhook.headers,
      },
      body: JSON.stringify(delivery.payload),
      // A redirect is not followed (it would turn the POST into a GET, and send the headers elsewhere).
      redirect: 'manual',
      signal: AbortSignal.timeout(DELIVERY.timeoutMs),
    });
    const body = await response.text().catch(() => '');
    if (response.ok) return undefined;
    const excerpt = body.trim().replace(/\s+/g, ' ').slice(0, 200);
    return redact(`HTTP ${response.status}${response.statusText ? ` ${response.statusText}` : ''}${excerpt ? `: ${excerpt}` : ''}`);
  } catch (error) {
    return redact(describeFetchError(error));
  }
}

/** A failed fetch in words: undici's 'fetch failed' says nothing without its cause. */
export function describeFetchError(error: unknown, timeoutMs: number = DELIVERY.timeoutMs): string {
  const e = error as Error & { cause?: { message?: string } };
  if (e?.name === 'TimeoutError') return `no answer within ${timeoutMs / 1000} s`;
  return e?.cause?.message ? `${e.message}: ${e.cause.message}` : String(e?.message ?? error);
}

/** Record an attempt: delivered, retried later, or (its attempts used up) failed. Returns the new state. */
export async function recordAttempt(
  db: Database,
  delivery: ClaimedDelivery,
  now: Date,
  error: string | undefined,
): Promise<{ state: 'delivered' | 'pending' | 'failed'; nextAttemptAt?: Date }> {
  if (error === undefined) {
    await db.query(`update alert_deliveries set state = 'delivered', delivered_at = $2 where id = $1`, [delivery.id, now]);
    return { state: 'delivered' };
  }
  if (delivery.attempts >= DELIVERY.maxAttempts) {
    await db.query(`update alert_deliveries set state = 'failed', last_error = $2, last_error_at = $3 where id = $1`, [delivery.id, error, now]);
    return { state: 'failed' };
  }
  const nextAttemptAt = new Date(now.getTime() + DELIVERY.firstRetryMs * 2 ** (delivery.attempts - 1));
  await db.query(`update alert_deliveries set last_error = $2, last_error_at = $3, next_attempt_at = $4 where id = $1`, [delivery.id, error, now, nextAttemptAt]);
  return { state: 'pending', nextAttemptAt };
}
