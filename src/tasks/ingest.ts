import { basename, resolve } from 'node:path';
import { z } from 'zod';
import type { Embedder } from '../embed/embedder.js';
import { withEmbedder } from '../embed/transformers.js';
import { ingestCodebase, type IngestReport } from '../ingest/ingest.js';
import { realRoot } from '../ingest/scan.js';
import { defineTask } from '../core/task/define.js';

/** The run's result: ingest's report, and why chunks were left pending when they were. */
export type IngestResult = IngestReport & { pendingBecause?: string };

export default defineTask({
  name: 'ingest',
  summary: 'Ingest a codebase: tree-sitter parsing (33 languages), chunks, embeddings, the dependency graph; only what changed',
  description:
    'Walks the folder (honouring .gitignore files, .singularityignore and a deny list of vendored, built, lock and ' +
    'secret files; skipping binary, minified, generated and oversized files), compares size and mtime, then the ' +
    "content hash, with what the database holds for the codebase, and parses and chunks only new and changed files. " +
    'Each batch of files is one transaction, so a run stopped half-way resumes where it stopped. Vanished files are ' +
    'marked deleted; the graph (files, symbols, imports, calls) is rebuilt from every file\'s references; new chunks ' +
    'are embedded when a model is available, else left pending.',
  engine: 'node',
  setupOrder: 4,
  schedule: '0 6 * * 0',
  positional: 'path',
  args: z.object({
    path: z.string().min(1).default('.').describe('the codebase\'s folder'),
    id: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$/, 'letters, digits, . _ -').optional().describe('the codebase\'s id (default: the folder\'s name)'),
    skipEmbedding: z.boolean().default(false).describe('store chunks without embeddings (they stay pending)'),
  }),
  timeoutMs: 6 * 60 * 60_000,
  check: ({ args }) => void realRoot(resolve(args.path)),
  // The codebase's id: two runs of one codebase never overlap, whatever path each was given.
  concurrencyKey: (args) => `ingest:${args.id ?? basename(resolve(args.path))}`,
  async run({ args, db, config, signal, progress }): Promise<IngestResult> {
    const ingest = async (embedder?: Embedder, pendingBecause?: string): Promise<IngestResult> => {
      const report = await ingestCodebase(db, {
        root: resolve(args.path), codebase: args.id, embedder, signal, progress,
        // The embedded database and the backups may live inside the folder (the default home is ./.singularity).
        exclude: [config.home, config.backup.dir],
      });
      return { ...report, ...(pendingBecause && { pendingBecause }) };
    };
    if (args.skipEmbedding) return ingest(undefined, '--skip-embedding');
    progress(`loading the embedding model ${config.embedding.model}`);
    return withEmbedder(config.embedding, {}, ({ embedder, missing }) =>
      ingest(embedder, missing && `no embedding model: ${missing.reason}`));
  },
  summarize: (r: IngestResult) => {
    const f = r.files;
    const skipped = Object.entries(r.skipped).map(([reason, n]) => `${n} ${reason}`).join(', ');
    const pending = r.chunks.pending && r.pendingBecause ? ` (${r.pendingBecause})` : '';
    return `${r.codebase}: ${f.scanned} files (${f.added} new, ${f.changed} changed, ${f.deleted} deleted, ${f.unchanged} unchanged), ` +
      `${r.parsed} parsed; ${r.chunks.written} chunks written, ${r.chunks.embedded} embedded (${r.chunks.computed} computed by the model), ` +
      `${r.chunks.pending} pending${pending}; graph: ${r.symbols} symbols, ${r.edges} edges` + (skipped ? `; skipped: ${skipped}` : '') +
      (r.problems.length ? `\n${r.problems.map((p) => `  ${p.path}: ${p.reason}`).join('\n')}` : '');
  },
});
