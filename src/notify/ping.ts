// Pings in the healthchecks.io convention, for a crontab entry's `ping=URL`: URL/start when a run starts,
// URL when it completes, URL/fail when it fails. A ping is a courtesy to a monitor: it never fails a run.
import { redact } from '../core/redact.js';
import { describeFetchError } from './deliveries.js';
import type { NotifyLog } from './types.js';

export const PING_TIMEOUT_MS = 10_000;

/** The URL of a phase: URL/start, URL, URL/fail (a query string stays at the end). */
export function pingUrl(url: string, phase: 'start' | 'success' | 'fail'): URL {
  const target = new URL(url);
  if (phase !== 'success') target.pathname = `${target.pathname.replace(/\/+$/, '')}/${phase}`;
  return target;
}

/** Ping; never rejects. A failure is logged, naming the host only: the URL's path is the check's secret. */
export async function ping(url: string, phase: 'start' | 'success' | 'fail', log?: NotifyLog): Promise<void> {
  let host = 'an invalid URL';
  try {
    const target = pingUrl(url, phase);
    host = target.host;
    const response = await fetch(target, { signal: AbortSignal.timeout(PING_TIMEOUT_MS) });
    await response.arrayBuffer().catch(() => undefined);
    if (!response.ok) log?.('warn', redact(`ping (${phase}) to ${host}: HTTP ${response.status}`));
  } catch (error) {
    log?.('warn', redact(`ping (${phase}) to ${host} failed: ${describeFetchError(error, PING_TIMEOUT_MS)}`));
  }
}
