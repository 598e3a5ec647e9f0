import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { splitLines } from '../src/ingest/chunk.js';
import { loadGrammar, treeSitter, treeSitterMemory } from '../src/ingest/grammar.js';
import { languageOf } from '../src/ingest/languages.js';
import { parseAndChunk, type Chunk } from '../src/ingest/parse.js';

const TAGS = join(import.meta.dirname, 'fixtures/ingest/tags');
const REPO = join(import.meta.dirname, 'fixtures/ingest/repo');
/** Words and punctuation marks: near enough to what a code tokenizer counts. */
const countTokens = (text: string) => text.match(/\w+|[^\w\s]/g)?.length ?? 0;

function fixtureFiles(): string[] {
  const walk = (dir: string): string[] =>
    readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(join(dir, e.name)) : [join(dir, e.name)]));
  return [...walk(TAGS), ...walk(REPO)].filter((f) => !f.endsWith('.png'));
}

/** Every line in some chunk; each chunk's content is its lines, its hash that content's; within the limit unless one line alone. */
function expectWellFormed(chunks: Chunk[], text: string, maxTokens: number, file: string): void {
  const lines = splitLines(text);
  const covered = new Set<number>();
  for (const chunk of chunks) {
    expect(chunk.startLine, file).toBeGreaterThanOrEqual(1);
    expect(chunk.endLine, file).toBeLessThanOrEqual(lines.length);
    expect(chunk.endLine, file).toBeGreaterThanOrEqual(chunk.startLine);
    expect(chunk.content, file).toBe(lines.slice(chunk.startLine - 1, chunk.endLine).join('\n'));
    expect(chunk.contentHash).toBe(createHash('sha256').update(chunk.content).digest('hex'));
    if (chunk.endLine > chunk.startLine) expect(countTokens(chunk.content), `${file}:${chunk.startLine}`).toBeLessThanOrEqual(maxTokens);
    for (let line = chunk.startLine; line <= chunk.endLine; line++) covered.add(line);
  }
  const missing = lines.map((_, i) => i + 1).filter((line) => !covered.has(line));
  expect(missing, `${file}: lines in no chunk`).toEqual([]);
}

