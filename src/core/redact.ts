// Secrets never reach output: every message that leaves the process passes through redact().

const secrets = new Set<string>();

/** Remember a secret value (a password) so that redact() removes it wherever it appears. */
export function registerSecret(value: string | undefined | null): void {
  if (value && value.length >= 3) {
    secrets.add(value);
    // URL-encoded form too: a password with special characters appears encoded inside a URL.
    secrets.add(encodeURIComponent(value));
  }
}

// Greedy up to the last '@' of the authority: a raw '@' in a password must not leave its tail visible.
const URL_CREDENTIALS = /\b([a-z][a-z0-9+.-]*:\/\/)([^/\s:@]*):([^/\s]*)@/gi;
const KEYWORD_PASSWORD = /\b(password|passwd|pwd)(\s*[=:]\s*)('[^']*'|"[^"]*"|[^\s&;]+)/gi;

export function redact(text: string): string {
  let out = text
    .replace(URL_CREDENTIALS, (_m, scheme: string, user: string) => `${scheme}${user}:***@`)
    .replace(KEYWORD_PASSWORD, (_m, key: string, sep: string) => `${key}${sep}***`);
  for (const secret of secrets) out = out.split(secret).join('***');
  return out;
}

/** A connection string fit to print: the password replaced, query parameters (sslkey paths, passwords) dropped. */
export function describeUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    u.search = '';
    return u.toString();
  } catch {
    return redact(url);
  }
}
