// Loading a knowledge folder into knowledge_artifacts: scan, plan against what is stored, then write the
// plan in batches, each batch one transaction (a failure leaves no half-written batch behind).
import type { Database } from '../core/database.js';
import { planLoad, type LoadPlan, type StoredArtifact } from './plan.js';
import { scanKnowledgeFolder, type ArtifactProblem, type ScanOptions, type ScannedArtifact } from './scan.js';

export interface LoadOptions extends ScanOptions {
  dir: string;
  /** sync: delete the file rows whose artifact left the folder. */
  deleteVanished: boolean;
  dryRun: boolean;
  /** Rows per transaction. */
  batchSize?: number;
  signal?: AbortSignal;
  progress?: (message: string) => void;
}

export interface LoadReport {
  dir: string;
  dryRun: boolean;
  files: number;
  inserted: number;
  updated: number;
  unchanged: number;
  deleted: number;
  invalid: ArtifactProblem[];
  /** Identities written (inserted or updated), as type/id@version, for the run record. */
  changed: string[];
  removed: string[];
}

const DEFAULT_BATCH = 500;

export async function loadKnowledge(db: Database, options: LoadOptions): Promise<LoadReport> {
  const stored = await db.query<StoredArtifact>(
    `select artifact_type as type, artifact_id as id, version, source, path, content_hash as "contentHash", file_stamp as stamp
     from knowledge_artifacts order by updated_at, id`,
  );
  // By path; where old versions of an artifact share its path, the row written last is the file's.
  const known = new Map(stored.filter((row) => row.source === 'file').map((row) => [row.path!, row]));
  const scan = await scanKnowledgeFolder(options.dir, { ...options, known });
  const plan = planLoad(scan.artifacts, scan.unread, stored, { deleteVanished: options.deleteVanished }, scan.problems);
  if (!options.dryRun) await applyPlan(db, plan, options);
  const name = (a: { type: string; id: string; version: string }) => `${a.type}/${a.id}@${a.version}`;
  return {
    dir: scan.dir,
    dryRun: options.dryRun,
    files: scan.files,
    inserted: plan.insert.length,
    updated: plan.update.length,
    unchanged: plan.unchanged.length + scan.unread.length,
    deleted: plan.delete.length,
    invalid: [...scan.problems, ...plan.problems].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0)),
    changed: [...plan.insert, ...plan.update].map(name),
    removed: plan.delete.map(name),
  };
}

async function applyPlan(db: Database, plan: LoadPlan, options: LoadOptions): Promise<void> {
  const size = options.batchSize ?? DEFAULT_BATCH;
  const writes = [...plan.insert, ...plan.update];
  for (let i = 0; i < writes.length; i += size) {
    options.signal?.throwIfAborted();
    await db.transaction((client) => client.query(UPSERT, [JSON.stringify(writes.slice(i, i + size).map(asRow))]));
    options.progress?.(`wrote ${Math.min(i + size, writes.length)} of ${writes.length} artifacts`);
  }
  for (let i = 0; i < plan.restamp.length; i += size) {
    const batch = plan.restamp.slice(i, i + size).map((a) => ({ t: a.type, i: a.id, v: a.version, s: a.stamp }));
    await db.query(RESTAMP, [JSON.stringify(batch)]);
  }
  for (let i = 0; i < plan.delete.length; i += size) {
    options.signal?.throwIfAborted();
    const batch = plan.delete.slice(i, i + size).map((a) => ({ t: a.type, i: a.id, v: a.version }));
    await db.transaction((client) => client.query(DELETE, [JSON.stringify(batch)]));
  }
}

function asRow(a: ScannedArtifact) {
  return { t: a.type, i: a.id, v: a.version, p: a.path, r: a.raw, j: a.content !== null, m: a.metadata, h: a.contentHash, s: a.stamp };
}

// Rows travel as one JSON parameter per batch. content is raw itself parsed by the server (JSON artifacts).
// A row of a learned artifact is never overwritten by a file (the plan reports that case).
const UPSERT = `
  insert into knowledge_artifacts (artifact_type, artifact_id, version, source, path, raw, content, metadata, content_hash, file_stamp)
  select x.t, x.i, x.v, 'file', x.p, x.r, case when x.j then x.r::jsonb end, x.m, x.h, x.s
  from jsonb_to_recordset($1::jsonb) as x(t text, i text, v text, p text, r text, j boolean, m jsonb, h text, s text)
  on conflict (artifact_type, artifact_id, version) do update
    set path = excluded.path, raw = excluded.raw, content = excluded.content, metadata = excluded.metadata,
        content_hash = excluded.content_hash, file_stamp = excluded.file_stamp, updated_at = now()
    where knowledge_artifacts.source = 'file'`;

const RESTAMP = `
  update knowledge_artifacts k set file_stamp = x.s
  from jsonb_to_recordset($1::jsonb) as x(t text, i text, v text, s text)
  where k.source = 'file' and k.artifact_type = x.t and k.artifact_id = x.i and k.version = x.v`;

const DELETE = `
  delete from knowledge_artifacts k
  using jsonb_to_recordset($1::jsonb) as x(t text, i text, v text)
  where k.source = 'file' and k.artifact_type = x.t and k.artifact_id = x.i and k.version = x.v`;
