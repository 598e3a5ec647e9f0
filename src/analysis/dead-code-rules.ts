// What check-dead-code counts as used without a mention, per language: the rules are data, printed by
// `check-dead-code --rules`, recorded with each check, and extended in the config file's `deadCode`
// section. Patterns of files are gitignore patterns, relative to the codebase's root; patterns of names
// and heads are regular expressions. docs/code-analysis.md explains each default.
import ignore from 'ignore';
import type { DeadCodeSettings } from '../core/config.js';
import { ConfigError } from '../core/errors.js';

export interface LanguageRules {
  /** Definition kinds that can be dead. */
  kinds: string[];
  /** Files whose every definition is used by a tool that finds it by convention: tests, benchmarks, build scripts. */
  usedFiles: string[];
  /** Files where an exported definition is public API, used by whoever depends on the codebase. */
  publicFiles: string[];
  /** A definition is exported when its head (its first line, with the decorators and attributes above it) matches. */
  exportedHead?: string;
  /** ... or when its name matches (Go's capitalised names, Python's names without a leading _). */
  exportedName?: string;
  /** A member of an exported class is exported with it, unless its head matches this (private, protected); without it, members are judged alone. */
  privateMemberHead?: string;
  /** Names a runtime or framework calls by convention (main, __init__, handle_call, String). */
  callbackNames: string[];
  /** Heads of definitions a decorator or attribute registers with something that calls them (@app.route, #[test], @impl). */
  registeredHeads: string[];
  /**
   * Heads whose name is the definition's own and not how it is called, `{name}` standing for the name: a
   * named function expression (`return function helper() {}`), called through whatever holds it.
   */
  localNameHeads?: string[];
  /** A default export (`export default function x`): importers name it as they like, so it is used when its file is imported or named. */
  defaultExportHead?: string;
  /**
   * The bases in a class's (or impl's) head, in the first group, comma-separated: its members may
   * override a method of a base the codebase does not define (a visitor, a stream, a trait), which then
   * calls them.
   */
  baseHead?: string;
  /**
   * A definition inside something other than a class whose head matches is a member of an object literal
   * (`visit(node) {`, `flush: function () {`): whoever receives the object calls it.
   */
  objectMemberHead?: string;
}

export interface DeadCodeRules {
  languages: Record<string, LanguageRules>;
  /** Files whose definitions are never candidates, in any language (generated code, vendored copies). */
  ignoreFiles: string[];
  /** Names never candidates, in any language. */
  ignoreNames: string[];
  /** Files whose mentions of a name do not count as a use: prose, where naming is not calling. */
  proseFiles: string[];
}

const CODE_KINDS = ['function', 'method', 'class', 'struct', 'enum', 'interface', 'type', 'trait', 'macro', 'protocol'];

const typescript: LanguageRules = {
  kinds: CODE_KINDS,
  usedFiles: ['*.test.*', '*.spec.*', '__tests__/', '__mocks__/', '/test/', '/tests/', '*.config.*', '*.d.ts', '*.d.mts', '*.d.cts'],
  publicFiles: ['/index.*', '/src/index.*', '/lib/index.*', '/main.*', '/src/main.*', '/mod.ts', '/bin/', '/cli.*', '/src/cli.*'],
  exportedHead: '^\\s*export\\b',
  privateMemberHead: '^\\s*(private|protected)\\b|^\\s*#',
  callbackNames: [
    '^constructor$', '^render$', '^(componentDidMount|componentDidUpdate|componentWillUnmount|shouldComponentUpdate|getDerivedStateFromProps|getSnapshotBeforeUpdate|componentDidCatch)$',
    '^(ngOnInit|ngOnDestroy|ngOnChanges|ngAfterViewInit|ngAfterContentInit|ngDoCheck)$', '^(connectedCallback|disconnectedCallback|attributeChangedCallback|adoptedCallback)$',
    '^(toString|toJSON|valueOf|\\[Symbol\\..*\\])$', '^(get|set)\\b',
  ],
  registeredHeads: ['^\\s*@\\w'],
  localNameHeads: ['(return|[=(,:?&|!]|=>)\\s*(async\\s+)?function\\s*\\*?\\s*{name}\\b'],
  defaultExportHead: '^\\s*export\\s+default\\b',
  baseHead: '\\b(?:extends|implements)\\s+([\\p{L}_$][\\p{L}\\p{N}_$.]*(?:\\s*,\\s*[\\p{L}_$][\\p{L}\\p{N}_$.]*)*)',
  objectMemberHead: '^\\s*(?:async\\s+|get\\s+|set\\s+|static\\s+|\\*\\s*)*[\\p{L}_$][\\p{L}\\p{N}_$]*\\s*[:(]',
};

