// check-dead-code on a real, larger codebase: dependency-cruiser as npm publishes it (hand-written ES
// modules, not built), copied out of node_modules/. Twenty of its candidates were checked by hand
// (docs/code-analysis.md has the table). This keeps what was found true: the sample is still reported,
// and no candidate's name appears in the code of the package outside its definition and comments.
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findDeadCode, shortName, type DeadCodeCandidate } from '../src/analysis/dead-code.js';
import { compileRules, DEFAULT_RULES } from '../src/analysis/dead-code-rules.js';
import type { Database } from '../src/core/database.js';
import { ingestCodebase, type IngestReport } from '../src/ingest/ingest.js';
import { createBackend, type Backend } from './support/backends.js';

const PACKAGE = fileURLToPath(new URL('../node_modules/dependency-cruiser/', import.meta.url));
// A devDependency pinned exactly: another version has other files and other candidates.
const VERSION = '17.4.2';

/**
 * The hand-checked sample: candidates number i·43/20 (i = 0..19) in path order. Every name is mentioned nowhere else, as
 * reported; only formatSummaryForReport is really dead code. The rest are used in ways a search by name
 * does not see: a default export imported under another name (or loaded by path with import()), an
 * export of package.json's "exports", a declaration file, a JSDoc type, a named function expression, a
 * method that a dependency calls.
 */
const SAMPLE = [
  'src/analyze/derive/circular.mjs:52 detectAndAddCycles', // default export, imported as deriveCycles
  'src/analyze/derive/metrics/index.mjs:7 deriveModulesMetrics', // default export, imported as deriveModuleMetrics
  'src/cache/metadata-strategy.mjs:20 MetaDataStrategy', // default export, imported as MetadataStrategy
  'src/cli/init-config/types.d.mts:1 OneShotConfigIDType', // named in JSDoc types only
  'src/config-utl/extract-depcruise-options.mjs:29 extractDepcruiseOptions', // a subpath in package.json "exports"
  'src/config-utl/extract-ts-config.mjs:22 getCurrentDirectory', // TypeScript's formatDiagnostics calls it
  'src/extract/acorn/extract-amd-deps.mjs:53 extractAMDDependencies', // default export, imported as extractAMDDeps
  'src/extract/extract-dependencies.mjs:98 addResolutionAttributes.addAttributes', // named function expression, returned
  'src/extract/swc/dependency-visitor.mjs:245 SwcDependencyVisitor.visitTsType', // overrides @swc/core's Visitor
  'src/extract/tsc/extract-typescript-deps.mjs:560 extractTypeScriptDependencies', // default export, imported as extractTypeScriptDeps
  'src/report/anon/index.mjs:180 reportAnonymous', // default export, loaded by path in report/index.mjs
  'src/report/azure-devops.mjs:173 azureDevOps', // likewise
  'src/report/dot-webpage/svg-in-html-snippets/script.cjs:3 makeElementMap', // a function expression called at once
  'src/report/dot-webpage/svg-in-html-snippets/script.cjs:37 getSelectHandler.selectHighlightHandler', // named function expression, an event handler
  'src/report/error-html/utl.mjs:86 formatSummaryForReport', // dead: exported, imported by nothing
  'src/report/null.mjs:7 nullReporter', // default export, loaded by path in report/index.mjs
  'types/config-utl/extract-depcruise-options.d.mts:16 extractDepcruiseOptions', // declaration of a public subpath
  'types/plugins/3d-reporter-plugin.d.mts:10 ThreeDReporterPlugin', // likewise
  'types/plugins/stats-reporter-plugin.d.mts:10 statsReporterPlugin', // likewise
  'types/strict-options.d.mts:25 IStrictCruiseOptions', // named in JSDoc types of 12 files
];

/** Every file of the folder, relative to it, with / between parts. */
function filesOf(root: string, dir = root): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    return entry.isDirectory() ? filesOf(root, path) : [relative(root, path).split('\\').join('/')];
  });
}

describe(`check-dead-code on dependency-cruiser ${VERSION}, copied out of node_modules`, { timeout: 120_000 }, () => {
  let backend: Backend;
  let db: Database;
  let report: IngestReport;
  let candidates: DeadCodeCandidate[];
  const copy = mkdtempSync(join(tmpdir(), 'sg-dead-real-'));

  beforeAll(async () => {
    const version = (JSON.parse(readFileSync(join(PACKAGE, 'package.json'), 'utf8')) as { version: string }).version;
    if (version !== VERSION) throw new Error(`node_modules has dependency-cruiser ${version}: the sample was checked on ${VERSION}`);
    // Its own dependencies, nested in node_modules, are no part of it.
    cpSync(PACKAGE, copy, { recursive: true, filter: (source) => !relative(PACKAGE, source).split(/[\\/]/).includes('node_modules') });
    backend = await createBackend('embedded');
    db = await backend.open();
    report = await ingestCodebase(db, { root: copy, codebase: 'dependency-cruiser' });
    candidates = await findDeadCode(db, 'dependency-cruiser', DEFAULT_RULES);
  });
  afterAll(async () => {
    await db?.close();
    await backend?.dispose();
    rmSync(copy, { recursive: true, force: true });
  });

  it('ingests its 239 files and finds 43 candidates, the sample among them', () => {
    // The figures docs/code-analysis.md gives: a change of rules that changes them changes the docs too.
    expect(report.files.scanned).toBe(239);
    expect(report.skipped).toEqual({ minified: 2 }); // the two generated schema validators
    expect(candidates).toHaveLength(43);
    const found = candidates.map((c) => `${c.path}:${c.line} ${c.symbol}`);
    expect(SAMPLE.filter((s) => !found.includes(s))).toEqual([]);
  });

  it("reports no name that the package's code mentions outside its definitions and comments", () => {
    // A crude scan, independent of ingest: every file but prose, comment lines dropped, and for each name
    // the lines where a candidate of that name is defined (two declaration files both define
    // statsReporterPlugin; extractDepcruiseOptions has its source and its declaration).
    const { prose } = compileRules(DEFAULT_RULES);
    const comment = /^\s*(\/\/|\/\*|\*)/;
    const lines = new Map(filesOf(copy).filter((p) => !prose(p)).map((p) => [p, readFileSync(join(copy, p), 'utf8').split('\n')]));
    const mentions: string[] = [];
    for (const name of new Set(candidates.map((c) => shortName(c.symbol)))) {
      const word = new RegExp(`(?<![\\p{L}\\p{N}_$])${name.replace(/\$/g, '\\$')}(?![\\p{L}\\p{N}_$])`, 'u');
      const definitions = new Set(candidates.filter((c) => shortName(c.symbol) === name).map((c) => `${c.path}:${c.line}`));
      for (const [path, text] of lines) {
        text.forEach((line, i) => {
          if (!definitions.has(`${path}:${i + 1}`) && !comment.test(line) && word.test(line)) mentions.push(`${path}:${i + 1} ${name}`);
        });
      }
    }
    expect(mentions).toEqual([]);
  });
});
