// sync-patterns' work: publish the learned patterns that qualify (sync_patterns(), drizzle/0022: the learned
// knowledge artifacts, the analysis cache and the NOTIFY) and write one JSON file per kind. All in one
// transaction: the files are written before it commits, so a listener woken by the NOTIFY (delivered at
// commit) finds the database and the files alike; a file that cannot be written rolls the database back.
import { randomBytes } from 'node:crypto';
import { mkdir, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { Database } from '../core/database.js';
import { UsageError } from '../core/errors.js';

/** The `format` of a pattern file; files of the folder without it are never touched. */
export const PATTERN_FILE_FORMAT = 'singularity-patterns/1';
export const PATTERN_CHANNEL = 'singularity_patterns';

/** A published pattern: the content of its knowledge artifact, an entry of the cache and of its kind's file. */
export interface PublishedPattern {
  id: string;
  version: string;
  kind: string;
  pattern_key: string;
  description: string | null;
  confidence: number;
  occurrences: number;
  first_seen_at: string;
  last_seen_at: string;
  example: unknown;
}

export interface PatternFile {
  format: typeof PATTERN_FILE_FORMAT;
  kind: string;
  patterns: PublishedPattern[];
}

export interface SyncPatternsOptions {
  minConfidence: number;
  minOccurrences: number;
  /** The folder of the JSON files. */
  out: string;
  signal?: AbortSignal;
}

export interface SyncPatternsResult {
  /** Patterns that qualify now. */
  published: number;
  new: number;
  updated: number;
  withdrawn: number;
  /** new + updated + withdrawn: the artifacts written. */
  changed: number;
  unchanged: number;
  /** The kinds with a change (each got a NOTIFY). */
  kinds: string[];
  cache_written: number;
  cache_deleted: number;
  out: string;
  files: { written: string[]; removed: string[]; unchanged: number };
}

type DbResult = Omit<SyncPatternsResult, 'out' | 'files'>;

/** Refuse an --out that exists and is not a folder (a usage error, exit 2). */
export async function checkPatternsOut(out: string): Promise<void> {
  const info = await stat(out).catch(() => undefined);
  if (info && !info.isDirectory()) throw new UsageError(`--out ${out} is not a folder`, { hint: 'Give a folder for the pattern files (it is created when missing).' });
}

export async function syncPatterns(db: Database, options: SyncPatternsOptions): Promise<SyncPatternsResult> {
  const out = resolve(options.out);
  await checkPatternsOut(out);
  return db.transaction(async (client) => {
    const { rows: [sync] } = await client.query<{ result: DbResult }>('select sync_patterns($1, $2) as result', [
      options.minConfidence, options.minOccurrences,
    ]);
    options.signal?.throwIfAborted();
    // The kind's file name is the first part of the artifact id: the kind's slug.
    const { rows } = await client.query<{ file: string; content: PublishedPattern }>(
      `select split_part(artifact_id, '.', 1) as file, content from knowledge_artifacts
       where artifact_type = 'learned_pattern' and source = 'learned' and metadata ->> 'published' = 'true'
       order by content ->> 'pattern_key' collate "C", artifact_id collate "C"`,
    );
    const byFile = new Map<string, PatternFile>();
    for (const { file, content } of rows) {
      const doc = byFile.get(file) ?? { format: PATTERN_FILE_FORMAT, kind: content.kind, patterns: [] };
      doc.patterns.push(ordered(content));
      byFile.set(file, doc);
    }
    const files = await writePatternFiles(out, byFile);
    return { ...sync!.result, out, files };
  });
}

/** The fields in the documented order (jsonb keeps its own), so the files read well. */
function ordered(p: PublishedPattern): PublishedPattern {
  return {
    id: p.id, version: p.version, kind: p.kind, pattern_key: p.pattern_key, description: p.description,
    confidence: p.confidence, occurrences: p.occurrences, first_seen_at: p.first_seen_at, last_seen_at: p.last_seen_at,
    example: p.example,
  };
}

/** Write each kind's file whose text changed (temp file + rename), and remove pattern files of kinds with none left. */
async function writePatternFiles(out: string, byFile: Map<string, PatternFile>): Promise<SyncPatternsResult['files']> {
  await mkdir(out, { recursive: true });
  const result: SyncPatternsResult['files'] = { written: [], removed: [], unchanged: 0 };
  for (const [name, doc] of byFile) {
    const path = join(out, `${name}.json`);
    const text = JSON.stringify(doc, null, 2) + '\n';
    if ((await readFile(path, 'utf8').catch(() => undefined)) === text) {
      result.unchanged++;
      continue;
    }
    const temp = join(out, `.${name}.json.${randomBytes(4).toString('hex')}.tmp`);
    try {
      await writeFile(temp, text);
      await rename(temp, path);
    } catch (error) {
      await rm(temp, { force: true });
      throw error;
    }
    result.written.push(`${name}.json`);
  }
  for (const entry of await readdir(out)) {
    if (!entry.endsWith('.json') || byFile.has(entry.slice(0, -'.json'.length))) continue;
    if (await isPatternFile(join(out, entry))) {
      await rm(join(out, entry));
      result.removed.push(entry);
    }
  }
  return result;
}

async function isPatternFile(path: string): Promise<boolean> {
  try {
    return (JSON.parse(await readFile(path, 'utf8')) as { format?: unknown }).format === PATTERN_FILE_FORMAT;
  } catch {
    return false;
  }
}