export const DEFAULT_RULES: DeadCodeRules = {
  languages: {
    typescript,
    tsx: typescript,
    javascript: typescript,
    python: {
      kinds: ['function', 'method', 'class'],
      usedFiles: ['test_*.py', '*_test.py', '/tests/', '/test/', 'conftest.py', '/setup.py', '/noxfile.py', '/fabfile.py'],
      publicFiles: ['__init__.py', '__main__.py'],
      exportedName: '^[^_]',
      callbackNames: [
        '^__\\w+__$', '^(setUp|tearDown|setUpClass|tearDownClass|setUpModule|tearDownModule|asyncSetUp|asyncTearDown)$', '^test',
        '^(main|run|handle|get|post|put|patch|delete|dispatch|save|clean|clean_\\w+|validate_\\w+|get_queryset|get_context_data|form_valid)$',
      ],
      // A decorator registers its function (a route, a fixture, a command, a signal handler), except the
      // ones that only change how a method is looked up.
      baseHead: '^\\s*class\\s+\\w+\\s*\\(([^)]*)\\)',
      registeredHeads: ['^\\s*@(?!(staticmethod|classmethod|property|abstractmethod|abc\\.abstractmethod|override|typing\\.override|functools\\.(cache|lru_cache|cached_property|wraps)|cache|lru_cache|cached_property)\\b)'],
    },
    go: {
      kinds: ['function', 'method', 'type', 'struct', 'interface'],
      usedFiles: ['*_test.go'],
      // Exported names of a package are its API, except in commands (package main) and internal packages,
      // which no other module can import.
      publicFiles: ['*.go', '!/cmd/**', '!/main.go', '!**/internal/**'],
      exportedName: '^\\p{Lu}',
      callbackNames: [
        '^(main|init)$',
        '^(String|GoString|Error|Unwrap|Is|As|Format|ServeHTTP|MarshalJSON|UnmarshalJSON|MarshalText|UnmarshalText|MarshalYAML|UnmarshalYAML|Scan|Value|Len|Less|Swap|Push|Pop|Read|Write|Close|Seek|ReadFrom|WriteTo)$',
      ],
      registeredHeads: ['^\\s*//go:(linkname|export)'],
    },
    rust: {
      kinds: ['function', 'method', 'struct', 'enum', 'trait', 'type', 'macro'],
      usedFiles: ['/tests/', '/benches/', '/examples/', '/build.rs'],
      // `pub` items of a library are its API; a binary's (src/main.rs, src/bin/) are not. pub(crate) is no export.
      publicFiles: ['*.rs', '!/src/main.rs', '!/src/bin/**'],
      exportedHead: '^\\s*pub\\s+(?!\\()',
      callbackNames: [
        '^main$',
        '^(fmt|drop|clone|clone_from|eq|ne|cmp|partial_cmp|hash|deref|deref_mut|next|next_back|size_hint|default|from|into|try_from|try_into|from_str|from_iter|into_iter|extend|as_ref|as_mut|borrow|borrow_mut|index|index_mut|add|sub|mul|div|rem|neg|not|add_assign|sub_assign|poll|poll_next|call|serialize|deserialize|visit_\\w+|source|description|len|is_empty|build|new)$',
      ],
      baseHead: '^\\s*impl\\b(?:\\s*<[^>]*>)?\\s*([\\w:]+)(?:<[^>]*>)?\\s+for\\b',
      registeredHeads: ['#\\[(test|bench|no_mangle|export_name|proc_macro\\w*|\\w+::(main|test)|wasm_bindgen|pyfunction|pymethods|get|post|put|delete|patch|route)\\b'],
    },
    elixir: {
      kinds: ['function', 'macro'],
      usedFiles: ['/test/', '*_test.exs', '/mix.exs', '/config/', '/priv/', '/rel/'],
      // A module's public functions (def, defmacro) are the application's API; private ones (defp) are not.
      publicFiles: ['/lib/'],
      exportedHead: '^\\s*(def|defmacro|defguard|defdelegate)\\s',
      callbackNames: [
        '^(start|start_link|stop|child_spec|init|handle_call|handle_cast|handle_info|handle_continue|terminate|code_change|format_status)$',
        '^(mount|update|render|handle_event|handle_params|handle_async|call|run|changeset|__using__|__before_compile__|__after_compile__)$',
      ],
      registeredHeads: ['^\\s*@impl\\b'],
    },
  },
  ignoreFiles: [],
  ignoreNames: [],
  proseFiles: ['*.md', '*.mdx', '*.markdown', '*.rst', '*.txt', '*.adoc', '/LICENSE*', '/CHANGELOG*', '/AUTHORS*'],
};

