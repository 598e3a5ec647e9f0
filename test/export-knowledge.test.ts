// export-knowledge's git side on real temporary repositories: a new branch with one commit holding exactly
// the promoted artifacts, the user's branch, HEAD, index and working tree untouched (dirty or not), no
// branch when there is nothing new, push only when asked. No database.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ExportError, exportToRepository, type PromotedArtifact } from '../src/central/export.js';
import { UsageError } from '../src/core/errors.js';

const root = mkdtempSync(join(tmpdir(), 'singularity-export-test-'));
// No ~/.gitconfig or /etc/gitconfig, no identity in the environment: as in CI (root, fresh machine). Git
// never climbs above the test folder to find a repository.
process.env.GIT_CONFIG_GLOBAL = '/dev/null';
process.env.GIT_CONFIG_NOSYSTEM = '1';
process.env.GIT_CEILING_DIRECTORIES = dirname(root);
for (const name of ['GIT_AUTHOR_NAME', 'GIT_AUTHOR_EMAIL', 'GIT_COMMITTER_NAME', 'GIT_COMMITTER_EMAIL', 'EMAIL', 'GIT_DIR', 'GIT_WORK_TREE', 'GIT_INDEX_FILE']) {
  delete process.env[name];
}

const DAY = new Date('2025-03-10T12:00:00Z');
const BRANCH = (n: number, day = '20250310') => `learned-patterns-${day}-${n}`;

/** git in `cwd`, with an identity for the test's own commits only. */
function git(cwd: string, ...args: string[]): string {
  return execFileSync('git', ['-c', 'user.name=Test', '-c', 'user.email=test@example.com', ...args], { cwd, encoding: 'utf8' }).trim();
}

let count = 0;
/** A new repository on `main` with one commit (a README and an existing learned file). */
function newRepo(): string {
  const dir = join(root, `repo-${++count}`);
  mkdirSync(dir);
  git(dir, 'init', '--quiet', '-b', 'main');
  writeFileSync(join(dir, 'README.md'), 'templates\n');
  mkdirSync(join(dir, 'templates_data/learned/pattern'), { recursive: true });
  writeFileSync(join(dir, 'templates_data/learned/pattern/old.json'), '{\n  "old": true\n}\n');
  git(dir, 'add', '.');
  git(dir, 'commit', '--quiet', '-m', 'First commit');
  return dir;
}

const branches = (dir: string) => git(dir, 'branch', '--list', 'learned-patterns-*', '--format=%(refname:short)').split('\n').filter(Boolean);
const json = (content: unknown) => JSON.stringify(content, null, 2) + '\n';
const artifacts: PromotedArtifact[] = [
  { type: 'pattern', id: 'retry-with-backoff', content: { name: 'retry', uses: 140, success: 0.97 } },
  { type: 'prompt', id: 'review.v2', content: { text: 'Review this: "ä" \n', tags: ['a', 'b'] } },
];

afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('export to a new branch', () => {
  let dir: string;
  let head: string;
  let indexBefore: Buffer;
  let statusBefore: string;
  let result: Awaited<ReturnType<typeof exportToRepository>>;

  beforeAll(async () => {
    dir = newRepo();
    head = git(dir, 'rev-parse', 'HEAD');
    // A dirty working tree and a staged change, one of them on the very path an artifact is written to.
    writeFileSync(join(dir, 'README.md'), 'edited, not staged\n');
    writeFileSync(join(dir, 'untracked.txt'), 'new\n');
    mkdirSync(join(dir, 'templates_data/learned/prompt'), { recursive: true });
    writeFileSync(join(dir, 'templates_data/learned/prompt/review.v2.json'), 'staged by the user\n');
    git(dir, 'add', 'templates_data/learned/prompt/review.v2.json');
    writeFileSync(join(dir, 'templates_data/learned/prompt/review.v2.json'), 'staged, then edited again\n');
    statusBefore = git(dir, 'status', '--porcelain=v1', '--untracked-files=all');
    indexBefore = readFileSync(join(dir, '.git/index'));
    result = await exportToRepository({ repo: dir, artifacts, now: DAY });
  });

  it('creates learned-patterns-YYYYMMDD-1 with one commit on top of HEAD', () => {
    expect(result).toMatchObject({ repo: dir, branch: BRANCH(1), pushed: false });
    expect(result.reason).toBeUndefined();
    expect(branches(dir)).toEqual([BRANCH(1)]);
    expect(git(dir, 'rev-parse', BRANCH(1))).toBe(result.commit);
    expect(git(dir, 'rev-list', '--count', `HEAD..${BRANCH(1)}`)).toBe('1');
    expect(git(dir, 'rev-parse', `${BRANCH(1)}^`)).toBe(head);
  });

  it('holds exactly the given files, as pretty JSON with a newline', () => {
    const expected = ['templates_data/learned/pattern/retry-with-backoff.json', 'templates_data/learned/prompt/review.v2.json'];
    expect(result.files).toEqual(expected);
    expect(git(dir, 'diff', '--name-status', 'HEAD', BRANCH(1)).split('\n')).toEqual(expected.map((f) => `A\t${f}`));
    for (const [i, file] of expected.entries()) {
      // execFileSync's trim would drop the final newline: read the blob whole.
      const blob = execFileSync('git', ['show', `${BRANCH(1)}:${file}`], { cwd: dir, encoding: 'utf8' });
      expect(blob).toBe(json(artifacts[i]!.content));
    }
    // Everything else is HEAD's.
    expect(git(dir, 'show', `${BRANCH(1)}:templates_data/learned/pattern/old.json`)).toBe('{\n  "old": true\n}');
  });

  it('leaves the current branch, HEAD, the index and the working tree alone', () => {
    expect(readFileSync(join(dir, '.git/index')).equals(indexBefore)).toBe(true);
    expect(git(dir, 'symbolic-ref', 'HEAD')).toBe('refs/heads/main');
    expect(git(dir, 'rev-parse', 'HEAD')).toBe(head);
    expect(git(dir, 'status', '--porcelain=v1', '--untracked-files=all')).toBe(statusBefore);
    expect(readFileSync(join(dir, 'README.md'), 'utf8')).toBe('edited, not staged\n');
    expect(readFileSync(join(dir, 'templates_data/learned/prompt/review.v2.json'), 'utf8')).toBe('staged, then edited again\n');
    expect(git(dir, 'show', ':templates_data/learned/prompt/review.v2.json')).toBe('staged by the user');
  });

  it('commits as the fallback identity when git has none, with a message listing the artifacts', () => {
    expect(git(dir, 'log', '-1', '--format=%an <%ae>|%cn <%ce>', BRANCH(1))).toBe('singularity <singularity@localhost>|singularity <singularity@localhost>');
    const message = git(dir, 'log', '-1', '--format=%B', BRANCH(1));
    expect(message).toMatch(/^Promote 2 learned artifacts \(2025-03-10\)/);
    expect(message).toContain('- added pattern/retry-with-backoff');
    expect(message).toContain('- added prompt/review.v2');
  });

  it('names a second export the same day -2, and counts remote-tracking branches', async () => {
    const second = await exportToRepository({ repo: dir, artifacts: [{ type: 'pattern', id: 'b', content: 1 }], now: new Date('2025-03-10T23:59:59Z') });
    expect(second.branch).toBe(BRANCH(2));
    // Based on HEAD, not on the first export's branch.
    expect(git(dir, 'rev-parse', `${BRANCH(2)}^`)).toBe(head);
    // Numbers compare as numbers (9 < 10); another day's branches do not count.
    git(dir, 'update-ref', `refs/remotes/upstream/${BRANCH(9)}`, head);
    git(dir, 'update-ref', `refs/remotes/upstream/${BRANCH(10)}`, head);
    git(dir, 'update-ref', `refs/heads/${BRANCH(30, '20250309')}`, head);
    const third = await exportToRepository({ repo: dir, artifacts: [{ type: 'pattern', id: 'c', content: 1 }], now: DAY });
    expect(third.branch).toBe(BRANCH(11));
  });

  it('gives two exports at once two branches', async () => {
    const day = new Date('2025-04-01T00:00:00Z');
    const both = await Promise.all(['e', 'f'].map((id) => exportToRepository({ repo: dir, artifacts: [{ type: 'pattern', id, content: 1 }], now: day })));
    expect(both.map((r) => r.branch).sort()).toEqual([BRANCH(1, '20250401'), BRANCH(2, '20250401')]);
    for (const r of both) expect(git(dir, 'rev-parse', r.branch!)).toBe(r.commit);
  });

  it('takes the UTC date of now', async () => {
    const late = await exportToRepository({ repo: dir, artifacts: [{ type: 'pattern', id: 'd', content: 1 }], now: new Date('2025-03-11T23:30:00-05:00') });
    expect(late.branch).toBe(BRANCH(1, '20250312'));
  });
});

