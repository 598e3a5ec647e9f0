// The `backups` table (drizzle/0010_backups.sql), every query on it named. The record and the file always
// agree: running (a .partial file may exist), succeeded (the file is in place and verified right after it
// was written), failed (no file), pruned (retention removed the file).
import type { PoolClient } from 'pg';
import type { Database } from '../core/database.js';
import { NotFoundError, UsageError } from '../core/errors.js';
import { backupPath, type BackupFormat } from './files.js';

export type BackupStatus = 'running' | 'succeeded' | 'failed' | 'pruned';
export type VerifiedHow = 'checksum' | 'list' | 'full';

export interface BackupRecord {
  id: number;
  type: string;
  database: string;
  path: string;
  format: BackupFormat;
  sizeBytes: number | null;
  sha256: string | null;
  startedAt: Date;
  finishedAt: Date | null;
  serverVersion: string | null;
  pgDumpVersion: string | null;
  status: BackupStatus;
  verifiedAt: Date | null;
  verifiedHow: VerifiedHow | null;
  verifyError: string | null;
  prunedAt: Date | null;
  runId: number | null;
  error: { message: string } | null;
}

const COLUMNS = `id, type, database, path, format, size_bytes as "sizeBytes", sha256, started_at as "startedAt",
  finished_at as "finishedAt", server_version as "serverVersion", pg_dump_version as "pgDumpVersion", status,
  verified_at as "verifiedAt", verified_how as "verifiedHow", verify_error as "verifyError", pruned_at as "prunedAt",
  run_id as "runId", error`;

/** Good: succeeded and verified without error. Only good backups count towards retention. */
const GOOD = `status = 'succeeded' and verified_at is not null and verify_error is null`;

/** The record of a backup about to be written; its path holds its id and start time. */
export async function startRecord(
  db: Database,
  backup: { dir: string; type: string; database: string; format: BackupFormat; runId: number | null },
): Promise<BackupRecord> {
  const [{ id }] = (await db.query<{ id: number }>(`select nextval(pg_get_serial_sequence('backups', 'id')) as id`)) as [{ id: number }];
  const startedAt = new Date();
  const path = backupPath(backup.dir, backup.database, backup.type, startedAt, id, backup.format);
  const [record] = await db.query<BackupRecord>(
    `insert into backups (id, type, database, path, format, started_at, run_id) values ($1, $2, $3, $4, $5, $6, $7) returning ${COLUMNS}`,
    [id, backup.type, backup.database, path, backup.format, startedAt, backup.runId],
  );
  return record!;
}

/** The file is in place and passed the verification made right after writing it. */
export async function recordSucceeded(
  db: Database,
  id: number,
  file: { sizeBytes: number; sha256: string; serverVersion: string; pgDumpVersion: string; verifiedHow: VerifiedHow },
): Promise<BackupRecord> {
  const [record] = await db.query<BackupRecord>(
    `update backups set status = 'succeeded', finished_at = now(), size_bytes = $2, sha256 = $3, server_version = $4,
       pg_dump_version = $5, verified_at = now(), verified_how = $6
     where id = $1 and status = 'running' returning ${COLUMNS}`,
    [id, file.sizeBytes, file.sha256, file.serverVersion, file.pgDumpVersion, file.verifiedHow],
  );
  return record!;
}

/** Its files are gone (removed by the caller): failed, with why. */
export async function recordFailed(db: Database, id: number, message: string): Promise<void> {
  await db.query(`update backups set status = 'failed', finished_at = now(), error = jsonb_build_object('message', $2::text)
                  where id = $1 and status = 'running'`, [id, message]);
}

export async function recordVerification(db: Database, id: number, how: VerifiedHow, error: string | null): Promise<void> {
  await db.query(`update backups set verified_at = now(), verified_how = $2, verify_error = $3 where id = $1 and status = 'succeeded'`,
    [id, how, error]);
}

export async function getBackup(db: Database, id: number): Promise<BackupRecord> {
  const [record] = await db.query<BackupRecord>(`select ${COLUMNS} from backups where id = $1`, [id]);
  if (!record) throw new NotFoundError(`no backup ${id}`, { hint: "See 'singularity backup list' for the backups there are." });
  return record;
}

/** A backup id as typed on the command line. */
export function parseBackupId(text: string): number {
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(Number(text))) {
    throw new UsageError(`'${text}' is not a backup id`, { hint: "Backup ids are whole numbers; see 'singularity backup list'." });
  }
  return Number(text);
}

export async function listBackups(db: Database, filter: { type?: string; database?: string } = {}): Promise<BackupRecord[]> {
  return db.query<BackupRecord>(
    `select ${COLUMNS} from backups where ($1::text is null or type = $1) and ($2::text is null or database = $2)
     order by started_at desc, id desc`,
    [filter.type ?? null, filter.database ?? null],
  );
}

/**
 * Records left running by a run that died: their run is no longer executing (the run history marks a run
 * whose heartbeat stopped), or is not there. A record whose run is executing is a live backup: left alone.
 */
export async function recordsLeftRunning(db: Database, type: string, database: string): Promise<BackupRecord[]> {
  return db.query<BackupRecord>(
    `select ${COLUMNS} from backups b where type = $1 and database = $2 and status = 'running'
       and not exists (select 1 from task_runs r where r.id = b.run_id and r.state = 'executing')`,
    [type, database],
  );
}

/** Succeeded backups older than the keep-th newest good one: what retention removes. None while fewer are good. */
export async function retentionVictims(db: Database, type: string, database: string, keep: number): Promise<BackupRecord[]> {
  return db.query<BackupRecord>(
    `select ${COLUMNS} from backups
     where type = $1 and database = $2 and status = 'succeeded' and (started_at, id) < (
       select started_at, id from backups where type = $1 and database = $2 and ${GOOD}
       order by started_at desc, id desc offset $3::int - 1 limit 1)
     order by started_at, id`,
    [type, database, keep],
  );
}

/** Mark a backup pruned inside the caller's transaction, which commits once its file is gone. */
export async function markPruned(client: PoolClient, id: number): Promise<boolean> {
  const { rowCount } = await client.query(`update backups set status = 'pruned', pruned_at = now() where id = $1 and status = 'succeeded'`, [id]);
  return rowCount === 1;
}

/** Every record as it is now (JSON rows), to be put back by replaceRecords. */
export async function snapshotRecords(db: Database): Promise<unknown[]> {
  const [{ rows }] = (await db.query<{ rows: unknown[] }>(`select coalesce(jsonb_agg(b), '[]') as rows from backups b`)) as [{ rows: unknown[] }];
  return rows;
}

/** Make the table hold exactly these records (and its id sequence continue after them). */
export async function replaceRecords(db: Database, rows: unknown[]): Promise<void> {
  await db.transaction(async (client) => {
    await client.query('delete from backups');
    await client.query('insert into backups select * from jsonb_populate_recordset(null::backups, $1::jsonb)', [JSON.stringify(rows)]);
    await client.query(`select setval(pg_get_serial_sequence('backups', 'id'), greatest((select max(id) from backups), 1))`);
  });
}
