// `singularity backup list | verify | restore`: the backups the `backup` task made. (`singularity backup
// --type T` itself is the task, run like every task.)
import type { GlobalOptions } from './context.js';
import { out, paint, printJson, table } from './output.js';
import { loadConfig } from '../core/config.js';
import { withDatabase } from './context.js';
import type { BackupRecord } from '../backup/records.js';
import { formatBytes, formatTime } from '../core/format.js';

export async function backupList(opts: { type?: string; database?: string }, globals: GlobalOptions): Promise<number> {
  const { listBackups } = await import('../backup/records.js');
  const list = await withDatabase(await loadConfig(globals), (db) => listBackups(db, opts));
  if (globals.json) {
    printJson(list);
    return 0;
  }
  if (!list.length) {
    out(`no backups recorded${opts.type || opts.database ? ' that match' : " yet: 'singularity backup --type daily' makes one"}`);
    return 0;
  }
  out(table(
    ['ID', 'TYPE', 'DATABASE', 'STARTED', 'STATUS', 'SIZE', 'SHA-256', 'VERIFIED'],
    list.map((b) => [
      String(b.id), b.type, b.database, formatTime(b.startedAt), status(b),
      b.sizeBytes === null ? '-' : formatBytes(b.sizeBytes), b.sha256?.slice(0, 12) ?? '-', verified(b),
    ]),
  ));
  return 0;
}

function status(b: BackupRecord): string {
  const style = ({ succeeded: 'green', failed: 'red', running: 'cyan', pruned: 'gray' } as const)[b.status];
  return paint(process.stdout, style, b.status);
}

function verified(b: BackupRecord): string {
  if (b.status === 'failed') return b.error?.message ?? '';
  if (!b.verifiedAt) return '-';
  return `${b.verifyError ? paint(process.stdout, 'red', `FAILED ${b.verifiedHow}: ${b.verifyError}`) : b.verifiedHow} ${formatTime(b.verifiedAt)}`;
}

export async function backupVerify(id: string, opts: { full?: boolean }, globals: GlobalOptions): Promise<number> {
  const [{ parseBackupId }, { verifyBackup }] = await Promise.all([import('../backup/records.js'), import('../backup/verify.js')]);
  const backupId = parseBackupId(id);
  const verification = await withDatabase(await loadConfig(globals), (db, signal) =>
    verifyBackup(db, backupId, opts.full ? 'full' : 'list', signal));
  if (globals.json) printJson(verification);
  else if (verification.ok) {
    out(`backup ${backupId} verified (${verification.how})` +
      (verification.tables ? `: restored into a scratch database, ${Object.keys(verification.tables).length} tables, ` +
        `${verification.rows} rows, every count as at dump time` : ''));
  } else out(`backup ${backupId} FAILED verification (${verification.how}): ${verification.error}`);
  return verification.ok ? 0 : 1;
}

export async function backupRestore(id: string, opts: { to: string; force?: boolean }, globals: GlobalOptions): Promise<number> {
  const [{ parseBackupId }, { restoreBackup }] = await Promise.all([import('../backup/records.js'), import('../backup/restore.js')]);
  const backupId = parseBackupId(id);
  const result = await withDatabase(await loadConfig(globals), (db, signal) =>
    restoreBackup(db, backupId, { to: opts.to, force: !!opts.force, signal }));
  if (globals.json) printJson(result);
  else {
    out(`restored backup ${backupId} into ${result.target}${result.created ? ' (created)' : ''}: ` +
      `${Object.keys(result.tables).length} tables, ${result.rows} rows`);
    out(result.differences.length ? `differences from dump time:\n  ${result.differences.join('\n  ')}` : 'every table has the rows it had at dump time');
    if (result.keptBackupRecords !== undefined) out(`the backup records of now were kept (${result.keptBackupRecords}): they describe the files on disk`);
  }
  return result.differences.length ? 1 : 0;
}