/** The defaults with the config's additions; a language the defaults do not know needs its whole rules. */
export function mergeRules(config: DeadCodeSettings | undefined, where = 'the config file'): DeadCodeRules {
  const rules: DeadCodeRules = structuredClone(DEFAULT_RULES);
  if (!config) return rules;
  rules.ignoreFiles.push(...(config.ignoreFiles ?? []));
  rules.ignoreNames.push(...(config.ignoreNames ?? []));
  rules.proseFiles.push(...(config.proseFiles ?? []));
  for (const [language, extra] of Object.entries(config.languages ?? {})) {
    const base = rules.languages[language];
    if (!base && !extra.kinds) {
      throw new ConfigError(`deadCode.languages.${language} in ${where}: a language without default rules needs its "kinds"`, {
        hint: `Languages with default rules: ${Object.keys(DEFAULT_RULES.languages).join(', ')}. See docs/code-analysis.md.`,
      });
    }
    const merged: LanguageRules = base ? { ...base } : { kinds: [], usedFiles: [], publicFiles: [], callbackNames: [], registeredHeads: [] };
    if (extra.kinds) merged.kinds = extra.kinds;
    for (const key of ['usedFiles', 'publicFiles', 'callbackNames', 'registeredHeads'] as const) merged[key] = [...merged[key], ...(extra[key] ?? [])];
    if (extra.exportedHead !== undefined) merged.exportedHead = extra.exportedHead;
    if (extra.exportedName !== undefined) merged.exportedName = extra.exportedName;
    if (extra.privateMemberHead !== undefined) merged.privateMemberHead = extra.privateMemberHead;
    if (extra.localNameHeads) merged.localNameHeads = [...(merged.localNameHeads ?? []), ...extra.localNameHeads];
    for (const key of ['defaultExportHead', 'baseHead', 'objectMemberHead'] as const) if (extra[key] !== undefined) merged[key] = extra[key];
    rules.languages[language] = merged;
  }
  compileRules(rules, where); // a bad pattern is refused when the config is read, not at 9 in the morning
  return rules;
}

