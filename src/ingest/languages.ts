// The languages ingest parses: for each, the files it claims (extensions and special names), where its
// tree-sitter grammar comes from (a .wasm shipped by an npm package), and the tag queries that find its
// definitions, references and imports (see tags.ts for the capture names).
// This module is cheap to import: it names files and loads nothing. loadGrammar() (grammar.ts) reads
// the .wasm and compiles the queries the first time a language is needed.
import { basename, extname } from 'node:path';
import { TAG_QUERIES } from './tag-queries.js';

export interface GrammarSource {
  /** The npm package that ships the .wasm (and its licence). */
  package: string;
  /** The .wasm's path inside the package. */
  wasm: string;
}

export interface TagQuerySource {
  /** Patterns of our own; they come first, so a node they capture is not taken again by a packaged pattern. */
  query: string;
  /** Packaged `queries/tags.scm` files (module paths) appended after ours. */
  packaged?: string[];
}

export interface LanguageSpec {
  id: string;
  /** Lower-case, with the dot: '.ts'. */
  extensions: string[];
  /** Exact file names (Makefile, Gemfile, ...). */
  filenames?: string[];
  grammar: GrammarSource;
  tags: TagQuerySource;
}

const own = (pkg: string, wasm: string): GrammarSource => ({ package: pkg, wasm });
/** tree-sitter-wasms (Unlicense) bundles grammars whose own package ships no usable .wasm. */
const bundled = (name: string): GrammarSource => ({ package: 'tree-sitter-wasms', wasm: `out/tree-sitter-${name}.wasm` });
const packagedTags = (...packages: string[]) => packages.map((p) => `${p}/queries/tags.scm`);

