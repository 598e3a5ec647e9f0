// `singularity search QUERY`: thin; the search is in src/search/. Lexical when no model is available.
import { withDatabase, type GlobalOptions } from './context.js';
import { loadConfig } from '../core/config.js';
import { UsageError } from '../core/errors.js';
import type { SearchHit } from '../search/search.js';
import { err, out, paint, printJson } from './output.js';

export async function searchCommand(
  query: string,
  opts: { json?: boolean; explain?: boolean; limit: string; codebase?: string; language?: string },
  globals: GlobalOptions,
): Promise<number> {
  const limit = Number(opts.limit);
  if (!Number.isInteger(limit) || limit < 1 || limit > 1000) throw new UsageError(`--limit must be a whole number from 1 to 1000, not '${opts.limit}'`);
  const { assertQuery, search } = await import('../search/search.js');
  assertQuery(query); // before the model and the database: a bad query costs nothing
  const config = await loadConfig(globals);
  const { withEmbedder } = await import('../embed/transformers.js');
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
  if (opts.explain) {
    const words = result.words.map((w) => `${w.word} ${w.weight.toFixed(2)}`).join(', ');
    const order = { behaviour: 'code first, then tests, then prose', docs: 'prose first', tests: 'tests first' }[result.asks];
    out(`words (weight): ${words}; a question about ${result.asks}: ${order}`);
  }
  if (!result.hits.length) out('no hits');
  for (const hit of result.hits) {
    const where = hit.source === 'code'
      ? `${hit.collection}:${hit.path}:${hit.startLine}-${hit.endLine}`
      : `knowledge ${hit.collection}/${hit.symbol}${hit.path ? ` (${hit.path})` : ''}`;
    const what = [hit.source === 'code' ? hit.symbol : null, hit.language].filter(Boolean).join(', ');
    out(`${paint(process.stdout, 'bold', where)}${what ? `  ${what}` : ''}  ${hit.score.toFixed(4)}`);
    if (opts.explain) out(`    ${explanation(hit)}`);
    out(hit.snippet.replace(/^/gm, '    '));
    if (hit.source === 'code' && hit.chunks.length > 1) {
      out(`    also: ${hit.chunks.slice(1).map((c) => `${c.startLine}-${c.endLine}${c.symbol ? ` ${c.symbol}` : ''}`).join(', ')}`);
    }
  }
  return 0;
}

/** One line: each half's rank, the words found where, the graph, prose. */
function explanation(hit: SearchHit): string {
  const e = hit.explain;
  const lexical = e.lexicalRank === null ? 'lexical -' : `lexical #${e.lexicalRank} (${e.lexical.toFixed(2)}: ${e.words.join(' ')}` +
    `${e.nameWords.length ? `; in names: ${e.nameWords.join(' ')}` : ''}${e.pathWords.length ? `; in path: ${e.pathWords.join(' ')}` : ''})`;
  const vector = e.vectorRank === null ? 'vector -' : `vector #${e.vectorRank} (${e.similarity!.toFixed(3)})`;
  const kind = e.kindWeight !== 1 ? `, ${e.kind} x${e.kindWeight}` : '';
  return `${lexical}, ${vector}, graph ${e.graph.toFixed(2)}, ${e.matchedChunks} chunk${e.matchedChunks === 1 ? '' : 's'} matched${kind}`;
}
