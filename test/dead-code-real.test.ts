// check-dead-code on real, larger codebases: packages as npm publishes them, copied out of node_modules/.
// Their candidates were checked by hand (docs/code-analysis.md has the table). This keeps what was found
// true: exactly those are reported, and no candidate's name appears in the package's code outside its
// definition and comments.
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

/**
 * Real packages as npm publishes them, copied out of node_modules/ (both are dependencies pinned exactly:
 * another version has other files and other candidates). Every candidate of both was checked by hand
 * (docs/code-analysis.md has the table): each is unreferenced, and dead in the package as published.
 */
const PACKAGES: Record<string, { version: string; files: number; expected: string[] }> = {
  // Hand-written ES modules: the one export no module imports and no package.json path publishes.
  'dependency-cruiser': { version: '17.4.2', files: 239, expected: ['src/report/error-html/utl.mjs:86 formatSummaryForReport'] },
  // zod ships its TypeScript source: a module of interfaces that nothing imports.
  zod: {
    version: '4.6.7', files: 822,
    expected: ['String', 'Number', 'Boolean', 'Null', 'Undefined', 'Optional', 'Never', 'Any', 'Enum', 'Array', 'Object', 'Union', 'Intersection', 'Map', 'Conditional']
      .map((t, i) => `src/v4/core/zsf.ts:${[14, 23, 31, 35, 39, 43, 48, 52, 57, 62, 75, 96, 101, 106, 112][i]} $ZSF${t}`),
  },
};

/** Every file of the folder, relative to it, with / between parts. */
function filesOf(root: string, dir = root): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    return entry.isDirectory() ? filesOf(root, path) : [relative(root, path).split('\\').join('/')];
  });
}

for (const [name, { version, files, expected }] of Object.entries(PACKAGES)) {
  describe(`check-dead-code on ${name} ${version}, copied out of node_modules`, { timeout: 180_000 }, () => {
    const source = fileURLToPath(new URL(`../node_modules/${name}/`, import.meta.url));
    let backend: Backend;
    let db: Database;
    let report: IngestReport;
    let candidates: DeadCodeCandidate[];
    const copy = mkdtempSync(join(tmpdir(), 'sg-dead-real-'));

    beforeAll(async () => {
      const installed = (JSON.parse(readFileSync(join(source, 'package.json'), 'utf8')) as { version: string }).version;
      if (installed !== version) throw new Error(`node_modules has ${name} ${installed}: its candidates were checked on ${version}`);
      // Its own dependencies, nested in node_modules, are no part of it.
      cpSync(source, copy, { recursive: true, filter: (from) => !relative(source, from).split(/[\\/]/).includes('node_modules') });
      backend = await createBackend('embedded');
      db = await backend.open();
      report = await ingestCodebase(db, { root: copy, codebase: name });
      candidates = await findDeadCode(db, name, DEFAULT_RULES);
    });
    afterAll(async () => {
      await db?.close();
      await backend?.dispose();
      rmSync(copy, { recursive: true, force: true });
    });

    it(`ingests its ${files} files and finds exactly the candidates checked by hand`, () => {
      // The figures docs/code-analysis.md gives: a change of rules that changes them changes the docs too.
      expect(report.files.scanned).toBe(files);
      expect(candidates.map((c) => `${c.path}:${c.line} ${c.symbol}`)).toEqual(expected);
    });

    it("reports no name that the package's code mentions outside its definitions and comments", () => {
      // A crude scan, independent of ingest: every file but prose, comment lines dropped, and for each name
      // the lines where a candidate of that name is defined.
      const { prose } = compileRules(DEFAULT_RULES);
      const comment = /^\s*(\/\/|\/\*|\*)/;
      const lines = new Map(filesOf(copy).filter((p) => !prose(p)).map((p) => [p, readFileSync(join(copy, p), 'utf8').split('\n')]));
      const mentions: string[] = [];
      for (const short of new Set(candidates.map((c) => shortName(c.symbol)))) {
        const word = new RegExp(`(?<![\\p{L}\\p{N}_$])${short.replace(/\$/g, '\\$')}(?![\\p{L}\\p{N}_$])`, 'u');
        const definitions = new Set(candidates.filter((c) => shortName(c.symbol) === short).map((c) => `${c.path}:${c.line}`));
        for (const [path, text] of lines) {
          text.forEach((line, i) => {
            if (!definitions.has(`${path}:${i + 1}`) && !comment.test(line) && word.test(line)) mentions.push(`${path}:${i + 1} ${short}`);
          });
        }
      }
      expect(mentions).toEqual([]);
    });
  });
}
