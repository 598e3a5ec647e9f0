// Backups of the embedded database (no DATABASE_URL): its server makes the dump with PGlite's pg_dump,
// between clients' transactions, leaving the session it shares with them as it was; list, verify --full
// and restore work on those backups (restore: into the embedded database of a home folder).
import { existsSync, readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { Sidecar } from '../src/backup/files.js';
import { backupFiles } from '../src/backup/files.js';
import type { BackupRecord } from '../src/backup/records.js';
import type { Database } from '../src/core/database.js';
import { createBackend, type Backend, FAST_TIMINGS } from './support/backends.js';
import { madeBackup } from './support/backup.js';
import { runCli } from './support/cli.js';

const SETTINGS = `select current_setting('search_path') as search_path, current_setting('DateStyle') as datestyle,
  current_setting('statement_timeout') as statement_timeout, current_setting('client_min_messages') as client_min_messages`;
const NOTES = `select count(*)::int as n, md5(string_agg(n::text, '|' order by id)) as digest from notes n`;
const COLUMNS = `select md5(string_agg(concat_ws(' ', table_schema, table_name, column_name, data_type, is_nullable, column_default), '|'
  order by table_schema, table_name, ordinal_position)) as digest from information_schema.columns where table_schema not in ('pg_catalog', 'information_schema')`;

describe('the backup command', () => {
  it('the default crontab has the hourly and the daily backup; `backup --help` shows list, verify and restore', async () => {
    const crontab = await runCli(['crontab']);
    expect(crontab.stdout).toMatch(/^0 \* \* \* \* backup --type hourly$/m);
    expect(crontab.stdout).toMatch(/^0 1 \* \* \* backup --type daily$/m);
    const help = await runCli(['backup', '--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/--type <value> +the retention class/);
    for (const command of ['list [options]', 'verify [options] <id>', 'restore [options] <id>']) expect(help.stdout).toContain(command);
  });
});

describe('backup of the embedded database', () => {
  let backend: Backend;
  let target: Backend;
  let db: Database;

  const backup = async () => {
    const result = await runCli(['backup', '--type', 'daily', '--json'], backend.env);
    expect(result.code, result.stdout + result.stderr).toBe(0);
    return madeBackup(result);
  };

  beforeAll(async () => {
    backend = await createBackend('embedded');
    target = await createBackend('embedded');
    db = await backend.open();
    await db.query(`create extension if not exists vector`);
    await db.query(`create table notes (id serial primary key, body text not null, embedding vector(3), meta jsonb)`);
    await db.query(`insert into notes (body, embedding, meta)
                    select E'note\\t' || g || ' it''s', ('[' || g || ',0.5,-1]')::vector, jsonb_build_object('g', g) from generate_series(1, 500) g`);
  });
  afterAll(async () => {
    await db?.close();
    await backend?.dispose();
    await target?.dispose();
  });

  it('backup, list, verify --full, restore into a new home: the same schema and rows', async () => {
    const made = await backup();
    expect(made).toMatchObject({ database: 'embedded', format: 'plain', pruned: [] });
    expect(made.path).toMatch(/\/backups\/embedded\/daily\/\d{8}T\d{6}Z-\d+\.sql$/);
    expect(made.rows).toBeGreaterThanOrEqual(500);

    const list = await runCli(['backup', 'list', '--json'], backend.env);
    expect((JSON.parse(list.stdout) as BackupRecord[])[0]).toMatchObject({
      id: made.id, database: 'embedded', format: 'plain', status: 'succeeded', verifiedHow: 'list', pgDumpVersion: expect.stringMatching(/\(PGlite\)$/),
    });
    const verified = await runCli(['backup', 'verify', String(made.id), '--full'], backend.env);
    expect(verified.code, verified.stderr).toBe(0);
    expect(verified.stdout).toContain(`backup ${made.id} verified (full): restored into a scratch database`);

    const restored = await runCli(['backup', 'restore', String(made.id), '--to', target.config.home], backend.env);
    expect(restored.code, restored.stderr).toBe(0);
    expect(restored.stdout).toContain(`restored backup ${made.id} into the embedded database in ${target.config.home} (created)`);
    expect(restored.stdout).toContain('every table has the rows it had at dump time');
    const copy = await target.open({ migrate: false });
    try {
      expect(await copy.query(NOTES)).toEqual(await db.query(NOTES));
      expect(await copy.query(COLUMNS)).toEqual(await db.query(COLUMNS));
      expect(await copy.query(`select embedding::text from notes where id = 7`)).toEqual([{ embedding: '[7,0.5,-1]' }]);
    } finally {
      await copy.close();
    }
  }, 120_000); // starts two embedded servers and an in-memory PGlite

  it("the dump waits for a client's open transaction, includes what it committed, and leaves the shared session's settings as they were", async () => {
    const before = await db.query(SETTINGS);
    const done = await db.withClient(async (client) => {
      await client.query('begin');
      await client.query(`insert into notes (body) values ('committed while the backup waited')`);
      const running = backup();
      await new Promise((r) => setTimeout(r, 1_500));
      await client.query('commit');
      return running;
    });
    const sidecar = JSON.parse(readFileSync(backupFiles(done.path).sidecar, 'utf8')) as Sidecar;
    const [{ n }] = (await db.query<{ n: number }>(NOTES)) as [{ n: number }];
    expect(sidecar.tables['public.notes']).toBe(n);
    expect(readFileSync(done.path, 'utf8')).toContain('committed while the backup waited');
    expect(await db.query(SETTINGS)).toEqual(before);
  });

  it('restore over the live embedded database needs --force; with it the rows come back and the backup records of now stay', async () => {
    const made = await backup();
    const rows = await db.query(NOTES);
    await db.query(`delete from notes where id > 100`);
    const refused = await runCli(['backup', 'restore', String(made.id), '--to', backend.config.home], backend.env);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('is the database singularity uses');

    const records = await db.query(`select id, status, path from backups order by id`);
    const settings = await db.query(SETTINGS);
    const forced = await runCli(['backup', 'restore', String(made.id), '--to', backend.config.home, '--force'], backend.env);
    expect(forced.code, forced.stderr).toBe(0);
    expect(forced.stdout).toContain(`the backup records of now were kept (${records.length})`);
    expect(await db.query(NOTES)).toEqual(rows);
    expect(await db.query(`select id, status, path from backups order by id`)).toEqual(records);
    expect(await db.query(SETTINGS)).toEqual(settings);

    // The next backup finds nothing left running: the restored backup's file stays.
    // The run history is the backup's, where its own run is executing: wait until its heartbeat is older than
    // runs.staleAfterMs (by the database's clock, which the next backup's reaper reads), so it is found dead.
    await vi.waitFor(async () => {
      const live = await db.query(`select id from task_runs where state = 'executing' and heartbeat_at >= now() - make_interval(secs => $1::int / 1000.0)`,
        [Number(FAST_TIMINGS.SINGULARITY_STALE_AFTER_MS)]);
      expect(live).toEqual([]);
    }, { timeout: 20_000, interval: 100 });
    const next = await backup();
    expect(next).toMatchObject({ adopted: [], abandoned: [] });
    expect(existsSync(made.path)).toBe(true);
  });
});
