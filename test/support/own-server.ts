// A PostgreSQL server of a test's own (.ci/start-postgres.sh on a free port), so that restarting it or
// starting it without pg_cron disturbs no other test. The server runs as the postgres user: root only.
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const canRunOwnServer = !!process.env.TEST_DATABASE_URL && process.getuid?.() === 0;

const START = fileURLToPath(new URL('../../.ci/start-postgres.sh', import.meta.url));
const PG_CTL = '/usr/lib/postgresql/15/bin/pg_ctl';

export function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

export interface OwnServer {
  url: string;
  /** A folder beside the server's, for the test's own files. */
  dir: string;
  stop(mode: 'fast' | 'immediate'): void;
  /** Start it again (after stop) and wait until it accepts connections. */
  start(): void;
  /** Stop the server at once and remove everything. */
  dispose(): void;
}

export async function startOwnServer(options: { withoutPgCron?: boolean } = {}): Promise<OwnServer> {
  const dir = mkdtempSync(join(tmpdir(), 'sg-own-pg-'));
  chmodSync(dir, 0o755); // the postgres user must reach the data directory
  const pg = join(dir, 'pg');
  const env = { ...process.env, ...(options.withoutPgCron ? { SINGULARITY_TEST_PG_NO_CRON: '1' } : {}) };
  const url = execFileSync('bash', [START, pg, String(await freePort())], { encoding: 'utf8', env }).trim().split('\n').at(-1)!;
  const pgCtl = (args: string) =>
    execFileSync('su', ['postgres', '-s', '/bin/bash', '-c', `${PG_CTL} -D '${join(pg, 'data')}' ${args}`], { stdio: 'ignore' });
  const stop = (mode: 'fast' | 'immediate') => pgCtl(`-m ${mode} stop`);
  return {
    url,
    dir,
    stop,
    start: () => pgCtl(`-l '${join(pg, 'server.log')}' -w start`),
    dispose() {
      stop('immediate');
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
