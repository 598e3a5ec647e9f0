// `backup --type T [--keep N]`: dump every configured database, verify each new file, then apply retention.
// Each backup: resolve the records a dead run left running; record this one as running; dump into
// <file>.partial; hash it and force it to disk; write the sidecar (row counts at dump time); rename into
// place and sync the folder; verify (checksum re-read, the archive's table of contents); only then
// record it succeeded and prune. Any failure removes this backup's files and records it failed, leaving
// every older backup in place. A backup folder that cannot be used fails the run before any of that.
import { existsSync } from 'node:fs';
import { rename } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { Config } from '../core/config.js';
import type { Database } from '../core/database.js';
import { redact } from '../core/redact.js';
import { dumpEmbedded } from './dump-embedded.js';
import { dumpServer } from './dump-server.js';
import { BackupError } from './errors.js';
import { prepareBackupFolder, subfolderError } from './folder.js';
import {
  backupFiles, type BackupFormat, createPrivateFile, hashFile, makePrivateFolder, readSidecar, removeBackupFiles, syncToDisk, writeSidecar,
} from './files.js';
import { recordsLeftRunning, recordFailed, recordSucceeded, startRecord } from './records.js';
import { defaultKeep, prune, type Pruned } from './retention.js';
import { totalRows } from '../core/row-counts.js';
import { backupTargets, type BackupTarget } from './targets.js';
import { verifyFile } from './verify.js';

export interface BackupRequest {
  type: string;
  keep?: number;
  /** The run of the history making these backups. */
  runId: number | null;
  signal: AbortSignal;
  progress?: (message: string) => void;
}

export interface DatabaseBackup {
  database: string;
  id: number;
  path: string;
  format: BackupFormat;
  sizeBytes: number;
  sha256: string;
  tables: number;
  rows: number;
  /** pg_dump, hashing and syncing: the backup itself. */
  dumpMs: number;
  /** The verification right after writing. */
  verifyMs: number;
  pruned: Pruned[];
  pruneFailures: string[];
  /** Records left running by a run that died: their file complete, so verified and recorded succeeded. */
  adopted: number[];
  /** Records left running by a run that died before its file was complete: partial files removed, failed. */
  abandoned: number[];
}

export interface BackupRunResult {
  type: string;
  keep: number;
  backups: DatabaseBackup[];
}

/**
 * Back up every configured database. Throws a ConfigError, before anything is written, when the backup
 * folder cannot be used; else a BackupError naming each database that failed (after trying them all),
 * with the hints of their errors.
 */
export async function backupDatabases(db: Database, config: Config, request: BackupRequest): Promise<BackupRunResult> {
  const keep = request.keep ?? defaultKeep(request.type);
  const targets = backupTargets(config);
  await prepareBackupFolder(config);
  const backups: DatabaseBackup[] = [];
  const failures: string[] = [];
  const hints = new Set<string>();
  for (const target of targets) {
    if (request.signal.aborted) break;
    try {
      backups.push(await backupDatabase(db, config, target, keep, request));
    } catch (error) {
      failures.push(`${target.name}: ${(error as Error).message}`);
      const { hint } = error as { hint?: unknown };
      if (typeof hint === 'string' && hint) hints.add(hint);
    }
  }
  if (failures.length) {
    const made = backups.map((b) => `${b.database}: backup ${b.id} made`);
    throw new BackupError(redact(`${failures.length} of ${failures.length + backups.length} backups failed: ${[...failures, ...made].join('; ')}`), {
      hint: hints.size ? redact([...hints].join('\n')) : undefined,
    });
  }
  return { type: request.type, keep, backups };
}

async function backupDatabase(db: Database, config: Config, target: BackupTarget, keep: number, request: BackupRequest): Promise<DatabaseBackup> {
  const left = await resolveLeftRunning(db, config, request.type, target.name, request.signal);
  const made = await makeBackup(db, config, target, request);
  request.progress?.(`pruning ${request.type} backups of ${target.name}`);
  const pruning = await prune(db, request.type, target.name, keep);
  return { ...made, pruned: pruning.pruned, pruneFailures: pruning.failures, ...left };
}

