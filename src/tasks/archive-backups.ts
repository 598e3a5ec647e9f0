import { z } from 'zod';
import { defineTask, sqlLiteral } from '../core/task/define.js';
import { duration, durationInterval } from '../core/task/args.js';

export type ArchiveBackupsResult = ({ archived: number } | { deleted: number }) & { kept: number };

export default defineTask({
  name: 'archive-backups',
  summary: 'Move the records of pruned and failed backups older than a bound to backups_archive (or delete them)',
  description:
    'archive_backups(): only records whose file is gone (pruned by retention, or failed) are taken; records of ' +
    'backups whose file is kept, however old, and of backups still running are never touched. Age is the time ' +
    'the backup started. --mode delete deletes the records instead of archiving them.',
  engine: 'sql',
  // The 1st of each month (the seeds' "1st Sunday" cannot be said in cron: day-of-month and day-of-week OR).
  schedule: '0 5 1 * *',
  args: z.object({
    olderThan: duration().default('90d').describe('take records of backups that started longer ago than this (90d, 12w, ...)'),
    mode: z.enum(['archive', 'delete']).default('archive').describe('archive: move them to backups_archive; delete: delete them'),
  }),
  timeoutMs: 10 * 60_000,
  sql: ({ olderThan, mode }) =>
    `select archive_backups(${sqlLiteral(durationInterval(olderThan))}::interval, ${sqlLiteral(mode)}) as result`,
  summarize: (r: ArchiveBackupsResult) =>
    ('archived' in r ? `archived ${r.archived}` : `deleted ${r.deleted}`) +
    ` records of pruned or failed backups; ${r.kept} backup records remain`,
});
