// Cutting a file into the chunks that get embedded and searched, each within the embedding model's
// token limit and every line of the file in at least one chunk:
//  - a definition (function, class, ...) is one chunk when it fits, with the comments, decorators and
//    attributes written right above it;
//  - a definition that does not fit is cut at its child definitions (a class at its methods), the code
//    between them going to chunks of the definition's kind and symbol; one without child definitions is
//    cut between its statements (children of its syntax node, then of theirs, as deep as needed);
//  - code between top-level definitions (imports, constants, scripts) goes to `lines` chunks, grouped
//    while they fit and cut between statements when they do not;
//  - line windows, overlapping by a line or two, are the last resort, and all a file without a syntax
//    tree gets. A single line longer than the limit is a chunk alone (the embedder truncates it).
// White space between chunks, and scraps such as a closing brace, join the chunk before them, so that
// editing one function changes only that function's chunks: the others keep their text and hash.
import { createHash } from 'node:crypto';
import type { Node } from 'web-tree-sitter';
import type { DefinitionNode } from './tags.js';

export interface Chunk {
  /** 1-based, inclusive. */
  startLine: number;
  endLine: number;
  /** function, method, class, module, interface, type, impl, ... or lines. */
  kind: string;
  /** The definition's symbol (Class.method); null for top-level lines. */
  symbol: string | null;
  /** Lines startLine..endLine of the file, joined with '\n'. */
  content: string;
  /** sha256 (hex) of content. */
  contentHash: string;
}

export interface ChunkOptions {
  maxTokens: number;
  countTokens: (text: string) => number;
}

/** Definition kinds that are chunks of their own (when they span more than one line). Keys, rules and tables of data and style files are packed together instead. */
const CHUNK_KINDS = new Set([
  'function', 'method', 'class', 'interface', 'module', 'impl', 'macro', 'type', 'enum', 'struct', 'trait', 'object',
  'protocol', 'extension', 'operator',
]);

/** Nodes that belong to the definition below them: doc comments, decorators, attributes, annotations, Elixir's @doc. */
const ATTACHED = /comment|decorator|attribute|annotation|pragma/;

/** Overlap of consecutive line windows, in lines. */
const WINDOW_OVERLAP = 2;

/** A chunk no bigger than this (characters other than white space) joins a neighbour: a closing brace, an `end`. */
const SCRAP_CHARS = 8;

interface Piece {
  start: number;
  end: number;
  kind: string;
  symbol: string | null;
}

export function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/** The lines of a text: split on '\n' (a '\r' stays with its line); a final newline starts no line. */
export function splitLines(text: string): string[] {
  if (text === '') return [];
  const lines = text.split('\n');
  if (lines.at(-1) === '') lines.pop();
  return lines;
}

/** Chunks of a file without a syntax tree: the whole file when it fits, line windows otherwise. */
export function chunkLines(lines: string[], options: ChunkOptions): Chunk[] {
  const chunker = new Chunker(lines, options);
  if (lines.length) chunker.range(1, lines.length, 'lines', null, null);
  return chunker.finish();
}

/** Chunks of a parsed file, along its definitions (from tags.ts). */
export function chunkTree(lines: string[], root: Node, definitions: DefinitionNode[], options: ChunkOptions): Chunk[] {
  const chunker = new Chunker(lines, options);
  if (lines.length) chunker.region(1, lines.length, chunkableForest(definitions, lines), null, root);
  return chunker.finish();
}

interface Chunkable {
  definition: DefinitionNode;
  /** First line of its chunk: its own, or that of the comments and decorators above it. */
  start: number;
  children: Chunkable[];
}

function chunkableForest(definitions: DefinitionNode[], lines: string[]): Chunkable[] {
  const roots: Chunkable[] = [];
  const of = new Map<DefinitionNode, Chunkable>();
  for (const d of definitions) {
    if (!CHUNK_KINDS.has(d.kind) || d.endLine <= d.startLine) continue;
    const c: Chunkable = { definition: d, start: attachedStart(d, lines), children: [] };
    of.set(d, c);
    let parent = d.parent;
    while (parent && !of.has(parent)) parent = parent.parent;
    (parent ? of.get(parent)!.children : roots).push(c);
  }
  return roots;
}

