// Backups, as the `backups` table records them: the newest good one (succeeded, verified without error)
// of each type and database.
import type { Database } from '../core/db.js';
import { iso } from './pgcron-jobs.js';
import { ok, plural, warn, type Check } from './types.js';

export async function checkBackups(db: Database): Promise<Check> {
  const rows = await db.query<{ type: string; database: string; records: number; goodAt: Date | null; how: string | null }>(
    `select b.type, b.database, count(*)::int as records, good.finished_at as "goodAt", good.verified_how as how
     from backups b
     left join lateral (
       select finished_at, verified_how from backups g
       where g.type = b.type and g.database = b.database and g.status = 'succeeded' and g.verified_at is not null and g.verify_error is null
       order by g.finished_at desc limit 1) good on true
     group by b.type, b.database, good.finished_at, good.verified_how
     order by b.database, b.type`,
  );
  if (!rows.length) {
    return warn('backups', 'backups', 'no backups recorded yet (this version of singularity has no backup task)',
      'Until then, back the database up with pg_dump yourself.');
  }
  const lines = rows.map((r) => `${r.type} of ${r.database}: ` +
    (r.goodAt ? `newest good backup ${iso(r.goodAt)} (verified: ${r.how})` : `none good among ${plural(r.records, 'record')}`));
  const bad = rows.filter((r) => !r.goodAt);
  if (bad.length) {
    return warn('backups', 'backups', `${plural(bad.length, 'type')} without a good (succeeded and verified) backup:\n${lines.join('\n')}`,
      "Look at the failed records' error and verify_error in the backups table, and make a backup that verifies.");
  }
  return ok('backups', 'backups', lines.join('; '));
}
