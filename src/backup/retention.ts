// Retention: per (type, database), keep the newest N good backups (succeeded and verified without error)
// and everything newer than the oldest of them; remove the succeeded backups older than that. Called only
// after a new backup succeeded and verified, so a failing backup never costs an older one, and the newest
// good backup is never removed (N is at least 1).
import { rm } from 'node:fs/promises';
import type { Database } from '../core/database.js';
import { backupFiles, removeBackupFiles } from './files.js';
import { markPruned, retentionVictims } from './records.js';

/** Good backups kept per type and database when --keep is not given. */
export function defaultKeep(type: string): number {
  return type === 'hourly' ? 6 : 7;
}

export interface Pruned {
  id: number;
  path: string;
  startedAt: Date;
}

export interface Pruning {
  pruned: Pruned[];
  /** Backups that should have gone and did not (their file could not be removed), with why. */
  failures: string[];
}

export async function prune(db: Database, type: string, database: string, keep: number): Promise<Pruning> {
  const pruning: Pruning = { pruned: [], failures: [] };
  for (const victim of await retentionVictims(db, type, database, keep)) {
    try {
      // The record says pruned only once the file is gone: the transaction commits after the removal.
      const marked = await db.transaction(async (client) => {
        if (!(await markPruned(client, victim.id))) return false;
        await rm(backupFiles(victim.path).file, { force: true });
        return true;
      });
      if (!marked) continue; // verified as failed, or pruned, meanwhile
      await removeBackupFiles(victim.path); // the sidecar: without its dump it describes nothing
      pruning.pruned.push({ id: victim.id, path: victim.path, startedAt: victim.startedAt });
    } catch (error) {
      pruning.failures.push(`backup ${victim.id} (${victim.path}): ${(error as Error).message}`);
    }
  }
  return pruning;
}
