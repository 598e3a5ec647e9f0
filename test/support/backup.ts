// Helpers of the backup tests: databases with a bit of everything in them, their schema and rows in a
// form that can be compared, the config file that names them, and scripts put first on PATH in place of
// pg_dump (one that records how it was called, then runs the real one; one that crashes on purpose).
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import type { BackupRunResult, DatabaseBackup } from '../../src/backup/backup.js';
import type { Database } from '../../src/core/database.js';
import type { Run } from '../../src/core/runs.js';
import { createBackend, type Backend } from './backends.js';
import type { CliResult } from './cli.js';

export const ADMIN_URL = process.env.TEST_DATABASE_URL;
export const PASSWORD = ADMIN_URL ? decodeURIComponent(new URL(ADMIN_URL).password) : 'none';

export async function sql<T extends pg.QueryResultRow = pg.QueryResultRow>(url: string, text: string, params: unknown[] = []): Promise<T[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<T>(text, params)).rows;
  } finally {
    await client.end();
  }
}

export function urlOf(database: string): string {
  const url = new URL(ADMIN_URL!);
  url.pathname = `/${database}`;
  return url.toString();
}

/** A new database on the test server; drop() removes it (and nothing else). */
export async function createDatabase(prefix: string): Promise<{ name: string; url: string; drop(): Promise<void> }> {
  const name = `${prefix}_${process.pid}_${Math.random().toString(36).slice(2, 8)}`;
  await sql(ADMIN_URL!, `create database ${name}`);
  return { name, url: urlOf(name), drop: () => dropDatabase(name) };
}

export const dropDatabase = (name: string) => sql(ADMIN_URL!, `drop database if exists "${name}" with (force)`).then(() => {});

/** Types, constraints, an index, a view, a function, a second schema, and rows with awkward values. */
export const SAMPLE_SCHEMA = `
  create type mood as enum ('happy', 'sad');
  create table authors (id bigserial primary key, name text not null unique, mood mood, born date, meta jsonb);
  create table books (id serial primary key, author_id bigint not null references authors (id) on delete cascade,
    title text not null, tags text[], price numeric(10, 2), cover bytea, published timestamptz default now());
  create index books_title_idx on books (lower(title));
  create view author_books as select a.name, count(b.id) as books from authors a left join books b on b.author_id = a.id group by a.name;
  create function book_count(author bigint) returns bigint language sql stable as $$ select count(*) from books where author_id = author $$;
  create schema archive;
  create table archive.events (at timestamptz primary key, payload text);
  insert into authors (name, mood, born, meta)
    select 'author ' || g, (case when g % 2 = 0 then 'happy' else 'sad' end)::mood, date '1950-01-01' + g,
           jsonb_build_object('n', g, 'quote', 'it''s "quoted"', 'line', E'two\\nlines')
    from generate_series(1, 200) g;
  insert into books (author_id, title, tags, price, cover)
    select 1 + g % 200, E'title\\twith a tab ' || g, array['a', 'b' || g], g * 1.25, decode(md5(g::text), 'hex')
    from generate_series(1, 3000) g;
  insert into archive.events select timestamptz '2026-01-01' + g * interval '1 minute', repeat('x', g % 50) from generate_series(1, 500) g;
`;

/** The schema as pg_dump prints it (comparable between two databases: no owners, no per-run keys). */
export function schemaOf(url: string): string {
  const u = new URL(url);
  u.password = '';
  const text = execFileSync('pg_dump', ['--schema-only', '--no-owner', `--dbname=${u}`], {
    encoding: 'utf8', env: { ...process.env, PGPASSWORD: PASSWORD },
  });
  return text.split('\n').filter((line) => !/^\\(un)?restrict /.test(line)).join('\n');
}

/** Every user table's rows, as a digest per table. */
export async function rowsOf(url: string, tables: string[]): Promise<Record<string, string>> {
  const digests: Record<string, string> = {};
  for (const table of tables) {
    const [row] = await sql<{ digest: string; n: string }>(url,
      `select md5(coalesce(string_agg(t::text, '|' order by t::text), '')) as digest, count(*) as n from ${table} t`);
    digests[table] = `${row!.n} rows, ${row!.digest}`;
  }
  return digests;
}

export const SAMPLE_TABLES = ['public.authors', 'public.books', 'archive.events'];

/** A config file naming the databases to back up and the backup folder. */
export function writeConfig(dir: string, backup: { dir: string; databases?: Array<{ name: string; url: string }> }): string {
  mkdirSync(dir, { recursive: true });
  const path = join(dir, 'singularity.config.json');
  writeFileSync(path, JSON.stringify({ backup }, null, 2));
  return path;
}

/** A shell script named `name` in `dir` (put `dir` first on PATH to use it). */
export function script(dir: string, name: string, body: string): void {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, name), `#!/bin/sh\n${body}\n`);
  chmodSync(join(dir, name), 0o755);
}

/** pg_dump and pg_restore that append their arguments and the names of their environment variables to `log`, then run the real ones. */
export function recordingTools(dir: string, log: string): void {
  for (const tool of ['pg_dump', 'pg_restore']) {
    script(dir, tool, `{ echo "${tool} argv: $*"; env | cut -d= -f1 | sed 's/^/${tool} env: /'; } >> '${log}'\nexec /usr/bin/${tool} "$@"`);
  }
}

/** Processes in the tree below `root` (root included), with their command lines. */
export function processTree(root: number): Array<{ pid: number; cmdline: string }> {
  const parents = new Map<number, number>();
  const cmdlines = new Map<number, string>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      parents.set(Number(entry), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
      cmdlines.set(Number(entry), readFileSync(`/proc/${entry}/cmdline`, 'utf8').replace(/\0/g, ' '));
    } catch {
      // gone meanwhile
    }
  }
  const inTree = (pid: number): boolean => pid === root || (pid > 1 && parents.has(pid) && inTree(parents.get(pid)!));
  return [...cmdlines].filter(([pid]) => inTree(pid)).map(([pid, cmdline]) => ({ pid, cmdline }));
}

/** The backup a `backup --json` run made (its first database's). */
export function madeBackup(result: CliResult): DatabaseBackup {
  return (JSON.parse(result.stdout) as Run & { result: BackupRunResult }).result.backups[0]!;
}

export interface BackupFixture {
  /** singularity's own database (the records), on the test server. */
  backend: Backend;
  db: Database;
  /** The database backed up, configured as 'app', holding SAMPLE_SCHEMA. */
  source: Awaited<ReturnType<typeof createDatabase>>;
  dir: string;
  backupDir: string;
  /** The environment of a CLI run: singularity's database, and the config file naming the source. */
  env: Record<string, string>;
  dispose(): Promise<void>;
}

export async function createBackupFixture(prefix: string): Promise<BackupFixture> {
  const backend = await createBackend('postgres');
  const db = await backend.open();
  const source = await createDatabase(prefix);
  await sql(source.url, SAMPLE_SCHEMA);
  const dir = mkdtempSync(join(tmpdir(), `${prefix}-`));
  const backupDir = join(dir, 'backups');
  const env = { ...backend.env, SINGULARITY_CONFIG: writeConfig(dir, { dir: backupDir, databases: [{ name: 'app', url: source.url }] }) };
  return {
    backend, db, source, dir, backupDir, env,
    async dispose() {
      await source.drop();
      await db.close();
      await backend.dispose();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
