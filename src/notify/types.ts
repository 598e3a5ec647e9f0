// What alerts are made of: the incident kinds, the events that send a message, and the message itself
// (the JSON body every webhook receives; documented in docs/alerts.md).

export type IncidentKind = 'failing' | 'overdue';
export type AlertEvent = 'opened' | 'resolved';

export type NotifyLog = (level: 'info' | 'warn' | 'error', message: string) => void;

export interface AlertMessage {
  event: AlertEvent;
  kind: IncidentKind;
  task: string;
  /** The incident's id: an 'opened' and its 'resolved' share it. */
  incident: number;
  /** When the event was noticed (ISO 8601). */
  at: string;
  /** When the incident opened; for 'opened', the same as `at`. */
  openedAt: string;
  /** What happened, in a sentence. */
  detail: string;
  /** The run behind the event: the failed run that opened a failing incident, the run that resolved one; null when none. */
  runId: number | null;
  /** The database the tasks run against, with any password masked. */
  database: string;
  /** One line for a person, which chat webhooks that read `text` show as is. */
  text: string;
}
