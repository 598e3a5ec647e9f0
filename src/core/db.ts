// One way to open either database: a node-postgres pool to DATABASE_URL, or to the embedded
// PGlite server under SINGULARITY_HOME. Everything above this file speaks plain PostgreSQL.
import type { Pool, QueryResultRow } from 'pg';
import type { Config } from './config.js';
import { DatabaseUnavailableError } from './errors.js';
import { describeUrl, redact } from './redact.js';
import type { Database, DatabaseKind } from './database.js';

export interface OpenOptions {
  /** Bring the schema up to date before returning (default true). */
  migrate?: boolean;
  /** Pool size (default 4). */
  max?: number;
  /** Told when the embedded server has to be started (it takes seconds, more when it is created). */
  onEmbeddedStart?: import('./embedded/client.js').EmbeddedStartListener;
}

export async function openDatabase(config: Config, options: OpenOptions = {}): Promise<Database> {
  const { default: pg } = await import('pg');
  // int8 (ids, counts) as numbers: every int8 this project stores is far below 2^53.
  pg.types.setTypeParser(20, (value) => Number(value));

  let pool: Pool;
  let kind: DatabaseKind;
  let target: string;
  if (config.databaseUrl) {
    kind = 'postgres';
    target = describeUrl(config.databaseUrl);
    pool = new pg.Pool({
      connectionString: config.databaseUrl,
      max: options.max ?? 4,
      connectionTimeoutMillis: 10_000,
      application_name: 'singularity',
    });
  } else {
    kind = 'embedded';
    const { embeddedPoolConfig } = await import('./embedded/client.js');
    const poolConfig = embeddedPoolConfig(config, pg.Client, options.onEmbeddedStart);
    target = `embedded database in ${config.home}`;
    pool = new pg.Pool({ ...poolConfig, max: options.max ?? 4 });
  }
  // An idle client that loses its server must not crash the process; the next query reports it.
  pool.on('error', () => {});

  const database: Database = {
    kind,
    config,
    target,
    pool,
    async query<T extends QueryResultRow>(text: string, params?: unknown[]) {
      const result = await pool.query<T>(text, params as unknown[]);
      return result.rows;
    },
    async withClient(fn) {
      const client = await pool.connect();
      try {
        return await fn(client);
      } finally {
        client.release();
      }
    },
    transaction(fn) {
      return database.withClient(async (client) => {
        await client.query('begin');
        try {
          const result = await fn(client);
          await client.query('commit');
          return result;
        } catch (error) {
          await client.query('rollback').catch(() => {});
          throw error;
        }
      });
    },
    close: () => pool.end(),
  };

  try {
    // Establish the first connection (the pool keeps it for the next query): no extra round trip.
    (await pool.connect()).release();
  } catch (error) {
    await pool.end().catch(() => {});
    throw unavailable(database, error);
  }
  if (options.migrate !== false) {
    const { ensureMigrated } = await import('./migrate.js');
    await ensureMigrated(database);
  }
  return database;
}

const CONNECTION_HINTS: Record<string, string> = {
  ECONNREFUSED: 'Nothing accepts connections there: is the server running, and are host and port right?',
  ENOTFOUND: 'The host name does not resolve: check the host in DATABASE_URL.',
  EAI_AGAIN: 'The host name does not resolve: check the host in DATABASE_URL.',
  ETIMEDOUT: 'The server did not answer in time: check the host, the port and any firewall.',
  '28P01': 'The password was refused: check the user and password in DATABASE_URL (or ~/.pgpass).',
  '28000': 'The server refused this user: check pg_hba.conf and the user in DATABASE_URL.',
  '3D000': 'The database does not exist: create it (createdb NAME) or fix the name in DATABASE_URL.',
};

function unavailable(database: Database, error: unknown): DatabaseUnavailableError {
  if (error instanceof DatabaseUnavailableError) return error;
  const e = error as { code?: string; message?: string };
  const reason = redact(e.message || e.code || String(error));
  const hint =
    (e.code && CONNECTION_HINTS[e.code]) ??
    (/timeout/i.test(reason) ? CONNECTION_HINTS.ETIMEDOUT : 'Check DATABASE_URL and that the server is running.');
  return new DatabaseUnavailableError(`cannot connect to ${database.target}: ${reason}`, { hint, cause: error });
}