/** The first line of a definition with what is written right above it and belongs to it. */
function attachedStart(d: DefinitionNode, lines: string[]): number {
  // The node that stands among the statements: climb through wrappers that end with it and hold nothing
  // else (export, decorated_definition, a declaration around a declarator).
  let outer: Node = d.node;
  if (outer.startIndex > d.startIndex) outer = outer.previousSibling ?? outer; // a body captured apart from its signature
  for (let parent = outer.parent; parent?.parent && parent.endPosition.row === outer.endPosition.row; parent = parent.parent) {
    if (parent.namedChildren.filter((c) => c && !isAttached(c)).length > 1) break;
    outer = parent;
  }
  let start = Math.min(d.startLine, outer.startPosition.row + 1);
  for (let prev = outer.previousNamedSibling; prev && isAttached(prev); prev = prev.previousNamedSibling) {
    const end = prev.endPosition.row + 1;
    // Right above (no blank line between) and starting its own line (not a comment after code).
    const before = lines[prev.startPosition.row]?.slice(0, prev.startPosition.column) ?? '';
    if (end < start - 1 || before.trim() !== '') break;
    start = Math.min(start, prev.startPosition.row + 1);
  }
  return start;
}

function isAttached(node: Node): boolean {
  return ATTACHED.test(node.type) || (node.type === 'unary_operator' && node.text.startsWith('@'));
}

class Chunker {
  private readonly pieces: Piece[] = [];
  private readonly overhead: number;
  /** Prefix sums of the estimated tokens of each line (built on first need). */
  private prefix?: Float64Array;

  constructor(
    private readonly lines: string[],
    private readonly options: ChunkOptions,
  ) {
    this.overhead = options.countTokens('');
  }

  /** Lines from..to holding the given definitions (sorted, disjoint), owned by a definition or the file. */
  region(from: number, to: number, definitions: Chunkable[], owner: Chunkable | null, node: Node): void {
    const kind = owner?.definition.kind ?? 'lines';
    const symbol = owner?.definition.symbol ?? null;
    let cursor = from;
    for (const c of definitions) {
      const end = Math.min(c.definition.endLine, to);
      if (end < cursor) continue;
      const start = Math.max(cursor, c.start);
      if (start > cursor) this.split(node, cursor, start - 1, kind, symbol);
      this.definition(c, start, end);
      cursor = end + 1;
    }
    if (cursor <= to) this.split(node, cursor, to, kind, symbol);
  }

  private definition(c: Chunkable, start: number, end: number): void {
    const { kind, symbol, node } = c.definition;
    if (this.fits(start, end)) this.add(start, end, kind, symbol);
    else if (c.children.length) this.region(start, end, c.children, c, node);
    else this.split(node, start, end, kind, symbol);
  }

  /** Lines start..end inside a node: one chunk when they fit, else cut between the node's children. */
  private split(node: Node, start: number, end: number, kind: string, symbol: string | null): void {
    if (this.fits(start, end)) return this.add(start, end, kind, symbol);
    const units = unitsOf(node, start, end);
    if (units.length < 2) return this.range(start, end, kind, symbol, null);
    for (let i = 0; i < units.length; ) {
      let j = i;
      while (j + 1 < units.length && this.estimate(units[i]!.start, units[j + 1]!.end) <= this.options.maxTokens) j++;
      while (j > i && !this.fits(units[i]!.start, units[j]!.end)) j--;
      const unit = units[i]!;
      if (j === i && !this.fits(unit.start, unit.end)) this.range(unit.start, unit.end, kind, symbol, unit.node);
      else this.add(unit.start, units[j]!.end, kind, symbol);
      i = j + 1;
    }
  }

  /** Lines start..end: cut at the node's children when there is a node, else in line windows. */
  range(start: number, end: number, kind: string, symbol: string | null, node: Node | null): void {
    if (node && unitsOf(node, start, end).length >= 2) return this.split(node, start, end, kind, symbol);
    if (this.fits(start, end)) return this.add(start, end, kind, symbol);
    const max = this.options.maxTokens;
    for (let a = start; ; ) {
      let b = a;
      while (b < end && this.estimate(a, b + 1) <= max) b++;
      while (b > a && !this.fits(a, b)) b--;
      this.add(a, b, kind, symbol);
      if (b >= end) break;
      a = Math.max(a + 1, b + 1 - Math.min(WINDOW_OVERLAP, Math.floor((b - a + 1) / 4)));
    }
  }

