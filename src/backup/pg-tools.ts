// pg_dump and pg_restore, run through execa. A password never goes on a command line, where every user of
// the host can read it (ps, /proc/<pid>/cmdline): the programs get a connection string without it, and the
// password in PGPASSWORD, which only this user (and root) can read. Without a password in the URL, libpq's
// own ~/.pgpass or PGPASSWORD apply as usual.
import { execa, ExecaError } from 'execa';
import { redact, registerSecret } from '../core/redact.js';
import { BackupError } from './errors.js';

export type PgTool = 'pg_dump' | 'pg_restore';

export interface ToolVersion {
  version: string;
  major: number;
}

/** The first version number in a `--version` or `server_version` text: '15.18 (Debian ...)' -> 15.18. */
export function parseVersion(text: string): ToolVersion {
  const version = /(\d+(?:\.\d+)*)/.exec(text)?.[1] ?? text.trim();
  return { version, major: Number.parseInt(version, 10) };
}

/** `<tool> --version` of the program on PATH, or undefined when there is none. */
export async function toolVersion(tool: PgTool): Promise<ToolVersion | undefined> {
  try {
    return parseVersion((await execa(tool, ['--version'], { timeout: 10_000 })).stdout);
  } catch {
    return undefined;
  }
}

/** How a client program reaches a database: a connection string without the password, and the environment that carries it. */
export function connectionFor(url: string): { dbname: string; env: Record<string, string> } {
  const u = new URL(url);
  const password = u.password ? decodeURIComponent(u.password) : (u.searchParams.get('password') ?? undefined);
  registerSecret(password);
  u.password = '';
  u.searchParams.delete('password');
  return { dbname: u.toString(), env: password ? { PGPASSWORD: password } : {} };
}

/** The same server and credentials, another database. */
export function withDatabaseName(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = '/' + encodeURIComponent(database);
  return u.toString();
}

/** The database a URL names (libpq's default: the user's name). */
export function databaseNameOf(url: string): string {
  const u = new URL(url);
  return decodeURIComponent(u.pathname.slice(1)) || decodeURIComponent(u.username) || 'postgres';
}

/** Run a tool against a database (or none), never prompting for a password; its stdout, or a BackupError with its stderr. */
export async function runTool(tool: PgTool, args: string[], options: { url?: string; signal?: AbortSignal } = {}): Promise<string> {
  const connection = options.url ? connectionFor(options.url) : undefined;
  try {
    const { stdout } = await execa(tool, ['--no-password', ...(connection ? [`--dbname=${connection.dbname}`] : []), ...args], {
      env: { PGAPPNAME: 'singularity', ...connection?.env },
      stdin: 'ignore',
      cancelSignal: options.signal,
      forceKillAfterDelay: 5_000,
    });
    return stdout;
  } catch (error) {
    throw toolError(tool, error);
  }
}

function toolError(tool: PgTool, error: unknown): Error {
  if (!(error instanceof ExecaError)) return error as Error;
  if (error.code === 'ENOENT') {
    return new BackupError(`${tool} is not installed: it is not on PATH. Install the PostgreSQL client ` +
      `(Debian: apt-get install postgresql-client-N, N the server's major version) and put it on PATH.`);
  }
  if (error.isCanceled) return new BackupError(`${tool} was stopped: ${(error.cause as Error | undefined)?.message ?? 'cancelled'}`);
  const how = error.signal ? `was killed by ${error.signal}` : `failed with exit code ${error.exitCode}`;
  const said = String(error.stderr ?? '').trim().split('\n').map((l) => l.trim()).filter(Boolean).join('; ');
  return new BackupError(redact(`${tool} ${how}${said ? `: ${said.slice(0, 1000)}` : ''}`));
}
