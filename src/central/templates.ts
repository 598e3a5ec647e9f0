// sync-templates on an instance with a central database: the central owns the templates (seed 004), so the
// instance copies the central's file-loaded artifacts as source 'central' and adds, updates and deletes only
// those rows. Through the foreign table where the link is postgres_fdw; otherwise the rows come over a
// connection of singularity's own into a temporary table, and the same SQL function merges them.
import type { PoolClient } from 'pg';
import type { Config } from '../core/config.js';
import type { Database } from '../core/database.js';
import { applyCentralLink, connectCentral } from './link.js';

export interface CentralTemplatesResult {
  source: 'central';
  central: string;
  added: number;
  updated: number;
  deleted: number;
  unchanged: number;
  /** Artifacts of the central that this instance holds from its own files or learned: left as they are. */
  kept_local: number;
  dryRun: boolean;
}

const COLUMNS = 'artifact_type, artifact_id, version, source, path, raw, content, metadata, content_hash';
const ROWS_PER_INSERT = 500;

/** Rolls a dry run's transaction back once the counts are known. */
class DryRun extends Error {
  constructor(readonly counts: Omit<CentralTemplatesResult, 'source' | 'central' | 'dryRun'>) {
    super('dry run');
  }
}

export async function syncTemplatesFromCentral(db: Database, config: Config, options: { dryRun: boolean; signal?: AbortSignal }): Promise<CentralTemplatesResult> {
  const link = (await applyCentralLink(db, config))!;
  const merge = async (local: PoolClient, source: string) => {
    const { rows } = await local.query<{ r: Omit<CentralTemplatesResult, 'source' | 'central' | 'dryRun'> }>('select sync_central_templates($1::regclass) as r', [source]);
    if (options.dryRun) throw new DryRun(rows[0]!.r);
    return rows[0]!.r;
  };
  let counts;
  try {
    if (link.mode === 'fdw') counts = await db.transaction((local) => merge(local, 'singularity_central.knowledge_artifacts'));
    else {
      const central = await connectCentral(config);
      try {
        const { rows } = await central.query(`select ${COLUMNS} from knowledge_artifacts where source = 'file'`);
        counts = await db.transaction(async (local) => {
          await local.query(`create temp table central_copy on commit drop as select ${COLUMNS} from knowledge_artifacts with no data`);
          for (let i = 0; i < rows.length; i += ROWS_PER_INSERT) {
            options.signal?.throwIfAborted();
            await local.query(
              `insert into central_copy select * from jsonb_populate_recordset(null::central_copy, $1::jsonb)`,
              [JSON.stringify(rows.slice(i, i + ROWS_PER_INSERT))]);
          }
          return merge(local, 'pg_temp.central_copy');
        });
      } finally {
        await central.end().catch(() => {});
      }
    }
  } catch (error) {
    if (!(error instanceof DryRun)) throw error;
    counts = error.counts;
  }
  return { source: 'central', central: link.target, ...counts, dryRun: options.dryRun };
}

export function summarizeCentralTemplates(r: CentralTemplatesResult): string {
  return `${r.dryRun ? 'dry run: ' : ''}from the central database ${r.central}: ${r.added} added, ${r.updated} updated, ` +
    `${r.deleted} deleted, ${r.unchanged} unchanged` + (r.kept_local ? `; ${r.kept_local} kept as this instance's own (same identity)` : '');
}