describe('chunks', () => {
  it('cover every line of every fixture, in every language, whatever the limit', async () => {
    for (const file of fixtureFiles()) {
      const text = readFileSync(file, 'utf8');
      for (const maxTokens of [8, 40, 100_000]) {
        const analysis = await parseAndChunk(text, languageOf(file), { maxTokens, countTokens });
        expectWellFormed(analysis.chunks, text, maxTokens, `${file} (max ${maxTokens})`);
      }
    }
  });

  it('keep a definition whole when it fits, with the comments and decorators above it', async () => {
    const text = readFileSync(join(TAGS, 'sample.py'), 'utf8');
    const { chunks } = await parseAndChunk(text, 'python', { maxTokens: 30, countTokens });
    expect(chunks.map((c) => `${c.startLine}-${c.endLine} ${c.kind} ${c.symbol}`)).toEqual([
      '1-8 lines null',
      '9-11 class Store',
      '12-14 method Store.__init__',
      '15-19 method Store.size', // @property on line 15
      '20-20 function walk',
      '21-22 function walk.inner',
      '23-24 function walk',
    ]);
    const whole = await parseAndChunk(text, 'python', { maxTokens: 1000, countTokens });
    expect(whole.chunks.map((c) => `${c.startLine}-${c.endLine} ${c.kind} ${c.symbol}`)).toEqual([
      '1-8 lines null',
      '9-19 class Store',
      '20-24 function walk',
    ]);
    const js = await parseAndChunk(readFileSync(join(TAGS, 'sample.js'), 'utf8'), 'javascript', { maxTokens: 1000, countTokens });
    expect(js.chunks[1]).toMatchObject({ startLine: 6, kind: 'class', symbol: 'Greeter' }); // from its /** doc comment */
  });

  it('cut a function too big for the limit between its statements', async () => {
    const body = Array.from({ length: 60 }, (_, i) => `  if (items[${i}] > limit) {\n    total += weigh(items[${i}], ${i});\n  }`).join('\n');
    const text = `export function big(items: number[], limit: number): number {\n  let total = 0;\n${body}\n  return total;\n}\n`;
    const { chunks, parsed } = await parseAndChunk(text, 'typescript', { maxTokens: 200, countTokens });
    expect(parsed).toBe(true);
    expect(chunks.length).toBeGreaterThan(5);
    expectWellFormed(chunks, text, 200, 'big');
    const lines = splitLines(text);
    for (const chunk of chunks) {
      expect(chunk).toMatchObject({ kind: 'function', symbol: 'big' });
      // Cut between statements: every chunk after the first starts at an `if`, and ends at its closing brace or the function's.
      if (chunk.startLine > 1) expect(lines[chunk.startLine - 1]).toMatch(/^ {2}if \(/);
      expect(lines[chunk.endLine - 1]).toMatch(/^ {0,2}}$/);
    }
    // Disjoint: cut at statements, not in overlapping windows.
    for (let i = 1; i < chunks.length; i++) expect(chunks[i]!.startLine).toBe(chunks[i - 1]!.endLine + 1);
  });

  it('are overlapping line windows for a file without a grammar', async () => {
    const text = Array.from({ length: 200 }, (_, i) => `Line ${i} of notes about the shop and its carts.`).join('\n');
    const analysis = await parseAndChunk(text, null, { maxTokens: 100, countTokens });
    expect(analysis).toMatchObject({ language: null, parsed: false, definitions: [], references: [] });
    expect(analysis.error).toBeUndefined();
    expectWellFormed(analysis.chunks, text, 100, 'notes');
    expect(analysis.chunks.length).toBeGreaterThan(10);
    for (let i = 1; i < analysis.chunks.length; i++) {
      expect(analysis.chunks[i]!.startLine).toBeLessThanOrEqual(analysis.chunks[i - 1]!.endLine); // overlap
      expect(analysis.chunks[i]!.startLine).toBeGreaterThan(analysis.chunks[i - 1]!.startLine);
    }
    expect(analysis.chunks.every((c) => c.kind === 'lines' && c.symbol === null)).toBe(true);
  });

  it('fall back to line windows when a parse fails, and say why', async () => {
    const text = 'x = 1\n'.repeat(50_000);
    const analysis = await parseAndChunk(text, 'python', { maxTokens: 2000, countTokens, timeoutMs: 0 });
    expect(analysis).toMatchObject({ language: 'python', parsed: false, error: 'parsing took longer than 0 ms', definitions: [] });
    expectWellFormed(analysis.chunks, text, 2000, 'timeout');
    // The parser is usable again after a cancelled parse.
    expect((await parseAndChunk('def f():\n    return 1\n', 'python', { maxTokens: 100, countTokens })).definitions).toHaveLength(1);
  });

  it('of an edited function change, and no other chunk', async () => {
    for (const [file, language, before, after] of [
      ['sample.ts', 'typescript', '  return x * x;', '  const y = x;\n  return y * y;'],
      ['sample.py', 'python', '        return osp.join(root, p)', '        q = p.strip()\n        return osp.join(root, q)'],
      ['sample.go', 'go', '\treturn &Server{name: name}', '\ts := &Server{name: name}\n\treturn s'],
      ['sample.rs', 'rust', '    helpers::run(c);', '    let d = c;\n    helpers::run(d);'],
    ] as const) {
      const text = readFileSync(join(TAGS, file), 'utf8');
      expect(text).toContain(before);
      for (const maxTokens of [40, 100_000]) {
        const options = { maxTokens, countTokens };
        const old = await parseAndChunk(text, language, options);
        const edited = await parseAndChunk(text.replace(before, after), language, options);
        const oldHashes = new Set(old.chunks.map((c) => c.contentHash));
        const changed = edited.chunks.filter((c) => !oldHashes.has(c.contentHash));
        expect(changed.length, file).toBeGreaterThan(0);
        const symbol = { 'sample.ts': 'square', 'sample.py': 'walk', 'sample.go': 'New', 'sample.rs': 'main' }[file];
        for (const chunk of changed) expect(chunk.symbol?.split('.')[0], `${file} (max ${maxTokens})`).toBe(symbol);
        // Every chunk of another symbol kept its text.
        const kept = edited.chunks.filter((c) => c.symbol?.split('.')[0] !== symbol).map((c) => c.contentHash);
        expect(kept).toEqual(old.chunks.filter((c) => c.symbol?.split('.')[0] !== symbol).map((c) => c.contentHash));
      }
    }
  });

  it('free every tree: 2,000 parses of one file leave tree-sitter\'s memory flat, where keeping trees grows it', async () => {
    const text = readFileSync(join(import.meta.dirname, '../src/ingest/chunk.ts'), 'utf8');
    const options = { maxTokens: 200, countTokens };
    for (let i = 0; i < 20; i++) await parseAndChunk(text, 'typescript', options); // warm up
    const before = treeSitterMemory();
    expect(before).toBeGreaterThan(0);
    for (let i = 0; i < 2000; i++) await parseAndChunk(text, 'typescript', options);
    expect(treeSitterMemory()).toBe(before);
    // The measure sees a leak: the same parses with their trees kept grow it at once.
    const { parser } = await treeSitter();
    parser.setLanguage((await loadGrammar('typescript')).language);
    const kept = Array.from({ length: 300 }, () => parser.parse(text)!);
    const grown = treeSitterMemory() - before;
    for (const tree of kept) tree.delete();
    expect(grown).toBeGreaterThan(40 * 2 ** 20);
  }, 120_000);
});
