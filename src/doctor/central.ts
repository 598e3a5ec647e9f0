// The central link: where an instance's learnings go (CENTRAL_DATABASE_URL), how (postgres_fdw or a
// connection of singularity's own), whether that database answers, when the last sync went through, and
// how much waits. The connection string is shown with its password masked, always.
import { centralState, CENTRAL_CONNECT_TIMEOUT_MS } from '../central/link.js';
import type { Config } from '../core/config.js';
import type { Database } from '../core/database.js';
import { plural } from '../core/format.js';
import { describeUrl, redact } from '../core/redact.js';
import { fail, ok, warn, type Check } from './types.js';

const ID = 'central';
const TITLE = 'central database';

export async function checkCentral(db: Database, config: Config): Promise<Check> {
  const state = await centralState(db, config);
  const waiting = `${plural(state.unsent, 'learning')} unsent`;
  if (config.role === 'central') {
    const [{ instances }] = (await db.query<{ instances: number }>('select count(*)::int as instances from central_instances')) as [{ instances: number }];
    return ok(ID, TITLE, `this is the central database (role central); ${plural(instances, 'instance')} registered`);
  }
  const url = config.central.url;
  if (!url) return ok(ID, TITLE, `none configured (CENTRAL_DATABASE_URL): learnings stay in this instance; ${waiting}`);
  const { link } = state;
  const data = { ...state, url: describeUrl(url) };
  const how = !link ? '' : link.mode === 'fdw'
    ? `postgres_fdw server ${Object.entries(state.server ?? {}).map(([k, v]) => `${k}=${v}`).join(' ')}`
    : 'a connection of its own (no postgres_fdw here)';
  const synced = link?.lastSyncAt ? `last sync ${link.lastSyncAt.toISOString()}` : 'never synced';
  const { default: pg } = await import('pg');
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: CENTRAL_CONNECT_TIMEOUT_MS / 2 });
  client.on('error', () => {});
  try {
    await client.connect();
    const { rows } = await client.query<{ version: string }>(`select current_setting('server_version') as version`);
    const answers = `${describeUrl(url)} answers (PostgreSQL ${rows[0]!.version})`;
    if (!link) {
      return { ...warn(ID, TITLE, `${answers}, but this database is not linked to it yet; ${waiting}`,
        "Run 'singularity migrate' (or sync-learning by hand): it sets the link up."), data: { ...data, reachable: true } };
    }
    return { ...ok(ID, TITLE, `${answers}; instance '${link.instance}' through ${how}; ${synced}; ${waiting}`), data: { ...data, reachable: true } };
  } catch (error) {
    return {
      ...fail(ID, TITLE, `${describeUrl(url)} does not answer: ${redact((error as Error).message)}; ${synced}; ${waiting}, kept until it does`,
        'Check CENTRAL_DATABASE_URL (host, port, database, user and password) and that the central server is up and accepts this host.'),
      data: { ...data, reachable: false },
    };
  } finally {
    await client.end().catch(() => {});
  }
}
