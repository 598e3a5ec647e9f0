// One file's analysis: parse it with its language's grammar, find its definitions and references, and
// cut it into chunks. Nothing here throws for a bad file: a language without a grammar, a grammar that
// fails to load, a parse that throws or runs past its time all give line-window chunks (parsed: false,
// and error says why when something failed). Reading the file, and what can go wrong there (a file gone
// since the scan, invalid UTF-8), is source.ts's part.
import { chunkLines, chunkTree, splitLines, type Chunk, type ChunkOptions } from './chunk.js';
import { loadGrammar, treeSitter } from './grammar.js';
import { languageSpec } from './languages.js';
import { commentRanges, mentionedNames } from './names.js';
import { extractTags, plainDefinition, type Definition, type Reference } from './tags.js';

export type { Chunk } from './chunk.js';
export type { Definition, Reference } from './tags.js';

export interface FileAnalysis {
  language: string | null;
  /** false: no grammar for the language, or the parse failed: the chunks are line windows. */
  parsed: boolean;
  /** Why a file with a grammar was not parsed. */
  error?: string;
  /** Parsed, but the tree has error nodes (code that does not compile, or a grammar that lags the language): chunks and tags are still made, around them. */
  syntaxError?: boolean;
  chunks: Chunk[];
  definitions: Definition[];
  references: Reference[];
  /** The names the file mentions outside its comments and its definitions' own names (names.ts): what dead-code analysis reads. */
  names: string[];
  /** Lines of the file. */
  lines: number;
}

export interface ParseOptions extends ChunkOptions {
  /** A parse running longer is given up (line windows instead). Default 10 s. */
  timeoutMs?: number;
}

const DEFAULT_TIMEOUT_MS = 10_000;

export async function parseAndChunk(text: string, language: string | null, options: ParseOptions): Promise<FileAnalysis> {
  const lines = splitLines(text);
  const unparsed = (error?: string): FileAnalysis => ({
    language, parsed: false, ...(error === undefined ? {} : { error }), chunks: chunkLines(lines, options), definitions: [], references: [],
    names: mentionedNames(text), lines: lines.length,
  });
  if (!language || !languageSpec(language)) return unparsed();
  let grammar;
  let parser;
  try {
    grammar = await loadGrammar(language);
    parser = (await treeSitter()).parser;
  } catch (error) {
    return unparsed(`the ${language} grammar did not load: ${(error as Error).message}`);
  }
  // From here on nothing awaits: the shared parser is ours until the tree is freed.
  let tree = null;
  try {
    parser.setLanguage(grammar.language);
    const deadline = performance.now() + (options.timeoutMs ?? DEFAULT_TIMEOUT_MS);
    tree = parser.parse(text, null, { progressCallback: () => performance.now() > deadline });
    if (!tree) {
      parser.reset();
      return unparsed(`parsing took longer than ${options.timeoutMs ?? DEFAULT_TIMEOUT_MS} ms`);
    }
    const tags = extractTags(tree.rootNode, grammar.tags, text);
    const chunks = chunkTree(lines, tree.rootNode, tags.definitions, options);
    return {
      language, parsed: true, ...(tree.rootNode.hasError ? { syntaxError: true } : {}),
      chunks, definitions: tags.definitions.map(plainDefinition), references: tags.references,
      names: mentionedNames(text, tags.definitions.map((d) => d.nameRange), commentRanges(tree.rootNode, grammar.comments)),
      lines: lines.length,
    };
  } catch (error) {
    return unparsed(`parsing failed: ${(error as Error).message}`);
  } finally {
    tree?.delete();
  }
}
