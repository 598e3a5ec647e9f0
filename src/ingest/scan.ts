// Walking a codebase: every file ingest should read, and every one it should not, counted by why.
// Rules, per directory the way git applies them: each directory's .gitignore and .singularityignore
// (same syntax; a deeper file overrides a shallower one, a later line an earlier one, negations
// included), the root's .git/info/exclude, and a default deny list (vendored and built folders, lock
// files, secrets) that only a .singularityignore negation can lift (secrets: never).
// A file that passes is read no further than needed to decide: its first 64 KiB at most, for a NUL byte
// (binary), a generated-code marker in its first lines, and very long lines (minified). Its size comes
// from stat, so a 10 MB file costs one stat and one small read.
// Symlinks to files and folders inside the root are followed; a folder reached a second time (by its
// real path) is a loop and is skipped. Folders reached through symlinks are walked after all real ones,
// so that a folder is listed under its real path, not under a link to it.
import { closeSync, openSync, readdirSync, readFileSync, readSync, realpathSync, statSync, type Stats } from 'node:fs';
import { join, sep } from 'node:path';
import ignore, { type Ignore } from 'ignore';
import { UsageError } from '../core/errors.js';
import { languageOf } from './languages.js';

export type SkipReason =
  | 'ignored' // by a .gitignore, .singularityignore or .git/info/exclude
  | 'denied' // by the default deny list (its secrets part: detail 'a secret'), or singularity's own folders
  | 'binary'
  | 'minified'
  | 'generated'
  | 'too-large'
  | 'unreadable'
  | 'symlink-loop'
  | 'outside-root' // a symlink leading out of the root
  | 'broken-symlink'
  | 'not-a-file'; // a socket, a FIFO, a device

export const SKIP_REASONS: readonly SkipReason[] = [
  'ignored', 'denied', 'binary', 'minified', 'generated', 'too-large', 'unreadable', 'symlink-loop',
  'outside-root', 'broken-symlink', 'not-a-file',
];

export interface ScannedFile {
  /** Relative to the root, '/'-separated. */
  path: string;
  absolute: string;
  size: number;
  mtimeMs: number;
  /** The language whose grammar parses it (languages.ts), or null. */
  language: string | null;
}

export interface SkippedFile {
  /** Relative to the root, '/'-separated; a skipped folder ends with '/' (its files are not listed). */
  path: string;
  reason: SkipReason;
  detail?: string;
}

export interface ScanReport {
  /** The root's real path. */
  root: string;
  /** Sorted by path. */
  files: ScannedFile[];
  skipped: Record<SkipReason, number>;
  skippedFiles: SkippedFile[];
}

export interface ScanOptions {
  /** Larger files are skipped as too-large. Default 1 MiB. */
  maxFileBytes?: number;
  signal?: AbortSignal;
  /**
   * Whether a file was judged before at this size and mtime (ingest: it is stored so): such a file is
   * not read again to be judged, which makes an unchanged re-scan a walk of stats.
   */
  judgedBefore?: (path: string, size: number, mtimeMs: number) => boolean;
  /** Folders never walked, whatever an ignore file says: singularity's own (its database, its backups). */
  exclude?: readonly string[];
}

export const DEFAULT_MAX_FILE_BYTES = 1024 * 1024;

/** Folders of dependencies, build output and tool caches, and lock files. A .singularityignore negation lifts them. */
export const DENIED = [
  'node_modules/', 'bower_components/', 'jspm_packages/', 'vendor/', 'dist/', 'build/', 'target/', '_build/', 'deps/',
  '.git/', '.hg/', '.svn/', '__pycache__/', '.venv/', 'venv/', '.tox/', '.nox/', '.mypy_cache/', '.pytest_cache/',
  '.ruff_cache/', '.gradle/', '.idea/', '.vscode/', '.next/', '.nuxt/', '.svelte-kit/', '.parcel-cache/', '.turbo/',
  '.cache/', 'coverage/', '.nyc_output/', '.terraform/', '.dart_tool/', '.elixir_ls/', '.stack-work/', 'zig-cache/',
  '.zig-cache/', 'zig-out/', 'Pods/', 'DerivedData/', '*.egg-info/',
  'package-lock.json', 'npm-shrinkwrap.json', 'yarn.lock', 'pnpm-lock.yaml', 'bun.lockb', 'bun.lock', 'Cargo.lock',
  'mix.lock', 'poetry.lock', 'Pipfile.lock', 'uv.lock', 'pdm.lock', 'Gemfile.lock', 'go.sum', 'composer.lock',
  'Podfile.lock', 'pubspec.lock', 'flake.lock', 'packages.lock.json', 'gradle.lockfile', '*.min.js', '*.min.css', '*.map',
];

