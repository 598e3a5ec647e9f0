// The webhooks alerts go to (`notify.webhooks` in the config file), resolved for use: header values read
// from the environment, credentials moved out of the URL, and every secret registered so nothing prints it.
import { ConfigError } from './errors.js';
import { jsonPointer } from './json-pointer.js';
import { registerSecret } from './redact.js';

/** A webhook as the config file gives it (validated by config-file.ts). */
export interface WebhookEntry {
  name?: string;
  url: string;
  headers?: Record<string, string | { env: string }>;
}

/** A webhook ready to be called. */
export interface Webhook {
  /** How output, logs and the deliveries table name it: never by its URL, which may hold a token. */
  name: string;
  /** http(s) URL without user:password (those became an Authorization header). */
  url: string;
  headers: Record<string, string>;
}

// Header names whose plain values are credentials too, although the file should take them from {env}.
const CREDENTIAL_HEADER = /^(authorization|proxy-authorization|cookie)$|token|key|secret|signature/i;

/** Register a header value and, for "Bearer xyz", its token, as secrets. */
function registerHeaderSecret(value: string): void {
  registerSecret(value);
  registerSecret(/^\S+\s+(\S+)$/.exec(value)?.[1]);
}

export function resolveWebhooks(file: string, entries: WebhookEntry[], env: Record<string, string | undefined>): Webhook[] {
  const webhooks = entries.map((entry, i): Webhook => {
    const headers: Record<string, string> = {};
    for (const [header, spec] of Object.entries(entry.headers ?? {})) {
      const at = jsonPointer(['notify', 'webhooks', i, 'headers', header]);
      if (typeof spec === 'string') {
        if (CREDENTIAL_HEADER.test(header)) registerHeaderSecret(spec);
        headers[header] = spec;
        continue;
      }
      const value = env[spec.env];
      if (!value) {
        throw new ConfigError(`${file}: at ${at}: the header's value comes from the environment variable ${spec.env}, which is not set`, {
          hint: `Set ${spec.env} in the environment of every singularity process (the shell, run-scheduler's service unit), or remove the header.`,
        });
      }
      if (/[\r\n]/.test(value)) {
        throw new ConfigError(`${file}: at ${at}: the value of ${spec.env} has a line break, which an HTTP header cannot hold`, {
          hint: `Set ${spec.env} to a single line.`,
        });
      }
      registerHeaderSecret(value);
      headers[header] = value;
    }

    // The whole URL is a secret (chat webhooks carry their token in the path); fetch refuses user:password in it.
    registerSecret(entry.url);
    const url = new URL(entry.url);
    for (const value of url.searchParams.values()) registerSecret(value);
    if (url.username || url.password) {
      const user = decodeURIComponent(url.username);
      const password = decodeURIComponent(url.password);
      registerSecret(password);
      const basic = `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
      registerHeaderSecret(basic);
      if (!Object.keys(headers).some((h) => h.toLowerCase() === 'authorization')) headers.Authorization = basic;
      url.username = url.password = '';
    }
    registerSecret(url.toString());
    return { name: entry.name ?? url.hostname, url: url.toString(), headers };
  });

  const seen = new Set<string>();
  for (const [i, w] of webhooks.entries()) {
    if (seen.has(w.name)) {
      throw new ConfigError(`${file}: at ${jsonPointer(['notify', 'webhooks', i])}: a second webhook named '${w.name}'`, {
        hint: 'Give each webhook its own "name" (a webhook without one is named after its URL\'s host).',
      });
    }
    seen.add(w.name);
  }
  return webhooks;
}
