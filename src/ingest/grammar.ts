// Loading tree-sitter: the runtime once, each grammar once (its .wasm and its compiled tag query), and one
// parser shared by every parse. web-tree-sitter is imported here, on first use, so that commands which
// never parse do not pay for it.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { Language, Parser, Query } from 'web-tree-sitter';
import { UsageError } from '../core/errors.js';
import { languageSpec, type LanguageSpec } from './languages.js';
import { commentQuerySource } from './names.js';

export interface Grammar {
  spec: LanguageSpec;
  language: Language;
  /** The language's tag query: ours, then the packaged tags.scm files (see tags.ts). */
  tags: Query;
  /** Every comment of a tree (names.ts), or null for a grammar without comment nodes. */
  comments: Query | null;
}

type TreeSitter = typeof import('web-tree-sitter');

const require = createRequire(import.meta.url);
let runtime: Promise<{ ts: TreeSitter; parser: Parser }> | undefined;
/** The Emscripten module web-tree-sitter runs in: Parser.init fills the object it is given. */
const wasmModule: { HEAP8?: Int8Array } = {};
const grammars = new Map<string, Promise<Grammar>>();

/** The web-tree-sitter module, initialised, and the one parser. */
export function treeSitter(): Promise<{ ts: TreeSitter; parser: Parser }> {
  runtime ??= (async () => {
    const ts = await import('web-tree-sitter');
    await ts.Parser.init(wasmModule as object);
    return { ts, parser: new ts.Parser() };
  })();
  return runtime;
}

/**
 * Bytes of WebAssembly memory tree-sitter holds (0 before it starts). It never shrinks: it grows when
 * trees, parsers or queries outlive their use, and stays flat while each is freed.
 */
export function treeSitterMemory(): number {
  return wasmModule.HEAP8?.buffer.byteLength ?? 0;
}

/** Where a package's file is on disk. */
export function packageFile(modulePath: string): string {
  return require.resolve(modulePath);
}

/**
 * A language's grammar, loaded and its tag query compiled on first call, then cached. A grammar that
 * fails to load fails every later call the same way (the rejection is cached), without retrying.
 */
export function loadGrammar(id: string): Promise<Grammar> {
  let grammar = grammars.get(id);
  if (!grammar) {
    const spec = languageSpec(id);
    if (!spec) return Promise.reject(new UsageError(`no grammar for the language '${id}'`));
    grammar = (async () => {
      const { ts } = await treeSitter();
      const language = await ts.Language.load(packageFile(`${spec.grammar.package}/${spec.grammar.wasm}`));
      const source = [spec.tags.query, ...(spec.tags.packaged ?? []).map((p) => readFileSync(packageFile(p), 'utf8'))].join('\n');
      let tags: Query;
      try {
        tags = new ts.Query(language, source);
      } catch (error) {
        throw new Error(`the tag query of ${id} does not compile: ${(error as Error).message}`, { cause: error });
      }
      disableLocalsPatterns(tags);
      return { spec, language, tags, comments: commentQuery(ts, language) };
    })();
    grammars.set(id, grammar);
  }
  return grammar;
}

/** The grammar's comment node types as one query; a grammar whose comment types do not compile as a query gets none. */
function commentQuery(ts: TreeSitter, language: Language): Query | null {
  const types: string[] = [];
  for (let id = 0; id < language.nodeTypeCount; id++) {
    const type = language.nodeTypeForId(id);
    if (type && language.nodeTypeIsNamed(id)) types.push(type);
  }
  const source = commentQuerySource(types);
  if (!source) return null;
  try {
    return new ts.Query(language, source);
  } catch {
    return null;
  }
}

/**
 * Patterns guarded by `(#is-not? local)` need a locals analysis that web-tree-sitter does not run;
 * without it they match every identifier (Ruby's tags.scm calls each one a call). They are disabled.
 */
function disableLocalsPatterns(query: Query): void {
  for (let i = 0; i < query.patternCount(); i++) {
    if ('local' in (query.refutedProperties[i] ?? {}) || 'local' in (query.assertedProperties[i] ?? {})) query.disablePattern(i);
  }
}
