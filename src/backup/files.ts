// Backups on disk: <backup.dir>/<database>/<type>/<timestamp>-<id>.dump (.sql for plain SQL), and beside
// each a sidecar <timestamp>-<id>.json with what the file holds (the row count of every table at dump
// time, for `verify --full` and `restore`). A dump holds every row of its database, so folders are 0700
// and files 0600. A file is written as <name>.partial and renamed into place once complete and on disk.
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { chmod, mkdir, open, readFile, rename, rm } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';
import type { RowCounts } from '../core/row-counts.js';

export type BackupFormat = 'custom' | 'plain';

/** What a sidecar says of its backup. */
export interface Sidecar {
  backup: number;
  database: string;
  type: string;
  format: BackupFormat;
  startedAt: string;
  serverVersion: string;
  pgDumpVersion: string;
  sizeBytes: number;
  sha256: string;
  tables: RowCounts;
}

export interface BackupFiles {
  file: string;
  /** Where the dump is written until it is complete. */
  partial: string;
  sidecar: string;
}

export function backupPath(dir: string, database: string, type: string, startedAt: Date, id: number, format: BackupFormat): string {
  const stamp = startedAt.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z'); // 20260102T030405Z: sorts by time
  return join(dir, database, type, `${stamp}-${id}.${format === 'custom' ? 'dump' : 'sql'}`);
}

export function backupFiles(path: string): BackupFiles {
  return { file: path, partial: `${path}.partial`, sidecar: path.replace(/\.(dump|sql)$/, '') + '.json' };
}

/** Make the folder (and those between it and the backup root) private to this user. */
export async function makePrivateFolder(root: string, folder: string): Promise<void> {
  await mkdir(folder, { recursive: true, mode: 0o700 });
  // mkdir's mode passes through the umask, and a folder made earlier may be wider: set ours here. The root
  // itself may be a shared folder the user chose (/var/backups): it is created private, never changed.
  for (let f = folder; relative(root, f) && !relative(root, f).startsWith('..'); f = dirname(f)) await chmod(f, 0o700);
}

/** An empty file only this user can read; a program that then writes it (pg_dump -f) keeps its mode. */
export async function createPrivateFile(path: string): Promise<void> {
  await (await open(path, 'wx', 0o600)).close();
}

export async function hashFile(path: string): Promise<{ sha256: string; sizeBytes: number }> {
  const hash = createHash('sha256');
  let sizeBytes = 0;
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 })) {
    hash.update(chunk as Buffer);
    sizeBytes += (chunk as Buffer).length;
  }
  return { sha256: hash.digest('hex'), sizeBytes };
}

/** Force a file's (or a folder's: a rename in it) contents to disk. */
export async function syncToDisk(path: string): Promise<void> {
  const handle = await open(path, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Write the sidecar whole: aside, synced, renamed into place. */
export async function writeSidecar(files: BackupFiles, sidecar: Sidecar): Promise<void> {
  const draft = `${files.sidecar}.partial`;
  const handle = await open(draft, 'wx', 0o600);
  try {
    await handle.writeFile(JSON.stringify(sidecar, null, 2) + '\n');
    await handle.sync();
  } finally {
    await handle.close();
  }
  await rename(draft, files.sidecar);
}

export async function readSidecar(path: string): Promise<Sidecar | undefined> {
  try {
    return JSON.parse(await readFile(backupFiles(path).sidecar, 'utf8')) as Sidecar;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

/**
 * Remove a backup's file, sidecar and anything partial of either; what was never there is no error, nor is
 * a path that cannot exist (ENOTDIR: one of its folders is a file, as when backup.dir named a file).
 */
export async function removeBackupFiles(path: string): Promise<void> {
  const files = backupFiles(path);
  for (const file of [files.file, files.partial, files.sidecar, `${files.sidecar}.partial`]) {
    try {
      await rm(file, { force: true });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOTDIR') throw error;
    }
  }
}
