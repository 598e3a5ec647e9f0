// The backup folder (backup.dir) and the folders under it. When one cannot be used (a file where a folder
// should be, permission denied, a read-only file system), the error says which path, why, which setting
// named it, and what to do; it is thrown before anything is written, and nothing that exists is changed.
import { constants } from 'node:fs';
import { access, mkdir, stat } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import type { Config } from '../core/config.js';
import { ConfigError } from '../core/errors.js';
import { BackupError } from './errors.js';

/** Where backup.dir came from, as far as the resolved configuration (and the environment) tell. */
export interface BackupDirSetting {
  /** Said in the message, after the path: "set by ...". */
  source: string;
  /** What to change: "Point SINGULARITY_BACKUP_DIR at <folder>." */
  fix(folder: string): string;
}

const WRITABLE = 'a folder this user can write to (it is created if missing)';

/**
 * Which setting gave backup.dir its value. Layers as loadConfig applies them: the environment variable
 * overrides the config file, which overrides the default (<home>/backups).
 */
export function backupDirSetting(config: Config, env: NodeJS.ProcessEnv = process.env, cwd: string = process.cwd()): BackupDirSetting {
  const dir = config.backup.dir;
  const fromEnv = env.SINGULARITY_BACKUP_DIR;
  if (fromEnv && resolve(cwd, fromEnv) === dir) {
    return { source: 'set by the SINGULARITY_BACKUP_DIR environment variable', fix: (folder) => `Point SINGULARITY_BACKUP_DIR at ${folder}.` };
  }
  if (dir === join(config.home, 'backups')) {
    return {
      source: 'the default: neither backup.dir nor SINGULARITY_BACKUP_DIR is set',
      fix: (folder) => `Set backup.dir in the config file, or SINGULARITY_BACKUP_DIR, to ${folder}.`,
    };
  }
  if (config.configPath) {
    const path = config.configPath;
    return { source: `set by backup.dir in ${path}`, fix: (folder) => `Point backup.dir in ${path} at ${folder}.` };
  }
  return { source: 'set by backup.dir', fix: (folder) => `Point backup.dir (or SINGULARITY_BACKUP_DIR) at ${folder}.` };
}

/**
 * Make the backup folder if it is missing (private to this user), and check that it is a folder this user
 * may write in. Throws a ConfigError (exit 2: the setting must change) saying why it cannot be used.
 */
export async function prepareBackupFolder(config: Config): Promise<void> {
  const dir = config.backup.dir;
  try {
    await mkdir(dir, { recursive: true, mode: 0o700 });
    await access(dir, constants.W_OK | constants.X_OK);
  } catch (error) {
    const setting = backupDirSetting(config);
    throw new ConfigError(`the backup folder ${dir} ${await folderProblem(dir, error)} (${setting.source})`, {
      hint: setting.fix(WRITABLE), cause: error,
    });
  }
}

/**
 * A folder under the backup folder (<database>/<type>) that cannot be made: something other than
 * singularity is in the way. A BackupError: that database's backup fails, the others are still made.
 */
export async function subfolderError(config: Config, folder: string, error: unknown): Promise<BackupError> {
  const setting = backupDirSetting(config);
  return new BackupError(`the folder ${folder} in the backup folder ${await folderProblem(folder, error)}`, {
    hint: `Backups are filed in ${config.backup.dir}/<database>/<type>/: move what is in the way, or use another folder. ` +
      setting.fix(WRITABLE),
    cause: error,
  });
}

/** Why `path` cannot be used as a folder, from the error that said so: "is a file, not a folder", "cannot be created: ...". */
export async function folderProblem(path: string, error: unknown): Promise<string> {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  const existing = await nearestExisting(path);
  if (existing?.path === path) {
    if (!existing.isDirectory) return existing.isFile ? 'is a file, not a folder' : 'is not a folder';
    if (code === 'EACCES' || code === 'EPERM') return 'is not writable: permission denied';
    if (code === 'EROFS') return 'is on a read-only file system';
    return `cannot be used: ${(error as Error).message}`;
  }
  const where = existing?.path;
  if (where && !existing.isDirectory) return `cannot be created: ${where} is ${existing.isFile ? 'a file, not a folder' : 'not a folder'}`;
  // A recursive mkdir may report ENOENT where it was refused (a read-only file system): ask the folder it
  // would have been made in, which writes nothing.
  const refused = where ? await access(where, constants.W_OK | constants.X_OK).then(() => code, (e: NodeJS.ErrnoException) => e.code) : code;
  if (where && (refused === 'EACCES' || refused === 'EPERM')) return `cannot be created: permission denied in ${where}`;
  if (where && refused === 'EROFS') return `cannot be created: ${where} is on a read-only file system`;
  return `cannot be created: ${(error as Error).message}`;
}

/** The path itself or its nearest ancestor that exists (following symbolic links), and what it is. */
async function nearestExisting(path: string): Promise<{ path: string; isDirectory: boolean; isFile: boolean } | undefined> {
  for (let p = path; ; p = dirname(p)) {
    try {
      const s = await stat(p);
      return { path: p, isDirectory: s.isDirectory(), isFile: s.isFile() };
    } catch {
      if (dirname(p) === p) return undefined;
    }
  }
}
