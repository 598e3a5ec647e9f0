// export-knowledge's git side: promoted artifacts become templates_data/learned/<type>/<id>.json on a new
// branch `learned-patterns-YYYYMMDD-N` with one commit. The commit is built beside the user's checkout with
// plumbing (a temporary index, hash-object, write-tree, commit-tree, update-ref), so their current branch,
// index and working tree are never read or written, however dirty. Which artifacts qualify is decided
// elsewhere (on the central database); this module writes what it is given.
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { execa, ExecaError } from 'execa';
import { SingularityError, UsageError } from '../core/errors.js';
import { redact } from '../core/redact.js';

/** An artifact chosen for promotion; written as templates_data/learned/<type>/<id>.json, pretty JSON and a newline. */
export interface PromotedArtifact {
  type: string;
  id: string;
  content: unknown;
}

export interface ExportResult {
  /** The work tree's top level (`repo` may name a folder inside it). */
  repo: string;
  /** The new branch, or null when nothing was exported (see `reason`). */
  branch: string | null;
  commit: string | null;
  /** The files the commit adds or changes, relative to the top level. */
  files: string[];
  pushed: boolean;
  /** Why there is no branch. */
  reason?: string;
}

export interface ExportOptions {
  repo: string;
  artifacts: PromotedArtifact[];
  push?: boolean;
  /** Where `push` sends the branch; 'origin' by default. */
  remote?: string;
  /** Its UTC date names the branch. */
  now?: Date;
  signal?: AbortSignal;
  /** Author and committer of the commit; without it, git's configured identity, else a fallback. */
  author?: { name: string; email: string };
}

/** git failed (or was stopped) while building or pushing the branch. After a failed push, `branch` names the branch that exists locally. */
export class ExportError extends SingularityError {
  readonly branch?: string;
  readonly commit?: string;
  constructor(message: string, options?: { hint?: string; cause?: unknown; branch?: string; commit?: string }) {
    super(message, options);
    this.branch = options?.branch;
    this.commit = options?.commit;
  }
}

const LEARNED_DIR = 'templates_data/learned';
const BRANCH_PREFIX = 'learned-patterns-';
const FALLBACK_IDENTITY = { name: 'singularity', email: 'singularity@localhost' };
// No leading dot: that rules out '.', '..' and '.git' (which git refuses in a tree) in one go.
const SAFE_SEGMENT = /^[A-Za-z0-9_-][A-Za-z0-9._-]*$/;
const MAX_SEGMENT = 200;
// Variables that would point git at another repository or index than `repo`'s (a hook running us sets them).
const REPOSITORY_VARIABLES = ['GIT_DIR', 'GIT_WORK_TREE', 'GIT_INDEX_FILE', 'GIT_OBJECT_DIRECTORY', 'GIT_ALTERNATE_OBJECT_DIRECTORIES', 'GIT_COMMON_DIR', 'GIT_NAMESPACE', 'GIT_PREFIX'];

interface Planned {
  label: string;
  path: string;
  text: string;
}

