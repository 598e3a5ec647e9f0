// The Notifier: one pass turns the status report into incidents (opened, resolved) and their messages,
// then delivers the messages that are due. run-scheduler calls `void notifier.tick()` from its housekeeping
// loop: a pass never throws and holds no database connection while a webhook answers, so runs never wait.
import type { Config } from '../core/config.js';
import type { Database } from '../core/database.js';
import { redact } from '../core/redact.js';
import type { TaskSet } from '../core/task/registry.js';
import type { Crontab } from '../schedule/crontab.js';
import { collectStatus } from '../status/status.js';
import { claimDue, DELIVERY, post, recordAttempt, type ClaimedDelivery } from './deliveries.js';
import { openIncident, openIncidents, resolveIncident, transitions } from './incidents.js';
import type { NotifyLog } from './types.js';

export interface NotifierOptions {
  db: Database;
  config: Config;
  tasks: TaskSet;
  /** The crontab to expect when no scheduler is alive, as for status. */
  crontab: () => Promise<Crontab>;
  log?: NotifyLog;
}

export class Notifier {
  private pass?: Promise<void>;
  private readonly log: NotifyLog;

  constructor(private readonly options: NotifierOptions) {
    const log = options.log ?? (() => {});
    this.log = (level, message) => log(level, redact(message));
  }

  /**
   * One pass. Never rejects. While a pass is under way (a webhook slow to answer, at most its 10 s timeout),
   * a call returns that pass instead of starting a second one.
   */
  tick(now: Date = new Date()): Promise<void> {
    this.pass ??= this.run(now).finally(() => (this.pass = undefined));
    return this.pass;
  }

  private async run(now: Date): Promise<void> {
    const { webhooks } = this.options.config.notify;
    if (!webhooks.length) return;
    try {
      await this.notice(now, webhooks.map((w) => w.name));
    } catch (error) {
      this.log('warn', `alerts: could not look for failing or overdue tasks: ${(error as Error).message}`);
    }
    try {
      const due = await claimDue(this.options.db, now, webhooks.map((w) => w.name));
      const started = Date.now();
      // Deliver every message at once: one slow webhook does not hold up the others.
      await Promise.all(due.map((d) => this.deliver(d, () => new Date(now.getTime() + Date.now() - started))));
    } catch (error) {
      this.log('warn', `alerts: could not deliver: ${(error as Error).message}`);
    }
  }

  /** Open and resolve incidents as the report says; the database keeps a second scheduler from doing the same again. */
  private async notice(now: Date, webhooks: string[]): Promise<void> {
    const { db, config, tasks, crontab } = this.options;
    const [report, open] = await Promise.all([collectStatus(db, config, { tasks, crontab, now }), openIncidents(db)]);
    for (const t of transitions(report.tasks, open)) {
      if (t.event === 'opened') {
        const id = await openIncident(db, t, now, webhooks);
        if (id !== undefined) this.log('warn', `alert opened (incident ${id}): ${t.detail}`);
      } else if (await resolveIncident(db, t, now, webhooks)) {
        this.log('info', `alert resolved (incident ${t.incident.id}): ${t.detail}`);
      }
    }
  }

  private async deliver(delivery: ClaimedDelivery, clock: () => Date): Promise<void> {
    const webhook = this.options.config.notify.webhooks.find((w) => w.name === delivery.webhook)!;
    const error = await post(webhook, delivery);
    const what = `the '${delivery.payload.event}' message of incident ${delivery.payload.incident} (${delivery.payload.task} ${delivery.payload.kind}) to ${webhook.name}`;
    try {
      const outcome = await recordAttempt(this.options.db, delivery, clock(), error);
      if (outcome.state === 'delivered') this.log('info', `alerts: delivered ${what}`);
      else if (outcome.state === 'pending') {
        this.log('warn', `alerts: ${what} failed (attempt ${delivery.attempts} of ${DELIVERY.maxAttempts}): ${error}; next attempt at ${outcome.nextAttemptAt!.toISOString()}`);
      } else this.log('error', `alerts: gave up on ${what} after ${delivery.attempts} attempts: ${error}`);
    } catch (e) {
      // Its lease runs out and it is tried again: a duplicate at worst, never a lost message.
      this.log('warn', `alerts: could not record the attempt at ${what}: ${(e as Error).message}`);
    }
  }
}