/** Files that hold secrets. Never read, whatever an ignore file says. */
export const SECRETS = [
  '.env', '.env.*', '*.pem', '*.key', '*.p12', '*.pfx', '*.jks', '*.keystore', 'id_rsa*', 'id_dsa*', 'id_ecdsa*',
  'id_ed25519*', 'credentials', 'credentials.json', 'credentials.yml', 'credentials.yaml', '.npmrc', '.pypirc', '.netrc',
  '.htpasswd', '*.kdbx', 'secrets.yml', 'secrets.yaml',
];

const IGNORE_FILES = ['.gitignore', '.singularityignore'] as const;
/** How much of a file is read to judge it. */
const SAMPLE_BYTES = 64 * 1024;
const BINARY_SAMPLE_BYTES = 8 * 1024;
/** Any line longer, or lines longer than this on average, make a file minified. */
const MAX_LINE = 1000;
const MAX_AVERAGE_LINE = 300;
/** Prose (Markdown, text) is written with a paragraph per line: only a far longer line counts against it. */
const PROSE = /\.(md|markdown|mdx|rst|txt|adoc|org)$/i;
const MAX_PROSE_LINE = 20_000;
/** Markers of generated code, looked for in a file's first lines. */
const GENERATED = /@generated\b|\bDO NOT EDIT\b|\bauto-?generated\b|\bautomatically generated\b|\bgenerated by (protoc|the protocol buffer compiler|thrift|swagger|openapi|sqlc|mockgen|stringer)/i;
const GENERATED_LINES = 10;

interface Level {
  /** Relative path of the directory the rules were written in ('' or 'a/b/'). */
  base: string;
  rules: Ignore;
  /** Rules of a .singularityignore, which may lift the deny list. */
  lifts: boolean;
}

type Decision = { skip: false } | { skip: true; reason: 'ignored' | 'denied'; detail?: string };

