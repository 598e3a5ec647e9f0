// `singularity search QUERY`: thin; the search is in src/search/. Lexical when no model is available.
import { withDatabase, type GlobalOptions } from './context.js';
import { loadConfig } from '../core/config.js';
import { UsageError } from '../core/errors.js';
import { err, out, paint, printJson } from './output.js';

export async function searchCommand(
  query: string,
  opts: { json?: boolean; limit: string; codebase?: string; language?: string },
  globals: GlobalOptions,
): Promise<number> {
  const limit = Number(opts.limit);
  if (!Number.isInteger(limit) || limit < 1 || limit > 1000) throw new UsageError(`--limit must be a whole number from 1 to 1000, not '${opts.limit}'`);
  if (!query.trim()) throw new UsageError('the query is empty', { hint: 'Say what you look for: singularity search "where are backups pruned"' });
  const config = await loadConfig(globals);
  const { withEmbedder } = await import('../embed/transformers.js');
  const { search } = await import('../search/search.js');
  const result = await withEmbedder(config.embedding, { allowDownload: false }, ({ embedder, missing }) =>
    withDatabase(config, async (db) => {
      const found = await search(db, query, { limit, codebase: opts.codebase, language: opts.language, embedder });
      if (missing) found.lexicalOnlyBecause = `no embedding model (${missing.reason})`;
      return found;
    }));
  if (opts.json || globals.json) {
    printJson(result);
    return 0;
  }
  if (result.mode === 'lexical') err(`lexical search only: ${result.lexicalOnlyBecause}`);
  if (!result.hits.length) out('no hits');
  for (const hit of result.hits) {
    const where = hit.source === 'code'
      ? `${hit.collection}:${hit.path}:${hit.startLine}-${hit.endLine}`
      : `knowledge ${hit.collection}/${hit.symbol}${hit.path ? ` (${hit.path})` : ''}`;
    const what = [hit.source === 'code' ? hit.symbol : null, hit.language].filter(Boolean).join(', ');
    out(`${paint(process.stdout, 'bold', where)}${what ? `  ${what}` : ''}  ${hit.score.toFixed(4)}`);
    out(hit.snippet.replace(/^/gm, '    '));
  }
  return 0;
}