export async function exportToRepository(options: ExportOptions): Promise<ExportResult> {
  // Everything that can be checked without git is checked first, so that a bad input writes nothing.
  const planned = planArtifacts(options.artifacts);
  const remote = options.remote ?? 'origin';
  if (options.push && (!remote || remote.startsWith('-'))) {
    throw new UsageError(`The remote '${remote}' cannot be used: a remote's name or URL must not be empty or start with '-'.`);
  }
  if (options.author) checkIdentity(options.author);
  const day = utcDay(options.now ?? new Date());

  const repo = await topLevel(resolve(options.repo), options.signal);
  const git = gitIn(repo, options.signal);
  const head = await headCommit(git, repo);
  const none = (reason: string): ExportResult => ({ repo, branch: null, commit: null, files: [], pushed: false, reason });
  if (planned.length === 0) return none('no artifact qualifies');

  const temp = await mkdtemp(join(tmpdir(), 'singularity-export-'));
  try {
    // Blobs go into the object store at once: an unchanged file's blob is already there, so nothing new is
    // written unless something changed. --no-filters: the bytes are ours, not the work tree's (no autocrlf).
    const blobPaths = planned.map((_, i) => join(temp, `blob-${i}`));
    await Promise.all(planned.map((p, i) => writeFile(blobPaths[i]!, p.text)));
    const hashes = (await git(['hash-object', '-w', '--no-filters', '--stdin-paths'], { input: blobPaths.join('\n') + '\n' })).split('\n');
    const existing = await treeEntries(git, head);

    const changes = planned
      .map((p, i) => ({ ...p, blob: hashes[i]!, before: existing.get(p.path) }))
      .filter((c) => !(c.before?.mode === '100644' && c.before.blob === c.blob));
    if (changes.length === 0) {
      return none(`every artifact (${planned.length}) is already at HEAD (${head.slice(0, 12)}) with identical content`);
    }

    // A private index: read-tree HEAD, the new entries, write-tree. The user's .git/index is never opened.
    const index = { GIT_INDEX_FILE: join(temp, 'index') };
    await git(['-c', 'core.splitIndex=false', 'read-tree', head], { env: index });
    const entries = changes.map((c) => `100644 ${c.blob}\t${c.path}\0`).join('');
    await git(['-c', 'core.splitIndex=false', 'update-index', '--add', '-z', '--index-info'], { env: index, input: entries });
    const tree = await git(['write-tree'], { env: index });

    const message = commitMessage(day, changes.map((c) => `${c.before ? 'updated' : 'added'} ${c.label}`));
    const commit = await git(['commit-tree', tree, '-p', head], { env: await identity(git, options.author), input: message });

    const branch = await createBranch(git, day, commit, options.push ? remote : undefined);
    const files = changes.map((c) => c.path);
    if (!options.push) return { repo, branch, commit, files, pushed: false };

    try {
      // A full refspec: a tag of the same name cannot be pushed instead. No prompt: this runs unattended.
      await git(['push', '--quiet', remote, `refs/heads/${branch}:refs/heads/${branch}`], { env: { GIT_TERMINAL_PROMPT: '0' } });
    } catch (error) {
      throw new ExportError(`The branch ${branch} was created locally (commit ${commit.slice(0, 12)}), but pushing it to '${scrub(remote)}' failed: ${gitSaid(error)}`, {
        hint: `Push it yourself once that is fixed: git -C ${repo} push ${scrub(remote)} ${branch}`,
        cause: error,
        branch,
        commit,
      });
    }
    return { repo, branch, commit, files, pushed: true };
  } finally {
    await rm(temp, { recursive: true, force: true });
  }
}

