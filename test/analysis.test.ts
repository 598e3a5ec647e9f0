// Code analysis on ingested fixtures, on both backends: dead-code candidates per language (exactly the
// expected ones), import cycles, snapshots and their difference, the dead-code history and its report,
// and the errors a user gets for a codebase that is not there.
import { appendFileSync, cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { checkDeadCode, findDeadCode } from '../src/analysis/dead-code.js';
import { compileRules, DEFAULT_RULES, mergeRules } from '../src/analysis/dead-code-rules.js';
import { reportDeadCode } from '../src/analysis/dead-code-report.js';
import { renderDeadCodeReport } from '../src/analysis/format.js';
import { farOut, syncRegistry } from '../src/analysis/registry.js';
import type { Database } from '../src/core/database.js';
import { ConfigError, UsageError } from '../src/core/errors.js';
import { ingestCodebase } from '../src/ingest/ingest.js';
import { mentionedNames } from '../src/ingest/names.js';
import { parseAndChunk } from '../src/ingest/parse.js';
import { backendNames, onBackend, type Backend } from './support/backends.js';
import { runCli } from './support/cli.js';

const FIXTURES = fileURLToPath(new URL('./fixtures/analysis/', import.meta.url));
const scratch = mkdtempSync(join(tmpdir(), 'singularity-analysis-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** What a user reads off each candidate: where, and which symbol. */
const found = (candidates: Array<{ path: string; symbol: string }>) => candidates.map((c) => `${c.path} ${c.symbol}`).sort();

const EXPECTED: Record<string, string[]> = {
  typescript: [
    'src/cart.ts Cart.describe', // a method of an exported class, outside the entry point, called by nobody
    'src/cart.ts Discount',
    'src/format.ts formatLegacy', // exported, imported nowhere (the README's mention does not count)
    'src/format.ts unusedLocal',
    'src/index.ts Catalogue.unusedHelper', // private, in the entry point
    'src/index.ts neverCalledInIndex',
    'src/util/strings.ts Shouted',
    'src/util/strings.ts shout',
  ],
  javascript: [
    'lib/api/shapes.mjs hiddenHelper', // in a file its package's entry passes on (export *), but not exported
    'lib/internal.mjs Forgotten',
    'lib/reporters/json.mjs unusedExport', // its file is loaded by path, which keeps its default export, not this
  ],
  python: [
    'shop/__init__.py _private_and_unused', // not public, though in __init__.py
    'shop/catalogue.py reload_prices',
    'shop/pricing.py Discount.describe',
    'shop/pricing.py legacy_price',
  ],
  go: [
    'cmd/tool/main.go Helper', // exported, but in a command
    'internal/store/store.go Restock', // exported, but internal
    'shop.go unusedPrivate',
  ],
  rust: ['src/lib.rs unused_private', 'src/pricing.rs legacy_price'],
  elixir: ['lib/shop.ex Shop.unused_private', 'lib/shop/pricing.ex Shop.Pricing.legacy_price', 'lib/shop/server.ex Shop.Server.never_called'],
};

describe('mentionedNames', () => {
  it('takes the words of code and strings, not of comments or of a definition naming itself', async () => {
    const source = [
      '// helperInComment is only talked about',
      'function defined() { return called("inString"); }',
      '/* blockComment */ const x = defined;',
    ].join('\n');
    const analysis = await parseAndChunk(source, 'javascript', { maxTokens: 256, countTokens: (t) => t.length / 4 });
    expect(analysis.names).toContain('called');
    expect(analysis.names).toContain('inString');
    expect(analysis.names).toContain('defined'); // `const x = defined` mentions it
    expect(analysis.names).not.toContain('helperInComment');
    expect(analysis.names).not.toContain('blockComment');
    expect(analysis.lines).toBe(3);
    const alone = await parseAndChunk('function lonely() {}\n', 'javascript', { maxTokens: 256, countTokens: (t) => t.length / 4 });
    expect(alone.names).not.toContain('lonely');
  });

  it("keeps both readings of a word ending in ? or !: Elixir's valid? and TypeScript's a!.b", () => {
    expect(mentionedNames('valid?(x) and a!.b')).toEqual(expect.arrayContaining(['valid?', 'valid', 'a!', 'a', 'b']));
  });
});

describe('far-out outliers', () => {
  it('are the values beyond the third quartile plus three interquartile ranges', () => {
    const values = [10, 11, 12, 13, 14, 15, 16, 17, 200].map((lines) => ({ lines }));
    expect(farOut(values, (v) => v.lines)).toEqual([{ lines: 200 }]);
    expect(farOut([1, 2, 3].map((lines) => ({ lines })), (v) => v.lines)).toEqual([]);
  });
});

describe('dead-code rules', () => {
  it('take additions from the config file, and refuse a pattern that is no regular expression', () => {
    const rules = mergeRules({ ignoreNames: ['^legacy_'], languages: { python: { usedFiles: ['/shop/catalogue.py'] } } });
    expect(rules.ignoreNames).toEqual(['^legacy_']);
    expect(rules.languages.python!.usedFiles).toContain('/shop/catalogue.py');
    expect(rules.languages.python!.usedFiles).toEqual(expect.arrayContaining(DEFAULT_RULES.languages.python!.usedFiles));
    expect(() => mergeRules({ ignoreNames: ['(unclosed'] }, '/etc/singularity.config.json')).toThrow(ConfigError);
    expect(() => mergeRules({ ignoreNames: ['(unclosed'] }, '/etc/singularity.config.json')).toThrow(/deadCode.ignoreNames in \/etc\/singularity.config.json: '\(unclosed'/);
    expect(() => mergeRules({ languages: { cobol: { usedFiles: ['*.cbl'] } } })).toThrow(/needs its "kinds"/);
  });

  it("say which files are public per language's conventions", () => {
    const { languages } = compileRules(DEFAULT_RULES);
    const go = languages.get('go')!;
    expect(['shop.go', 'pkg/api/api.go', 'cmd/tool/main.go', 'main.go', 'pkg/internal/x/x.go'].map((p) => go.public(p))).toEqual([true, true, false, false, false]);
    const ts = languages.get('typescript')!;
    expect(['src/index.ts', 'index.js', 'src/lib/index.ts', 'src/a.ts'].map((p) => ts.public(p))).toEqual([true, true, false, false]);
    expect(['src/a.test.ts', 'test/x.ts', 'src/__tests__/y.ts', 'src/a.ts'].map((p) => ts.used(p))).toEqual([true, true, true, false]);
  });
});

for (const backendName of backendNames) {
  describe(`code analysis (${backendName})`, () => {
    let db: Database;
    let backend: Backend;
    onBackend(backendName, (opened) => ({ db, backend } = opened));

    it('refuses to analyse before anything is ingested, saying what to do', async () => {
      await expect(checkDeadCode(db, { rules: DEFAULT_RULES })).rejects.toThrow(/no codebase has been ingested yet/);
      await expect(syncRegistry(db, {})).rejects.toBeInstanceOf(UsageError);
    });

    for (const language of Object.keys(EXPECTED)) {
      it(`finds exactly the dead ${language} code of its fixture`, async () => {
        await ingestCodebase(db, { root: join(FIXTURES, language), codebase: language });
        expect(found(await findDeadCode(db, language, DEFAULT_RULES))).toEqual(EXPECTED[language]);
      });
    }

    it('gives each candidate its line, kind and reason', async () => {
      const candidates = await findDeadCode(db, 'typescript', DEFAULT_RULES);
      expect(candidates.find((c) => c.symbol === 'formatLegacy')).toEqual({
        path: 'src/format.ts', symbol: 'formatLegacy', line: 12, endLine: 14, kind: 'function', language: 'typescript',
        reason: "exported, but no file mentions 'formatLegacy' outside its definition, and src/format.ts is no public entry point",
      });
      expect(candidates.find((c) => c.symbol === 'unusedLocal')?.reason).toBe("no file mentions 'unusedLocal' outside its definition");
    });

    it("applies the config file's additions", async () => {
      const rules = mergeRules({ ignoreNames: ['^legacy_'], languages: { python: { usedFiles: ['/shop/catalogue.py'] } } });
      expect(found(await findDeadCode(db, 'python', rules))).toEqual(['shop/__init__.py _private_and_unused', 'shop/pricing.py Discount.describe']);
    });

    it("refuses an unknown codebase, naming the ingested ones", async () => {
      const error = await checkDeadCode(db, { codebase: 'nope', rules: DEFAULT_RULES }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(UsageError);
      expect((error as UsageError).message).toBe("no codebase 'nope' has been ingested");
      expect((error as UsageError).hint).toMatch(/Ingested codebases: elixir, go, javascript, python, rust, typescript/);
    });

    it('finds the import cycle of the fixture, and nothing else', async () => {
      const [snapshot] = await syncRegistry(db, { codebase: 'typescript' });
      expect(snapshot!.summary.cycles).toEqual({ count: 1, list: [['src/cart.ts', 'src/format.ts']] });
      expect(snapshot!.summary.totals.files).toBe(7);
      expect(snapshot!.summary.languages.find((l) => l.language === 'typescript')).toEqual({ language: 'typescript', files: 5, lines: 75, symbols: 20 });
      expect(snapshot!.diff.previous).toBeNull();
    });

    it('lists exactly what changed between two snapshots', async () => {
      const root = join(scratch, `shop-${backendName}`);
      cpSync(join(FIXTURES, 'typescript'), root, { recursive: true });
      await ingestCodebase(db, { root, codebase: 'shop' });
      const [first] = await syncRegistry(db, { codebase: 'shop' });
      rmSync(join(root, 'src/util/strings.ts'));
      writeFileSync(join(root, 'src/tax.ts'), "import { currency } from './cart.js';\nexport function vat(): string {\n  return currency();\n}\n");
      appendFileSync(join(root, 'src/format.ts'), '\nexport function formatCents(value: number): string {\n  return String(value * 100);\n}\n');
      // cart.ts stops importing format.ts: the cycle is gone.
      writeFileSync(join(root, 'src/cart.ts'), "export class Cart {\n  constructor(private readonly prices: number[]) {}\n  sum(): number {\n    return 0;\n  }\n}\n\nexport function currency(): string {\n  return 'EUR';\n}\n");
      await ingestCodebase(db, { root, codebase: 'shop' });
      const [second] = await syncRegistry(db, { codebase: 'shop' });
      const d = second!.diff;
      expect(d.previous?.id).toBe(first!.id);
      expect(d.files.added).toEqual(['src/tax.ts']);
      expect(d.files.removed).toEqual(['src/util/strings.ts']);
      expect(d.files.grown).toEqual([{ path: 'src/format.ts', before: 18, after: 22 }]);
      expect(d.files.shrunk).toBe(1); // cart.ts
      expect(d.symbols.added).toEqual([{ path: 'src/format.ts', symbol: 'formatCents' }, { path: 'src/tax.ts', symbol: 'vat' }]);
      expect(d.symbols.removed).toEqual([
        { path: 'src/cart.ts', symbol: 'Cart.describe' }, { path: 'src/cart.ts', symbol: 'Discount' }, { path: 'src/cart.ts', symbol: 'onCheckout' },
        { path: 'src/util/strings.ts', symbol: 'Shouted' }, { path: 'src/util/strings.ts', symbol: 'shout' },
      ]);
      expect(d.cycles).toEqual({ added: [], removed: [['src/cart.ts', 'src/format.ts']] });
      expect(second!.summary.cycles.count).toBe(0);
    });

    it('keeps the number of snapshots it is told to', async () => {
      await syncRegistry(db, { codebase: 'shop', keep: 1 });
      const [{ n }] = await db.query<{ n: number }>("select count(*)::int as n from registry_snapshots where codebase = 'shop'") as [{ n: number }];
      expect(n).toBe(1);
    });

    it('records each check, marks new candidates and lists resolved ones; the report sums the week up', async () => {
      const root = join(scratch, `history-${backendName}`);
      cpSync(join(FIXTURES, 'typescript'), root, { recursive: true });
      await ingestCodebase(db, { root, codebase: 'history' });
      expect((await reportDeadCode(db, { codebase: 'history', days: 7 }))[0]).toMatchObject({
        total: 0, series: [], note: "no dead-code check of 'history' has been recorded yet: run singularity check-dead-code --codebase history",
      });
      const [first] = await checkDeadCode(db, { codebase: 'history', rules: DEFAULT_RULES });
      expect(first!.first).toBe(true);
      expect(first!.candidates.filter((c) => c.isNew)).toEqual([]);
      // An hour later: formatLegacy is called at last, and a new dead helper appears.
      await db.query("update dead_code_checks set checked_at = checked_at - interval '1 hour' where codebase = 'history'");
      await db.query("update dead_code_candidates set first_seen_at = first_seen_at - interval '1 hour' where check_id = $1", [first!.checkId]);
      const index = join(root, 'src/index.ts');
      writeFileSync(index, `import { formatLegacy } from './format.js';\n${readFileSync(index, 'utf8')}\nexport const legacy = formatLegacy;\nfunction brandNewDeadHelper(): void {}\n`);
      await ingestCodebase(db, { root, codebase: 'history' });
      const [second] = await checkDeadCode(db, { codebase: 'history', rules: DEFAULT_RULES });
      expect(second!.candidates.filter((c) => c.isNew).map((c) => c.symbol)).toEqual(['brandNewDeadHelper']);
      expect(second!.resolved.map((r) => r.symbol)).toEqual(['formatLegacy']);
      expect(second!.newCandidates).toBe(1);
      // A candidate still there keeps the time it was first seen.
      const kept = second!.candidates.find((c) => c.symbol === 'shout')!;
      expect(new Date(kept.firstSeenAt).getTime()).toBeLessThan(new Date(second!.checkedAt).getTime() - 50 * 60_000);

      const [report] = await reportDeadCode(db, { codebase: 'history', days: 7 });
      expect(report!.total).toBe(8);
      // The window started with the first check: what it found is the start, not news.
      expect(report!.added.map((c) => c.symbol)).toEqual(['brandNewDeadHelper']);
      expect(report!.resolved.map((c) => c.symbol)).toEqual(['formatLegacy']);
      expect(report!.series.map((s) => s.candidates).at(-1)).toBe(8);
      expect(report!.biggest[0]!.lines).toBeGreaterThanOrEqual(report!.biggest.at(-1)!.lines);
      const markdown = renderDeadCodeReport([report!], 'markdown');
      expect(markdown).toMatch(/^# Dead code in history, /);
      expect(markdown).toContain('## New\n\n- `brandNewDeadHelper` (function, `src/index.ts:');
      expect(markdown).toContain('## Resolved\n\n- `formatLegacy`');
    });

    it('prints reports as a user asks for them, and refuses bad input with exit 2', async () => {
      const markdown = await runCli(['report-dead-code', '--codebase', 'history', '--format', 'markdown'], backend.env);
      expect(markdown.code).toBe(0);
      // stdout holds the document alone (for > dead-code.md); the run's line goes to stderr.
      expect(markdown.stdout).toMatch(/^# Dead code in history, \d{4}-\d\d-\d\d to \d{4}-\d\d-\d\d\n/);
      expect(markdown.stdout).not.toContain('report-dead-code completed');
      expect(markdown.stderr).toMatch(/report-dead-code completed .*\n  history: 8 candidates, 1 new and 1 resolved/);
      const check = await runCli(['check-dead-code', '--codebase', 'typescript', '--format', 'json'], backend.env);
      expect(check.code).toBe(0);
      expect(found(JSON.parse(check.stdout)[0].candidates)).toEqual(EXPECTED.typescript);
      // ... and records the count as a telemetry event for aggregate-metrics.
      expect(await db.query("select value from telemetry_events where name = 'dead_code.candidates.typescript'")).toEqual([{ value: EXPECTED.typescript!.length }]);
      const registry = await runCli(['sync-registry', '--codebase', 'typescript', '--json'], backend.env);
      expect(registry.code).toBe(0);
      expect(JSON.parse(registry.stdout).result[0].summary.cycles.count).toBe(1);
      const unknown = await runCli(['check-dead-code', '--codebase', 'nope'], backend.env);
      expect(unknown.code).toBe(2);
      expect(unknown.stderr).toContain("no codebase 'nope' has been ingested");
      expect(unknown.stderr).toContain('Ingested codebases: elixir, go, history, javascript, python, rust, shop, typescript');
      // A typo leaves no failed run for status to page about.
      expect(await db.query("select id from task_runs where task = 'check-dead-code' and state <> 'completed'")).toEqual([]);
      const format = await runCli(['report-dead-code', '--format', 'pdf'], backend.env);
      expect(format.code).toBe(2);
      expect(format.stderr).toMatch(/--format/);
    });

    it('keeps the number of checks it is told to, with their candidates', async () => {
      await checkDeadCode(db, { codebase: 'history', rules: DEFAULT_RULES, keep: 2 });
      const [{ checks, candidates }] = await db.query<{ checks: number; candidates: number }>(
        `select count(*)::int as checks, (select count(*)::int from dead_code_candidates c join dead_code_checks k on k.id = c.check_id
         where k.codebase = 'history') as candidates from dead_code_checks where codebase = 'history'`) as [{ checks: number; candidates: number }];
      expect({ checks, candidates }).toEqual({ checks: 2, candidates: 16 });
    });

    it('asks for one more ingest of a codebase ingested before names were recorded', async () => {
      await db.query("update code_files set names = null where codebase = 'rust' and path = 'src/lib.rs'");
      await expect(findDeadCode(db, 'rust', DEFAULT_RULES)).rejects.toThrow(
        "1 files of codebase 'rust' were ingested before singularity recorded the names each file mentions");
      const report = await ingestCodebase(db, { root: join(FIXTURES, 'rust'), codebase: 'rust' });
      expect(report.files.changed).toBe(1); // only that file is parsed again
      expect(found(await findDeadCode(db, 'rust', DEFAULT_RULES))).toEqual(EXPECTED.rust);
    });
  });
}
