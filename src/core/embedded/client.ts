// Connecting to the embedded database: make sure its server runs (start it if not), then connect
// with node-postgres over its Unix socket, exactly as to any PostgreSQL server.
import { setTimeout as sleep } from 'node:timers/promises';
import { spawn } from 'node:child_process';
import { mkdirSync, openSync, closeSync, readFileSync, existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Client as PgClient, PoolConfig } from 'pg';
import type { Config } from '../config.js';
import { DatabaseUnavailableError } from '../errors.js';
import { socketAccepts } from './socket.js';
import { embeddedPaths, SOCKET_PORT, type EmbeddedPaths } from './paths.js';
import { liveLockOwner } from './lock.js';

// The compiled daemon beside this file; when running from source (the tests), the built one in dist/.
const DAEMON_SCRIPT = [new URL('./daemon.js', import.meta.url), new URL('../../../dist/core/embedded/daemon.js', import.meta.url)]
  .map((url) => fileURLToPath(url))
  .find((path) => existsSync(path))!;

function logTail(paths: EmbeddedPaths, lines = 8): string {
  if (!existsSync(paths.logFile)) return '';
  return readFileSync(paths.logFile, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
}

function startDaemon(config: Config, paths: EmbeddedPaths): ReturnType<typeof spawn> {
  mkdirSync(paths.home, { recursive: true, mode: 0o700 });
  const log = openSync(paths.logFile, 'a', 0o600);
  try {
    const child = spawn(
      process.execPath,
      [DAEMON_SCRIPT, paths.home, String(config.embedded.idleTimeoutMs), String(config.embedded.startTimeoutMs)],
      { detached: true, stdio: ['ignore', log, log], env: { ...process.env, DATABASE_URL: undefined } },
    );
    child.unref();
    return child;
  } finally {
    closeSync(log);
  }
}

/** Told when this process starts the embedded server; `creating` when its data directory does not exist yet. */
export type EmbeddedStartListener = (event: { home: string; creating: boolean }) => void;

/** Resolve once the embedded server accepts connections, starting it if needed. */
export async function ensureEmbeddedServer(config: Config, onStart?: EmbeddedStartListener): Promise<EmbeddedPaths> {
  const paths = embeddedPaths(config.home);
  if (await socketAccepts(paths.socketPath)) return paths;

  const deadline = Date.now() + config.embedded.startTimeoutMs;
  let daemon: ReturnType<typeof spawn> | undefined;
  let exited: number | null = null;
  while (Date.now() < deadline) {
    if (!daemon && !liveLockOwner(paths.lockFile)) {
      onStart?.({ home: paths.home, creating: !existsSync(paths.dataDir) });
      onStart = undefined;
      daemon = startDaemon(config, paths);
      daemon.once('exit', (code) => (exited = code ?? 1));
    }
    await sleep(50);
    if (await socketAccepts(paths.socketPath)) return paths;
    if (exited !== null && exited !== 0) {
      throw new DatabaseUnavailableError(`the embedded database server in ${paths.home} failed to start`, {
        hint: `Its log (${paths.logFile}) ends with:\n${logTail(paths)}`,
      });
    }
    // A server that exited 0 found another one serving, or one shutting down: look again.
    if (exited === 0) [daemon, exited] = [undefined, null];
  }
  const owner = liveLockOwner(paths.lockFile);
  throw new DatabaseUnavailableError(
    `the embedded database in ${paths.home} did not accept connections within ${config.embedded.startTimeoutMs} ms`,
    {
      hint: owner
        ? `Process ${owner.pid} holds ${paths.lockFile} but does not serve it; see ${paths.logFile}.`
        : `See ${paths.logFile}.`,
    },
  );
}

/** Pool settings whose clients start the embedded server on demand, so a pool outlives any one server. */
export function embeddedPoolConfig(config: Config, Client: typeof PgClient, onStart?: EmbeddedStartListener): PoolConfig {
  const paths = embeddedPaths(config.home);
  class EmbeddedClient extends Client {
    // pg.Pool connects with a callback; plain callers use the promise.
    override connect(callback?: any): any {
      const ready = ensureEmbeddedServer(config, onStart).then(() => super.connect());
      if (!callback) return ready;
      ready.then(
        () => callback(null, this),
        (error: Error) => callback(error),
      );
      return undefined;
    }
  }
  return {
    Client: EmbeddedClient as unknown as PoolConfig['Client'],
    host: paths.socketDir,
    port: SOCKET_PORT,
    user: 'postgres',
    database: 'postgres',
    application_name: 'singularity',
    // The daemon is one backend: keep connections few and short-lived.
    idleTimeoutMillis: 1_000,
  };
}
