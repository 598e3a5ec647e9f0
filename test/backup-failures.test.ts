// A backup that fails, however it fails, costs no older backup and leaves no partial file; the run fails
// with the reason. Failures here are real where they can be (a database that does not exist, a full
// disk on a tiny tmpfs, a cancellation, a killed process), and a pg_dump on PATH that crashes on purpose
// (or claims to be old) where a real one cannot be made to. A backup folder that cannot be used (a file,
// a path under a file, no permission, a read-only file system) fails the run at once with a message
// naming the path and the setting, a hint, no stack, and nothing written.
import { execFileSync, spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DatabaseBackup } from '../src/backup/backup.js';
import type { BackupRecord } from '../src/backup/records.js';
import { backupTargets } from '../src/backup/targets.js';
import type { Database } from '../src/core/database.js';
import { processAlive } from '../src/core/embedded/lock.js';
import type { Run } from '../src/core/runs.js';
import { hashFile } from '../src/backup/files.js';
import { BIN, cleanEnv, runCli } from './support/cli.js';
import { ADMIN_URL, type BackupFixture, createBackupFixture, createDatabase, madeBackup, script, sql, urlOf, writeConfig } from './support/backup.js';
import { backendNames, type Backend, FAST_TIMINGS, onBackend } from './support/backends.js';

const isRoot = process.getuid?.() === 0;
const canMount = !!ADMIN_URL && isRoot;
/** runs.staleAfterMs of the CLI runs (FAST_TIMINGS): a run whose heartbeat is older is taken for dead. */
const STALE_AFTER_MS = Number(FAST_TIMINGS.SINGULARITY_STALE_AFTER_MS);

