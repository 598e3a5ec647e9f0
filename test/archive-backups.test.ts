// archive-backups, run through the runner against each backend on fixture backup records: which records
// leave `backups` (only those of pruned and failed backups older than the bound), where they go, and that
// no record of a backup whose file is kept is ever touched.
import { createHash } from 'node:crypto';
import { beforeEach, describe, expect, it } from 'vitest';
import { backendNames, onBackend, type Backend } from './support/backends.js';
import type { Database } from '../src/core/database.js';
import { UsageError } from '../src/core/errors.js';
import { runTask } from '../src/core/runner.js';
import { parseArgs } from '../src/core/task/args.js';
import archiveBackups from '../src/tasks/archive-backups.js';

describe('the archive-backups task definition', () => {
  it('is a monthly sql task whose flags render as SQL literals', () => {
    expect([archiveBackups.engine, archiveBackups.schedule]).toEqual(['sql', '0 5 1 * *']);
    expect(archiveBackups.sql(archiveBackups.args.parse({}))).toBe(
      `select archive_backups('90 days'::interval, 'archive') as result`,
    );
    const args = parseArgs(archiveBackups.args, { olderThan: '6w', mode: 'delete' }, 'archive-backups');
    expect(archiveBackups.sql(args)).toBe(`select archive_backups('6 weeks'::interval, 'delete') as result`);
  });

  it('refuses a mode other than archive or delete, and a bound that is not a duration, as usage errors', () => {
    expect(() => parseArgs(archiveBackups.args, { mode: 'move' }, 'archive-backups')).toThrow(UsageError);
    expect(() => parseArgs(archiveBackups.args, { mode: 'move' }, 'archive-backups')).toThrow(/--mode: .*"archive"\|"delete" \(got 'move'\)/);
    expect(() => parseArgs(archiveBackups.args, { olderThan: '3 months' }, 'archive-backups')).toThrow(/--older-than/);
  });
});

type Status = 'running' | 'succeeded' | 'failed' | 'pruned';
/** [name, type, database, status, age in days, verify error]; the name is the file's, and identifies the record. */
type Fixture = [string, string, string, Status, number, string?];

const FIXTURES: Fixture[] = [
  ['app-hourly-now', 'hourly', 'app', 'succeeded', 0.01],
  ['app-hourly-1h', 'hourly', 'app', 'succeeded', 0.05],
  ['app-hourly-pruned-45d', 'hourly', 'app', 'pruned', 45],
  ['app-hourly-pruned-89d', 'hourly', 'app', 'pruned', 89],
  ['app-hourly-pruned-91d', 'hourly', 'app', 'pruned', 91],
  ['app-hourly-pruned-200d', 'hourly', 'app', 'pruned', 200],
  ['app-hourly-failed-10d', 'hourly', 'app', 'failed', 10],
  ['app-hourly-failed-120d', 'hourly', 'app', 'failed', 120],
  // A dump killed mid-way and not resolved yet: its partial file may still be on disk.
  ['app-hourly-running-100d', 'hourly', 'app', 'running', 100],
  ['app-daily-2d', 'daily', 'app', 'succeeded', 2],
  ['app-daily-400d', 'daily', 'app', 'succeeded', 400],
  // Its file is there but failed its last verification: not a good backup, still a kept file.
  ['app-daily-unverifiable-150d', 'daily', 'app', 'succeeded', 150, 'pg_restore: error: could not read from input file: end of file'],
  // A database no longer backed up: its last good backup stays, however old.
  ['legacy-daily-300d', 'daily', 'legacy', 'succeeded', 300],
  ['legacy-daily-pruned-310d', 'daily', 'legacy', 'pruned', 310],
  ['legacy-daily-failed-305d', 'daily', 'legacy', 'failed', 305],
];
const names = (keep: (f: Fixture) => boolean) => FIXTURES.filter(keep).map(([name]) => name).sort();
/** Taken by the default bound: pruned or failed, started more than 90 days ago. */
const OLD_GONE = names(([, , , status, days]) => (status === 'pruned' || status === 'failed') && days > 90);
const REST = names(([name]) => !OLD_GONE.includes(name));
/** Records whose file exists (or may): never taken, whatever the bound. */
const FILE_KEPT = names(([, , , status]) => status === 'succeeded' || status === 'running');