/** One verified backup, recorded succeeded; or its files removed, recorded failed, and the error thrown. */
async function makeBackup(
  db: Database,
  config: Config,
  target: BackupTarget,
  { type, runId, signal, progress }: BackupRequest,
): Promise<Omit<DatabaseBackup, 'pruned' | 'pruneFailures' | 'adopted' | 'abandoned'>> {
  const format: BackupFormat = target.kind === 'postgres' ? 'custom' : 'plain';
  const record = await startRecord(db, { dir: config.backup.dir, type, database: target.name, format, runId });
  const files = backupFiles(record.path);
  try {
    progress?.(`dumping ${target.name}`);
    const started = performance.now();
    const folder = dirname(files.file);
    await makePrivateFolder(config.backup.dir, folder).catch(async (error: unknown) => {
      throw await subfolderError(config, folder, error);
    });
    let dumped;
    if (target.kind === 'postgres') {
      await createPrivateFile(files.partial); // pg_dump -f keeps the mode of the file it finds
      dumped = await dumpServer(target.url, files.partial, signal);
    } else {
      dumped = await dumpEmbedded(config, files.partial, signal);
    }
    const { sha256, sizeBytes } = await hashFile(files.partial);
    await syncToDisk(files.partial);
    await writeSidecar(files, {
      backup: record.id, database: target.name, type, format, startedAt: record.startedAt.toISOString(),
      serverVersion: dumped.serverVersion, pgDumpVersion: dumped.pgDumpVersion, sizeBytes, sha256, tables: dumped.tables,
    });
    await rename(files.partial, files.file);
    await syncToDisk(dirname(files.file));
    const dumpMs = Math.round(performance.now() - started);

    progress?.(`verifying backup ${record.id} of ${target.name}`);
    const verification = await verifyFile({ ...record, sha256 }, 'list', { config, signal });
    if (!verification.ok) throw new BackupError(`the new backup did not verify (${verification.how}): ${verification.error}`);
    await recordSucceeded(db, record.id, { sizeBytes, sha256, serverVersion: dumped.serverVersion, pgDumpVersion: dumped.pgDumpVersion, verifiedHow: verification.how });
    return {
      database: target.name, id: record.id, path: files.file, format, sizeBytes, sha256,
      tables: Object.keys(dumped.tables).length, rows: totalRows(dumped.tables), dumpMs, verifyMs: verification.durationMs,
    };
  } catch (error) {
    const message = signal.aborted ? `stopped: ${(signal.reason as Error)?.message ?? 'cancelled'}` : (error as Error).message;
    try {
      await removeBackupFiles(files.file);
    } catch (cleanup) {
      // Left running, so that the next backup of the type tries again; the reason the backup failed stays first.
      throw new BackupError(`${message}; its partial files could not be removed (the next backup of the type tries again): ${(cleanup as Error).message}`, {
        hint: (error as { hint?: string }).hint, cause: error,
      });
    }
    await recordFailed(db, record.id, redact(message));
    throw error;
  }
}

/**
 * Records left running by a run that died. One whose file was completed (renamed into place beside its
 * sidecar) and verifies is adopted: recorded succeeded. This is also what a restored copy of singularity's
 * own database holds: the record of the very backup it came from, running at dump time, whose file must
 * not be taken for a partial one. Any other is abandoned: its files removed, recorded failed.
 */
async function resolveLeftRunning(db: Database, config: Config, type: string, database: string, signal: AbortSignal) {
  const adopted: number[] = [];
  const abandoned: number[] = [];
  for (const record of await recordsLeftRunning(db, type, database)) {
    const sidecar = existsSync(record.path) ? await readSidecar(record.path) : undefined;
    const verification = sidecar && (await verifyFile({ ...record, sha256: sidecar.sha256 }, 'list', { config, signal }));
    if (sidecar && verification?.ok) {
      await recordSucceeded(db, record.id, { ...sidecar, verifiedHow: verification.how });
      adopted.push(record.id);
      continue;
    }
    await removeBackupFiles(record.path);
    await recordFailed(db, record.id, `abandoned: the run making it (run ${record.runId ?? '?'}) ended before it finished`);
    abandoned.push(record.id);
  }
  return { adopted, abandoned };
}