export async function scanCodebase(root: string, options: ScanOptions = {}): Promise<ScanReport> {
  const rootPath = realRoot(root);
  const maxBytes = options.maxFileBytes ?? DEFAULT_MAX_FILE_BYTES;
  const denied = ignore().add(DENIED);
  const secrets = ignore().add(SECRETS);
  const excluded = new Set((options.exclude ?? []).flatMap((folder) => {
    try {
      return [realpathSync.native(folder)];
    } catch {
      return []; // not there (yet): nothing of it to walk
    }
  }));
  const report: ScanReport = {
    root: rootPath,
    files: [],
    skipped: Object.fromEntries(SKIP_REASONS.map((r) => [r, 0])) as Record<SkipReason, number>,
    skippedFiles: [],
  };
  const skip = (path: string, reason: SkipReason, detail?: string) => {
    report.skipped[reason]++;
    report.skippedFiles.push(detail === undefined ? { path, reason } : { path, reason, detail });
  };

  /**
   * Whether to skip an entry of a folder that was itself not skipped. The `ignore` package also matches
   * a path through its parent folders; the walk decided those already (and may have lifted them), so
   * a rule that matches only through a parent is not counted against the entry. The deny lists have
   * no anchored patterns: they are matched against the entry's name.
   */
  const decide = (relative: string, name: string, levels: Level[], isDir: boolean): Decision => {
    const self = isDir ? `${name}/` : name;
    if (!isDir && secrets.ignores(self)) return { skip: true, reason: 'denied', detail: 'a secret' };
    let state: Decision = denied.ignores(self) ? { skip: true, reason: 'denied' } : { skip: false };
    const slash = relative.lastIndexOf('/');
    for (const level of levels) {
      const path = (isDir ? `${relative}/` : relative).slice(level.base.length);
      const result = level.rules.test(path);
      const parent = slash < level.base.length ? '' : relative.slice(level.base.length, slash + 1);
      if (result.ignored && !(parent && level.rules.test(parent).ignored)) {
        state = { skip: true, reason: state.skip && state.reason === 'denied' ? 'denied' : 'ignored' };
      } else if (result.unignored && (level.lifts || !(state.skip && state.reason === 'denied'))) state = { skip: false };
    }
    return state;
  };

  const visited = new Set<string>([rootPath]);
  const linked: Array<{ absolute: string; relative: string; levels: Level[] }> = [];
  let sinceYield = 0;

  const walk = async (dirAbsolute: string, dirRelative: string, inherited: Level[]): Promise<void> => {
    options.signal?.throwIfAborted();
    // Let timers and signals in now and then: the walk itself is synchronous (much faster so).
    if (++sinceYield >= 64) {
      sinceYield = 0;
      await new Promise((resolve) => setImmediate(resolve));
      options.signal?.throwIfAborted();
    }
    let entries;
    try {
      entries = readdirSync(dirAbsolute, { withFileTypes: true });
    } catch (error) {
      skip(dirRelative || './', 'unreadable', (error as NodeJS.ErrnoException).code ?? (error as Error).message);
      return;
    }
    const levels = [...inherited];
    if (dirRelative === '') levels.push(...readLevels([join(dirAbsolute, '.git', 'info', 'exclude')], '', false));
    for (const name of IGNORE_FILES) {
      // Looked for in the listing: trying to read one in every folder costs a failed open each.
      if (entries.some((entry) => entry.name === name)) levels.push(...readLevels([join(dirAbsolute, name)], dirRelative, name === '.singularityignore'));
    }
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const entry of entries) {
      const absolute = join(dirAbsolute, entry.name);
      const relative = dirRelative + entry.name;
      let isDir = entry.isDirectory();
      let isFile = entry.isFile();
      let target: string | undefined;
      if (entry.isSymbolicLink()) {
        try {
          target = realpathSync.native(absolute);
        } catch {
          skip(relative, 'broken-symlink');
          continue;
        }
        if (target !== rootPath && !target.startsWith(rootPath + sep)) {
          skip(relative, 'outside-root', target);
          continue;
        }
        try {
          const stats = statSync(target);
          isDir = stats.isDirectory();
          isFile = stats.isFile();
        } catch (error) {
          skip(relative, 'unreadable', (error as NodeJS.ErrnoException).code ?? (error as Error).message);
          continue;
        }
      }
      if (isDir) {
        const decision = decide(relative, entry.name, levels, true);
        if (decision.skip) skip(`${relative}/`, decision.reason);
        else if (target) linked.push({ absolute, relative, levels });
        else await enter(absolute, relative, levels);
        continue;
      }
      const decision = decide(relative, entry.name, levels, false);
      if (decision.skip) skip(relative, decision.reason, decision.detail);
      else if (!isFile) skip(relative, 'not-a-file');
      else {
        const file = judgeFile(absolute, relative, maxBytes, options.judgedBefore);
        if ('reason' in file) skip(relative, file.reason, file.detail);
        else report.files.push(file);
      }
    }
  };

  /** A folder, unless its real path was walked already (a loop, or a second way to the same folder). */
  const enter = async (absolute: string, relative: string, levels: Level[]): Promise<void> => {
    let real: string;
    try {
      real = realpathSync.native(absolute);
    } catch (error) {
      skip(`${relative}/`, 'unreadable', (error as NodeJS.ErrnoException).code ?? (error as Error).message);
      return;
    }
    if (excluded.has(real)) {
      skip(`${relative}/`, 'denied', "singularity's own data");
      return;
    }
    if (visited.has(real)) {
      skip(`${relative}/`, 'symlink-loop', `reaches ${real === rootPath ? '.' : real.slice(rootPath.length + 1).split(sep).join('/')} again`);
      return;
    }
    visited.add(real);
    await walk(absolute, `${relative}/`, levels);
  };

  await walk(rootPath, '', []);
  // Folders reached through symlinks, after every real one has been claimed by its real path.
  for (let next = linked.shift(); next; next = linked.shift()) await enter(next.absolute, next.relative, next.levels);
  report.files.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  return report;
}

