// The names a file mentions: every identifier-like word of its code and strings, outside its comments and
// outside the places where its own definitions are named. Dead-code analysis asks whether anything
// mentions a symbol's name at all; strings count because code names functions in them too (getattr,
// apply(M, :fun, ...), a handler in a config file), comments do not because naming is not using, except
// for the types in braces that JSDoc writes in comments.
import type { Node, Query } from 'web-tree-sitter';

/** A word that can name something in one of the languages: letters, digits, _ and $, and Ruby's and Elixir's ? or ! at the end. */
const WORD = /[\p{L}_$][\p{L}\p{N}_$]*[?!]?/gu;
const MAX_NAME_LENGTH = 200;

/** A type in braces inside a comment: JSDoc's {@link x}, @type {X}, @param {X} p, @import { X } from 'y'. */
const BRACED = /\{([^{}]*)\}/g;

/**
 * The distinct words of text outside the hidden ranges (string indices, in any order, overlapping or not),
 * sorted. Of the comments, only what is in braces counts: JSDoc types are uses in JavaScript.
 */
export function mentionedNames(
  text: string, hidden: ReadonlyArray<readonly [number, number]> = [], comments: ReadonlyArray<readonly [number, number]> = [],
): string[] {
  const names = new Set<string>();
  const take = (piece: string) => {
    for (const [word] of piece.matchAll(WORD)) {
      if (word.length > MAX_NAME_LENGTH) continue;
      names.add(word);
      // `valid?` in Elixir, but `a!.b` in TypeScript: both readings.
      if (word.length > 1 && /[?!]$/.test(word)) names.add(word.slice(0, -1));
    }
  };
  let at = 0;
  for (const [start, end] of [...hidden, ...comments].sort((a, b) => a[0] - b[0])) {
    if (start > at) take(text.slice(at, start));
    at = Math.max(at, end);
  }
  take(text.slice(at));
  for (const [start, end] of comments) for (const [, braced] of text.slice(start, end).matchAll(BRACED)) take(braced!);
  return [...names].sort();
}

/** The ranges of a tree's comments, from the grammar's comment query (null: the grammar has no comment nodes). */
export function commentRanges(root: Node, comments: Query | null): Array<[number, number]> {
  if (!comments) return [];
  return comments.captures(root).map(({ node }) => [node.startIndex, node.endIndex]);
}

/** A query source capturing every node type of the grammar whose name says it is a comment, or null when there is none. */
export function commentQuerySource(types: readonly string[]): string | null {
  const found = [...new Set(types.filter((t) => /^[a-z_]*comment$/.test(t)))];
  return found.length ? `[${found.map((t) => `(${t})`).join(' ')}] @comment` : null;
}
