// Definitions and references of a parsed file, found by a tag query the way editors' code navigation
// finds them (the tags.scm convention). Capture names:
//   @definition.KIND with @name         a definition (function, method, class, module, interface, ...)
//     and @name.end, optional            the name is written in parts, from @name to it (HCL's block labels)
//     and @definition.end, optional      where it ends, when its body is a sibling of the node (Dart)
//     and @scope, optional               a qualifier written outside the definition: Go's receiver type
//                                        (func (s *Server) Start → Server.Start), C++'s Foo:: (Foo::bar)
//   @reference.KIND with @name          a reference: KIND call (and send) is a call, any other a reference
//   @import.module, with @import on the statement and @import.name for each imported name, optional,
//     and @import.module_end when the module is written in parts (a.b.c), from module to module_end:
//                                        an import; one Reference per name, or one named after the module
//                                        when the statement names nothing (import 'x', #include "x.h")
//   @ignore                              a name node that is no reference (a setter's name, an Elixir @doc)
// Other captures (@doc, @_...) are the queries' own business.
// Definitions are nested by their ranges: a definition inside another is qualified with the outer one's
// symbol (Class.method), and a function directly inside a class-like definition is a method.
import type { Node, Query } from 'web-tree-sitter';

export interface Definition {
  kind: string;
  name: string;
  /** Qualified within the file with the names of the definitions around it: Outer.inner. Not unique: overloads, re-definitions and Rust's several impl blocks share one. */
  symbol: string;
  /** 1-based, inclusive. */
  startLine: number;
  endLine: number;
}

export interface Reference {
  kind: 'call' | 'import' | 'reference';
  name: string;
  /** 1-based. */
  line: number;
  /** For imports: the imported module as written ('./util', 'lodash', 'foo.bar', 'stdio.h'), without its quotes. */
  module?: string;
  /** `export * from './x'`: the file passes on everything the module exports (what makes x public when the file is). */
  reexportAll?: true;
}

/** A definition with its syntax node and its place among the others, for the chunker. Valid while its tree lives. */
export interface DefinitionNode extends Definition {
  /** The definition's node, or its body when that is a sibling (Dart). The chunker splits it at its children. */
  node: Node;
  startIndex: number;
  endIndex: number;
  /** Where its name is written (string indices): the one mention of the name that is no use of it. */
  nameRange: [number, number];
  parent: DefinitionNode | null;
  children: DefinitionNode[];
}

export interface FileTags {
  /** In source order; nested ones after their parent. */
  definitions: DefinitionNode[];
  /** Sorted by line, then name. */
  references: Reference[];
}

/** Definitions whose functions are methods. */
const CLASS_LIKE = new Set(['class', 'interface', 'impl', 'object', 'struct', 'trait', 'enum', 'protocol', 'extension']);

/** Last line of a node, 1-based: a node ending at the start of a line (after its newline) ends on the line before. */
export function endLineOf(node: Node): number {
  const end = node.endPosition;
  return end.column === 0 && end.row > node.startPosition.row ? end.row : end.row + 1;
}

