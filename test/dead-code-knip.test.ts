// check-dead-code beside knip, a well-kept dead-code analyser for TypeScript that runs offline, on the same
// fixture: which findings both make, which only one of them makes, each difference with its reason. A
// change on either side (our rules, or a knip upgrade) changes one of the lists and fails the test.
import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findDeadCode } from '../src/analysis/dead-code.js';
import { DEFAULT_RULES } from '../src/analysis/dead-code-rules.js';
import type { Database } from '../src/core/database.js';
import { ingestCodebase } from '../src/ingest/ingest.js';
import { createBackend, type Backend } from './support/backends.js';

const FIXTURE = fileURLToPath(new URL('./fixtures/analysis/typescript/', import.meta.url));
const KNIP = fileURLToPath(new URL('../node_modules/.bin/knip', import.meta.url));

interface KnipFindings {
  /** Files no entry point reaches through imports. */
  files: string[];
  /** Exports (values and types) that no other module imports, as `path name`. */
  exports: string[];
}

/** knip's JSON report, reduced to what it found: unused files, and unused exports of every kind. */
async function runKnip(folder: string): Promise<KnipFindings> {
  // knip exits 1 when it finds something: that is its answer, not a failure.
  const result = await execa(KNIP, ['--reporter', 'json', '--no-progress', '--no-config-hints'], { cwd: folder, reject: false });
  if (result.exitCode !== 0 && result.exitCode !== 1) throw new Error(`knip failed (${result.exitCode}): ${result.stderr}`);
  const report = JSON.parse(result.stdout) as { issues: Array<Record<string, unknown> & { file: string }> };
  const files: string[] = [];
  const exports: string[] = [];
  for (const issue of report.issues) {
    for (const [type, found] of Object.entries(issue)) {
      if (!Array.isArray(found)) continue;
      for (const item of found as Array<{ name: string }>) {
        if (type === 'files') files.push(item.name);
        else exports.push(`${issue.file} ${item.name}`); // exports, types, enumMembers, duplicates, ...
      }
    }
  }
  return { files: files.sort(), exports: exports.sort() };
}

// knip starts in about a second here; the timeout leaves room for a loaded machine.
describe('check-dead-code beside knip on the TypeScript fixture', { timeout: 120_000 }, () => {
  let backend: Backend;
  let db: Database;
  let ours: string[];
  const scratch = mkdtempSync(join(tmpdir(), 'sg-knip-'));

  beforeAll(async () => {
    cpSync(FIXTURE, scratch, { recursive: true });
    backend = await createBackend('embedded');
    db = await backend.open();
    await ingestCodebase(db, { root: scratch, codebase: 'typescript' }); // before knip.json is written
    ours = (await findDeadCode(db, 'typescript', DEFAULT_RULES)).map((c) => `${c.path} ${c.symbol}`).sort();
  });
  afterAll(async () => {
    await db?.close();
    await backend?.dispose();
    rmSync(scratch, { recursive: true, force: true });
  });

  it('without a config, knip takes the test file for unused, which check-dead-code never does', async () => {
    // knip learns that test/*.test.ts are entry points from its vitest plugin, which it enables only when
    // package.json lists vitest; the fixture's does not. check-dead-code knows test files by their names.
    const knip = await runKnip(scratch);
    expect(knip.files).toEqual(['src/util/strings.ts', 'test/cart.test.ts']);
    expect(ours.filter((c) => c.startsWith('test/'))).toEqual([]);
  });

  it('told that tests are entry points, knip agrees on the exports and misses what is not exported', async () => {
    writeFileSync(join(scratch, 'knip.json'), JSON.stringify({ entry: ['test/**/*.test.ts'], project: ['**/*.ts'] }));
    const knip = await runKnip(scratch);
    const inKnipFile = (c: string) => knip.files.includes(c.split(' ')[0]!);

    // Both: exported from a file that is no entry point, imported by no module. Entry files' exports
    // (total, Catalogue in src/index.ts) are public API to both of us, and neither reports them.
    expect(ours.filter((c) => knip.exports.includes(c))).toEqual(['src/cart.ts Discount', 'src/format.ts formatLegacy']);

    // Both, at another grain: knip reports a file no import reaches as one finding and says nothing of its
    // exports; check-dead-code reports each of its definitions that no file mentions.
    expect(knip.files).toEqual(['src/util/strings.ts']);
    expect(ours.filter(inKnipFile)).toEqual(['src/util/strings.ts Shouted', 'src/util/strings.ts shout']);

    // Only knip: nothing on this fixture. knip resolves imports, so it would also catch an export whose
    // name is mentioned elsewhere without being imported (a namesake, a string); check-dead-code matches
    // names, and keeps every definition of a name that any file mentions.
    expect(knip.exports.filter((k) => !ours.includes(k))).toEqual([]);

    // Only check-dead-code: definitions that are not exports. knip looks at the module graph (files,
    // exports, dependencies), and its version 6 has no check of class members; TypeScript's
    // noUnusedLocals catches the unexported function and the private method, but not a public method of
    // an exported class (Cart.describe), which neither of them reports.
    expect(ours.filter((c) => !knip.exports.includes(c) && !inKnipFile(c))).toEqual([
      'src/cart.ts Cart.describe',
      'src/format.ts unusedLocal',
      'src/index.ts Catalogue.unusedHelper',
      'src/index.ts neverCalledInIndex',
    ]);
  });
});
