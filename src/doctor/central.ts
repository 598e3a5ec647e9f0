// The central link: where an instance's learnings go (CENTRAL_DATABASE_URL), whether that database answers,
// and how much waits in the outbox. The connection string is shown with its password masked, always.
import type { Config } from '../core/config.js';
import type { Database } from '../core/database.js';
import { plural } from '../core/format.js';
import { describeUrl, redact } from '../core/redact.js';
import { fail, ok, type Check } from './types.js';

const ID = 'central';
const TITLE = 'central database';
/** A doctor waits this long for the central database, not the 10 s a task would. */
const CONNECT_TIMEOUT_MS = 5_000;

export async function checkCentral(db: Database, config: Config): Promise<Check> {
  const [{ unsent }] = (await db.query<{ unsent: number }>('select count(*)::int as unsent from learning_outbox where sent_at is null')) as [{ unsent: number }];
  const outbox = `${plural(unsent, 'learning')} unsent in the outbox`;
  if (config.role === 'central') return ok(ID, TITLE, `this is the central database (role central); ${outbox}`);
  const url = config.central.url;
  if (!url) return ok(ID, TITLE, `none configured (CENTRAL_DATABASE_URL): learnings stay in this instance; ${outbox}`);
  const { default: pg } = await import('pg');
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: CONNECT_TIMEOUT_MS });
  try {
    await client.connect();
    const { rows } = await client.query<{ version: string }>(`select current_setting('server_version') as version`);
    return { ...ok(ID, TITLE, `${describeUrl(url)} answers (PostgreSQL ${rows[0]!.version}); ${outbox}`), data: { url: describeUrl(url), reachable: true, unsent } };
  } catch (error) {
    return {
      ...fail(ID, TITLE, `${describeUrl(url)} does not answer: ${redact((error as Error).message)}; ${outbox}, kept until it does`,
        'Check CENTRAL_DATABASE_URL (host, port, database, user; the password in ~/.pgpass or the URL) and that the central server is up and accepts this host.'),
      data: { url: describeUrl(url), reachable: false, unsent },
    };
  } finally {
    await client.end().catch(() => {});
  }
}
