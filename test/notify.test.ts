// Alerts, end to end on every backend: real runs make a task failing or overdue, a Notifier opens and
// resolves incidents from the status report, and a local HTTP server stands in for the webhook. One message
// per incident and event, retries, a webhook that cannot be reached (and doctor saying so), headers from
// the environment that never reach output, two Notifiers racing; the config section; pings.
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { loadConfig, type Config } from '../src/core/config.js';
import type { Database } from '../src/core/database.js';
import { ConfigError } from '../src/core/errors.js';
import { redact } from '../src/core/redact.js';
import { runTask } from '../src/core/runner.js';
import { defineTask } from '../src/core/task/define.js';
import type { TaskSet } from '../src/core/task/registry.js';
import { checkNotifications } from '../src/doctor/notifications.js';
import { DELIVERY, Notifier, ping, type AlertMessage } from '../src/notify/index.js';
import { parseCrontab } from '../src/schedule/crontab.js';
import { backendNames, createBackend, type Backend } from './support/backends.js';
import { runCli } from './support/cli.js';
import { freePort } from './support/own-server.js';

interface Received {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
}

/** A webhook on 127.0.0.1 that records every request and answers `status(n)` to the n-th (1-based). */
async function receiver(status: (n: number, request: Received) => number = () => 200) {
  const requests: Received[] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk) => (body += chunk));
    req.on('end', () => {
      const request = { method: req.method!, path: req.url!, headers: req.headers, body };
      requests.push(request);
      const code = status(requests.length, request);
      res.writeHead(code).end(code < 300 ? 'ok' : `refused (${request.headers.authorization ?? 'no credentials'})`);
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    base,
    url: `${base}/hook`,
    requests,
    messages: () => requests.map((r) => JSON.parse(r.body) as AlertMessage),
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

const HOUR = 3_600_000;

describe('notify.webhooks in the config file', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'sg-notify-config-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const load = (notify: unknown, env: Record<string, string> = {}) => {
    const file = join(dir, 'singularity.config.json');
    writeFileSync(file, JSON.stringify({ notify }));
    return { file, config: loadConfig({ config: file }, env, dir) };
  };
  const refused = async (promise: Promise<unknown>) => {
    const error = await promise.then(() => undefined, (e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigError);
    return error as ConfigError;
  };

  it('reads a header from the environment and registers it, and the URL, as secrets', async () => {
    const { config } = load(
      { webhooks: [{ name: 'ops', url: 'https://alerts.example/hooks/T0/B0/cfg-url-token', headers: { Authorization: { env: 'ALERT_TOKEN' }, 'X-Team': 'data' } }] },
      { ALERT_TOKEN: 'Bearer cfg-header-token' },
    );
    expect((await config).notify.webhooks).toEqual([
      { name: 'ops', url: 'https://alerts.example/hooks/T0/B0/cfg-url-token', headers: { Authorization: 'Bearer cfg-header-token', 'X-Team': 'data' } },
    ]);
    expect(redact('sent Bearer cfg-header-token and then cfg-header-token to https://alerts.example/hooks/T0/B0/cfg-url-token')).toBe('sent *** and then *** to ***');
    expect(redact('X-Team: data')).toBe('X-Team: data');
  });

  it('turns user:password in the URL into an Authorization header, both secret; a webhook without a name is named after its host', async () => {
    const { config } = load({ webhooks: [{ url: 'https://bot:cfg-url-pass@alerts.example/in' }] });
    const [webhook] = (await config).notify.webhooks;
    expect(webhook).toEqual({ name: 'alerts.example', url: 'https://alerts.example/in', headers: { Authorization: `Basic ${Buffer.from('bot:cfg-url-pass').toString('base64')}` } });
    expect(redact(`password cfg-url-pass, header ${webhook!.headers.Authorization}`)).not.toMatch(/cfg-url-pass|Basic /);
  });

  it('a variable that is not set is refused, naming the file, the header and the variable', async () => {
    const { file, config } = load({ webhooks: [{ name: 'ops', url: 'https://alerts.example/in', headers: { Authorization: { env: 'NO_SUCH_ALERT_TOKEN' } } }] });
    const error = await refused(config);
    expect(error.message).toBe(`${file}: at /notify/webhooks/0/headers/Authorization: the header's value comes from the environment variable NO_SUCH_ALERT_TOKEN, which is not set`);
    expect(error.hint).toMatch(/^Set NO_SUCH_ALERT_TOKEN in the environment/);
  });

  it.each([
    [{ webhooks: [{ url: 'ftp://alerts.example/cfg-secret-path' }] }, '/notify/webhooks/0/url: must be an http:// or https:// URL'],
    [{ webhooks: [{ url: 'https://a.example/x', headers: { 'Bad Header': 'x' } }] }, '/notify/webhooks/0/headers/Bad Header: not a valid HTTP header name'],
    [{ webhooks: [{ url: 'https://a.example/x', headers: { 'X-A': 5 } }] }, '/notify/webhooks/0/headers/X-A: a string, or {"env": "VARIABLE"}'],
    [{ webhooks: [{ url: 'https://a.example/x' }, { url: 'https://a.example/y' }] }, "/notify/webhooks/1: a second webhook named 'a.example'"],
    [{ webhooks: [{ url: 'https://a.example/x', secret: 'x' }] }, '/notify/webhooks/0/secret: Unrecognized key'],
  ])('%j is refused at its JSON path, without echoing the URL', async (notify, expected) => {
    const { file, config } = load(notify);
    const error = await refused(config);
    expect(error.message).toContain(`${file}: at ${expected}`);
    expect(error.message).not.toContain('cfg-secret-path');
  });
});

describe('ping', () => {
  it('hits URL/start, URL and URL/fail (a query string stays last); a webhook that cannot be reached never rejects', async () => {
    const monitor = await receiver();
    try {
      await ping(`${monitor.base}/ping/check-1`, 'start');
      await ping(`${monitor.base}/ping/check-1/`, 'success');
      await ping(`${monitor.base}/ping/check-1?rid=7`, 'fail');
      await expect.poll(() => monitor.requests.map((r) => r.path)).toEqual(['/ping/check-1/start', '/ping/check-1/', '/ping/check-1/fail?rid=7']);
    } finally {
      await monitor.close();
    }
    const logged: string[] = [];
    const closed = `http://127.0.0.1:${await freePort()}/ping/secret-check-id`;
    await expect(ping(closed, 'fail', (level, message) => logged.push(`${level} ${message}`))).resolves.toBeUndefined();
    expect(logged).toEqual([expect.stringMatching(/^warn ping \(fail\) to 127\.0\.0\.1:\d+ failed: fetch failed: connect ECONNREFUSED/)]);
    expect(logged[0]).not.toContain('secret-check-id');
  });
});

describe.each(backendNames)('alerts on %s', (backendName) => {
  let backend: Backend;
  let db: Database;
  let db2: Database;
  let dir: string;
  /** Whether alert-broken fails its next run. */
  let broken = true;
  const brokenTask = defineTask({
    name: 'alert-broken', summary: 'fails while told to', engine: 'node', args: z.object({}), timeoutMs: 10_000,
    async run() {
      if (broken) throw new Error('it broke');
      return {};
    },
  });
  const lateTask = defineTask({ name: 'alert-late', summary: 'runs every two minutes', engine: 'node', args: z.object({}), timeoutMs: 10_000, async run() { return {}; } });
  const tasks: TaskSet = { all: [brokenTask, lateTask], find: (name) => [brokenTask, lateTask].find((t) => t.name === name) };
  const { crontab } = parseCrontab('*/2 * * * * alert-late\n', { source: 'test crontab', tasks });

  beforeAll(async () => {
    backend = await createBackend(backendName);
    db = await backend.open();
    db2 = await backend.open();
    dir = mkdtempSync(join(tmpdir(), 'sg-notify-'));
  });
  afterAll(async () => {
    await db?.close();
    await db2?.close();
    await backend?.dispose();
    rmSync(dir, { recursive: true, force: true });
  });
  beforeEach(async () => {
    broken = true;
    await db.query('delete from alert_deliveries');
    await db.query('delete from alert_incidents');
    await db.query('delete from task_runs');
    await db.query('delete from schedulers');
  });

  const withWebhook = (url: string, config: Config = backend.config): Config => ({ ...config, notify: { webhooks: [{ name: 'ops', url, headers: {} }] } });
  const notifier = (config: Config, on: Database = db) => new Notifier({ db: on, config, tasks, crontab: async () => crontab });
  const run = (task: typeof brokenTask) => runTask({ db, config: backend.config }, task, { trigger: 'cli', args: {} });
  const deliveries = () => db.query<{ id: number; event: string; state: string; attempts: number; webhook: string; lastError: string | null }>(
    `select id::int, event, state, attempts, webhook, last_error as "lastError" from alert_deliveries order by id`,
  );

  it('a task failing over five runs sends one message; its next success one more, for the same incident', async () => {
    const hook = await receiver();
    try {
      const alerts = notifier(withWebhook(hook.url));
      const first = await run(brokenTask);
      for (let i = 0; i < 5; i++) {
        if (i > 0) await run(brokenTask);
        await alerts.tick();
      }
      await expect.poll(() => hook.messages().length).toBe(1);
      const [opened] = hook.messages();
      expect(opened).toMatchObject({
        event: 'opened', kind: 'failing', task: 'alert-broken', runId: first.id, database: db.target,
        detail: `alert-broken is failing: it broke (run ${first.id})`, text: `singularity: alert-broken is failing: it broke (run ${first.id})`,
      });
      expect(opened!.at).toBe(opened!.openedAt);
      expect(hook.requests[0]!.headers['content-type']).toBe('application/json');

      broken = false;
      const fixed = await run(brokenTask);
      await alerts.tick();
      await alerts.tick();
      await expect.poll(() => hook.messages().length).toBe(2);
      expect(hook.messages()[1]).toMatchObject({
        event: 'resolved', kind: 'failing', task: 'alert-broken', incident: opened!.incident, runId: fixed.id,
        openedAt: opened!.openedAt, detail: `alert-broken completed again (run ${fixed.id})`,
      });
      expect((await deliveries()).map((d) => [d.event, d.state])).toEqual([['opened', 'delivered'], ['resolved', 'delivered']]);
    } finally {
      await hook.close();
    }
  });

  it('overdue opens an incident when a due tick passes with no run, and the next run resolves it', async () => {
    const hook = await receiver();
    try {
      // A scheduler ran (and signed off) yesterday: today's ticks were someone's to run.
      await db.query(
        `insert into schedulers (host, pid, version, crontab, entries, started_at, heartbeat_at, stopped_at)
         values ('test-host', 1, 'test', 'test', '[]', now() - interval '1 day', now() - interval '1 day', now() - interval '1 day')`,
      );
      const alerts = notifier(withWebhook(hook.url));
      await alerts.tick();
      await expect.poll(() => hook.messages().length).toBe(1);
      expect(hook.messages()[0]).toMatchObject({ event: 'opened', kind: 'overdue', task: 'alert-late', runId: null });
      expect(hook.messages()[0]!.detail).toMatch(/^alert-late is overdue: due at \d{4}-\d\d-\d\dT\d\d:\d\d:00\.000Z, no run since$/);
      await alerts.tick();

      const ran = await run(lateTask);
      await alerts.tick();
      await expect.poll(() => hook.messages().length).toBe(2);
      expect(hook.messages()[1]).toMatchObject({ event: 'resolved', kind: 'overdue', task: 'alert-late', runId: ran.id, detail: `alert-late ran again (run ${ran.id})` });
    } finally {
      await hook.close();
    }
  });

  it('a webhook that answers 500 and then 200 is retried after the backoff and takes the message once', async () => {
    const hook = await receiver((n) => (n === 1 ? 500 : 200));
    try {
      const alerts = notifier(withWebhook(hook.url));
      await run(brokenTask);
      const now = Date.now();
      await alerts.tick(new Date(now));
      await expect.poll(() => deliveries()).toEqual([expect.objectContaining({ state: 'pending', attempts: 1, lastError: 'HTTP 500 Internal Server Error: refused (no credentials)' })]);
      // Before the backoff has passed, nothing is sent again.
      await alerts.tick(new Date(now + DELIVERY.firstRetryMs - 1_000));
      expect(hook.requests).toHaveLength(1);

      await alerts.tick(new Date(now + DELIVERY.firstRetryMs + 1_000));
      await expect.poll(() => deliveries()).toEqual([expect.objectContaining({ state: 'delivered', attempts: 2 })]);
      await alerts.tick(new Date(now + 10 * DELIVERY.firstRetryMs));
      expect(hook.requests).toHaveLength(2);
      // Both attempts carry the delivery's id, for a receiver to drop a duplicate.
      expect(new Set(hook.requests.map((r) => r.headers['x-singularity-delivery'])).size).toBe(1);
      expect(hook.messages()[0]).toEqual(hook.messages()[1]);
    } finally {
      await hook.close();
    }
  });

  it('a webhook that cannot be reached: each attempt recorded, then given up as failed; doctor warns with the error and the webhook', async () => {
    const url = `http://127.0.0.1:${await freePort()}/hook`;
    const config = withWebhook(url);
    const logged: string[] = [];
    const alerts = new Notifier({ db, config, tasks, crontab: async () => crontab, log: (level, message) => logged.push(`${level} ${message}`) });
    await run(brokenTask);
    let now = Date.now();
    for (let attempt = 1; attempt <= DELIVERY.maxAttempts; attempt++) {
      await alerts.tick(new Date(now));
      await expect.poll(() => deliveries()).toEqual([expect.objectContaining({ attempts: attempt, lastError: expect.stringMatching(/^fetch failed: connect ECONNREFUSED/) })]);
      now += 2 * HOUR;
    }
    expect((await deliveries())[0]!.state).toBe('failed');
    expect(logged.at(-1)).toMatch(/^error alerts: gave up on the 'opened' message of incident \d+ \(alert-broken failing\) to ops after 8 attempts: fetch failed/);
    expect(logged.join('\n')).not.toContain(url);

    const check = await checkNotifications(db, config);
    expect(check).toMatchObject({ id: 'notifications', verdict: 'warn', fix: expect.stringMatching(/answers 2xx/) });
    expect(check.detail).toMatch(/^1 message given up in the last 24 h \(deliveries \d+\)\n1 webhook: ops\nlast 24 h: 0 delivered, 0 pending, 1 failed\n/);
    expect(check.detail).toMatch(/last failure: to ops at .*: fetch failed: connect ECONNREFUSED .* \(the 'opened' message of incident \d+, alert-broken failing; given up after 8 attempts\)/);
    expect(check.detail).toMatch(/open incidents: alert-broken failing since /);

    // Without webhooks, the check says so.
    expect(await checkNotifications(db, backend.config)).toMatchObject({ verdict: 'ok', detail: expect.stringMatching(/^no webhooks configured \(notify\.webhooks\)/) });
  });

  it('headers from the environment arrive; the secret never shows, in the outbox or in doctor --json', async () => {
    const TOKEN = `Bearer env-alert-token-${backendName}`;
    const hook = await receiver((n) => (n === 1 ? 500 : 200));
    try {
      const file = join(dir, `singularity.${backendName}.config.json`);
      writeFileSync(file, JSON.stringify({ notify: { webhooks: [{ name: 'ops', url: hook.url, headers: { Authorization: { env: 'ALERT_TOKEN' } } }] } }));
      const config = await loadConfig({ config: file }, { ...backend.env, ALERT_TOKEN: TOKEN }, dir);
      await run(brokenTask);
      await notifier(config).tick();
      await expect.poll(() => hook.requests.length).toBe(1);
      expect(hook.requests[0]!.headers.authorization).toBe(TOKEN);
      // The webhook echoed the token in its refusal; the outbox keeps the error without it.
      const [delivery] = await deliveries();
      expect(delivery!.lastError).toBe('HTTP 500 Internal Server Error: refused (***)');

      const doctor = await runCli(['doctor', '--json'], { ...backend.env, SINGULARITY_CONFIG: file, ALERT_TOKEN: TOKEN });
      const report = JSON.parse(doctor.stdout) as { checks: Array<{ id: string; verdict: string; detail: string }> };
      expect(report.checks.find((c) => c.id === 'notifications')).toMatchObject({ verdict: 'ok', detail: expect.stringContaining('last failure: to ops at') });
      expect(report.checks.find((c) => c.id === 'secrets')?.verdict).toBe('ok');
      expect(doctor.stdout + doctor.stderr).not.toContain(`env-alert-token-${backendName}`);
      expect(doctor.stdout + doctor.stderr).not.toContain(hook.url);

      // Without the variable, the configuration is refused before anything runs.
      const missing = await runCli(['doctor', '--json'], { ...backend.env, SINGULARITY_CONFIG: file });
      expect(missing.code).toBe(2);
      expect(missing.stdout).toContain(`${file}: at /notify/webhooks/0/headers/Authorization: the header's value comes from the environment variable ALERT_TOKEN, which is not set`);
    } finally {
      await hook.close();
    }
  });

  it('two Notifiers ticking at once against one database send each message once', async () => {
    const hook = await receiver();
    try {
      const config = withWebhook(hook.url);
      const [a, b] = [notifier(config, db), notifier(config, db2)];
      await run(brokenTask);
      await Promise.all([a.tick(), b.tick(), a.tick(), b.tick()]);
      await expect.poll(() => hook.messages().length).toBe(1);
      broken = false;
      await run(brokenTask);
      await Promise.all([a.tick(), b.tick()]);
      await Promise.all([a.tick(), b.tick()]);
      await expect.poll(() => hook.messages().map((m) => m.event)).toEqual(['opened', 'resolved']);
      expect(await db.query('select id from alert_incidents')).toHaveLength(1);
    } finally {
      await hook.close();
    }
  });
});
