// The codebases an analysis can read: ingested, and ingested by a version that records what analyses need.
import type { Database } from '../core/database.js';
import { UsageError } from '../core/errors.js';

/** The codebases to analyse: the one asked for, or every ingested one. Unknown ids are a usage error naming the known ones. */
export async function codebasesToAnalyse(db: Database, codebase: string | undefined): Promise<string[]> {
  const known = (await db.query<{ id: string }>('select id from codebases order by id')).map((r) => r.id);
  if (!known.length) {
    throw new UsageError('no codebase has been ingested yet, so there is nothing to analyse', {
      hint: 'Ingest one first: singularity ingest PATH (see docs/ingest-and-search.md).',
    });
  }
  if (codebase === undefined) return known;
  if (!known.includes(codebase)) {
    throw new UsageError(`no codebase '${codebase}' has been ingested`, {
      hint: `Ingested codebases: ${known.join(', ')}. Ingest it with: singularity ingest PATH --id ${codebase}`,
    });
  }
  return [codebase];
}

/** Refuses a codebase whose files were ingested before ingest recorded the names each file mentions. */
export async function requireNames(db: Database, codebase: string): Promise<void> {
  const [{ files, root } = { files: 0, root: '' }] = await db.query<{ files: number; root: string }>(
    `select count(*)::int as files, min(c.root) as root from code_files f join codebases c on c.id = f.codebase
     where f.codebase = $1 and f.deleted_at is null and f.names is null`, [codebase]);
  if (files > 0) {
    throw new UsageError(`${files} files of codebase '${codebase}' were ingested before singularity recorded the names each file mentions`, {
      hint: `Ingest it once more (only those files are parsed again): singularity ingest ${root || 'PATH'} --id ${codebase}`,
    });
  }
}