describe('nothing to export', () => {
  it('makes no branch when no artifact qualifies', async () => {
    const dir = newRepo();
    const result = await exportToRepository({ repo: dir, artifacts: [], now: DAY, push: true });
    expect(result).toEqual({ repo: dir, branch: null, commit: null, files: [], pushed: false, reason: 'no artifact qualifies' });
    expect(branches(dir)).toEqual([]);
  });

  it('makes no branch when every file is byte-identical to HEAD', async () => {
    const dir = newRepo();
    const objects = git(dir, 'count-objects', '-v');
    const result = await exportToRepository({ repo: dir, artifacts: [{ type: 'pattern', id: 'old', content: { old: true } }], now: DAY });
    expect(result).toMatchObject({ branch: null, commit: null, files: [], pushed: false });
    expect(result.reason).toMatch(/already at HEAD .* identical content/);
    expect(branches(dir)).toEqual([]);
    expect(git(dir, 'count-objects', '-v')).toBe(objects);
  });

  it('commits only the artifacts that changed', async () => {
    const dir = newRepo();
    const result = await exportToRepository({
      repo: dir,
      artifacts: [{ type: 'pattern', id: 'old', content: { old: true } }, { type: 'pattern', id: 'new', content: [1] }],
      now: DAY,
    });
    expect(result.files).toEqual(['templates_data/learned/pattern/new.json']);
    expect(git(dir, 'diff', '--name-only', 'HEAD', result.branch!)).toBe('templates_data/learned/pattern/new.json');
    // A changed file is an update.
    const updated = await exportToRepository({ repo: dir, artifacts: [{ type: 'pattern', id: 'old', content: { old: false } }], now: DAY });
    expect(updated.branch).toBe(BRANCH(2));
    expect(git(dir, 'diff', '--name-status', 'HEAD', updated.branch!)).toBe('M\ttemplates_data/learned/pattern/old.json');
    expect(git(dir, 'log', '-1', '--format=%B', updated.branch!)).toContain('- updated pattern/old');
  });
});

describe('bad input writes nothing', () => {
  let dir: string;
  beforeAll(() => {
    dir = newRepo();
  });

  it.each([
    ['id', '../x'],
    ['id', 'a/b'],
    ['id', '..'],
    ['id', ''],
    ['type', '.git'],
    ['type', 'a b'],
    ['type', 'x..y'],
  ])('refuses the %s %j', async (field, value) => {
    const objects = git(dir, 'count-objects', '-v');
    const bad = { type: 'pattern', id: 'fine', content: {}, [field]: value };
    const error = await exportToRepository({ repo: dir, artifacts: [artifacts[0]!, bad], now: DAY }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UsageError);
    expect((error as Error).message).toContain(`${field} ${JSON.stringify(value)}`);
    expect(branches(dir)).toEqual([]);
    expect(git(dir, 'count-objects', '-v')).toBe(objects);
  });

  it('refuses an artifact given twice, content that is not JSON, and an invalid date', async () => {
    await expect(exportToRepository({ repo: dir, artifacts: [artifacts[0]!, artifacts[0]!], now: DAY })).rejects.toThrow(/pattern\/retry-with-backoff is given twice/);
    await expect(exportToRepository({ repo: dir, artifacts: [{ type: 'a', id: 'b', content: undefined }], now: DAY })).rejects.toThrow(UsageError);
    await expect(exportToRepository({ repo: dir, artifacts: [{ type: 'a', id: 'b', content: 1n }], now: DAY })).rejects.toThrow(/cannot be written as JSON/);
    await expect(exportToRepository({ repo: dir, artifacts, now: new Date('not a date') })).rejects.toThrow(/not a valid date/);
    expect(branches(dir)).toEqual([]);
  });
});

describe('identity', () => {
  it('uses the given author', async () => {
    const dir = newRepo();
    const result = await exportToRepository({ repo: dir, artifacts, now: DAY, author: { name: 'Central Bot', email: 'bot@example.org' } });
    expect(git(dir, 'log', '-1', '--format=%an <%ae>|%cn <%ce>', result.branch!)).toBe('Central Bot <bot@example.org>|Central Bot <bot@example.org>');
  });

  it("uses git's configured identity when there is one", async () => {
    const dir = newRepo();
    git(dir, 'config', 'user.name', 'Repo Owner');
    git(dir, 'config', 'user.email', 'owner@example.org');
    const result = await exportToRepository({ repo: dir, artifacts, now: DAY });
    expect(git(dir, 'log', '-1', '--format=%an <%ae>', result.branch!)).toBe('Repo Owner <owner@example.org>');
  });
});

