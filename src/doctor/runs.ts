// The run history: recent failures, runs stuck in executing, its size and whether pruning keeps up.
import type { Database } from '../core/database.js';
import { iso } from './pgcron-jobs.js';
import { fail, ok, warn, type Check } from './types.js';
import { formatBytes, plural } from '../core/format.js';

export async function checkRecentFailures(db: Database): Promise<Check> {
  const rows = await db.query<{ task: string; count: number; lastId: number }>(
    `select task, count(*)::int as count, max(id) as "lastId" from task_runs
     where state = 'discarded' and finished_at > now() - interval '24 hours'
     group by task order by count desc, task`,
  );
  if (!rows.length) return ok('recent-failures', 'recent failures', 'no failed (discarded) runs in the last 24 h');
  const total = rows.reduce((n, r) => n + r.count, 0);
  return warn('recent-failures', 'recent failures',
    `${plural(total, 'failed run')} in the last 24 h: ${rows.map((r) => `${r.task} ×${r.count} (newest: run ${r.lastId})`).join(', ')}`,
    `'singularity runs show ${rows[0]!.lastId}' shows a run's error, attempt by attempt; fix the cause, then 'singularity runs retry ID'.`);
}

export async function checkStuckRuns(db: Database, staleAfterMs: number): Promise<Check> {
  // A pg_cron run writes no heartbeat while its statement runs: it is stuck only once its backend is gone.
  const rows = await db.query<{ id: number; task: string; host: string | null; pid: number | null; heartbeatAt: Date }>(
    `select id, task, host, pid, coalesce(heartbeat_at, started_at, inserted_at) as "heartbeatAt" from task_runs
     where state = 'executing' and coalesce(heartbeat_at, started_at, inserted_at) < now() - make_interval(secs => $1::int / 1000.0)
     ${db.kind === 'postgres' ? `and not (host = 'pg_cron' and exists (select 1 from pg_stat_activity a where a.pid = task_runs.pid))` : ''}
     order by id`,
    [staleAfterMs],
  );
  const bound = `${staleAfterMs / 1000} s (runs.staleAfterMs)`;
  if (!rows.length) return ok('stuck-runs', 'stuck runs', `no executing run without a heartbeat for over ${bound}`);
  return fail('stuck-runs', 'stuck runs',
    `${plural(rows.length, 'run')} executing with no heartbeat for over ${bound}: ` +
      rows.map((r) => `run ${r.id} ${r.task} (last heartbeat ${iso(r.heartbeatAt)} from pid ${r.pid ?? '?'} on ${r.host ?? '?'})`).join(', '),
    "A live run-scheduler, or any 'singularity runs list', marks runs whose process died as retryable or discarded; " +
      `if the process still runs but hangs, 'singularity runs cancel ${rows[0]!.id}' asks it to stop.`);
}

/** How big the history is, and whether prune-runs keeps it within twice its bound. */
export async function checkHistorySize(db: Database, prune: { olderThan: string; ms: number }): Promise<Check> {
  const [row] = await db.query<{ rows: number; discarded: number; old: number; bytes: number }>(
    `select count(*) as rows, count(*) filter (where state = 'discarded') as discarded,
       count(*) filter (where finished_at < now() - make_interval(secs => $1::double precision / 1000)) as old,
       pg_total_relation_size('task_runs') as bytes
     from task_runs`,
    [2 * prune.ms],
  );
  const { rows, discarded, old, bytes } = row!;
  const size = `${plural(rows, 'row')} (${discarded} discarded in all), ${formatBytes(bytes)}`;
  const twice = `twice prune-runs' bound of ${prune.olderThan}`;
  if (old > 0) {
    return warn('history-size', 'run history', `${size}; ${plural(old, 'finished run')} older than ${twice}: pruning is not keeping up`,
      `Run 'singularity prune-runs --older-than ${prune.olderThan}' now, and schedule it: run-scheduler runs it from the default crontab, or 'singularity pgcron install' puts it into pg_cron.`);
  }
  return ok('history-size', 'run history', `${size}; no finished run older than ${twice}`);
}
