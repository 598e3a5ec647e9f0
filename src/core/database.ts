// What every module above the connection code sees of a database: plain PostgreSQL over a pool,
// whichever server is behind it (see db.ts for how one is opened).
import type { Pool, PoolClient, QueryResultRow } from 'pg';
import type { Config } from './config.js';

export type DatabaseKind = 'postgres' | 'embedded';

export interface Database {
  readonly kind: DatabaseKind;
  readonly config: Config;
  /** Where the database is, fit to print (no password). */
  readonly target: string;
  readonly pool: Pool;
  query<T extends QueryResultRow = QueryResultRow>(text: string, params?: unknown[]): Promise<T[]>;
  /** A dedicated connection for work that needs one session (locks, VACUUM, SET). */
  withClient<T>(fn: (client: PoolClient) => Promise<T>): Promise<T>;
  /** fn inside BEGIN ... COMMIT on one connection; rolled back if it throws. */
  transaction<T>(fn: (client: PoolClient) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}