/** Each artifact's path and text, sorted by path; a bad type or id, an artifact twice or content that is not JSON is a UsageError. */
function planArtifacts(artifacts: PromotedArtifact[]): Planned[] {
  const byPath = new Map<string, Planned>();
  for (const artifact of artifacts) {
    for (const [field, value] of [['type', artifact.type], ['id', artifact.id]] as const) {
      if (typeof value !== 'string' || value.length > MAX_SEGMENT || !SAFE_SEGMENT.test(value) || value.includes('..')) {
        throw new UsageError(
          `The artifact ${field} ${JSON.stringify(value)} cannot be a file name under ${LEARNED_DIR}/: it must be 1 to ${MAX_SEGMENT} ` +
            `letters, digits, '.', '_' or '-', not start with '.' and not contain '..'. Nothing was exported.`,
        );
      }
    }
    const label = `${artifact.type}/${artifact.id}`;
    const path = `${LEARNED_DIR}/${label}.json`;
    if (byPath.has(path)) throw new UsageError(`The artifact ${label} is given twice; nothing was exported.`);
    let json: string | undefined;
    try {
      json = JSON.stringify(artifact.content, null, 2);
    } catch (error) {
      throw new UsageError(`The content of the artifact ${label} cannot be written as JSON: ${(error as Error).message}. Nothing was exported.`);
    }
    if (json === undefined) throw new UsageError(`The artifact ${label} has no JSON content (${typeof artifact.content}); nothing was exported.`);
    byPath.set(path, { label, path, text: json + '\n' });
  }
  return [...byPath.values()].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

function checkIdentity(author: { name: string; email: string }): void {
  for (const [field, value] of [['name', author.name], ['email', author.email]] as const) {
    if (typeof value !== 'string' || !value.trim() || /[<>\n\0]/.test(value)) {
      throw new UsageError(`The author's ${field} ${JSON.stringify(value)} cannot be used: it must not be empty or contain '<', '>' or a line break.`);
    }
  }
}

type Git = (args: string[], options?: { env?: Record<string, string>; input?: string }) => Promise<string>;

/** A git runner in `cwd`: argument arrays, no shell, the caller's signal; failures become typed errors. */
function gitIn(cwd: string, signal?: AbortSignal): Git {
  const base: Record<string, string | undefined> = Object.fromEntries(REPOSITORY_VARIABLES.map((name) => [name, undefined]));
  return async (args, options = {}) => {
    try {
      const { stdout } = await execa('git', args, {
        cwd,
        // undefined removes an inherited variable.
        env: { ...base, ...options.env },
        input: options.input,
        stdin: options.input === undefined ? 'ignore' : undefined,
        cancelSignal: signal,
        forceKillAfterDelay: 5_000,
      });
      return stdout;
    } catch (error) {
      throw gitError(args, error);
    }
  };
}

function gitError(args: string[], error: unknown): Error {
  if (!(error instanceof ExecaError)) return error as Error;
  if (error.code === 'ENOENT') {
    return new UsageError('git is not installed: it is not on PATH.', { hint: 'Install git (Debian: apt-get install git) and put it on PATH.' });
  }
  if (error.isCanceled) return new ExportError(`git ${args[0]} was stopped: ${(error.cause as Error | undefined)?.message ?? 'cancelled'}`, { cause: error });
  return new ExportError(`git ${args.find((a) => !a.startsWith('-') && !a.includes('='))} failed: ${gitSaid(error)}`, { cause: error });
}

/** What git said, on one line, without credentials. */
function gitSaid(error: unknown): string {
  if (!(error instanceof SingularityError)) return scrub(String(error));
  const cause = error.cause;
  if (!(cause instanceof ExecaError)) return scrub(error.message);
  const said = String(cause.stderr ?? '').split('\n').map((l) => l.trim()).filter(Boolean).join('; ');
  const how = cause.signal ? `killed by ${cause.signal}` : `exit code ${cause.exitCode}`;
  return scrub(`${said ? said.slice(0, 1000) : 'no message'} (${how})`);
}

/** redact(), and also a URL's user part alone (https://TOKEN@host), which redact() keeps: remotes often carry a token there. */
function scrub(text: string): string {
  return redact(text).replace(/\b([a-z][a-z0-9+.-]*:\/\/)([^/\s@:]+)@/gi, '$1***@');
}

/** The top level of the work tree at `path`, or a UsageError saying what to do. */
async function topLevel(path: string, signal?: AbortSignal): Promise<string> {
  const info = await stat(path).catch(() => undefined);
  if (!info?.isDirectory()) {
    throw new UsageError(`The repository ${path} ${info ? 'is not a folder' : 'does not exist'}.`, {
      hint: 'Give the folder of a git clone of the templates repository (git clone URL FOLDER).',
    });
  }
  try {
    return await gitIn(path, signal)(['rev-parse', '--show-toplevel']);
  } catch (error) {
    if (!(error instanceof ExportError) || (error.cause as ExecaError | undefined)?.isCanceled) throw error;
    throw new UsageError(`${path} is not in a git work tree: ${gitSaid(error)}`, {
      hint: 'Give the folder of a git clone of the templates repository (git clone URL FOLDER), or run git init there and make a first commit.',
    });
  }
}

async function headCommit(git: Git, repo: string): Promise<string> {
  try {
    return await git(['rev-parse', '--verify', '--quiet', 'HEAD^{commit}']);
  } catch (error) {
    if ((error as { cause?: ExecaError }).cause?.isCanceled) throw error;
    throw new UsageError(`The repository ${repo} has no commit yet: the branch is built on top of HEAD.`, {
      hint: `Make a first commit there (git -C ${repo} commit --allow-empty -m "First commit").`,
      cause: error,
    });
  }
}

/** The blobs under templates_data/learned/ at `commit`: path -> mode and object id. */
async function treeEntries(git: Git, commit: string): Promise<Map<string, { mode: string; blob: string }>> {
  const out = await git(['ls-tree', '-r', '-z', '--full-tree', commit, '--', LEARNED_DIR]);
  const entries = new Map<string, { mode: string; blob: string }>();
  for (const record of out.split('\0')) {
    // "<mode> <type> <object>\t<path>"
    const match = /^(\d+) (\w+) ([0-9a-f]+)\t(.*)$/s.exec(record);
    if (match) entries.set(match[4]!, { mode: match[1]!, blob: match[3]! });
  }
  return entries;
}

/** Environment for commit-tree: `author`, else git's own identity when it has a usable one, else the fallback. */
async function identity(git: Git, author?: { name: string; email: string }): Promise<Record<string, string>> {
  const env: Record<string, string> = {};
  for (const role of ['AUTHOR', 'COMMITTER']) {
    let who = author;
    if (!who) {
      // `git var` is as strict as commit-tree: if it finds an identity, so will the commit (CI has none).
      const usable = await git(['var', `GIT_${role}_IDENT`]).then(() => true, (error: unknown) => {
        if ((error as { cause?: ExecaError }).cause?.isCanceled) throw error;
        return false;
      });
      if (!usable) who = FALLBACK_IDENTITY;
    }
    if (who) Object.assign(env, { [`GIT_${role}_NAME`]: who.name, [`GIT_${role}_EMAIL`]: who.email });
  }
  return env;
}

/** YYYY-MM-DD, in UTC: every host names the same day the same. */
function utcDay(now: Date): string {
  if (!(now instanceof Date) || Number.isNaN(now.getTime())) throw new UsageError(`The export date ${String(now)} is not a valid date.`);
  return now.toISOString().slice(0, 10);
}

function commitMessage(day: string, lines: string[]): string {
  const count = `${lines.length} learned artifact${lines.length === 1 ? '' : 's'}`;
  return `Promote ${count} (${day})\n\n` +
    `Written by singularity export-knowledge to ${LEARNED_DIR}/:\n\n` +
    lines.map((l) => `- ${l}\n`).join('');
}

/**
 * Create refs/heads/learned-patterns-<day>-N at `commit`, N one more than the highest of that day among the
 * local branches, the remote-tracking ones and (when pushing) the remote's own. `create` refuses a ref that
 * exists, so two exports at once cannot take the same name: the later one moves on to N + 1.
 */
async function createBranch(git: Git, day: string, commit: string, remote?: string): Promise<string> {
  const prefix = `${BRANCH_PREFIX}${day.replaceAll('-', '')}-`;
  const taken = new RegExp(`^refs/(?:heads|remotes/.+)/${prefix}(\\d+)$`);
  const refs = (await git(['for-each-ref', '--format=%(refname)', 'refs/heads', 'refs/remotes'])).split('\n');
  if (remote) {
    // Best effort: an unreachable remote fails the push later, with the branch already made locally.
    const listed = await git(['ls-remote', '--heads', remote], { env: { GIT_TERMINAL_PROMPT: '0' } }).catch((error: unknown) => {
      if ((error as { cause?: ExecaError }).cause?.isCanceled) throw error;
      return '';
    });
    refs.push(...listed.split('\n').map((line) => line.split('\t')[1] ?? '').map((ref) => ref.replace(/^refs\/heads\//, 'refs/remotes/-/')));
  }
  let n = 1 + Math.max(0, ...refs.map((ref) => Number(taken.exec(ref)?.[1] ?? 0)));
  for (let attempt = 0; ; attempt++) {
    const branch = `${prefix}${n}`;
    try {
      await git(['update-ref', '-m', 'singularity export-knowledge', '--stdin', '-z'], { input: `create refs/heads/${branch}\0${commit}\0` });
      return branch;
    } catch (error) {
      const exists = await git(['rev-parse', '--verify', '--quiet', `refs/heads/${branch}`]).then(() => true, () => false);
      if (!exists || attempt >= 10) throw error;
      n++;
    }
  }
}