describe.runIf(!!ADMIN_URL)('a failing backup', () => {
  let fixture: BackupFixture;
  let db: Database;
  let dir: string;
  let backupDir: string;
  let env: Record<string, string>;
  let older: { id: number; path: string; sha256: string };

  const fakes = () => join(dir, 'fake-bin');
  /** A pg_dump first on PATH: `--version` says `version` (default: the real one's), anything else runs `body`. */
  const fakePgDump = (body: string, version?: string) => {
    rmSync(fakes(), { recursive: true, force: true });
    const versionReply = version ? `echo "pg_dump (PostgreSQL) ${version}"; exit 0` : 'exec /usr/bin/pg_dump "$@"';
    script(fakes(), 'pg_dump', `case "$*" in *--version*) ${versionReply};; esac\n` +
      `for a in "$@"; do case "$a" in --file=*) file="\${a#--file=}";; esac; done\n${body}`);
    return { PATH: `${fakes()}:${process.env.PATH}` };
  };
  const backup = (extra: Record<string, string> = {}) => runCli(['backup', '--type', 'daily', '--json'], { ...env, ...extra });
  const record = async (id: number) => (await db.query<BackupRecord>(`select id, status, error, path from backups where id = $1`, [id]))[0]!;
  const latestRecord = async () => (await db.query<BackupRecord>(`select id, status, error, path from backups order by id desc limit 1`))[0]!;
  const partials = (root = backupDir) =>
    readdirSync(root, { recursive: true, withFileTypes: true }).filter((e) => e.isFile() && e.name.endsWith('.partial'));

  /** The older backup is still there, whole and recorded; no partial file anywhere. */
  async function expectOlderIntact(): Promise<void> {
    expect((await hashFile(older.path)).sha256).toBe(older.sha256);
    expect(await record(older.id)).toMatchObject({ status: 'succeeded' });
    expect(partials()).toEqual([]);
  }

  /** The run failed with `reason`, and the new record says failed, with the same reason, and has no file. */
  async function expectFailedRun(result: Awaited<ReturnType<typeof backup>>, reason: RegExp): Promise<BackupRecord> {
    expect(result.code, result.stdout + result.stderr).toBe(1);
    const run = JSON.parse(result.stdout) as Run;
    expect(run.state).toBe('discarded');
    expect(run.error!.message).toMatch(reason);
    const failed = await latestRecord();
    expect(failed.id).toBeGreaterThan(older.id);
    expect(failed.status).toBe('failed');
    expect(failed.error!.message).toMatch(reason);
    expect(existsSync(failed.path)).toBe(false);
    return failed;
  }

  beforeAll(async () => {
    fixture = await createBackupFixture('sg_backup_fail');
    ({ db, dir, backupDir, env } = fixture);
    const made = await backup();
    expect(made.code, made.stderr).toBe(0);
    const first = madeBackup(made);
    older = { id: first.id, path: first.path, sha256: first.sha256 };
  });
  afterAll(() => fixture?.dispose());

  it("a database that does not exist: the run fails with pg_dump's reason", async () => {
    const config = writeConfig(join(dir, 'missing'), { dir: backupDir, databases: [{ name: 'app', url: urlOf('sg_no_such_database') }] });
    const result = await backup({ SINGULARITY_CONFIG: config });
    await expectFailedRun(result, /database "sg_no_such_database" does not exist/);
    await expectOlderIntact();
  });

  it('pg_dump killed mid-way: the run fails saying so; its partial file is removed', async () => {
    const result = await backup(fakePgDump(`printf 'PGDMP a beginning' > "$file"\nkill -9 $$`));
    await expectFailedRun(result, /pg_dump was killed by SIGKILL/);
    await expectOlderIntact();
  });

  it('pg_dump older than the server: refused before anything is written, with the fix', async () => {
    const log = join(dir, 'old-pg-dump.log');
    const result = await backup(fakePgDump(`echo "dumped anyway" >> '${log}'`, '14.9'));
    await expectFailedRun(result, /pg_dump 14\.9 is older than the server \(15\.\d+\) and cannot dump it: install postgresql-client-15 \(or newer\)/);
    expect(existsSync(log)).toBe(false);
    await expectOlderIntact();
  });

  it.runIf(canMount)('a full disk (a 1 MB tmpfs): the run fails with "No space left on device"; the older backup there stays', async () => {
    const tiny = join(dir, 'tiny');
    mkdirSync(tiny);
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m,mode=700', 'tmpfs', tiny]);
    const big = await createDatabase('sg_backup_big');
    try {
      await sql(big.url, 'create table blobs (id int primary key, body text)');
      const config = writeConfig(join(dir, 'tiny-config'), { dir: tiny, databases: [{ name: 'big', url: big.url }] });
      const first = await backup({ SINGULARITY_CONFIG: config });
      expect(first.code, first.stderr).toBe(0);
      const kept = madeBackup(first);
      // About 4 MB of random hex: more than the disk holds even compressed.
      await sql(big.url, `insert into blobs select g, (select string_agg(md5(random()::text || g || h), '') from generate_series(1, 1000) h)
                          from generate_series(1, 128) g`);
      const result = await backup({ SINGULARITY_CONFIG: config });
      expect(result.code).toBe(1);
      const run = JSON.parse(result.stdout) as Run;
      expect(run.error!.message).toMatch(/^1 of 1 backups failed: big: pg_dump failed with exit code 1: .*No space left on device/);
      expect((await hashFile(kept.path)).sha256).toBe(kept.sha256);
      expect(await record(kept.id)).toMatchObject({ status: 'succeeded' });
      expect(await latestRecord()).toMatchObject({ status: 'failed', error: { message: expect.stringContaining('No space left on device') } });
      expect(partials(tiny)).toEqual([]);
      const name = kept.path.split('/').at(-1)!;
      expect(readdirSync(join(tiny, 'big', 'daily')).sort()).toEqual([name, name.replace('.dump', '.json')]);
    } finally {
      execFileSync('umount', [tiny]);
      await big.drop();
    }
  });

  it('cancelled while pg_dump runs (runs cancel): pg_dump is stopped, its partial file removed, the run cancelled', async () => {
    const pidFile = join(dir, 'pg_dump.pid');
    const fake = fakePgDump(`printf 'PGDMP a beginning' > "$file"\necho $$ > '${pidFile}'\nexec sleep 60`);
    const running = backup(fake);
    const run = await waitFor(async () => (await db.query<{ id: number }>(`select id from task_runs where task = 'backup' and state = 'executing'`))[0]);
    await waitFor(() => existsSync(pidFile) || undefined);
    const cancel = await runCli(['runs', 'cancel', String(run.id)], env);
    expect(cancel.code, cancel.stderr).toBe(0);
    const result = await running;
    expect(result.code).toBe(1);
    expect(JSON.parse(result.stdout)).toMatchObject({ state: 'cancelled' });
    expect(processAlive(Number(readFileSync(pidFile, 'utf8')))).toBe(false);
    expect(await latestRecord()).toMatchObject({ status: 'failed', error: { message: 'stopped: cancelled by request' } });
    await expectOlderIntact();
  });

  it('the process making a backup is killed: its record stays running until the next backup of the type removes the partial file and fails it', async () => {
    const fake = fakePgDump(`printf 'PGDMP a beginning' > "$file"\nexec sleep 60`);
    const child = spawn(process.execPath, [BIN, 'backup', '--type', 'daily'], { env: cleanEnv({ ...env, ...fake }), detached: true, stdio: 'ignore' });
    const left = await waitFor(async () => {
      const [running] = await db.query<BackupRecord>(`select id, path, run_id as "runId" from backups where status = 'running'`);
      return running && existsSync(`${running.path}.partial`) ? running : undefined;
    });
    process.kill(-child.pid!, 'SIGKILL'); // the CLI and its pg_dump, as a crash or `kill -9` of the group would
    // The run is found dead once its heartbeat is older than runs.staleAfterMs (1.5 s here), by the database's
    // clock, which the next backup's reaper reads: wait for that, however long the kill takes to land.
    await waitFor(async () => (await db.query(
      `select 1 from task_runs where id = $1 and heartbeat_at < now() - make_interval(secs => $2::int / 1000.0)`, [left.runId, STALE_AFTER_MS]))[0]);
    const next = await backup();
    expect(next.code, next.stderr).toBe(0);
    expect(madeBackup(next)).toMatchObject({ abandoned: [left.id], adopted: [] });
    expect(await record(left.id)).toMatchObject({ status: 'failed', error: { message: expect.stringMatching(/^abandoned: the run making it \(run \d+\) ended before it finished$/) } });
    expect(existsSync(`${left.path}.partial`)).toBe(false);
    await expectOlderIntact();
  });

  it('a record left running whose file is complete (as a restored copy of this database holds) is adopted, not removed', async () => {
    // What a dump of singularity's own database holds: the record of the very backup being made, running.
    await db.query(`update backups set status = 'running', finished_at = null, size_bytes = null, sha256 = null, server_version = null,
                      pg_dump_version = null, verified_at = null, verified_how = null, run_id = null where id = $1`, [older.id]);
    const next = await backup();
    expect(next.code, next.stderr).toBe(0);
    expect(madeBackup(next)).toMatchObject({ adopted: [older.id], abandoned: [] });
    expect(await db.query(`select status, sha256, verified_how from backups where id = $1`, [older.id]))
      .toEqual([{ status: 'succeeded', sha256: older.sha256, verified_how: 'list' }]);
    await expectOlderIntact();
  });
});

