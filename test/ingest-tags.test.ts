import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadGrammar } from '../src/ingest/grammar.js';
import { languageOf, LANGUAGES } from '../src/ingest/languages.js';
import { parseAndChunk } from '../src/ingest/parse.js';

const DIR = join(import.meta.dirname, 'fixtures/ingest/tags');
const countTokens = (text: string) => text.length;

async function analyse(file: string) {
  const analysis = await parseAndChunk(readFileSync(join(DIR, file), 'utf8'), languageOf(file), { maxTokens: 100_000, countTokens });
  expect(analysis.parsed, analysis.error).toBe(true);
  return {
    definitions: analysis.definitions.map((d) => `${d.kind} ${d.symbol} ${d.startLine}-${d.endLine}`),
    calls: analysis.references.filter((r) => r.kind === 'call').map((r) => `${r.name} ${r.line}`),
    imports: analysis.references.filter((r) => r.kind === 'import').map((r) => `${r.name} ${r.line} ${r.module}`),
  };
}

// 'kind symbol first-last', 'name line', 'name line module': what an editor's code navigation would show.
const EXPECTED: Record<string, Awaited<ReturnType<typeof analyse>>> = {
  'sample.js': {
    definitions: ['class Greeter 7-15', 'method Greeter.constructor 8-10', 'method Greeter.greet 12-14', 'function main 17-21', 'function main.helper 19-19'],
    calls: ['format 13', 'greet 19', 'helper 20'],
    imports: ['readFile 1 node:fs/promises', 'writeFile 1 node:fs/promises', 'path 2 node:path', './polyfill.js 3 ./polyfill.js', 'util 4 ./util'],
  },
  'sample.ts': {
    definitions: ['interface Shape 6-8', 'method Shape.area 7-7', 'type Id 10-10', 'class Circle 12-18', 'method Circle.constructor 13-13', 'method Circle.area 15-17', 'function square 20-22', 'function load 24-27'],
    calls: ['square 16', 'readFile 25', 'parse 26'],
    imports: ['Embedder 1 ../embed/embedder.js', 'fs 2 node:fs', 'Config 3 ./config', 'helper 4 ./helper'],
  },
  'sample.tsx': {
    definitions: ['interface Props 4-6', 'function Counter 8-15'],
    calls: ['useState 9', 'setCount 11', 'format 12'],
    imports: ['React 1 react', 'useState 1 react', 'format 2 ./format'],
  },
  'sample.py': {
    definitions: ['constant LIMIT 6-6', 'class Store 9-17', 'method Store.__init__ 12-13', 'method Store.size 16-17', 'function walk 20-24', 'function walk.inner 21-22'],
    calls: ['len 17', 'listdir 17', 'join 22', 'Store 23', 'helper 24', 'inner 24'],
    imports: ['os 1 os', 'os.path 2 os.path', 'helper 3 .util', 'other 3 .util', '* 4 typing'],
  },
  'sample.go': {
    definitions: ['type Server 9-11', 'interface Handler 13-15', 'method Server.Start 18-21', 'function New 23-25'],
    calls: ['Println 19', 'ToUpper 19'],
    imports: ['fmt 4 fmt', 'strings 5 strings'],
  },
  'Sample.java': {
    definitions: ['class Sample 7-27', 'method Sample.Sample 10-12', 'method Sample.run 14-18', 'method Sample.helper 20-22', 'interface Sample.Listener 24-26', 'method Sample.Listener.onEvent 25-25'],
    calls: ['max 16', 'println 16', 'size 16', 'helper 17', 'of 21', 'size 21'],
    imports: ['List 3 java.util', '* 4 java.util', 'max 5 java.lang.Math'],
  },
  'sample.c': {
    definitions: ['struct point 4-7', 'type point_t 9-9', 'function square 11-13', 'function distance 15-19'],
    calls: ['square 16', 'square 16', 'printf 17'],
    imports: ['stdio.h 1 stdio.h', 'util.h 2 util.h'],
  },
  'sample.cpp': {
    definitions: ['module geo 4-18', 'class geo.Shape 6-12', 'method geo.Shape.describe 9-11', 'method geo.Circle.area 14-16', 'function main 20-24'],
    calls: ['area 10', 'log 10', 'compute 15', 'push_back 22', 'run 23'],
    imports: ['vector 1 vector', 'shape.hpp 2 shape.hpp'],
  },
  'sample.rb': {
    definitions: ['module Shop 4-18', 'class Shop.Cart 5-17', 'method Shop.Cart.initialize 6-8', 'method Shop.Cart.total 10-12', 'method Shop.Cart.empty 14-16', 'method checkout 20-22'],
    calls: ['price 11', 'sum 11', 'new 15', 'generate 21', 'puts 21', 'total 21'],
    imports: ['json 1 json', 'util/helper 2 util/helper'],
  },
  'sample.rs': {
    definitions: ['module helpers 5-5', 'class Cache 7-9', 'interface Store 11-13', 'method Store.get 12-12', 'impl Cache 15-26', 'method Cache.new 16-18', 'method Cache.read 20-25', 'function main 28-31'],
    calls: ['new 17', 'new 21', 'read_to_string 22', 'stdin 22', 'println 23', 'Ok 24', 'new 29', 'run 30'],
    imports: ['HashMap 1 std::collections', 'Read 2 std::io', 'self 2 std::io', '* 3 crate::util', 'helpers 5 helpers'],
  },
  'sample.ex': {
    definitions: ['module Shop.Cart 1-19', 'function Shop.Cart.total 8-10', 'function Shop.Cart.log 12-12', 'module Shop.Cart.Item 14-18', 'function Shop.Cart.Item.new 17-17'],
    calls: ['map 9', 'of 9', 'sum 9', 'info 12'],
    imports: ['Shop.Price 2 Shop.Price', 'Enum 3 Enum', 'Logger 4 Logger', 'GenServer 5 GenServer'],
  },
};

