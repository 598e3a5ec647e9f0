// What the four knowledge tasks share: load a folder, then embed what is pending (when asked and a model
// is there), and turn invalid files into a failed run unless they are allowed.
import type { Config } from '../core/config.js';
import type { Database } from '../core/database.js';
import { SingularityError } from '../core/errors.js';
import { withEmbedder } from '../embed/transformers.js';
import { countPending, embedPendingArtifacts, type EmbedReport } from './embed.js';
import { loadKnowledge, type LoadReport } from './load.js';
import type { ArtifactProblem } from './scan.js';

export interface KnowledgeRunResult extends LoadReport {
  embedding?: EmbedReport | { pending: number; reason: string; hint?: string };
}

/** Invalid files were skipped (the valid ones loaded): the run fails unless --allow-invalid. */
export class InvalidArtifactsError extends SingularityError {
  constructor(readonly report: KnowledgeRunResult) {
    super(`${invalidFiles(report)} invalid file(s) in ${report.dir} skipped (${counts(report)}):\n${formatProblems(report.invalid)}`, {
      hint: 'Fix each file at the pointer given (the JSON Schemas in templates_data/schemas/ help an editor), or pass --allow-invalid.',
    });
  }
}

export const formatProblems = (problems: readonly ArtifactProblem[]) =>
  problems.map((p) => `  ${p.path}${p.pointer === '/' ? '' : ` at ${p.pointer}`}: ${p.reason}`).join('\n');

const invalidFiles = (r: LoadReport) => new Set(r.invalid.map((p) => p.path)).size;

export function counts(r: LoadReport): string {
  const verb = r.dryRun ? 'would be ' : '';
  return [
    `${r.inserted + r.updated} ${verb}loaded (${r.inserted} new, ${r.updated} changed)`,
    `${r.unchanged} unchanged`,
    ...(r.deleted || r.removed.length ? [`${r.deleted} ${verb}deleted`] : []),
    `${invalidFiles(r)} invalid`,
  ].join(', ');
}

export function summarizeKnowledgeRun(r: KnowledgeRunResult): string {
  let line = `${r.dryRun ? 'dry run: ' : ''}${counts(r)}`;
  const e = r.embedding;
  if (e && 'embedded' in e) {
    line += `; embedded ${e.embedded} (${e.computed} computed, ${e.embedded - e.computed} from cache${e.truncated ? `, ${e.truncated} truncated to the model's limit` : ''}) with ${e.model}`;
  }
  else if (e) line += `; ${e.pending} not embedded: ${e.reason}`;
  return r.invalid.length ? `${line}\n${formatProblems(r.invalid)}` : line;
}

export interface KnowledgeRunOptions {
  path?: string;
  include: 'json' | 'all';
  deleteVanished: boolean;
  dryRun: boolean;
  allowInvalid: boolean;
  embed: boolean;
}

export async function runKnowledgeLoad(
  ctx: { db: Database; config: Config; signal: AbortSignal; progress(message: string): void },
  options: KnowledgeRunOptions,
): Promise<KnowledgeRunResult> {
  const report: KnowledgeRunResult = await loadKnowledge(ctx.db, {
    dir: options.path ?? ctx.config.knowledge.templatesDir,
    include: options.include,
    deleteVanished: options.deleteVanished,
    dryRun: options.dryRun,
    signal: ctx.signal,
    progress: ctx.progress,
  });
  if (options.embed && !options.dryRun) report.embedding = await embedIfPossible(ctx);
  if (report.invalid.length && !options.allowInvalid) throw new InvalidArtifactsError(report);
  return report;
}

/** Embed what is pending with the configured model; without one, say what stays pending and why. */
async function embedIfPossible(ctx: { db: Database; config: Config; signal: AbortSignal; progress(message: string): void }): Promise<KnowledgeRunResult['embedding']> {
  const pending = await countPending(ctx.db, ctx.config.embedding.model);
  if (!pending) return undefined;
  ctx.progress(`loading the embedding model ${ctx.config.embedding.model}`);
  return withEmbedder<KnowledgeRunResult['embedding']>(ctx.config.embedding, {}, ({ embedder, missing }) => missing
    ? { pending, reason: `no embedding model (${missing.reason}); embed-templates embeds them later`, hint: missing.hint }
    : embedPendingArtifacts(ctx.db, embedder, { signal: ctx.signal, progress: ctx.progress }));
}
