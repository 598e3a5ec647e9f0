-- Alerts: an incident per task and kind (failing, overdue) from when it starts until it ends, and an outbox
-- of the webhook messages its events send. The database decides who opens, resolves and delivers, so that
-- any number of schedulers ticking at once send each message once.
CREATE TABLE alert_incidents (
  id bigserial PRIMARY KEY,
  task text NOT NULL,
  kind text NOT NULL CHECK (kind IN ('failing', 'overdue')),
  opened_at timestamptz NOT NULL,
  -- The failed run that opened it (none for overdue). No foreign key: prune-runs deletes old runs.
  opened_by_run bigint,
  detail text NOT NULL,
  resolved_at timestamptz,
  resolved_by_run bigint,
  resolved_detail text
);
--> statement-breakpoint
-- At most one open incident per task and kind: a second scheduler's insert of the same one does nothing.
CREATE UNIQUE INDEX alert_incidents_open_idx ON alert_incidents (task, kind) WHERE resolved_at IS NULL;
--> statement-breakpoint
CREATE TABLE alert_deliveries (
  id bigserial PRIMARY KEY,
  incident_id bigint NOT NULL REFERENCES alert_incidents (id) ON DELETE CASCADE,
  event text NOT NULL CHECK (event IN ('opened', 'resolved')),
  -- The webhook's name in notify.webhooks, never its URL (which may carry a token).
  webhook text NOT NULL,
  payload jsonb NOT NULL,
  state text NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'delivered', 'failed')),
  attempts integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
  created_at timestamptz NOT NULL,
  -- When a pending delivery is next tried; while an attempt is under way, when its lease runs out.
  next_attempt_at timestamptz NOT NULL,
  last_attempt_at timestamptz,
  -- The latest failed attempt's error, kept once a later attempt delivers it.
  last_error text,
  last_error_at timestamptz,
  delivered_at timestamptz,
  UNIQUE (incident_id, event, webhook)
);
--> statement-breakpoint
CREATE INDEX alert_deliveries_due_idx ON alert_deliveries (next_attempt_at) WHERE state = 'pending';
--> statement-breakpoint
CREATE INDEX alert_deliveries_created_idx ON alert_deliveries (created_at);