export interface CompiledLanguage {
  kinds: Set<string>;
  used: (path: string) => boolean;
  public: (path: string) => boolean;
  exported: (name: string, head: string) => boolean;
  privateMember: (head: string) => boolean;
  /** Members of an exported class are exported with it (the language marks private members: privateMemberHead). */
  membersInherit: boolean;
  callback: (name: string) => boolean;
  registered: (head: string) => boolean;
  /** The head names the definition locally only (a named function expression). */
  localName: (name: string, head: string) => boolean;
  defaultExport: (head: string) => boolean;
  /** The short names of the bases a class-like head names. */
  bases: (head: string) => string[];
  objectMember: (head: string) => boolean;
}

export interface CompiledRules {
  languages: Map<string, CompiledLanguage>;
  ignoredFile: (path: string) => boolean;
  ignoredName: (name: string) => boolean;
  prose: (path: string) => boolean;
}

const lastLine = (head: string) => head.split('\n').at(-1) ?? '';

export function compileRules(rules: DeadCodeRules, where = 'the dead-code rules'): CompiledRules {
  const regex = (source: string, field: string) => {
    try {
      return new RegExp(source, 'mu');
    } catch (error) {
      throw new ConfigError(`${field} in ${where}: '${source}' is no regular expression (${(error as Error).message})`);
    }
  };
  const anyOf = (sources: readonly string[], field: string) => {
    const all = sources.map((s) => regex(s, field));
    return (text: string) => all.some((r) => r.test(text));
  };
  const files = (patterns: readonly string[]) => {
    const matcher = ignore().add([...patterns]);
    return (path: string) => matcher.ignores(path);
  };
  const languages = new Map<string, CompiledLanguage>();
  for (const [language, r] of Object.entries(rules.languages)) {
    const field = `deadCode.languages.${language}`;
    const head = r.exportedHead === undefined ? undefined : regex(r.exportedHead, `${field}.exportedHead`);
    const name = r.exportedName === undefined ? undefined : regex(r.exportedName, `${field}.exportedName`);
    const privateMember = r.privateMemberHead === undefined ? undefined : regex(r.privateMemberHead, `${field}.privateMemberHead`);
    const defaultExport = r.defaultExportHead === undefined ? undefined : regex(r.defaultExportHead, `${field}.defaultExportHead`);
    const base = r.baseHead === undefined ? undefined : regex(r.baseHead, `${field}.baseHead`);
    const objectMember = r.objectMemberHead === undefined ? undefined : regex(r.objectMemberHead, `${field}.objectMemberHead`);
    for (const source of r.localNameHeads ?? []) regex(source.replaceAll('{name}', 'x'), `${field}.localNameHeads`);
    languages.set(language, {
      kinds: new Set(r.kinds),
      used: files(r.usedFiles),
      public: files(r.publicFiles),
      // The head's last line is the definition's own: `export` is looked for there, decorators above it.
      exported: (n, h) => (head ? head.test(lastLine(h)) : false) || (name ? name.test(n) : false),
      membersInherit: privateMember !== undefined,
      privateMember: (h) => (privateMember ? privateMember.test(lastLine(h)) : false),
      callback: anyOf(r.callbackNames, `${field}.callbackNames`),
      registered: anyOf(r.registeredHeads, `${field}.registeredHeads`),
      localName: (n, h) => (r.localNameHeads ?? []).some((source) =>
        regex(source.replaceAll('{name}', n.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')), `${field}.localNameHeads`).test(lastLine(h))),
      defaultExport: (h) => (defaultExport ? defaultExport.test(lastLine(h)) : false),
      bases: (h) => {
        const found = base?.exec(lastLine(h))?.[1];
        return found ? found.split(',').map((b) => b.trim().split(/\.|::/).pop()!.replace(/[<(].*$/, '')).filter(Boolean) : [];
      },
      objectMember: (h) => (objectMember ? objectMember.test(lastLine(h)) : false),
    });
  }
  return {
    languages,
    ignoredFile: files(rules.ignoreFiles),
    ignoredName: anyOf(rules.ignoreNames, 'deadCode.ignoreNames'),
    prose: files(rules.proseFiles),
  };
}
