// Alerts: incidents (a task failing or overdue) sent to webhooks once each, and healthchecks-style pings.
export { Notifier, type NotifierOptions } from './notifier.js';
export { ping, pingUrl } from './ping.js';
export { DELIVERY } from './deliveries.js';
export type { AlertEvent, AlertMessage, IncidentKind, NotifyLog } from './types.js';
