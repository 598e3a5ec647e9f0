// `singularity backup` against a real server, by the CLI as a user runs it: a database configured in
// backup.databases is backed up, listed, verified and restored, and the restored database equals it;
// retention keeps exactly the newest good ones; files are private; the password shows up nowhere.
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../src/core/database.js';
import type { BackupRecord } from '../src/backup/records.js';
import { BIN, cleanEnv, runCli, type CliResult } from './support/cli.js';
import {
  ADMIN_URL, type BackupFixture, createBackupFixture, dropDatabase, madeBackup, PASSWORD, processTree, recordingTools, rowsOf, SAMPLE_TABLES,
  schemaOf, sql, urlOf,
} from './support/backup.js';
import { hashFile } from '../src/backup/files.js';

describe.runIf(!!ADMIN_URL)('backup of a server database', () => {
  let fixture: BackupFixture;
  let db: Database;
  let source: BackupFixture['source'];
  let backupDir: string;
  const restored: string[] = [];
  const outputs: CliResult[] = [];

  const cli = async (args: string[], extra: Record<string, string> = {}) => {
    const result = await runCli(args, { ...fixture.env, ...extra });
    outputs.push(result);
    return result;
  };
  const backup = async (...flags: string[]) => {
    const result = await cli(['backup', ...flags, '--json']);
    expect(result.code, result.stdout + result.stderr).toBe(0);
    return madeBackup(result);
  };
  const records = (type: string) =>
    db.query<BackupRecord>(`select id, status, path from backups where type = $1 and database = 'app' order by id`, [type]);

  beforeAll(async () => {
    fixture = await createBackupFixture('sg_backup_src');
    ({ db, source, backupDir } = fixture);
  });
  afterAll(async () => {
    for (const name of restored) await dropDatabase(name);
    await fixture?.dispose();
  });

  it('backup, list, verify --full, restore: the restored database equals the source, schema and rows', async () => {
    const made = await backup('--type', 'daily');
    expect(made).toMatchObject({ database: 'app', format: 'custom', tables: 3, rows: 3700, pruned: [], abandoned: [] });
    expect(relative(backupDir, made.path)).toMatch(/^app\/daily\/\d{8}T\d{6}Z-\d+\.dump$/);

    const list = await cli(['backup', 'list', '--json']);
    const [record] = JSON.parse(list.stdout) as BackupRecord[];
    expect(record).toMatchObject({ id: made.id, type: 'daily', database: 'app', status: 'succeeded', format: 'custom', verifiedHow: 'list', verifyError: null });
    expect(await hashFile(made.path)).toEqual({ sha256: record!.sha256, sizeBytes: record!.sizeBytes });
    expect(record!.serverVersion).toMatch(/^15\./);
    expect(record!.pgDumpVersion).toMatch(/^\d+\.\d+/);
    const human = await cli(['backup', 'list']);
    expect(human.stdout).toMatch(new RegExp(`^${made.id} +daily +app +\\S+ \\S+ +succeeded +\\d+\\.\\d kB +${record!.sha256!.slice(0, 12)} +list `, 'm'));

    const verified = await cli(['backup', 'verify', String(made.id), '--full']);
    expect(verified.code, verified.stderr).toBe(0);
    expect(verified.stdout).toContain(`backup ${made.id} verified (full): restored into a scratch database, 3 tables, 3700 rows`);
    expect((await records('daily'))[0]).toMatchObject({ status: 'succeeded' });
    expect((await db.query(`select verified_how from backups where id = $1`, [made.id]))[0]).toEqual({ verified_how: 'full' });
    // The scratch database is gone.
    expect(await sql(ADMIN_URL!, `select datname from pg_database where datname like 'singularity_verify_%'`)).toEqual([]);

    const target = `${source.name}_restored`;
    restored.push(target);
    for (const time of ['into a new database', 'again, over the restored one']) {
      const result = await cli(['backup', 'restore', String(made.id), '--to', target]);
      expect(result.code, `${time}: ${result.stderr}`).toBe(0);
      expect(result.stdout).toContain(`restored backup ${made.id} into database '${target}'`);
      expect(result.stdout).toContain('3 tables, 3700 rows');
      expect(result.stdout).toContain('every table has the rows it had at dump time');
      expect(schemaOf(urlOf(target))).toBe(schemaOf(source.url));
      expect(await rowsOf(urlOf(target), SAMPLE_TABLES)).toEqual(await rowsOf(source.url, SAMPLE_TABLES));
    }
    // What the functions and views compute comes back too.
    expect(await sql(urlOf(target), `select book_count(7) as n, (select books from author_books where name = 'author 7') as v`))
      .toEqual(await sql(source.url, `select book_count(7) as n, (select books from author_books where name = 'author 7') as v`));
  });

  it("refuses to restore over the live database or the backup's source without --force (exit 2); with it, the backup's rows come back", async () => {
    const made = await backup('--type', 'daily');
    const own = new URL(fixture.backend.config.databaseUrl!).pathname.slice(1);
    const intoOwn = await cli(['backup', 'restore', String(made.id), '--to', own]);
    expect(intoOwn.code).toBe(2);
    expect(intoOwn.stderr).toContain(`database '${own}'`);
    expect(intoOwn.stderr).toContain('is the database singularity uses');
    const intoSource = await cli(['backup', 'restore', String(made.id), '--to', source.name]);
    expect(intoSource.code).toBe(2);
    expect(intoSource.stderr).toContain("is the backup's own source");
    expect(intoSource.stderr).toContain('--force');

    // Any database with open connections is live, whatever name the URL gives its server.
    const busy = `${source.name}_busy`;
    restored.push(busy);
    await sql(ADMIN_URL!, `create database ${busy}`);
    const held = new pg.Client({ connectionString: urlOf(busy) });
    await held.connect();
    try {
      const intoBusy = await cli(['backup', 'restore', String(made.id), '--to', busy]);
      expect(intoBusy.code).toBe(2);
      expect(intoBusy.stderr).toContain(`database '${busy}'`);
      expect(intoBusy.stderr).toContain('is in use (1 open connection)');
    } finally {
      await held.end();
    }

    const before = await rowsOf(source.url, SAMPLE_TABLES);
    await sql(source.url, `delete from books where id > 100; update authors set name = name || ' (changed)'`);
    const forced = await cli(['backup', 'restore', String(made.id), '--to', source.name, '--force']);
    expect(forced.code, forced.stderr).toBe(0);
    expect(await rowsOf(source.url, SAMPLE_TABLES)).toEqual(before);
  });

  it('a damaged file: verify fails (exit 1) and records why; restore refuses it before touching anything', async () => {
    const made = await backup('--type', 'damaged');
    const bytes = readFileSync(made.path);
    bytes[bytes.length >> 1] ^= 0xff;
    writeFileSync(made.path, bytes);
    const verified = await cli(['backup', 'verify', String(made.id)]);
    expect(verified.code).toBe(1);
    expect(verified.stdout).toMatch(new RegExp(`backup ${made.id} FAILED verification \\(checksum\\): the file of backup ${made.id} is damaged: ` +
      `its SHA-256 is [0-9a-f]{64}, not ${made.sha256} as written`));
    const list = await cli(['backup', 'list', '--type', 'damaged']);
    expect(list.stdout).toContain('FAILED checksum: the file of backup');
    const target = `${source.name}_damaged`;
    const restore = await cli(['backup', 'restore', String(made.id), '--to', target]);
    expect(restore.code).toBe(1);
    expect(restore.stderr).toContain(`the file of backup ${made.id} is damaged`);
    expect(await sql(ADMIN_URL!, 'select 1 from pg_database where datname = $1', [target])).toEqual([]);
  });

  it('bad input is a usage error (exit 2) that says what and what to do', async () => {
    const cases: Array<[string[], RegExp]> = [
      [['backup', '--type', 'Hourly'], /--type: expected lower-case letters.*\(got 'Hourly'\)/],
      [['backup', '--keep', '0'], /--keep: .*>=1/],
      [['backup', 'verify', '999999'], /no backup 999999\n.*backup list/],
      [['backup', 'verify', 'latest'], /'latest' is not a backup id/],
      [['backup', 'restore', '1'], /required option '--to <name>'/],
    ];
    for (const [args, message] of cases) {
      const result = await cli(args);
      expect(result.code, args.join(' ')).toBe(2);
      expect(result.stderr, args.join(' ')).toMatch(message);
    }
  });

  it('retention: after 8 hourly backups exactly the newest 6 remain, files and records agreeing; daily ones untouched', async () => {
    const daily = (await records('daily')).filter((r) => r.status === 'succeeded');
    const made = [];
    for (let i = 0; i < 8; i++) made.push(await backup('--type', 'hourly'));
    const hourly = await records('hourly');
    expect(hourly.map((r) => [r.id, r.status])).toEqual(made.map((m, i) => [m.id, i < 2 ? 'pruned' : 'succeeded']));
    // Each of the last two runs pruned the oldest one and said so.
    expect(made.map((m) => m.pruned.map((p) => p.id))).toEqual([[], [], [], [], [], [], [made[0]!.id], [made[1]!.id]]);
    const onDisk = readdirSync(join(backupDir, 'app', 'hourly')).sort();
    const kept = hourly.filter((r) => r.status === 'succeeded').map((r) => r.path);
    expect(onDisk).toEqual(kept.flatMap((p) => [p.split('/').at(-1)!, p.split('/').at(-1)!.replace('.dump', '.json')]).sort());
    expect((await records('daily')).filter((r) => r.status === 'succeeded')).toEqual(daily);

    const human = await cli(['runs', 'list', '--task', 'backup', '--limit', '1']);
    expect(human.stdout).toContain(`pruned ${made[1]!.id}`);
    const pruned = await cli(['backup', 'verify', String(made[0]!.id)]);
    expect(pruned.code).toBe(2);
    expect(pruned.stderr).toContain(`backup ${made[0]!.id} was pruned by retention at`);
  });

  it('backup files are 0600 and folders 0700', () => {
    const walk = (path: string): string[] =>
      statSync(path).isDirectory() ? [path, ...readdirSync(path).flatMap((name) => walk(join(path, name)))] : [path];
    const entries = walk(backupDir);
    expect(entries.length).toBeGreaterThan(10);
    for (const path of entries) {
      expect((statSync(path).mode & 0o777).toString(8), path).toBe(statSync(path).isDirectory() ? '700' : '600');
    }
  });

  it('the password appears in no output, no record, no file, no argument list of the processes (sampled while they run)', async () => {
    const wrappers = join(fixture.dir, 'bin');
    const log = join(fixture.dir, 'tools.log');
    recordingTools(wrappers, log);
    const PATH = `${wrappers}:${process.env.PATH}`;
    const commandLines = new Set<string>();
    const sampled = async (args: string[]) => {
      const child = spawn(process.execPath, [BIN, ...args], { env: cleanEnv({ ...fixture.env, PATH }), stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d) => (stdout += d));
      child.stderr.on('data', (d) => (stderr += d));
      const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
      let done = false;
      void exited.then(() => (done = true));
      while (!done) {
        for (const { cmdline } of processTree(child.pid!)) commandLines.add(cmdline);
        await new Promise((r) => setTimeout(r, 5));
      }
      const code = await exited;
      outputs.push({ code, signal: null, stdout, stderr });
      expect(code, stderr).toBe(0);
      return stdout;
    };
    const made = JSON.parse(await sampled(['backup', '--type', 'weekly', '--json'])).result.backups[0];
    await sampled(['backup', 'verify', String(made.id), '--full']);
    const target = `${source.name}_secret`;
    restored.push(target);
    await sampled(['backup', 'restore', String(made.id), '--to', target]);

    // The tools ran, with the password in their environment only.
    const calls = readFileSync(log, 'utf8');
    expect(calls).toMatch(/^pg_dump argv: .*--dbname=postgres:\/\/postgres@127\.0\.0\.1:\d+\/sg_backup_src/m);
    expect(calls).toMatch(/^pg_restore argv: .*--dbname=postgres:\/\/postgres@127\.0\.0\.1:\d+\/singularity_verify_/m);
    expect(calls).toMatch(/^pg_restore argv: .*--dbname=postgres:\/\/postgres@127\.0\.0\.1:\d+\/sg_backup_src_\w+_secret/m);
    expect(calls).toMatch(/^pg_dump env: PGPASSWORD$/m);
    expect(calls).not.toContain(PASSWORD);
    expect([...commandLines].some((c) => c.includes('pg_dump') && c.includes('--snapshot='))).toBe(true);
    for (const cmdline of commandLines) expect(cmdline).not.toContain(PASSWORD);

    for (const { stdout, stderr } of outputs) expect(stdout + stderr).not.toContain(PASSWORD);
    const history = await db.query(`select row_to_json(r)::text as row from task_runs r union all select row_to_json(b)::text from backups b`);
    expect(history.length).toBeGreaterThan(10);
    for (const { row } of history) expect(row).not.toContain(PASSWORD);
    const files = readdirSync(backupDir, { recursive: true, withFileTypes: true }).filter((e) => e.isFile() && e.name.endsWith('.json'));
    for (const file of files) expect(readFileSync(join(file.parentPath, file.name), 'utf8')).not.toContain(PASSWORD);
    expect(existsSync(join(fixture.backend.config.home, 'embedded.log'))).toBe(false); // no embedded server, so no other log
  });
});
