// The databases every database test runs against: the embedded one (PGlite) always, and a real
// PostgreSQL server when TEST_DATABASE_URL names one (CI always sets it). Each test file gets a
// database of its own: a fresh SINGULARITY_HOME, or a fresh database on the server.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll } from 'vitest';
import { defaultConfig, type Config } from '../../src/core/config.js';
import { openDatabase } from '../../src/core/db.js';
import type { Database } from '../../src/core/database.js';
import { embeddedPaths } from '../../src/core/embedded/paths.js';
import { liveLockOwner } from '../../src/core/embedded/lock.js';

export type BackendName = 'embedded' | 'postgres';

export const backendNames: BackendName[] = process.env.TEST_DATABASE_URL ? ['embedded', 'postgres'] : ['embedded'];

/** Short timings so that heartbeats, staleness and grace periods play out within a test. */
export const FAST_TIMINGS = {
  SINGULARITY_HEARTBEAT_MS: '200',
  SINGULARITY_STALE_AFTER_MS: '1500',
  SINGULARITY_STOP_GRACE_MS: '500',
  SINGULARITY_EMBEDDED_IDLE_MS: '3000',
};

export interface Backend {
  name: BackendName;
  config: Config;
  /** The environment a child `singularity` process needs to use this same database. */
  env: Record<string, string>;
  /** Open a database handle (a new pool) on this backend. */
  open(options?: { migrate?: boolean }): Promise<Database>;
  dispose(): Promise<void>;
}

export async function createBackend(name: BackendName): Promise<Backend> {
  const home = mkdtempSync(join(tmpdir(), 'sg-test-'));
  const config = defaultConfig(home);
  config.home = join(home, '.singularity');
  config.runs = { heartbeatMs: 200, staleAfterMs: 1500, stopGraceMs: 500 };
  config.embedded.idleTimeoutMs = 3000;
  const env: Record<string, string> = { ...FAST_TIMINGS, SINGULARITY_HOME: config.home };
  let dropDatabase = async () => {};

  if (name === 'postgres') {
    const adminUrl = process.env.TEST_DATABASE_URL!;
    const dbName = `sg_test_${process.pid}_${Math.random().toString(36).slice(2, 8)}`;
    const admin = new pg.Client({ connectionString: adminUrl });
    await admin.connect();
    await admin.query(`create database ${dbName}`);
    await admin.end();
    const url = new URL(adminUrl);
    url.pathname = `/${dbName}`;
    config.databaseUrl = url.toString();
    env.DATABASE_URL = config.databaseUrl;
    dropDatabase = async () => {
      const c = new pg.Client({ connectionString: adminUrl });
      await c.connect();
      await c.query(`drop database if exists ${dbName} with (force)`);
      await c.end();
    };
  }

  return {
    name,
    config,
    env,
    open: (options) => openDatabase(config, options),
    async dispose() {
      await dropDatabase();
      const owner = liveLockOwner(embeddedPaths(config.home).lockFile);
      if (owner) {
        process.kill(owner.pid, 'SIGTERM');
        for (let i = 0; i < 100 && liveLockOwner(embeddedPaths(config.home).lockFile); i++) {
          await new Promise((r) => setTimeout(r, 50));
        }
      }
      rmSync(home, { recursive: true, force: true });
    },
  };
}

/** For a describe block: a backend with its database open before the block's tests, both gone after them. */
export function onBackend(name: BackendName, receive: (opened: { backend: Backend; db: Database }) => void): void {
  let backend: Backend | undefined;
  let db: Database | undefined;
  beforeAll(async () => {
    backend = await createBackend(name);
    db = await backend.open();
    receive({ backend, db });
  });
  afterAll(async () => {
    await db?.close();
    await backend?.dispose();
  });
}
