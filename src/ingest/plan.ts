// What an ingest run has to do, from the scan and what the database holds. Pure: no I/O, so the rules
// are tested without a database. A file is trusted unchanged while its size and mtime are as stored;
// when either differs it is a suspect, hashed by the caller, and changed only when its hash differs too
// (a touch, a checkout that rewrites equal bytes, only needs its size and mtime updated).
import type { ScannedFile } from './scan.js';

/** What the database holds of a file (code_files). */
export interface StoredFile {
  path: string;
  size: number;
  mtimeMs: number;
  /** sha256 (hex) of the file's bytes. */
  contentHash: string;
  /** Marked deleted (code_files.deleted_at set): kept for a while in case it comes back. */
  deleted: boolean;
}

export interface IngestPlan {
  /** On disk, never stored. */
  add: ScannedFile[];
  /** Stored, but size or mtime differ: hash to confirm (confirmChanges). */
  suspect: ScannedFile[];
  /** Size and mtime as stored. */
  unchanged: ScannedFile[];
  /** Stored, not marked deleted, and no longer on disk (or now skipped). */
  delete: StoredFile[];
  /** Stored as deleted and back on disk: un-mark, and re-ingest when its hash differs (it is also a suspect then). */
  restore: ScannedFile[];
}

export function planIngest(scanned: readonly ScannedFile[], stored: readonly StoredFile[]): IngestPlan {
  const storedByPath = new Map(stored.map((s) => [s.path, s]));
  const plan: IngestPlan = { add: [], suspect: [], unchanged: [], delete: [], restore: [] };
  const seen = new Set<string>();
  for (const file of scanned) {
    seen.add(file.path);
    const row = storedByPath.get(file.path);
    if (!row) {
      plan.add.push(file);
      continue;
    }
    if (row.deleted) plan.restore.push(file);
    if (row.size === file.size && row.mtimeMs === file.mtimeMs) plan.unchanged.push(file);
    else plan.suspect.push(file);
  }
  for (const row of stored) if (!row.deleted && !seen.has(row.path)) plan.delete.push(row);
  return plan;
}

/**
 * Suspects sorted by their hash: changed (the hash differs from the stored one, or none was stored) or
 * touched (same bytes: only size and mtime to update). A suspect missing from hashes (it could not be
 * read) is neither: the caller decides, from the problem its read reported.
 */
export function confirmChanges(
  suspect: readonly ScannedFile[],
  hashes: ReadonlyMap<string, string>,
  stored: readonly StoredFile[],
): { change: ScannedFile[]; touched: ScannedFile[] } {
  const storedHash = new Map(stored.map((s) => [s.path, s.contentHash]));
  const change: ScannedFile[] = [];
  const touched: ScannedFile[] = [];
  for (const file of suspect) {
    const hash = hashes.get(file.path);
    if (hash === undefined) continue;
    (hash === storedHash.get(file.path) ? touched : change).push(file);
  }
  return { change, touched };
}