const unquote = (text: string) => text.replace(/^(["'`<])([\s\S]*)(["'`>])$/, '$2');

interface Candidate {
  kind: string;
  node: Node;
  end?: Node;
  name: Node;
  /** Where a name written in parts ends (@name.end). */
  nameEnd?: Node;
  /** The name as written, white space collapsed. */
  text: string;
  scope?: string;
  pattern: number;
}

interface ImportGroup {
  module: string;
  statement: Node;
  names: Node[];
}

export function extractTags(root: Node, query: Query, source: string): FileTags {
  const definitions = new Map<string, Candidate>();
  const references: Array<{ kind: Reference['kind']; name: Node }> = [];
  const imports = new Map<string, ImportGroup>();
  /** Name nodes that are no reference: `@ignore` captures (a setter's name, an Elixir module attribute). */
  const ignored = new Set<string>();

  for (const match of query.matches(root)) {
    let definition: { kind: string; node: Node; pattern: number } | undefined;
    let reference: Reference['kind'] | undefined;
    let name: Node | undefined;
    let scope: string | undefined;
    let statement: Node | undefined;
    const modules: Node[] = [];
    let moduleEnd: Node | undefined;
    let ignore: Node | undefined;
    let end: Node | undefined;
    let nameEnd: Node | undefined;
    const importNames: Node[] = [];
    for (const { name: capture, node } of match.captures) {
      if (capture === 'name') name ??= node;
      else if (capture === 'name.end') nameEnd = node;
      else if (capture === 'scope') scope = node.text;
      else if (capture === 'definition.end') end = node;
      else if (capture.startsWith('definition.')) definition = { kind: capture.slice(11), node, pattern: match.patternIndex };
      else if (capture.startsWith('reference.')) reference = capture === 'reference.call' || capture === 'reference.send' ? 'call' : 'reference';
      else if (capture === 'import') statement = node;
      else if (capture === 'import.module') modules.push(node);
      else if (capture === 'import.module_end') moduleEnd = node;
      else if (capture === 'import.name') importNames.push(node);
      else if (capture === 'ignore') ignore = node;
    }
    if (modules.length) {
      const at = statement ?? modules[0]!;
      // @import.module_end: the module is written in parts, from @import.module to it (Scala: import a.b.c).
      const text = unquote((moduleEnd ? source.slice(modules[0]!.startIndex, moduleEnd.endIndex) : modules[0]!.text).trim());
      // Two patterns may read one statement differently (java.util.* as java + util, or java.util + *): the longer module wins.
      const key = `${at.startIndex}:${modules[0]!.startIndex}`;
      const group = imports.get(key);
      if (!group || group.module.length < text.length) imports.set(key, { module: text, statement: at, names: [...importNames] });
      else if (group.module === text) group.names.push(...importNames);
      continue;
    }
    if (ignore) ignored.add(`${ignore.startIndex}:${ignore.endIndex}`);
    if (!name || !name.text.trim()) continue;
    if (definition) {
      // One name, one definition: of two patterns that take it, the wider range wins (a Dart method with
      // its body over its bare signature), then the earlier pattern (Rust's method over function).
      const key = `${name.startIndex}:${name.endIndex}`;
      const seen = definitions.get(key);
      const width = (end ?? definition.node).endIndex - definition.node.startIndex;
      const seenWidth = seen ? (seen.end ?? seen.node).endIndex - seen.node.startIndex : -1;
      const text = (nameEnd ? source.slice(name.startIndex, nameEnd.endIndex) : name.text).replace(/\s+/g, ' ').trim();
      if (width > seenWidth || (width === seenWidth && seen!.pattern > definition.pattern)) definitions.set(key, { ...definition, end, name, nameEnd, text, scope });
    } else if (reference) {
      references.push({ kind: reference, name });
    }
  }

  const nested = nest([...definitions.values()]);
  // A definition's own name is no reference to it, and the `require` of an import is the import itself.
  const skip = new Set([...ignored, ...nested.map((d) => d.nameKey)]);
  const statements = [...imports.values()].map((g) => g.statement);
  const inImport = (node: Node) => statements.some((s) => s.startIndex <= node.startIndex && node.endIndex <= s.endIndex);
  const out: Reference[] = [];
  for (const { kind, name } of references) {
    const key = `${name.startIndex}:${name.endIndex}`;
    if (skip.has(key) || skip.has(`${key}:${kind}`) || inImport(name)) continue;
    skip.add(`${key}:${kind}`);
    out.push({ kind, name: name.text, line: name.startPosition.row + 1 });
  }
  for (const { module, statement, names } of imports.values()) {
    const bound = [...new Set(names.map((n) => unquote(n.text.trim())))];
    const all = !bound.length && statement.type === 'export_statement';
    for (const name of bound.length ? bound : [module]) {
      out.push({ kind: 'import', name, line: statement.startPosition.row + 1, module, ...(all ? { reexportAll: true as const } : {}) });
    }
  }
  out.sort((a, b) => a.line - b.line || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0) || (a.kind < b.kind ? -1 : a.kind > b.kind ? 1 : 0));
  return { definitions: nested.map((d) => d.definition), references: out };
}

/** Sorts the definitions, finds each one's parent by range, and qualifies names. */
function nest(candidates: Candidate[]): Array<{ definition: DefinitionNode; nameKey: string }> {
  const endOf = (c: Candidate) => (c.end ?? c.node).endIndex;
  candidates.sort((a, b) => a.node.startIndex - b.node.startIndex || endOf(b) - endOf(a) || a.pattern - b.pattern);
  const stack: DefinitionNode[] = [];
  const out: Array<{ definition: DefinitionNode; nameKey: string }> = [];
  for (const c of candidates) {
    while (stack.length && stack.at(-1)!.endIndex < endOf(c)) stack.pop();
    const parent = stack.at(-1) ?? null;
    const name = c.text;
    const local = c.scope ? `${c.scope.replace(/::|\\/g, '.')}.${name}` : name;
    const kind = c.kind === 'function' && parent && CLASS_LIKE.has(parent.kind) ? 'method' : c.kind;
    const definition: DefinitionNode = {
      kind,
      name,
      symbol: parent ? `${parent.symbol}.${local}` : local,
      startLine: c.node.startPosition.row + 1,
      endLine: endLineOf(c.end ?? c.node),
      node: c.end ?? c.node,
      startIndex: c.node.startIndex,
      endIndex: endOf(c),
      nameRange: [c.name.startIndex, (c.nameEnd ?? c.name).endIndex],
      parent,
      children: [],
    };
    parent?.children.push(definition);
    stack.push(definition);
    out.push({ definition, nameKey: `${c.name.startIndex}:${c.name.endIndex}` });
  }
  return out;
}

/** The public part of a definition. */
export function plainDefinition(d: DefinitionNode): Definition {
  return { kind: d.kind, name: d.name, symbol: d.symbol, startLine: d.startLine, endLine: d.endLine };
}