  private add(start: number, end: number, kind: string, symbol: string | null): void {
    this.pieces.push({ start, end, kind, symbol });
  }

  private text(start: number, end: number): string {
    return this.lines.slice(start - 1, end).join('\n');
  }

  private fits(start: number, end: number): boolean {
    // A cheap bound first: a range whose estimate is far under the limit is not counted exactly.
    if (this.estimate(start, end) * 2 <= this.options.maxTokens) return true;
    return this.options.countTokens(this.text(start, end)) <= this.options.maxTokens;
  }

  /** Tokens of lines start..end, estimated from each line's count (a line break counted as one token): an upper bound in practice. */
  private estimate(start: number, end: number): number {
    if (!this.prefix) {
      this.prefix = new Float64Array(this.lines.length + 1);
      for (let i = 0; i < this.lines.length; i++) {
        this.prefix[i + 1] = this.prefix[i]! + Math.max(0, this.options.countTokens(this.lines[i]!) - this.overhead) + 1;
      }
    }
    return this.overhead + this.prefix[end]! - this.prefix[start - 1]!;
  }

  /** The chunks, scraps and blank stretches joined to a neighbour, with their text and hash. */
  finish(): Chunk[] {
    const merged: Piece[] = [];
    for (const piece of this.pieces) {
      const previous = merged.at(-1);
      if (previous && previous.end + 1 >= piece.start && this.isScrap(piece) && this.fits(previous.start, piece.end)) {
        previous.end = Math.max(previous.end, piece.end);
      } else merged.push({ ...piece });
    }
    // A scrap at the very start (blank lines, a shebang-less brace) joins the chunk after it.
    if (merged.length > 1 && this.isScrap(merged[0]!) && this.fits(merged[0]!.start, merged[1]!.end)) {
      merged[1]!.start = merged[0]!.start;
      merged.shift();
    }
    return merged.map(({ start, end, kind, symbol }) => {
      const content = this.text(start, end);
      return { startLine: start, endLine: end, kind, symbol, content, contentHash: sha256(content) };
    });
  }

  private isScrap(piece: Piece): boolean {
    let chars = 0;
    for (let i = piece.start - 1; i < piece.end; i++) {
      chars += this.lines[i]!.replace(/\s+/g, '').length;
      if (chars > SCRAP_CHARS) return false;
    }
    return true;
  }
}

interface Unit {
  start: number;
  end: number;
  /** The widest node starting on the unit's first line: where to cut further when the unit alone is too big. */
  node: Node | null;
}

/**
 * Lines start..end cut at the lines where the node's children start, each unit holding the children
 * that start on its first line. A node whose children all start on one line (a function whose body is
 * the one child spanning lines) is looked into: its widest child's children are used.
 */
function unitsOf(node: Node, start: number, end: number): Unit[] {
  for (let current: Node | null = node; current; ) {
    const firsts = new Map<number, Node>();
    let widest: Node | null = null;
    for (const child of current.children) {
      if (!child) continue;
      const line = child.startPosition.row + 1;
      const last = child.endPosition.row + 1;
      if (last < start || line > end) continue;
      if (line > start) {
        const seen = firsts.get(line);
        if (!seen || seen.endIndex < child.endIndex) firsts.set(line, child);
      }
      if (last > line && (!widest || span(child, start, end) > span(widest, start, end))) widest = child;
    }
    if (firsts.size) {
      const lines = [...firsts.keys()].sort((a, b) => a - b);
      const units: Unit[] = [{ start, end: lines[0]! - 1, node: widest && widest.startPosition.row + 1 <= start ? widest : null }];
      lines.forEach((line, i) => units.push({ start: line, end: (lines[i + 1] ?? end + 1) - 1, node: firsts.get(line)! }));
      return units;
    }
    current = widest && widest !== current ? widest : null;
  }
  return [];
}

/** How many of the lines start..end a node covers. */
function span(node: Node, start: number, end: number): number {
  return Math.min(end, node.endPosition.row + 1) - Math.max(start, node.startPosition.row + 1);
}
