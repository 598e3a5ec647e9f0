// Proving that a backup restores. Each level includes the ones before it:
//   checksum  the file's SHA-256 is the one recorded when it was written;
//   list      the archive's table of contents reads (pg_restore --list), or, for plain SQL, the file ends
//             with the line pg_dump writes last;
//   full      it restores into a scratch database, created and dropped (a server's backup: on its server;
//             the embedded database's: an in-memory PGlite), and every table has the rows it had at dump time.
import { randomBytes } from 'node:crypto';
import { open } from 'node:fs/promises';
import type { Config } from '../core/config.js';
import type { Database } from '../core/database.js';
import { UsageError } from '../core/errors.js';
import { BackupError } from './errors.js';
import { hashFile, readSidecar } from './files.js';
import { countRowsAt, countRowsInScratchPglite, quoteIdent, restoreArchive, withServerClient } from './load.js';
import { runTool, withDatabaseName } from './pg-tools.js';
import { getBackup, recordVerification, type BackupRecord, type VerifiedHow } from './records.js';
import { countDifferences, totalRows, type RowCounts } from '../core/row-counts.js';
import { serverOf } from './targets.js';

export type VerifyLevel = 'list' | 'full';

export interface Verification {
  backupId: number;
  /** The strongest check made (the one that failed, when one did). */
  how: VerifiedHow;
  ok: boolean;
  error: string | null;
  /** Restored by --full: rows per table. */
  tables?: RowCounts;
  rows?: number;
  durationMs: number;
}

type Verifiable = Pick<BackupRecord, 'id' | 'path' | 'format' | 'sha256' | 'database'>;

/** The file of a backup is the one recorded, or a BackupError saying how it is not. */
export async function expectChecksum(backup: Verifiable): Promise<void> {
  let actual: string;
  try {
    actual = (await hashFile(backup.path)).sha256;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') throw new BackupError(`the file of backup ${backup.id} is missing: ${backup.path}`);
    throw error;
  }
  if (actual !== backup.sha256) {
    throw new BackupError(`the file of backup ${backup.id} is damaged: its SHA-256 is ${actual}, not ${backup.sha256} as written`);
  }
}

/** Check a backup's file, recording nothing: the result says how far it got and what failed. */
export async function verifyFile(backup: Verifiable, level: VerifyLevel, context: { config: Config; signal: AbortSignal }): Promise<Verification> {
  const started = performance.now();
  let how: VerifiedHow = 'checksum';
  const done = (fields: Partial<Verification>): Verification =>
    ({ backupId: backup.id, how, ok: true, error: null, ...fields, durationMs: Math.round(performance.now() - started) });
  try {
    await expectChecksum(backup);
    how = 'list';
    await (backup.format === 'custom' ? runTool('pg_restore', ['--list', backup.path], { signal: context.signal }) : expectDumpComplete(backup.path));
    if (level === 'list') return done({});
    how = 'full';
    const expected = (await readSidecar(backup.path))?.tables;
    if (!expected) throw new BackupError(`the row counts of dump time are missing (no sidecar file beside ${backup.path})`);
    const tables = backup.format === 'custom'
      ? await countRowsInScratchDatabase(serverOf(context.config, backup.database, backup.id), backup, context.signal)
      : await countRowsInScratchPglite(backup.path);
    const differences = countDifferences(expected, tables);
    if (differences.length) throw new BackupError(`restored rows differ from dump time: ${differences.join('; ')}`);
    return done({ tables, rows: totalRows(tables) });
  } catch (error) {
    return done({ ok: false, error: (error as Error).message });
  }
}

/** `backup verify ID [--full]`: check the backup and record the outcome on it. */
export async function verifyBackup(db: Database, id: number, level: VerifyLevel, signal: AbortSignal): Promise<Verification> {
  const backup = await getBackup(db, id);
  if (backup.status !== 'succeeded') throw notRestorable(backup);
  const verification = await verifyFile(backup, level, { config: db.config, signal });
  await recordVerification(db, id, verification.how, verification.error);
  return verification;
}

/** Why a backup that is not succeeded has no file to verify or restore. */
export function notRestorable(backup: BackupRecord): Error {
  const why = {
    running: 'is still being written (or its process died: the next backup of its type resolves it)',
    failed: `failed (${backup.error?.message}): it has no file`,
    pruned: `was pruned by retention at ${backup.prunedAt?.toISOString()}: its file is gone`,
  }[backup.status as 'running' | 'failed' | 'pruned'];
  return new UsageError(`backup ${backup.id} ${why}`, { hint: "Pick a succeeded backup from 'singularity backup list'." });
}

// pg_dump writes this line last: a plain dump without it was cut short.
async function expectDumpComplete(path: string): Promise<void> {
  const handle = await open(path, 'r');
  try {
    const { size } = await handle.stat();
    const tail = Buffer.alloc(Math.min(size, 256));
    await handle.read(tail, 0, tail.length, size - tail.length);
    if (!tail.toString('utf8').includes('-- PostgreSQL database dump complete')) {
      throw new BackupError("the SQL dump is incomplete: it lacks pg_dump's closing line");
    }
  } finally {
    await handle.close();
  }
}

async function countRowsInScratchDatabase(serverUrl: string, backup: Verifiable, signal: AbortSignal): Promise<RowCounts> {
  const scratch = `singularity_verify_${backup.id}_${randomBytes(3).toString('hex')}`;
  await withServerClient(serverUrl, (c) => c.query(`create database ${quoteIdent(scratch)}`)).catch((error: Error) => {
    throw new BackupError(`cannot create the scratch database ${scratch} on the backup's server: ${error.message} ` +
      '(verify --full needs a user that may create databases: CREATEDB)');
  });
  try {
    const scratchUrl = withDatabaseName(serverUrl, scratch);
    await restoreArchive(backup.path, scratchUrl, { clean: false, signal });
    return await countRowsAt(scratchUrl);
  } finally {
    await withServerClient(serverUrl, (c) => c.query(`drop database if exists ${quoteIdent(scratch)}`));
  }
}
