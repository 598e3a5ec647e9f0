// The link from an instance to the central database. With postgres_fdw (a PostgreSQL instance that has it),
// the link lives in the instance's database: a foreign server, a user mapping and foreign tables, so that
// sync_learning() sends on its own and pg_cron can run it. Without (the embedded database), singularity
// opens a connection of its own to CENTRAL_DATABASE_URL and runs the same batch protocol over it.
import pg from 'pg';
import type { Config } from '../core/config.js';
import type { Database } from '../core/database.js';
import { UsageError } from '../core/errors.js';
import { describeUrl, redact } from '../core/redact.js';

export type LinkMode = 'fdw' | 'connection';

export interface CentralLink {
  instance: string;
  instanceKey: string;
  mode: LinkMode;
  /** The central database, fit to print (no password). */
  target: string;
  linkedAt: Date;
  lastSyncAt: Date | null;
  lastBatchId: number | null;
}

/** A connection to the central database gets this long; a central that does not answer fails the run. */
export const CENTRAL_CONNECT_TIMEOUT_MS = 10_000;

/** The link as this database holds it, or null when none is set up. */
export async function readCentralLink(db: Database): Promise<CentralLink | null> {
  const [row] = await db.query<{ instance: string; instance_key: string; mode: LinkMode; target: string; linked_at: Date; last_sync_at: Date | null; last_batch_id: string | null }>(
    'select instance, instance_key, mode, target, linked_at, last_sync_at, last_batch_id from central_link');
  if (!row) return null;
  return {
    instance: row.instance, instanceKey: row.instance_key, mode: row.mode, target: row.target,
    linkedAt: row.linked_at, lastSyncAt: row.last_sync_at, lastBatchId: row.last_batch_id === null ? null : Number(row.last_batch_id),
  };
}

/** Whether this database can hold a postgres_fdw link. */
async function hasPostgresFdw(db: Database): Promise<boolean> {
  if (db.kind === 'embedded') return false;
  const [row] = await db.query<{ available: boolean }>(`select exists (select 1 from pg_available_extensions where name = 'postgres_fdw') as available`);
  return row!.available;
}

/**
 * Make the database's link match the configuration: set it up (or again, with new settings) when
 * CENTRAL_DATABASE_URL is set, drop it when it is not. Returns the link, or null for none.
 */
export async function applyCentralLink(db: Database, config: Config): Promise<CentralLink | null> {
  const url = config.central.url;
  if (!url || config.role === 'central') {
    if (await readCentralLink(db)) await db.query('select unlink_central()');
    return null;
  }
  const fdw = await hasPostgresFdw(db);
  if (config.central.link === 'fdw' && !fdw) {
    throw new UsageError(db.kind === 'embedded'
      ? 'the central link is set to fdw, but the embedded database has no postgres_fdw'
      : `the central link is set to fdw, but postgres_fdw is not installed on ${db.target}`, {
      hint: db.kind === 'embedded'
        ? 'Use "link": "connection" (or auto): singularity then sends over a connection of its own.'
        : "Install the server's contrib package (Debian: postgresql-15 ships postgres_fdw), or use \"link\": \"connection\".",
    });
  }
  const mode: LinkMode = config.central.link === 'connection' || !fdw ? 'connection' : 'fdw';
  const u = new URL(url);
  const params = [mode, config.central.instance, describeUrl(url)];
  if (mode === 'fdw') {
    params.push(u.hostname || 'localhost', u.port || '5432', decodeURIComponent(u.pathname.slice(1)) || 'postgres',
      decodeURIComponent(u.username), u.password ? decodeURIComponent(u.password) : (null as never));
  }
  try {
    await db.query(`select link_central(${params.map((_, i) => `$${i + 1}`).join(', ')})`, params);
  } catch (error) {
    throw new UsageError(`could not link ${describeUrl(url)} as the central database: ${redact((error as Error).message)}`, {
      hint: 'Creating postgres_fdw and a foreign server needs a user allowed to create extensions (or the extension created once by a superuser).',
    });
  }
  return readCentralLink(db);
}