describe('definitions, calls and imports', () => {
  for (const [file, expected] of Object.entries(EXPECTED)) {
    it(`of ${file} (${languageOf(file)})`, async () => {
      expect(await analyse(file)).toEqual(expected);
    });
  }
});

describe('the language registry', () => {
  const fixtures = readdirSync(DIR);

  it('has more than 30 languages, each with a grammar that loads and a tag query that compiles', async () => {
    expect(LANGUAGES.length).toBeGreaterThanOrEqual(30);
    for (const language of LANGUAGES) await expect(loadGrammar(language.id), language.id).resolves.toMatchObject({ spec: language });
  });

  it('parses a fixture of every language without a syntax error, finding definitions or imports in each', async () => {
    const covered = new Set<string>();
    for (const file of fixtures) {
      const language = languageOf(file)!;
      covered.add(language);
      const analysis = await parseAndChunk(readFileSync(join(DIR, file), 'utf8'), language, { maxTokens: 100_000, countTokens });
      expect({ file, parsed: analysis.parsed, error: analysis.error, syntaxError: analysis.syntaxError }).toEqual({ file, parsed: true, error: undefined, syntaxError: undefined });
      expect(analysis.definitions.length + analysis.references.filter((r) => r.kind === 'import').length, file).toBeGreaterThan(0);
    }
    expect([...covered].sort()).toEqual(LANGUAGES.map((l) => l.id).sort());
  });

  it('names languages by extension and by special file name', () => {
    expect(['a.ts', 'a.tsx', 'a.MJS', 'lib/x.rs', 'Makefile', 'x/Gemfile', 'a.ex', 'a.exs', 'a.h', 'README.md', 'noext'].map(languageOf)).toEqual([
      'typescript', 'tsx', 'javascript', 'rust', 'make', 'ruby', 'elixir', 'elixir', 'c', null, null,
    ]);
  });

  it('rejects an unknown language', async () => {
    await expect(loadGrammar('cobol')).rejects.toThrow(/no grammar/);
  });
});
