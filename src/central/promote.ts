// Which merged patterns export-knowledge promotes: those used often enough (uses over all instances) and
// successfully enough (successes / uses), as the artifacts templates_data/learned/ holds.
import type { Database } from '../core/database.js';
import type { PromotedArtifact } from './export.js';

export interface PromotionThresholds {
  minUses: number;
  /** Successes over uses, from 0 to 1. */
  minSuccessRate: number;
}

/** The artifact type of a promoted pattern: the same as sync-patterns publishes on an instance. */
export const PROMOTED_TYPE = 'learned_pattern';

export async function promotedPatterns(db: Database, thresholds: PromotionThresholds): Promise<PromotedArtifact[]> {
  const rows = await db.query<{ id: string; content: unknown }>(
    `select learned_artifact_id(kind, pattern_key) as id,
            jsonb_build_object('id', learned_artifact_id(kind, pattern_key), 'version', '1.0.0',
              'name', kind || ': ' || pattern_key,
              'description', coalesce(nullif(btrim(description), ''), 'Learned ' || kind || ' pattern ' || pattern_key),
              'kind', kind, 'pattern_key', pattern_key, 'example', example, 'uses', uses, 'successes', successes,
              'success_rate', round(success_rate::numeric, 4), 'instances', instances, 'occurrences', occurrences,
              'confidence', round(confidence::numeric, 4),
              'first_seen_at', to_char(first_seen_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'),
              'last_seen_at', to_char(last_seen_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"')) as content
     from central_patterns
     where uses >= $1 and success_rate >= $2
     order by kind, pattern_key`,
    [thresholds.minUses, thresholds.minSuccessRate]);
  return rows.map((r) => ({ type: PROMOTED_TYPE, id: r.id, content: r.content }));
}