/** A connection of singularity's own to the central database, with errors that say what to fix. */
export async function connectCentral(config: Config): Promise<pg.Client> {
  const url = config.central.url!;
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: CENTRAL_CONNECT_TIMEOUT_MS, application_name: `singularity ${config.central.instance}` });
  // A central database that goes away mid-query fails that query; the client's own error event must not
  // also end the process.
  client.on('error', () => {});
  try {
    await client.connect();
  } catch (error) {
    await client.end().catch(() => {});
    throw centralError(error, url);
  }
  // A central database that is not one (no migrations applied) would fail each insert: say so once.
  const { rows } = await client.query<{ ready: boolean }>(`select to_regclass('central_learnings') is not null as ready`);
  if (!rows[0]!.ready) {
    await client.end().catch(() => {});
    throw new UsageError(`${describeUrl(url)} has no central tables`, { hint: "Run 'singularity --role central migrate' against the central database first." });
  }
  return client;
}

/**
 * Wrap a failure to reach the central database. Credentials and a missing database are the user's to fix
 * (exit 2); anything else (the server down, the network) fails the run, which is recorded and retried later.
 */
export function centralError(error: unknown, url: string): Error {
  const code = (error as { code?: string }).code;
  const message = `the central database ${describeUrl(url)} cannot be used: ${redact((error as Error).message)}`;
  if (code === '28P01' || code === '28000') {
    return new UsageError(message, { hint: 'Check the user and password of CENTRAL_DATABASE_URL (the password is never printed).' });
  }
  if (code === '3D000') return new UsageError(message, { hint: 'Check the database name of CENTRAL_DATABASE_URL.' });
  return new Error(message, { cause: error });
}

/**
 * Register this instance with the central database (once) and refuse a name another database holds:
 * two databases sending as one instance would overwrite each other's counts.
 */
export async function registerInstance(client: pg.Client, link: CentralLink): Promise<void> {
  await client.query('insert into central_instances (name, instance_key) values ($1, $2) on conflict do nothing', [link.instance, link.instanceKey]);
  const { rows } = await client.query<{ instance_key: string }>('select instance_key from central_instances where name = $1', [link.instance]);
  if (rows[0]?.instance_key !== link.instanceKey) {
    throw new UsageError(`another database is registered with the central database as instance '${link.instance}'`, {
      hint: 'Give this instance a name of its own (SINGULARITY_INSTANCE, or "central": {"instance": ...} in the config file).',
    });
  }
}

/**
 * Before a run a person starts: the link matches the configuration, the central database takes this
 * user and password, has its tables, and knows this instance by its name alone. Unreachable is left to
 * the run, so that it is recorded (and pages) like any failure.
 */
export async function checkCentralLink(db: Database, config: Config): Promise<void> {
  const link = await applyCentralLink(db, config);
  if (!link) return;
  let client: pg.Client;
  try {
    client = await connectCentral(config);
  } catch (error) {
    if (error instanceof UsageError) throw error;
    return;
  }
  try {
    await registerInstance(client, link);
  } finally {
    await client.end().catch(() => {});
  }
}

/** What status and doctor say about the link, from this database alone (no connection to the central). */
export interface CentralState {
  /** The central database as the configuration names it (masked), or null for none. */
  configured: string | null;
  link: CentralLink | null;
  /** The foreign server's settings (mode fdw): host, port, dbname, and the mapped user; never the password. */
  server: Record<string, string> | null;
  /** Learned patterns whose current version the central database has not received. */
  unsent: number;
}

export async function centralState(db: Database, config: Config): Promise<CentralState> {
  const [link, [{ unsent }]] = await Promise.all([
    readCentralLink(db),
    db.query<{ unsent: number }>(`select count(*)::int as unsent from learned_patterns p where not exists (
      select 1 from learning_outbox o where o.pattern_id = p.id and o.pattern_version = p.version and o.sent_at is not null)`) as Promise<[{ unsent: number }]>,
  ]);
  let server: Record<string, string> | null = null;
  if (link?.mode === 'fdw') {
    const [row] = await db.query<{ srvoptions: string[] | null; umoptions: string[] | null }>(
      `select s.srvoptions, (select m.umoptions from pg_user_mappings m where m.srvid = s.oid and m.usename = current_user) as umoptions
       from pg_foreign_server s where s.srvname = 'singularity_central'`);
    if (row) {
      const options = [...(row.srvoptions ?? []), ...(row.umoptions ?? [])].map((o) => o.split('=', 2) as [string, string]);
      server = Object.fromEntries(options.filter(([k]) => ['host', 'port', 'dbname', 'user'].includes(k)));
    }
  }
  return { configured: config.central.url ? describeUrl(config.central.url) : null, link, server, unsent };
}