describe.each(backendNames)('archive-backups on %s', (backendName) => {
  let backend: Backend;
  let db: Database;

  onBackend(backendName, (opened) => ({ backend, db } = opened));

  beforeEach(async () => {
    await db.query('truncate backups, backups_archive restart identity');
    for (const [i, [name, type, database, status, days, verifyError]] of FIXTURES.entries()) {
      const hasFile = status === 'succeeded' || status === 'pruned';
      await db.query(
        `insert into backups (type, database, path, size_bytes, sha256, started_at, finished_at, server_version,
                              pg_dump_version, status, verified_at, verified_how, verify_error, pruned_at, run_id, error)
         select $1, $2, $3, $4, $5, s, f, '15.8', 'pg_dump (PostgreSQL) 15.8', $6,
                case when $7 then f end, case when $7 then 'list' end, $8,
                case when $6 = 'pruned' then least(s + interval '6 hours', now()) end, $9, $10
           from (select now() - $11::float8 * interval '1 day' as s) t,
                lateral (select case when $6 <> 'running' then s + interval '90 seconds' end as f) u`,
        [
          type, database, `/srv/backups/${database}/${type}/${name}.dump`,
          hasFile ? 1_000_000 + i : null,
          hasFile ? createHash('sha256').update(name).digest('hex') : null,
          status, hasFile, verifyError ?? null, 500 + i,
          status === 'failed' ? { message: 'pg_dump: error: connection to server failed', exitCode: 1 } : null,
          days,
        ],
      );
    }
  });

  /** Every record of a table, by name, as JSON (every column). */
  async function records(table: 'backups' | 'backups_archive'): Promise<Record<string, Record<string, unknown>>> {
    const rows = await db.query<{ record: Record<string, unknown> & { path: string } }>(`select to_jsonb(t) as record from ${table} t`);
    return Object.fromEntries(rows.map(({ record }) => [record.path.split('/').pop()!.replace(/\.dump$/, ''), record]));
  }
  const pick = (all: Record<string, Record<string, unknown>>, keys: string[]) => Object.fromEntries(keys.map((k) => [k, all[k]]));
  const withoutArchivedAt = (all: Record<string, Record<string, unknown>>) =>
    Object.fromEntries(Object.entries(all).map(([k, { archived_at, ...rest }]) => [k, rest]));

  async function archive(flags: Record<string, unknown> = {}) {
    const run = await runTask({ db, config: backend.config }, archiveBackups, { trigger: 'cli', args: archiveBackups.args.parse(flags) });
    expect(run.error).toBeNull();
    expect(run.state).toBe('completed');
    return run;
  }

  it('moves the records of pruned and failed backups older than 90 days to the archive, every column intact', async () => {
    const before = await records('backups');
    const startedAt = Date.now();
    const run = await archive();

    expect(run.result).toEqual({ archived: OLD_GONE.length, kept: REST.length });
    expect(run.summary).toBe('archived 5 records of pruned or failed backups; 10 backup records remain');
    const after = await records('backups');
    expect(Object.keys(after).sort()).toEqual(REST);
    expect(after).toEqual(pick(before, REST));
    const archived = await records('backups_archive');
    expect(Object.keys(archived).sort()).toEqual(OLD_GONE);
    // Same id, same checksum, same times, same error: the record as it was, plus when it was archived.
    expect(withoutArchivedAt(archived)).toEqual(pick(before, OLD_GONE));
    for (const { archived_at } of Object.values(archived)) {
      expect(Date.parse(String(archived_at))).toBeGreaterThanOrEqual(startedAt - 5_000);
      expect(Date.parse(String(archived_at))).toBeLessThanOrEqual(Date.now() + 5_000);
    }
  });

  it('never touches the record of a backup whose file is kept, however old, nor of one still running', async () => {
    const before = await records('backups');
    // The widest bound there is: every pruned and failed record goes; the others stay as they were.
    const run = await archive({ olderThan: '0d' });
    expect(run.result).toEqual({ archived: FIXTURES.length - FILE_KEPT.length, kept: FILE_KEPT.length });
    expect(await records('backups')).toEqual(pick(before, FILE_KEPT));
  });

  it('keeps the newest good backup of each type and database, however old', async () => {
    const newestGood = () =>
      db.query(`select distinct on (type, database) type, database, to_jsonb(b) as record from backups b
                 where status = 'succeeded' and verified_at is not null and verify_error is null
                 order by type, database, started_at desc`);
    const before = await newestGood();
    expect(before.map((r) => (r.record as { path: string }).path)).toEqual([
      '/srv/backups/app/daily/app-daily-2d.dump',
      '/srv/backups/legacy/daily/legacy-daily-300d.dump',
      '/srv/backups/app/hourly/app-hourly-now.dump',
    ]);
    await archive({ olderThan: '0d' });
    expect(await newestGood()).toEqual(before);
  });

  it('keeps records just inside the bound, and --older-than moves the bound', async () => {
    await archive();
    let left = Object.keys(await records('backups'));
    expect(left).toContain('app-hourly-pruned-89d');
    expect(left).not.toContain('app-hourly-pruned-91d');
    expect(left).toContain('app-hourly-pruned-45d');

    const run = await archive({ olderThan: '30d' });
    expect(run.result).toEqual({ archived: 2, kept: REST.length - 2 });
    left = Object.keys(await records('backups'));
    expect(left).not.toContain('app-hourly-pruned-45d');
    expect(left).not.toContain('app-hourly-pruned-89d');
    expect(left).toContain('app-hourly-failed-10d');
  });

  it('--mode delete deletes the same records instead of archiving them', async () => {
    const before = await records('backups');
    const run = await archive({ mode: 'delete' });
    expect(run.result).toEqual({ deleted: OLD_GONE.length, kept: REST.length });
    expect(run.summary).toBe('deleted 5 records of pruned or failed backups; 10 backup records remain');
    expect(await records('backups')).toEqual(pick(before, REST));
    expect(await records('backups_archive')).toEqual({});
  });

  it.each(['move', "archive'); drop table backups; --"])(
    'fails a run whose mode is neither archive nor delete (%s), changing nothing',
    async (mode) => {
      const before = await records('backups');
      // As a hand-written pg_cron job would: past the flag parser, straight to archive_backups().
      const run = await runTask({ db, config: backend.config }, archiveBackups, { trigger: 'cli', args: { olderThan: '90d', mode } });
      expect(run.state).toBe('discarded');
      expect(run.error?.message).toContain(`p_mode must be 'archive' or 'delete', got '${mode.replace(/'/g, "''")}'`);
      expect(await records('backups')).toEqual(before);
      expect(await records('backups_archive')).toEqual({});
      // The command line never gets that far.
      expect(() => parseArgs(archiveBackups.args, { mode }, 'archive-backups')).toThrow(/--mode/);
    },
  );

  it('moves nothing when run again', async () => {
    await archive();
    const archived = await records('backups_archive');
    const run = await archive();
    expect(run.result).toEqual({ archived: 0, kept: REST.length });
    expect(run.summary).toBe('archived 0 records of pruned or failed backups; 10 backup records remain');
    expect(await records('backups_archive')).toEqual(archived);
    expect(Object.keys(await records('backups')).sort()).toEqual(REST);
  });

  it('keeps in backups_archive the columns of backups, plus archived_at', async () => {
    const columns = (table: string) =>
      db.query<{ column_name: string; data_type: string }>(
        `select column_name, data_type from information_schema.columns
          where table_schema = current_schema() and table_name = $1 order by ordinal_position`,
        [table],
      );
    expect(await columns('backups_archive')).toEqual([
      ...(await columns('backups')),
      { column_name: 'archived_at', data_type: 'timestamp with time zone' },
    ]);
  });

  it('refuses a record that contradicts its state', async () => {
    const insert = (values: Record<string, unknown>) => {
      const row = { type: 'hourly', database: 'app', path: '/srv/backups/app/hourly/new.dump', ...values };
      const keys = Object.keys(row);
      return db.query(`insert into backups (${keys.join(', ')}) values (${keys.map((_, i) => `$${i + 1}`).join(', ')})`, Object.values(row));
    };
    const done = { finished_at: new Date(), server_version: '15.8', pg_dump_version: 'pg_dump (PostgreSQL) 15.8' };
    const file = { ...done, size_bytes: 10, sha256: 'a'.repeat(64) };
    await expect(insert({ type: '../hourly' })).rejects.toThrow(/check constraint/);
    await expect(insert({ ...done, status: 'succeeded', size_bytes: 10 })).rejects.toThrow(/backups_file_described/);
    await expect(insert({ ...done, status: 'failed' })).rejects.toThrow(/backups_failed_why/);
    await expect(insert({ ...file, status: 'pruned' })).rejects.toThrow(/backups_pruned_when/);
    await expect(insert({ status: 'succeeded', ...file, finished_at: null })).rejects.toThrow(/backups_finished/);
    // Two records can never claim one file; the path of a pruned backup's file, gone, may be used again.
    await expect(insert({ path: '/srv/backups/app/hourly/app-hourly-now.dump' })).rejects.toThrow(/backups_live_path_idx/);
    await insert({ path: '/srv/backups/app/hourly/app-hourly-pruned-45d.dump' });
    // A running backup: the table's defaults.
    const [fresh] = await db.query(`select status, format, finished_at from backups where path like '%pruned-45d%' and status = 'running'`);
    expect(fresh).toEqual({ status: 'running', format: 'custom', finished_at: null });
  });
});