describe('push', () => {
  let dir: string;
  let origin: string;
  const remoteHeads = () => git(origin, 'for-each-ref', '--format=%(refname) %(objectname)', 'refs/heads');

  beforeAll(() => {
    dir = newRepo();
    origin = join(root, `origin-${count}.git`);
    git(root, 'init', '--quiet', '--bare', origin);
    git(dir, 'remote', 'add', 'origin', origin);
    git(dir, 'push', '--quiet', 'origin', 'main');
  });

  it('pushes nothing unless asked', async () => {
    const result = await exportToRepository({ repo: dir, artifacts, now: DAY });
    expect(result).toMatchObject({ branch: BRANCH(1), pushed: false });
    expect(remoteHeads()).not.toContain('learned-patterns');
  });

  it('pushes the new branch to origin with push: true', async () => {
    const result = await exportToRepository({ repo: dir, artifacts: [{ type: 'pattern', id: 'pushed', content: {} }], now: DAY, push: true });
    expect(result).toMatchObject({ branch: BRANCH(2), pushed: true });
    expect(remoteHeads().split('\n')).toContain(`refs/heads/${BRANCH(2)} ${result.commit}`);
    expect(remoteHeads()).not.toContain(BRANCH(1));
  });

  it("counts the remote's branches of the day when pushing", async () => {
    // A branch another clone pushed, never fetched here: the next export must not collide with it.
    git(origin, 'update-ref', `refs/heads/${BRANCH(7)}`, git(dir, 'rev-parse', 'HEAD'));
    const result = await exportToRepository({ repo: dir, artifacts: [{ type: 'pattern', id: 'again', content: {} }], now: DAY, push: true });
    expect(result).toMatchObject({ branch: BRANCH(8), pushed: true });
  });

  it('a failed push says the branch exists locally, without the credentials of the remote', async () => {
    const secret = 'ghp_SeCrEt0123456789';
    git(dir, 'remote', 'add', 'tokened', `https://x-access-token:${secret}@127.0.0.1:9/templates.git`);
    git(dir, 'remote', 'add', 'bare-token', `https://${secret}@127.0.0.1:9/templates.git`);
    for (const remote of ['tokened', 'bare-token', join(root, 'no-such-repo.git')]) {
      const error = await exportToRepository({ repo: dir, artifacts: [{ type: 'pattern', id: `p-${remote.length}`, content: {} }], now: DAY, push: true, remote }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ExportError);
      const { message, hint, branch } = error as ExportError;
      expect(message).toMatch(new RegExp(`^The branch ${branch} was created locally .* but pushing it to '.*' failed: .+`));
      expect(message + hint).not.toContain(secret);
      expect(branches(dir)).toContain(branch);
    }
  });

  it('refuses a remote that git would take for an option', async () => {
    await expect(exportToRepository({ repo: dir, artifacts, now: DAY, push: true, remote: '--mirror' })).rejects.toThrow(UsageError);
  });
});

describe('the repository', () => {
  it('must be a git work tree', async () => {
    const plain = join(root, 'plain');
    mkdirSync(plain);
    for (const repo of [plain, join(root, 'missing'), join(root, 'plain-file')]) {
      if (repo.endsWith('file')) writeFileSync(repo, '');
      const error = await exportToRepository({ repo, artifacts, now: DAY }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(UsageError);
      expect((error as UsageError).message).toContain(repo);
      expect((error as UsageError).hint).toMatch(/git clone/);
    }
  });

  it('must have a commit', async () => {
    const dir = join(root, 'unborn');
    git(root, 'init', '--quiet', dir);
    await expect(exportToRepository({ repo: dir, artifacts, now: DAY })).rejects.toThrow(/no commit yet/);
  });

  it('may be given by a folder inside it', async () => {
    const dir = newRepo();
    const result = await exportToRepository({ repo: join(dir, 'templates_data'), artifacts, now: DAY });
    expect(result.repo).toBe(dir);
    expect(result.files[0]).toBe('templates_data/learned/pattern/retry-with-backoff.json');
  });

  it('needs git on PATH', async () => {
    const dir = newRepo();
    const path = process.env.PATH;
    process.env.PATH = join(root, 'empty-bin');
    try {
      const error = await exportToRepository({ repo: dir, artifacts, now: DAY }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(UsageError);
      expect((error as Error).message).toMatch(/git is not installed/);
    } finally {
      process.env.PATH = path;
    }
  });

  it('stops on an aborted signal without making a branch', async () => {
    const dir = newRepo();
    const controller = new AbortController();
    controller.abort(new Error('shutting down'));
    await expect(exportToRepository({ repo: dir, artifacts, now: DAY, signal: controller.signal })).rejects.toThrow(/stopped: shutting down/);
    expect(branches(dir)).toEqual([]);
  });
});
