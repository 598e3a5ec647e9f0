// An agent's use of a knowledge artifact, recorded by record_artifact_use() (drizzle/0022): the artifact's
// counts move, and so do those of the learned pattern it publishes, whose new version sync-learning sends on.
import type { Database } from '../core/database.js';
import { NotFoundError } from '../core/errors.js';

export interface ArtifactUseInput {
  type: string;
  id: string;
  success: boolean;
  /** How many uses, all successful or all not (default 1). */
  uses?: number;
  /** The artifact's version; default: its most recently created one (a learned artifact has only one). */
  version?: string;
}

export interface ArtifactUse {
  type: string;
  id: string;
  version: string;
  usageCount: number;
  successCount: number;
  lastUsedAt: Date;
  /** The learned pattern's counts after this use; null when the artifact publishes no pattern. */
  pattern: { id: number; uses: number; successes: number; version: number } | null;
}

/** The knowledge base has no artifact of that type and id (and version). */
export class UnknownArtifactError extends NotFoundError {}

interface Row {
  type: string;
  id: string;
  version: string;
  usage_count: number;
  success_count: number;
  last_used_at: string;
  pattern_id: number | null;
  pattern_uses: number | null;
  pattern_successes: number | null;
  pattern_version: number | null;
}

export async function recordArtifactUse(db: Database, use: ArtifactUseInput): Promise<ArtifactUse> {
  let row: Row;
  try {
    const rows = await db.query<{ result: Row }>('select record_artifact_use($1, $2, $3, $4, $5) as result', [
      use.type, use.id, use.success, use.uses ?? 1, use.version ?? null,
    ]);
    row = rows[0]!.result;
  } catch (error) {
    // P0002 (no_data_found) is what record_artifact_use raises for an unknown artifact.
    if ((error as { code?: string }).code === 'P0002') {
      throw new UnknownArtifactError((error as Error).message, { hint: (error as { hint?: string }).hint, cause: error });
    }
    throw error;
  }
  return {
    type: row.type,
    id: row.id,
    version: row.version,
    usageCount: row.usage_count,
    successCount: row.success_count,
    lastUsedAt: new Date(row.last_used_at),
    pattern: row.pattern_id === null
      ? null
      : { id: row.pattern_id, uses: row.pattern_uses!, successes: row.pattern_successes!, version: row.pattern_version! },
  };
}