/** The root's real path; a usage error when it is missing, not a folder, or unreadable. */
export function realRoot(root: string): string {
  let path: string;
  try {
    path = realpathSync.native(root);
  } catch {
    throw new UsageError(`the codebase root does not exist: ${root}`, { hint: 'Give the path of an existing folder.' });
  }
  if (!statSync(path).isDirectory()) throw new UsageError(`the codebase root is not a folder: ${root}`, { hint: 'Give the path of a folder.' });
  try {
    readdirSync(path);
  } catch (error) {
    throw new UsageError(`the codebase root cannot be read: ${root} (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`, {
      hint: 'Check the folder\'s permissions.',
    });
  }
  return path;
}

function readLevels(files: string[], base: string, lifts: boolean): Level[] {
  const levels: Level[] = [];
  for (const file of files) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      continue;
    }
    levels.push({ base, rules: ignore().add(text), lifts });
  }
  return levels;
}

/** A file's stat and its first bytes: a ScannedFile, or why it is skipped. */
function judgeFile(
  absolute: string, relative: string, maxBytes: number, judgedBefore: ScanOptions['judgedBefore'],
): ScannedFile | { reason: SkipReason; detail?: string } {
  let stats: Stats;
  let sample: Buffer | undefined;
  try {
    stats = statSync(absolute);
    if (!stats.isFile()) return { reason: 'not-a-file' };
    if (!judgedBefore?.(relative, stats.size, stats.mtimeMs)) sample = readHead(absolute, Math.min(stats.size, SAMPLE_BYTES));
  } catch (error) {
    return { reason: 'unreadable', detail: (error as NodeJS.ErrnoException).code ?? (error as Error).message };
  }
  const content = sample && contentProblem(sample, relative, stats.size);
  if (content) return content;
  if (stats.size > maxBytes) return { reason: 'too-large', detail: `${stats.size} bytes, over ${maxBytes}` };
  return { path: relative, absolute, size: stats.size, mtimeMs: stats.mtimeMs, language: languageOf(relative) };
}

function readHead(path: string, bytes: number): Buffer {
  const buffer = Buffer.alloc(bytes);
  const fd = openSync(path, 'r');
  try {
    let read = 0;
    while (read < bytes) {
      const n = readSync(fd, buffer, read, bytes - read, read);
      if (n === 0) break;
      read += n;
    }
    return buffer.subarray(0, read);
  } finally {
    closeSync(fd);
  }
}

/** Binary, generated or minified, judged from a file's first bytes; undefined when none. */
export function contentProblem(sample: Buffer, path: string, size: number): { reason: SkipReason; detail: string } | undefined {
  if (sample.subarray(0, BINARY_SAMPLE_BYTES).includes(0)) return { reason: 'binary', detail: 'a NUL byte in the first 8 KiB' };
  const text = sample.toString('utf8');
  const head = text.split('\n', GENERATED_LINES).join('\n');
  const marker = GENERATED.exec(head);
  if (marker) return { reason: 'generated', detail: `'${marker[0]}' in the first ${GENERATED_LINES} lines` };
  const prose = PROSE.test(path);
  const maxLine = prose ? MAX_PROSE_LINE : MAX_LINE;
  const lines = text.split('\n');
  // The last line of a sample may go on past it: it counts only once already too long.
  const complete = sample.length < size ? lines.slice(0, -1) : lines;
  let longest = 0;
  let total = 0;
  for (const line of complete) {
    longest = Math.max(longest, line.length);
    total += line.length;
  }
  const partial = sample.length < size ? lines.at(-1)!.length : 0;
  if (Math.max(longest, partial) > maxLine) return { reason: 'minified', detail: `a line of ${Math.max(longest, partial)}+ characters` };
  if (!prose && complete.length && total / complete.length > MAX_AVERAGE_LINE) {
    return { reason: 'minified', detail: `lines of ${Math.round(total / complete.length)} characters on average` };
  }
  return undefined;
}