export const LANGUAGES: readonly LanguageSpec[] = [
  { id: 'javascript', extensions: ['.js', '.mjs', '.cjs', '.jsx'], grammar: own('tree-sitter-javascript', 'tree-sitter-javascript.wasm'),
    tags: { query: TAG_QUERIES.javascript, packaged: packagedTags('tree-sitter-javascript') } },
  { id: 'typescript', extensions: ['.ts', '.mts', '.cts'], grammar: own('tree-sitter-typescript', 'tree-sitter-typescript.wasm'),
    tags: { query: TAG_QUERIES.typescript, packaged: packagedTags('tree-sitter-javascript', 'tree-sitter-typescript') } },
  { id: 'tsx', extensions: ['.tsx'], grammar: own('tree-sitter-typescript', 'tree-sitter-tsx.wasm'),
    tags: { query: TAG_QUERIES.typescript, packaged: packagedTags('tree-sitter-javascript', 'tree-sitter-typescript') } },
  { id: 'python', extensions: ['.py', '.pyi', '.pyw'], grammar: own('tree-sitter-python', 'tree-sitter-python.wasm'),
    tags: { query: TAG_QUERIES.python, packaged: packagedTags('tree-sitter-python') } },
  { id: 'go', extensions: ['.go'], grammar: own('tree-sitter-go', 'tree-sitter-go.wasm'),
    tags: { query: TAG_QUERIES.go, packaged: packagedTags('tree-sitter-go') } },
  { id: 'java', extensions: ['.java'], grammar: own('tree-sitter-java', 'tree-sitter-java.wasm'),
    tags: { query: TAG_QUERIES.java, packaged: packagedTags('tree-sitter-java') } },
  // The packaged C and C++ tags mark a function's declarator (its name and parameters), not the whole
  // function: ours mark the definition, and take over.
  { id: 'c', extensions: ['.c', '.h'], grammar: own('tree-sitter-c', 'tree-sitter-c.wasm'), tags: { query: TAG_QUERIES.c } },
  { id: 'cpp', extensions: ['.cpp', '.cc', '.cxx', '.c++', '.hpp', '.hh', '.hxx', '.h++', '.ipp', '.inl', '.tpp'],
    grammar: own('tree-sitter-cpp', 'tree-sitter-cpp.wasm'), tags: { query: TAG_QUERIES.cpp } },
  { id: 'ruby', extensions: ['.rb', '.rake', '.gemspec', '.ru'], filenames: ['Rakefile', 'Gemfile', 'Guardfile', 'Vagrantfile', 'Podfile', 'Fastfile', 'Brewfile'],
    grammar: own('tree-sitter-ruby', 'tree-sitter-ruby.wasm'), tags: { query: TAG_QUERIES.ruby, packaged: packagedTags('tree-sitter-ruby') } },
  { id: 'rust', extensions: ['.rs'], grammar: own('tree-sitter-rust', 'tree-sitter-rust.wasm'),
    tags: { query: TAG_QUERIES.rust, packaged: packagedTags('tree-sitter-rust') } },
  // tree-sitter-elixir ships a .wasm but requires the native tree-sitter package as a peer: the bundle's copy is used.
  { id: 'elixir', extensions: ['.ex', '.exs'], grammar: bundled('elixir'), tags: { query: TAG_QUERIES.elixir } },
  { id: 'csharp', extensions: ['.cs'], grammar: own('tree-sitter-c-sharp', 'tree-sitter-c_sharp.wasm'),
    tags: { query: TAG_QUERIES.csharp, packaged: packagedTags('tree-sitter-c-sharp') } },
  { id: 'php', extensions: ['.php'], grammar: own('tree-sitter-php', 'tree-sitter-php.wasm'),
    tags: { query: TAG_QUERIES.php, packaged: packagedTags('tree-sitter-php') } },
  { id: 'kotlin', extensions: ['.kt', '.kts'], grammar: own('@tree-sitter-grammars/tree-sitter-kotlin', 'tree-sitter-kotlin.wasm'), tags: { query: TAG_QUERIES.kotlin } },
  // tree-sitter-swift ships no .wasm.
  { id: 'swift', extensions: ['.swift'], grammar: bundled('swift'), tags: { query: TAG_QUERIES.swift } },
  { id: 'scala', extensions: ['.scala', '.sc', '.sbt'], grammar: own('tree-sitter-scala', 'tree-sitter-scala.wasm'),
    tags: { query: TAG_QUERIES.scala, packaged: packagedTags('tree-sitter-scala') } },
  { id: 'lua', extensions: ['.lua'], grammar: own('@tree-sitter-grammars/tree-sitter-lua', 'tree-sitter-lua.wasm'),
    tags: { query: TAG_QUERIES.lua, packaged: packagedTags('@tree-sitter-grammars/tree-sitter-lua') } },
  { id: 'bash', extensions: ['.sh', '.bash', '.zsh', '.bats'], filenames: ['.bashrc', '.bash_profile', '.profile', '.zshrc'],
    grammar: own('tree-sitter-bash', 'tree-sitter-bash.wasm'), tags: { query: TAG_QUERIES.bash } },
  { id: 'haskell', extensions: ['.hs'], grammar: own('tree-sitter-haskell', 'tree-sitter-haskell.wasm'), tags: { query: TAG_QUERIES.haskell } },
  { id: 'ocaml', extensions: ['.ml'], grammar: own('tree-sitter-ocaml', 'tree-sitter-ocaml.wasm'),
    tags: { query: TAG_QUERIES.ocaml, packaged: packagedTags('tree-sitter-ocaml') } },
  { id: 'ocaml-interface', extensions: ['.mli'], grammar: own('tree-sitter-ocaml', 'tree-sitter-ocaml_interface.wasm'),
    tags: { query: TAG_QUERIES.ocaml, packaged: packagedTags('tree-sitter-ocaml') } },
  { id: 'zig', extensions: ['.zig'], grammar: own('@tree-sitter-grammars/tree-sitter-zig', 'tree-sitter-zig.wasm'), tags: { query: TAG_QUERIES.zig } },
  { id: 'dart', extensions: ['.dart'], grammar: bundled('dart'), tags: { query: TAG_QUERIES.dart } },
  { id: 'julia', extensions: ['.jl'], grammar: own('tree-sitter-julia', 'tree-sitter-julia.wasm'), tags: { query: TAG_QUERIES.julia } },
  { id: 'objc', extensions: ['.m'], grammar: own('tree-sitter-objc', 'tree-sitter-objc.wasm'), tags: { query: TAG_QUERIES.objc } },
  { id: 'solidity', extensions: ['.sol'], grammar: bundled('solidity'), tags: { query: TAG_QUERIES.solidity } },
  { id: 'powershell', extensions: ['.ps1', '.psm1'], grammar: own('tree-sitter-powershell', 'tree-sitter-powershell.wasm'), tags: { query: TAG_QUERIES.powershell } },
  { id: 'html', extensions: ['.html', '.htm', '.xhtml'], grammar: own('tree-sitter-html', 'tree-sitter-html.wasm'), tags: { query: TAG_QUERIES.html } },
  { id: 'css', extensions: ['.css'], grammar: own('tree-sitter-css', 'tree-sitter-css.wasm'), tags: { query: TAG_QUERIES.css } },
  { id: 'json', extensions: ['.json', '.jsonc'], grammar: own('tree-sitter-json', 'tree-sitter-json.wasm'), tags: { query: TAG_QUERIES.json } },
  { id: 'yaml', extensions: ['.yaml', '.yml'], grammar: own('@tree-sitter-grammars/tree-sitter-yaml', 'tree-sitter-yaml.wasm'), tags: { query: TAG_QUERIES.yaml } },
  { id: 'toml', extensions: ['.toml'], filenames: ['Pipfile'], grammar: own('@tree-sitter-grammars/tree-sitter-toml', 'tree-sitter-toml.wasm'), tags: { query: TAG_QUERIES.toml } },
  { id: 'hcl', extensions: ['.hcl', '.tf', '.tfvars'], grammar: own('@tree-sitter-grammars/tree-sitter-hcl', 'tree-sitter-hcl.wasm'), tags: { query: TAG_QUERIES.hcl } },
  { id: 'make', extensions: ['.mk', '.make'], filenames: ['Makefile', 'makefile', 'GNUmakefile'], grammar: own('tree-sitter-make', 'tree-sitter-make.wasm'), tags: { query: TAG_QUERIES.make } },
];

const byId = new Map(LANGUAGES.map((l) => [l.id, l]));
const byExtension = new Map(LANGUAGES.flatMap((l) => l.extensions.map((e) => [e, l.id] as const)));
const byFilename = new Map(LANGUAGES.flatMap((l) => (l.filenames ?? []).map((f) => [f, l.id] as const)));

/** The language of a file from its name ('/'-separated or native path), or null when no grammar claims it. */
export function languageOf(path: string): string | null {
  const name = basename(path);
  return byFilename.get(name) ?? byExtension.get(extname(name).toLowerCase()) ?? null;
}

export function languageSpec(id: string): LanguageSpec | undefined {
  return byId.get(id);
}
