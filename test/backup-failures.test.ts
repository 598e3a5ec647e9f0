// A backup that fails, however it fails, costs no older backup and leaves no partial file; the run fails
// with the reason. Failures here are real where they can be (a database that does not exist, a full
// disk on a tiny tmpfs, a cancellation, a killed process), and a pg_dump on PATH that crashes on purpose
// (or claims to be old) where a real one cannot be made to.
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BackupRecord } from '../src/backup/records.js';
import type { Database } from '../src/core/database.js';
import { processAlive } from '../src/core/embedded/lock.js';
import type { Run } from '../src/core/runs.js';
import { hashFile } from '../src/backup/files.js';
import { BIN, cleanEnv, runCli } from './support/cli.js';
import { ADMIN_URL, type BackupFixture, createBackupFixture, createDatabase, madeBackup, script, sql, urlOf, writeConfig } from './support/backup.js';

const canMount = !!ADMIN_URL && process.getuid?.() === 0;

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
      const [running] = await db.query<BackupRecord>(`select id, path from backups where status = 'running'`);
      return running && existsSync(`${running.path}.partial`) ? running : undefined;
    });
    process.kill(-child.pid!, 'SIGKILL'); // the CLI and its pg_dump, as a crash or `kill -9` of the group would
    // The run is found dead once its heartbeat is older than runs.staleAfterMs (1.5 s here).
    await new Promise((r) => setTimeout(r, 2_000));
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

async function waitFor<T>(probe: () => Promise<T | undefined> | T | undefined, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 50));
  }
}