describe.each(backendNames)('a backup folder that cannot be used, on %s', (backendName) => {
  let backend: Backend;
  let db: Database;
  let sandbox: string;
  /** A regular file, where a folder is expected. */
  let file: string;

  onBackend(backendName, (opened) => ({ backend, db } = opened));
  beforeAll(() => {
    sandbox = mkdtempSync(join(tmpdir(), 'sg-backup-folder-'));
    file = join(sandbox, 'not-a-folder');
    writeFileSync(file, 'not a backup\n');
  });
  afterAll(() => rmSync(sandbox, { recursive: true, force: true }));

  const DEFAULT_HOME_DIR = () => join(backend.config.home, 'backups');
  const backupRun = async () => (await db.query<{ id: number }>(`select id from task_runs where task = 'backup' order by id desc limit 1`))[0]!.id;
  /** Everything in the sandbox: path, kind, size, contents and modification time of each file. */
  const snapshot = () =>
    readdirSync(sandbox, { recursive: true, withFileTypes: true }).map((e) => {
      const path = join(e.parentPath, e.name);
      const stat = statSync(path);
      return { path, folder: e.isDirectory(), size: stat.size, mtimeMs: stat.mtimeMs, text: e.isFile() ? readFileSync(path, 'utf8') : null };
    }).sort((a, b) => a.path.localeCompare(b.path));

  /**
   * `backup` fails at once: exit 2 (a setting to change), the message and hint, no stack; `runs show` of its
   * run says the same, without a stack (the record keeps it); nothing was written, no backup recorded.
   */
  async function expectRefused(extra: Record<string, string>, message: string, hint: string): Promise<void> {
    const before = snapshot();
    const result = await runCli(['backup', '--type', 'daily'], { ...backend.env, ...extra });
    expect(result.code, result.stdout + result.stderr).toBe(2);
    expect(result.stderr).toContain(`ConfigError: ${message}\n  ${hint}\n`);
    expect(result.stderr).not.toContain('    at ');

    const id = await backupRun();
    const shown = await runCli(['runs', 'show', String(id)], backend.env);
    expect(shown.code, shown.stderr).toBe(0);
    expect(shown.stdout).toMatch(/^state +discarded$/m);
    expect(shown.stdout).toContain(`failed at `);
    expect(shown.stdout).toContain(`: ConfigError: ${message}\n  ${hint}\n`);
    expect(shown.stdout).not.toContain('    at ');
    const json = JSON.parse((await runCli(['runs', 'show', String(id), '--json'], backend.env)).stdout) as Run;
    expect(json.error).toMatchObject({ name: 'ConfigError', message, hint, exitCode: 2 });
    expect(json.error!.stack).toContain('    at ');

    expect(snapshot()).toEqual(before);
    expect(existsSync(DEFAULT_HOME_DIR())).toBe(false);
    expect(await db.query(`select id from backups`)).toEqual([]);
  }

  const VIA_ENV = 'set by the SINGULARITY_BACKUP_DIR environment variable';
  const FIX_ENV = 'Point SINGULARITY_BACKUP_DIR at a folder this user can write to (it is created if missing).';

  it('SINGULARITY_BACKUP_DIR naming a file: refused, the file untouched', async () => {
    await expectRefused({ SINGULARITY_BACKUP_DIR: file }, `the backup folder ${file} is a file, not a folder (${VIA_ENV})`, FIX_ENV);
    expect(readFileSync(file, 'utf8')).toBe('not a backup\n');
  });

  it('SINGULARITY_BACKUP_DIR under a file: refused, nothing created', async () => {
    await expectRefused({ SINGULARITY_BACKUP_DIR: join(file, 'x') },
      `the backup folder ${file}/x cannot be created: ${file} is a file, not a folder (${VIA_ENV})`, FIX_ENV);
  });

  it('backup.dir of the config file under a file (relative to the config file): refused, naming the config file', async () => {
    const config = writeConfig(join(sandbox, 'config'), { dir: '../not-a-folder/x/y' });
    await expectRefused({ SINGULARITY_CONFIG: config },
      `the backup folder ${file}/x/y cannot be created: ${file} is a file, not a folder (set by backup.dir in ${config})`,
      `Point backup.dir in ${config} at a folder this user can write to (it is created if missing).`);
  });

  it('the default folder, <home>/backups, a file: refused, saying it is the default', async () => {
    mkdirSync(backend.config.home, { recursive: true }); // a server backend has made no home of its own yet
    writeFileSync(DEFAULT_HOME_DIR(), 'in the way\n');
    try {
      const before = readFileSync(DEFAULT_HOME_DIR(), 'utf8');
      const result = await runCli(['backup', '--type', 'daily'], backend.env);
      expect(result.code, result.stderr).toBe(2);
      expect(result.stderr).toContain(`ConfigError: the backup folder ${DEFAULT_HOME_DIR()} is a file, not a folder ` +
        '(the default: neither backup.dir nor SINGULARITY_BACKUP_DIR is set)\n' +
        '  Set backup.dir in the config file, or SINGULARITY_BACKUP_DIR, to a folder this user can write to (it is created if missing).\n');
      expect(result.stderr).not.toContain('    at ');
      expect(readFileSync(DEFAULT_HOME_DIR(), 'utf8')).toBe(before);
      expect(await db.query(`select id from backups`)).toEqual([]);
    } finally {
      rmSync(DEFAULT_HOME_DIR());
    }
  });

  it('a folder this user may not write in: refused, naming it', async (context) => {
    const locked = join(sandbox, 'locked');
    mkdirSync(locked);
    // root may write anywhere, except in an immutable folder.
    const lock = () => (isRoot ? execFileSync('chattr', ['+i', locked], { stdio: 'ignore' }) : chmodSync(locked, 0o500));
    const unlock = () => (isRoot ? execFileSync('chattr', ['-i', locked], { stdio: 'ignore' }) : chmodSync(locked, 0o700));
    try {
      lock();
    } catch {
      rmSync(locked, { recursive: true });
      return context.skip('chattr +i is not supported here');
    }
    try {
      await expectRefused({ SINGULARITY_BACKUP_DIR: join(locked, 'b') },
        `the backup folder ${locked}/b cannot be created: permission denied in ${locked} (${VIA_ENV})`, FIX_ENV);
      await expectRefused({ SINGULARITY_BACKUP_DIR: locked }, `the backup folder ${locked} is not writable: permission denied (${VIA_ENV})`, FIX_ENV);
    } finally {
      unlock();
      rmSync(locked, { recursive: true });
    }
  });

  it.runIf(isRoot)('a read-only file system: refused, naming it', async () => {
    const readOnly = join(sandbox, 'read-only');
    mkdirSync(readOnly);
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'ro,size=1m', 'tmpfs', readOnly]);
    try {
      await expectRefused({ SINGULARITY_BACKUP_DIR: join(readOnly, 'b') },
        `the backup folder ${readOnly}/b cannot be created: ${readOnly} is on a read-only file system (${VIA_ENV})`, FIX_ENV);
      await expectRefused({ SINGULARITY_BACKUP_DIR: readOnly }, `the backup folder ${readOnly} is on a read-only file system (${VIA_ENV})`, FIX_ENV);
    } finally {
      execFileSync('umount', [readOnly]);
      rmSync(readOnly, { recursive: true });
    }
  });

  it("a file in the backup folder where a database's folder goes: that backup fails (recorded failed, nothing left running), the file stays; without it the next backup is made", async () => {
    const backups = join(sandbox, 'backups');
    const name = backupTargets(backend.config)[0]!.name;
    mkdirSync(backups);
    writeFileSync(join(backups, name), 'in the way\n');
    const env = { ...backend.env, SINGULARITY_BACKUP_DIR: backups };
    const message = `1 of 1 backups failed: ${name}: the folder ${backups}/${name}/daily in the backup folder cannot be created: ` +
      `${backups}/${name} is a file, not a folder`;
    const hint = `Backups are filed in ${backups}/<database>/<type>/: move what is in the way, or use another folder. ${FIX_ENV}`;

    const result = await runCli(['backup', '--type', 'daily'], env);
    expect(result.code, result.stdout + result.stderr).toBe(1);
    expect(result.stderr).toContain(`BackupError: ${message}\n  ${hint}\n`);
    expect(result.stderr).not.toContain('    at ');
    const shown = await runCli(['runs', 'show', String(await backupRun())], backend.env);
    expect(shown.stdout).toContain(`: BackupError: ${message}\n  ${hint}\n`);
    expect(shown.stdout).not.toContain('    at ');
    expect(readFileSync(join(backups, name), 'utf8')).toBe('in the way\n');
    expect(await db.query<BackupRecord>(`select status, error from backups`))
      .toEqual([{ status: 'failed', error: { message: message.replace(/^1 of 1 backups failed: [^:]+: /, '') } }]);

    rmSync(join(backups, name));
    const next = await runCli(['backup', '--type', 'daily', '--json'], env);
    expect(next.code, next.stdout + next.stderr).toBe(0);
    expect(madeBackup(next)).toMatchObject<Partial<DatabaseBackup>>({ database: name, abandoned: [], adopted: [] });
    expect(madeBackup(next).path.startsWith(`${backups}/${name}/daily/`)).toBe(true);
  }, 60_000);
});

async function waitFor<T>(probe: () => Promise<T | undefined> | T | undefined, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 50));
  }
}
