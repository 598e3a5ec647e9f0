// sync-learning where the instance has no postgres_fdw: the batch protocol of sync_learning() over a
// connection of singularity's own. The batch is taken (and marked sent) in a local transaction that commits
// only after the central database has committed it; a failure before rolls the outbox back, and a failure
// between the two commits resends a batch the central database then ignores (its key is instance + entry).
import type { Config } from '../core/config.js';
import type { Database } from '../core/database.js';
import { applyCentralLink, connectCentral, readCentralLink, registerInstance } from './link.js';

export interface SyncLearningResult {
  enqueued: number;
  sent: number;
  batch_id: number | null;
  unsent_left: number;
  /** How the batch went: 'fdw', 'connection', or 'none' (no central database linked: nothing enqueued). */
  link: 'fdw' | 'connection' | 'none';
}

/** Rows per INSERT into the central database (one JSON parameter each). */
const CHUNK = 5_000;

interface TakenRow { outbox_id: string; batch_id: string; kind: string; pattern_key: string; pattern_version: number; payload: unknown }

export async function sendOverConnection(db: Database, config: Config, batchSize: number, signal?: AbortSignal): Promise<SyncLearningResult> {
  const link = (await readCentralLink(db)) ?? (await applyCentralLink(db, config));
  const unsent = async () => Number((await db.query<{ n: string }>('select count(*) as n from learning_outbox where sent_at is null'))[0]!.n);
  if (!link) return { enqueued: 0, sent: 0, batch_id: null, unsent_left: await unsent(), link: 'none' };
  // Linked just now through postgres_fdw: the statement does it all.
  if (link.mode === 'fdw') return (await db.query<{ result: SyncLearningResult }>('select sync_learning($1) as result', [batchSize]))[0]!.result;
  const central = await connectCentral(config);
  try {
    await registerInstance(central, link);
    const outcome = await db.transaction(async (local) => {
      const enqueued = Number((await local.query<{ n: string }>('select enqueue_learnings() as n')).rows[0]!.n);
      const { rows } = await local.query<TakenRow>('select * from take_learning_batch($1, $2)', [batchSize, link.target]);
      const batch = rows.length ? Number(rows[0]!.batch_id) : null;
      if (batch !== null) {
        await central.query('begin');
        try {
          for (let i = 0; i < rows.length; i += CHUNK) {
            signal?.throwIfAborted();
            await central.query(
              `insert into central_learnings (instance, outbox_id, batch_id, kind, pattern_key, pattern_version, payload)
               select $1, x.outbox_id, x.batch_id, x.kind, x.pattern_key, x.pattern_version, x.payload
               from jsonb_to_recordset($2::jsonb) as x(outbox_id bigint, batch_id bigint, kind text, pattern_key text, pattern_version integer, payload jsonb)
               on conflict do nothing`,
              [link.instance, JSON.stringify(rows.slice(i, i + CHUNK))]);
          }
          await central.query('update central_instances set last_sync_at = now(), last_batch_id = $2 where name = $1', [link.instance, batch]);
          await central.query('commit');
        } catch (error) {
          await central.query('rollback').catch(() => {});
          throw error;
        }
        await local.query('update central_link set last_sync_at = now(), last_batch_id = $1', [batch]);
      }
      return { enqueued, sent: rows.length, batch_id: batch };
    });
    return { ...outcome, unsent_left: await unsent(), link: 'connection' };
  } finally {
    await central.end().catch(() => {});
  }
}
