// Backups, as the backups table records them and as they are on disk. Per type and database: the newest
// good backup (succeeded, verified without error); whether retention holds (no more good backups than the
// crontab's --keep for that type); and whether the file of every kept backup is there.
import { existsSync } from 'node:fs';
import type { Database } from '../core/database.js';
import { iso } from './pgcron-jobs.js';
import { ok, warn, type Check } from './types.js';
import { plural } from '../core/format.js';

interface BackupGroup {
  type: string;
  database: string;
  records: number;
  good: number;
  goodAt: Date | null;
  how: string | null;
  /** The succeeded backups: their files should exist. */
  kept: Array<{ id: number; path: string }>;
}

/** `keepOf(type)`: how many good backups of the type the crontab keeps; undefined for a type it does not schedule. */
export async function checkBackups(db: Database, keepOf: (type: string) => number | undefined): Promise<Check> {
  const groups = await db.query<BackupGroup>(
    `with b as (select *, status = 'succeeded' and verified_at is not null and verify_error is null as good from backups)
     select type, database, count(*)::int as records, count(*) filter (where good)::int as good,
       max(finished_at) filter (where good) as "goodAt",
       (array_agg(verified_how order by finished_at desc) filter (where good))[1] as how,
       coalesce(jsonb_agg(jsonb_build_object('id', id, 'path', path) order by id) filter (where status = 'succeeded'), '[]') as kept
     from b group by type, database order by database, type`,
  );
  if (!groups.length) {
    return warn('backups', 'backups', 'no backups recorded yet',
      "'singularity backup --type daily' makes one now; run-scheduler makes hourly and daily backups (see 'singularity crontab').");
  }
  const problems: string[] = [];
  const fixes = new Set<string>();
  const lines = groups.map((g) => {
    const keep = keepOf(g.type);
    if (!g.goodAt) {
      problems.push(`${g.type} of ${g.database}: no good (succeeded and verified) backup`);
      fixes.add("Look at the failed records' error and verify_error ('singularity backup list'), fix the cause, and make a backup that verifies.");
    }
    if (keep !== undefined && g.good > keep) {
      problems.push(`${g.type} of ${g.database}: ${g.good} good backups kept, more than the ${keep} the crontab keeps: pruning is not keeping up`);
      fixes.add("The backup run's result says which backups it could not prune and why ('singularity runs list --task backup').");
    }
    for (const { id, path } of g.kept.filter((k) => !existsSync(k.path))) {
      problems.push(`${g.type} of ${g.database}: the file of backup ${id} is missing: ${path}`);
      fixes.add("Run doctor on the host that makes the backups; if the file was removed, 'singularity backup verify ID' records it as failed.");
    }
    return `${g.type} of ${g.database}: ` + (g.goodAt
      ? `newest good backup ${iso(g.goodAt)} (verified: ${g.how}), ${g.good} good${keep === undefined ? '' : ` (keep ${keep})`}`
      : `none good among ${plural(g.records, 'record')}`);
  });
  if (problems.length) return warn('backups', 'backups', `${problems.join('\n')}\n${lines.join('\n')}`, [...fixes].join(' '));
  return ok('backups', 'backups', lines.join('; '));
}
