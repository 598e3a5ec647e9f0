// The embedded database server: one detached process per SINGULARITY_HOME holds the PGlite data
// directory, brings its schema up to date and serves it on a Unix socket to every singularity process.
// It exits on its own after a while without clients. Started by ensureEmbeddedServer(), never by hand.
//
//   node daemon.js <home> <idleTimeoutMs> <startTimeoutMs>
import { setTimeout as sleep } from 'node:timers/promises';
import { mkdirSync, rmSync } from 'node:fs';
import { socketAccepts } from './socket.js';
import { embeddedPaths } from './paths.js';
import { tryLock, unlock, liveLockOwner } from './lock.js';
import { serveEmbedded } from './server.js';

function log(message: string): void {
  process.stdout.write(`${new Date().toISOString()} [pid ${process.pid}] ${message}\n`);
}


async function main(): Promise<number> {
  const [home, idleArg, startArg] = process.argv.slice(2);
  if (!home) throw new Error('usage: daemon.js <home> <idleTimeoutMs> <startTimeoutMs>');
  const idleTimeoutMs = Number(idleArg ?? 30_000);
  const deadline = Date.now() + Number(startArg ?? 60_000);
  const paths = embeddedPaths(home);
  mkdirSync(paths.home, { recursive: true, mode: 0o700 });
  mkdirSync(paths.socketDir, { recursive: true, mode: 0o700 });

  // Another server may be running (we are not needed) or shutting down (wait for it to let go).
  while (!tryLock(paths.lockFile)) {
    if (await socketAccepts(paths.socketPath)) {
      log(`another server (pid ${liveLockOwner(paths.lockFile)?.pid}) is serving ${paths.home}; exiting`);
      return 0;
    }
    if (Date.now() > deadline) {
      log(`the data directory is locked by pid ${liveLockOwner(paths.lockFile)?.pid}, which does not serve it; giving up`);
      return 1;
    }
    await sleep(100);
  }

  let shuttingDown = false;
  try {
    const started = Date.now();
    const [{ PGlite }, { vector }] = await Promise.all([
      import('@electric-sql/pglite'),
      import('@electric-sql/pglite-pgvector'),
    ]);
    const db = await PGlite.create({ dataDir: paths.dataDir, extensions: { vector } });
    const { migrateEmbedded } = await import('../migrate-embedded.js');
    const applied = await migrateEmbedded(db);
    rmSync(paths.socketPath, { force: true }); // left by a server that died; we hold the lock
    const server = await serveEmbedded(db, paths.socketPath);
    log(`serving ${paths.dataDir} on ${paths.socketPath} (started in ${Date.now() - started} ms, ${applied} migrations applied)`);

    const shutdown = async (why: string) => {
      if (shuttingDown) return;
      shuttingDown = true;
      log(`stopping: ${why}`);
      await server.stop();
      rmSync(paths.socketPath, { force: true });
      await db.close();
      unlock(paths.lockFile);
      log('stopped');
      process.exit(0);
    };
    process.on('SIGTERM', () => void shutdown('SIGTERM'));
    process.on('SIGINT', () => void shutdown('SIGINT'));
    setInterval(() => {
      if (server.connections === 0 && Date.now() - server.lastActivity >= idleTimeoutMs) {
        void shutdown(`no client for ${idleTimeoutMs} ms`);
      }
    }, Math.min(1_000, idleTimeoutMs)).unref();
    // Keep the process alive while serving.
    await new Promise(() => {});
    return 0;
  } catch (error) {
    log(`failed: ${describeFailure(error)}`);
    unlock(paths.lockFile);
    return 1;
  }
}

main().then(
  (code) => process.exit(code),
  (error) => {
    log(`failed: ${describeFailure(error)}`);
    process.exit(1);
  },
);

/** The stack, and the cause's message: a failed migration's stack names the statement, its cause the reason. */
function describeFailure(error: unknown): string {
  const cause = (error as { cause?: { message?: string } }).cause?.message;
  return `${(error as Error).stack ?? error}${cause ? `\ncaused by: ${cause}` : ''}`;
}
