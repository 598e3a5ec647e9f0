import { cpSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UsageError } from '../src/core/errors.js';
import { scanCodebase, SKIP_REASONS, type SkipReason } from '../src/ingest/scan.js';

const FIXTURE = join(import.meta.dirname, 'fixtures/ingest/repo');
const temps: string[] = [];

function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  temps.push(dir);
  return dir;
}

/** Writes files (and their folders) under root. */
function writeFiles(root: string, files: Record<string, string>): void {
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(join(root, path, '..'), { recursive: true });
    writeFileSync(join(root, path), text);
  }
}

/** A copy of the fixture repo, plus what git cannot hold or would ignore: ignored files, secrets, dependencies, symlinks. */
function fixtureCopy(): string {
  const root = tempDir('ingest-scan-');
  cpSync(FIXTURE, root, { recursive: true });
  writeFiles(root, {
    'debug.log': 'ignored by the root .gitignore\n',
    'tmp/scratch.ts': 'export const ignored = true;\n',
    'sub/notes.txt': 'ignored by the nested .gitignore\n',
    'docs/drafts/idea.md': 'ignored by .singularityignore\n',
    'plan.draft.md': 'ignored by .singularityignore\n',
    '.env': 'PASSWORD=hunter2\n',
    'node_modules/left-pad/index.js': 'module.exports = (s) => s;\n',
    'data/big.sql': 'INSERT INTO t VALUES (1);\n'.repeat(60_000), // 1.5 MB of short lines
  });
  mkdirSync(join(root, 'loops'));
  symlinkSync('..', join(root, 'loops/self')); // back to the root: a loop
  mkdirSync(join(root, 'links'));
  symlinkSync('../src', join(root, 'links/src')); // a folder walked already
  symlinkSync('../src/util.js', join(root, 'links/util.js')); // a file inside the root: followed
  symlinkSync('../nowhere', join(root, 'links/broken'));
  symlinkSync(tmpdir(), join(root, 'outside'));
  return root;
}

afterAll(() => {
  for (const dir of temps) rmSync(dir, { recursive: true, force: true });
});

describe('scanCodebase on the fixture repo', () => {
  let report: Awaited<ReturnType<typeof scanCodebase>>;
  beforeAll(async () => {
    report = await scanCodebase(fixtureCopy());
  });

  it('lists exactly the files to ingest, sorted, with their language', () => {
    expect(report.files.map((f) => [f.path, f.language])).toEqual([
      ['.gitignore', null],
      ['.singularityignore', null],
      ['README.md', null],
      ['config/settings.yaml', 'yaml'],
      ['docs/guide.md', null],
      ['elixir/lib/cart.ex', 'elixir'],
      ['java/Sample.java', 'java'],
      ['lib/store.py', 'python'],
      ['links/util.js', 'javascript'],
      ['native/point.c', 'c'],
      ['native/point.h', 'c'],
      ['native/shape.cpp', 'cpp'],
      ['package.json', 'json'],
      ['ruby/cart.rb', 'ruby'],
      ['rust/src/lib.rs', 'rust'],
      ['server/main.go', 'go'],
      ['src/app.ts', 'typescript'],
      ['src/components/Button.tsx', 'tsx'],
      ['src/util.js', 'javascript'],
      ['sub/.gitignore', null],
      ['sub/keep.txt', null],
      ['vendor/dep.go', 'go'],
    ]);
    const app = report.files.find((f) => f.path === 'src/app.ts')!;
    expect(app.absolute).toBe(join(report.root, 'src/app.ts'));
    expect(app.size).toBeGreaterThan(0);
    expect(app.mtimeMs).toBeGreaterThan(0);
  });

  it('counts every skip by reason and names each skipped file', () => {
    const expected: Partial<Record<SkipReason, string[]>> = {
      ignored: ['debug.log', 'docs/drafts/', 'plan.draft.md', 'sub/notes.txt', 'tmp/'],
      denied: ['.env', 'build/', 'node_modules/', 'package-lock.json'],
      binary: ['assets/logo.png'],
      minified: ['web/bundle.js'],
      generated: ['gen/schema_pb.go'],
      'too-large': ['data/big.sql'],
      'symlink-loop': ['links/src/', 'loops/self/'],
      'outside-root': ['outside'],
      'broken-symlink': ['links/broken'],
    };
    for (const reason of SKIP_REASONS) {
      const paths = report.skippedFiles.filter((s) => s.reason === reason).map((s) => s.path).sort();
      expect({ reason, paths }).toEqual({ reason, paths: expected[reason] ?? [] });
      expect(report.skipped[reason]).toBe(paths.length);
    }
    expect(report.skippedFiles.find((s) => s.path === '.env')?.detail).toBe('a secret');
  });
});

