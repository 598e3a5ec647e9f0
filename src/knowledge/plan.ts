// What a load changes, decided before anything is written (so --dry-run shows exactly what a run would do).
import type { ArtifactProblem, ScannedArtifact } from './scan.js';

/** A stored artifact, as far as the plan needs to know it. */
export interface StoredArtifact {
  type: string;
  id: string;
  version: string;
  source: 'file' | 'learned' | 'central';
  path: string | null;
  contentHash: string;
  stamp: string | null;
}

export interface LoadPlan {
  insert: ScannedArtifact[];
  /** Changed text, or the same text moved to another path. */
  update: ScannedArtifact[];
  unchanged: ScannedArtifact[];
  /** Unchanged text whose file was touched: only the stored stamp is brought up to date. */
  restamp: ScannedArtifact[];
  /** File rows whose artifact is no longer in the folder (only when vanished ones are deleted). */
  delete: StoredArtifact[];
  /** Artifacts that cannot be stored (an id a learned artifact already has). */
  problems: ArtifactProblem[];
}

export const identityOf = (a: { type: string; id: string; version: string }) => `${a.type}\0${a.id}\0${a.version}`;

export function planLoad(
  scanned: readonly ScannedArtifact[],
  /** Files the scan passed over unread (their stamp matched): unchanged, and present. */
  unread: ReadonlyArray<{ type: string; id: string; version: string }>,
  stored: readonly StoredArtifact[],
  options: { deleteVanished: boolean },
  /** Files that exist but could not be read as an artifact now: their rows stay until the file is fixed or removed. */
  problems: readonly ArtifactProblem[] = [],
): LoadPlan {
  const byIdentity = new Map(stored.map((row) => [identityOf(row), row]));
  const plan: LoadPlan = { insert: [], update: [], unchanged: [], restamp: [], delete: [], problems: [] };
  for (const artifact of scanned) {
    const row = byIdentity.get(identityOf(artifact));
    if (!row) plan.insert.push(artifact);
    else if (row.source !== 'file') {
      const held = row.source === 'learned' ? 'a learned artifact' : 'an artifact from the central database (sync-templates keeps it)';
      plan.problems.push({ path: artifact.path, pointer: '/id', reason: `${artifact.type} '${artifact.id}' version ${artifact.version} is ${held} in the database; give the file another id or version` });
    } else if (row.contentHash !== artifact.contentHash || row.path !== artifact.path) plan.update.push(artifact);
    else {
      plan.unchanged.push(artifact);
      if (row.stamp !== artifact.stamp) plan.restamp.push(artifact);
    }
  }
  if (options.deleteVanished) {
    const present = new Set([...scanned, ...unread].map(identityOf));
    const stillThere = new Set(problems.map((p) => p.path));
    plan.delete = stored.filter((row) => row.source === 'file' && !present.has(identityOf(row)) && !stillThere.has(row.path!));
  }
  return plan;
}
