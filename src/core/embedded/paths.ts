// Where the embedded database keeps its files under SINGULARITY_HOME.
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** PostgreSQL clients find a server's Unix socket as <dir>/.s.PGSQL.<port>. */
export const SOCKET_PORT = 5432;
const SOCKET_FILE = `.s.PGSQL.${SOCKET_PORT}`;
// sun_path holds 108 bytes on Linux; keep a margin.
const MAX_SOCKET_PATH = 100;

export interface EmbeddedPaths {
  home: string;
  dataDir: string;
  socketDir: string;
  socketPath: string;
  lockFile: string;
  logFile: string;
}

export function embeddedPaths(home: string): EmbeddedPaths {
  let socketDir = join(home, 'run');
  if (join(socketDir, SOCKET_FILE).length > MAX_SOCKET_PATH) {
    // A deep home directory cannot hold a socket; use a private folder named after it instead.
    const digest = createHash('sha256').update(home).digest('hex').slice(0, 16);
    socketDir = join(tmpdir(), `singularity-${digest}`);
  }
  return {
    home,
    dataDir: join(home, 'pgdata'),
    socketDir,
    socketPath: join(socketDir, SOCKET_FILE),
    lockFile: join(home, 'embedded.lock'),
    logFile: join(home, 'embedded.log'),
  };
}
