import { z } from 'zod';
import { defineTask } from '../core/task/define.js';
import type { BackupRunResult } from '../backup/backup.js';
import { formatBytes } from '../core/format.js';

// The same pattern the backups table checks: the type names a folder of the backup path.
const TYPE = /^[a-z][a-z0-9_-]{0,62}$/;

export default defineTask({
  name: 'backup',
  summary: 'Back up every configured database (pg_dump), verify each backup, keep the newest good ones of the type',
  description:
    'Dumps each database of backup.databases (default: the one singularity uses; the embedded database with PGlite\'s ' +
    'own pg_dump) into <backup.dir>/<database>/<type>/, checks the new file (checksum, pg_restore --list), records it in ' +
    'the backups table, then keeps the newest --keep good backups of the type per database and removes older ones. A ' +
    'failed backup removes its partial file and leaves every older backup in place.\n\n' +
    "Also: 'backup list', 'backup verify ID [--full]', 'backup restore ID --to NAME [--force]'.",
  engine: 'node',
  schedule: [
    { cron: '0 * * * *', flags: '--type hourly' },
    { cron: '0 1 * * *', flags: '--type daily' },
  ],
  args: z.object({
    type: z.string().regex(TYPE, 'expected lower-case letters, digits, - and _, starting with a letter (hourly, daily, weekly, ...)')
      .default('manual').describe('the retention class: hourly, daily or any other name'),
    keep: z.number().int().min(1).optional().describe('how many good backups of the type to keep per database (default: 6 hourly, 7 of any other type)'),
  }),
  timeoutMs: 6 * 60 * 60_000,
  // Hourly and daily backups may run at once (at 01:00 both are due); two of one type never do.
  concurrencyKey: ({ type }) => `backup:${type}`,
  async run({ args, db, config, signal, runId, progress }) {
    const { backupDatabases } = await import('../backup/backup.js');
    return backupDatabases(db, config, { ...args, runId, signal, progress });
  },
  summarize: (r: BackupRunResult) =>
    r.backups.map((b) => `${b.database}: backup ${b.id}, ${formatBytes(b.sizeBytes)}, ${b.tables} tables, ${b.rows} rows, verified` +
      (b.pruned.length ? `; pruned ${b.pruned.map((p) => p.id).join(', ')}` : '') +
      (b.pruneFailures.length ? `; could not prune ${b.pruneFailures.length}` : '')).join(' | ') + ` (${r.type}, keep ${r.keep})`,
});
