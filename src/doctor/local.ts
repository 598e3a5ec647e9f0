// The local side: the crontab, pg_dump, the backup directory, the embedding model, templates_data/, and the
// embedded database's data directory.
import { existsSync } from 'node:fs';
import { rm, stat, statfs, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { Config } from '../core/config.js';
import { readLockOwner, liveLockOwner } from '../core/embedded/lock.js';
import { embeddedPaths } from '../core/embedded/paths.js';
import { defaultCrontab, inspectCrontab, type Crontab } from '../schedule/crontab.js';
import type { TaskSet } from '../core/task/registry.js';
import { fail, ok, warn, type Check } from './types.js';
import { formatBytes, plural } from '../core/format.js';

const hintOf = (error: unknown, otherwise: string) => (error as { hint?: string }).hint ?? otherwise;

/**
 * A crontab's entries as status counts them: the scheduled (periodic) ones. An @setup / @reboot line runs once
 * each time a scheduler starts, not on a schedule; it is named apart. '23 scheduled entries, plus @setup setup
 * on each start'; with no such line, every entry is scheduled: '1 entry'.
 */
export function describeEntries(crontab: Crontab): string {
  const onStart = crontab.entries.filter((e) => e.onStart);
  const scheduled = crontab.entries.length - onStart.length;
  if (!onStart.length) return plural(scheduled, 'entry', 'entries');
  return `${plural(scheduled, 'scheduled entry', 'scheduled entries')}, plus ${onStart.map((e) => `${e.schedule} ${e.command}`).join(', ')} on each start`;
}

/** The crontab run-scheduler would run; also returns the tasks and the crontab (when valid) for other checks. */
export async function checkCrontab(config: Config, loadTasks: () => Promise<TaskSet>): Promise<{ check: Check; tasks?: TaskSet; crontab?: Crontab }> {
  const id = 'crontab';
  let tasks: TaskSet;
  try {
    tasks = await loadTasks();
  } catch (error) {
    return { check: fail(id, 'crontab', (error as Error).message, hintOf(error, 'Check taskModules in the config file (or SINGULARITY_TASK_MODULES).')) };
  }
  const path = config.scheduler.crontab;
  try {
    if (!path) {
      const crontab = defaultCrontab(tasks);
      return { tasks, crontab, check: ok(id, 'crontab', `none configured: run-scheduler runs the default crontab (${describeEntries(crontab)})`) };
    }
    const { crontab, problems } = await inspectCrontab(path, tasks);
    if (problems.length) {
      return {
        tasks,
        check: fail(id, 'crontab', `${plural(problems.length, 'problem')} in ${path}:\n` + problems.map((p) => `${path}:${p.line}:${p.column}: ${p.message}`).join('\n'),
          `Fix these lines ('singularity crontab check ${path}' checks the file); run-scheduler refuses to start with them.`),
      };
    }
    return { tasks, crontab, check: ok(id, 'crontab', `${path}: ${describeEntries(crontab)}, no problems`) };
  } catch (error) {
    return { tasks, check: fail(id, 'crontab', (error as Error).message, hintOf(error, "'singularity crontab > FILE' writes the default crontab to start from.")) };
  }
}

export function checkPgDump(pgDump: { version: string; major: number } | undefined, kind: 'postgres' | 'embedded', serverMajor?: number): Check {
  const id = 'pg_dump';
  const install = serverMajor
    ? `Install the PostgreSQL client ${serverMajor} or newer (Debian: apt-get install postgresql-client-${serverMajor}) and put it first on PATH.`
    : 'Install the PostgreSQL client (Debian: apt-get install postgresql-client).';
  if (kind === 'embedded') {
    const note = "the embedded database is dumped by PGlite's own pg_dump; a server's backups need the one on PATH";
    return pgDump ? ok(id, 'pg_dump', `pg_dump ${pgDump.version} on PATH (${note})`) : warn(id, 'pg_dump', `pg_dump is not on PATH (${note})`, install);
  }
  if (!pgDump) return fail(id, 'pg_dump', 'pg_dump is not on PATH: backups of this server cannot be made', install);
  if (serverMajor === undefined) return ok(id, 'pg_dump', `pg_dump ${pgDump.version} on PATH (the server's version is unknown: it was not reached)`);
  if (pgDump.major < serverMajor) {
    return fail(id, 'pg_dump', `pg_dump ${pgDump.version} is older than the server (${serverMajor}): it refuses to dump it`, install);
  }
  return ok(id, 'pg_dump', `pg_dump ${pgDump.version} on PATH, not older than the server (${serverMajor})`);
}

/** The backup folder (backup.dir): writable, private, with room for at least the database (and 1 GB). */
export async function checkBackupDir(config: Config, databaseBytes = 0): Promise<Check> {
  const id = 'backup-dir';
  const dir = config.backup.dir;
  let existing = dir;
  while (!existsSync(existing) && dirname(existing) !== existing) existing = dirname(existing);
  const where = existing === dir ? dir : `${dir} (it does not exist yet: the first backup creates it; ${existing} was tested)`;
  const setting = 'backup.dir in the config file (or SINGULARITY_BACKUP_DIR)';
  const probe = join(existing, `.singularity-doctor-${process.pid}`);
  try {
    await writeFile(probe, '');
    await rm(probe, { force: true });
  } catch (error) {
    return fail(id, 'backup directory', `not writable (${(error as NodeJS.ErrnoException).code ?? (error as Error).message}): ${where}`,
      `Make ${existing} writable by this user, or point ${setting} somewhere that is.`);
  }
  const mode = existing === dir ? (await stat(dir)).mode & 0o777 : 0o700;
  if (mode & 0o077) {
    return warn(id, 'backup directory', `${dir} is open to other users (mode ${mode.toString(8)}), and backups hold every row of their database`,
      `chmod 700 ${dir}`);
  }
  const fs = await statfs(existing);
  const free = fs.bavail * fs.bsize;
  const needed = Math.max(1024 ** 3, databaseBytes);
  if (free < needed) {
    return warn(id, 'backup directory', `writable, only ${formatBytes(free)} free (less than ${formatBytes(needed)}: 1 GB or the database's size): ${where}`,
      `Free space on that filesystem, or point ${setting} at a larger one.`);
  }
  return ok(id, 'backup directory', `writable, ${formatBytes(free)} free: ${where}`);
}

/** The configured embedding model loads from where it is looked for (never downloaded here). */
export async function checkEmbeddingModel(config: Config): Promise<Check> {
  const id = 'embedding-model';
  const { withEmbedder } = await import('../embed/transformers.js');
  return withEmbedder(config.embedding, { allowDownload: false }, ({ embedder, missing }) => missing
    ? warn(id, 'embedding model', `${missing.model} is not available: ${missing.reason}; knowledge and code load without ` +
      'embeddings (they wait for embed-templates) and search is lexical only', missing.hint)
    : ok(id, 'embedding model', `${embedder.model} loads: ${embedder.dimension} dimensions, up to ${embedder.maxTokens} tokens a text`));
}

/** The knowledge folder loads completely: every artifact valid, no duplicate ids (as migrate-knowledge reads it). */
export async function checkTemplates(dir: string): Promise<Check> {
  const id = 'templates';
  if (!existsSync(dir)) {
    return warn(id, 'templates_data', `${dir} not found: the knowledge tasks have nothing to load`,
      'Reinstall singularity (its package ships templates_data/), or point knowledge.templatesDir at your folder.');
  }
  const { scanKnowledgeFolder } = await import('../knowledge/scan.js');
  const { formatProblems } = await import('../knowledge/run.js');
  const scan = await scanKnowledgeFolder(dir, { include: 'all' });
  if (scan.problems.length) {
    const files = new Set(scan.problems.map((p) => p.path)).size;
    return fail(id, 'templates_data', `${files} of ${plural(scan.files, 'file')} in ${dir} are invalid and would be skipped:\n${formatProblems(scan.problems)}`,
      'Fix each file at the pointer given, or remove it; `singularity migrate-knowledge --dry-run` shows the same list.');
  }
  return ok(id, 'templates_data', `${dir}: ${plural(scan.artifacts.length, 'artifact')}, all valid`);
}

/** The embedded database's folder: the data directory exists, the lock's owner is alive (or none), the server answers. */
export function checkEmbeddedData(config: Config, answers: boolean): Check {
  const id = 'embedded-data';
  const paths = embeddedPaths(config.home);
  const log = `look at ${paths.logFile}`;
  if (!existsSync(join(paths.dataDir, 'PG_VERSION'))) {
    return fail(id, 'embedded data directory', `no data directory at ${paths.dataDir}`,
      answers ? `The server answers without one: ${log}.` : `'singularity migrate' creates it; if it fails, ${log}.`);
  }
  const owner = readLockOwner(paths.lockFile);
  const live = liveLockOwner(paths.lockFile);
  if (!answers) {
    return fail(id, 'embedded data directory', `${paths.dataDir} exists, but the embedded server does not answer` +
      (live ? ` (pid ${live.pid} holds ${paths.lockFile})` : ''),
      `${log[0]!.toUpperCase()}${log.slice(1)}; if the process named in embedded.lock hangs, stop it: the next singularity process starts a new server.`);
  }
  if (owner && !live) {
    return warn(id, 'embedded data directory', `${paths.dataDir} answers, but ${paths.lockFile} names pid ${owner.pid}, which is gone`,
      'Nothing to do: the next singularity process that starts the server removes the stale lock.');
  }
  return ok(id, 'embedded data directory', `${paths.dataDir}: the server${live ? ` (pid ${live.pid}, holding embedded.lock)` : ''} answers`);
}