describe('scanCodebase rules', () => {
  it('lets a .singularityignore negation lift the deny list, but not a .gitignore negation, and never for secrets', async () => {
    const root = tempDir('ingest-lift-');
    writeFiles(root, {
      'dist/a.js': 'a();\n',
      'build/b.js': 'b();\n',
      'server.key': 'secret\n',
      '.gitignore': '!dist/\n',
      '.singularityignore': '!build/\n!server.key\n',
    });
    const report = await scanCodebase(root);
    expect(report.files.map((f) => f.path)).toEqual(['.gitignore', '.singularityignore', 'build/b.js']);
    expect(report.skippedFiles).toEqual([
      { path: 'dist/', reason: 'denied' },
      { path: 'server.key', reason: 'denied', detail: 'a secret' },
    ]);
  });

  it('never walks an excluded folder (singularity\'s own database and backups), whatever an ignore file says', async () => {
    const root = tempDir('ingest-own-');
    writeFiles(root, {
      'app.ts': 'export const app = 1;\n',
      '.singularity/pgdata/postgresql.conf': 'port = 5432\n',
      'keep/backups/db.sql': 'select 1;\n',
      '.singularityignore': '!.singularity/\n',
    });
    const report = await scanCodebase(root, { exclude: [join(root, '.singularity'), join(root, 'keep/backups'), join(root, 'absent')] });
    expect(report.files.map((f) => f.path)).toEqual(['.singularityignore', 'app.ts']);
    expect(report.skippedFiles).toEqual([
      { path: '.singularity/', reason: 'denied', detail: "singularity's own data" },
      { path: 'keep/backups/', reason: 'denied', detail: "singularity's own data" },
    ]);
  });

  it('applies a nested .gitignore to paths relative to its folder, a deeper rule overriding a shallower one', async () => {
    const root = tempDir('ingest-nested-');
    writeFiles(root, {
      '.gitignore': '*.gen.ts\n/top.ts\n',
      'top.ts': 'x;\n',
      'a/top.ts': 'x;\n', // /top.ts is anchored to the root
      'a/.gitignore': '!keep.gen.ts\nb/*.py\n',
      'a/keep.gen.ts': 'x;\n',
      'a/drop.gen.ts': 'x;\n',
      'a/b/c.py': 'x = 1\n',
      'a/b/c.rb': 'x = 1\n',
    });
    const report = await scanCodebase(root);
    expect(report.files.map((f) => f.path)).toEqual(['.gitignore', 'a/.gitignore', 'a/b/c.rb', 'a/keep.gen.ts', 'a/top.ts']);
    expect(report.skippedFiles.map((s) => s.path).sort()).toEqual(['a/b/c.py', 'a/drop.gen.ts', 'top.ts']);
  });

  it('rejects a 10 MB generated file and a 1 MB single-line bundle from their first bytes', async () => {
    const root = tempDir('ingest-big-');
    writeFileSync(join(root, 'schema.gen.ts'), `// @generated by a schema compiler\n${'export const x = 1;\n'.repeat(550_000)}`);
    writeFileSync(join(root, 'bundle.js'), `var a=${'1+'.repeat(500_000)}1;`);
    const report = await scanCodebase(root, { maxFileBytes: 64 * 1024 * 1024 });
    expect(report.files).toEqual([]);
    expect(report.skippedFiles).toEqual([
      { path: 'bundle.js', reason: 'minified', detail: 'a line of 65536+ characters' },
      { path: 'schema.gen.ts', reason: 'generated', detail: "'@generated' in the first 10 lines" },
    ]);
  });

  it('does not read a file again that was judged at its size and mtime before; one changed since is judged', async () => {
    const root = tempDir('ingest-judged-');
    writeFileSync(join(root, 'a.ts'), 'export const a = 1;\n');
    writeFileSync(join(root, 'b.ts'), 'export const b = 1;\n');
    const mtime = new Date('2026-01-05T10:00:00Z');
    for (const name of ['a.ts', 'b.ts']) utimesSync(join(root, name), mtime, mtime);
    const first = await scanCodebase(root);
    const judged = new Map(first.files.map((f) => [f.path, `${f.size}:${f.mtimeMs}`]));
    // Both turn binary at the same size; only b's mtime moves. A read would find the NUL byte in each.
    writeFileSync(join(root, 'a.ts'), 'export const a = 1;\0');
    utimesSync(join(root, 'a.ts'), mtime, mtime);
    writeFileSync(join(root, 'b.ts'), 'export const b = 1;\0');
    utimesSync(join(root, 'b.ts'), mtime, new Date(mtime.getTime() + 5000));
    const again = await scanCodebase(root, { judgedBefore: (path, size, mtimeMs) => judged.get(path) === `${size}:${mtimeMs}` });
    expect(again.files.map((f) => f.path)).toEqual(['a.ts']);
    expect(again.skippedFiles).toEqual([{ path: 'b.ts', reason: 'binary', detail: 'a NUL byte in the first 8 KiB' }]);
  });

  it('throws a usage error for a root that is missing or not a folder', async () => {
    const root = tempDir('ingest-root-');
    writeFileSync(join(root, 'file.txt'), 'x\n');
    await expect(scanCodebase(join(root, 'missing'))).rejects.toThrow(UsageError);
    await expect(scanCodebase(join(root, 'missing'))).rejects.toThrow(/does not exist/);
    await expect(scanCodebase(join(root, 'file.txt'))).rejects.toThrow(/not a folder/);
  });

  it('stops when its signal is aborted', async () => {
    await expect(scanCodebase(FIXTURE, { signal: AbortSignal.abort() })).rejects.toThrow(/abort/i);
  });
});
