#!/usr/bin/env node
// backup on a database of a few hundred MB, made with SQL in the shape of what singularity stores (code
// chunks: a path, code-like text, JSON, a 384-dimension embedding quantized to bytes):
//   - `singularity backup` as a user runs it (the CLI: pg_dump -Fc, row counts, checksum, fsync, sidecar,
//     records) against a bare `pg_dump -Fc -f FILE` of the same database, in interleaved rounds (the
//     machine may be shared), medians; as a ratio without the verification right after writing, target
//     within 1.15x; and the run's own duration (without the process start) likewise;
//   - that verification (checksum re-read, pg_restore --list) and `backup verify --full` (a scratch
//     restore and row counts), reported on their own.
//   BENCH_DATABASE_URL=postgres://... npm run bench:backup [-- --size-mb 300 --rounds 3]
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';

const url = process.env.BENCH_DATABASE_URL ?? process.env.DATABASE_URL;
if (!url) {
  process.stderr.write('bench/backup needs BENCH_DATABASE_URL (or DATABASE_URL): a PostgreSQL server\n');
  process.exit(2);
}
const args = process.argv.slice(2);
const option = (name, fallback) => Number(args[args.indexOf(name) + 1] || fallback) || fallback;
const sizeMb = option('--size-mb', 300);
const rounds = option('--rounds', 3);
const median = (values) => [...values].sort((a, b) => a - b)[values.length >> 1];
const log = (line) => process.stderr.write(line + '\n');
const BIN = fileURLToPath(new URL('../bin/singularity', import.meta.url));

const name = `sg_bench_backup_${process.pid}`;
const target = new URL(url);
target.pathname = `/${name}`;
const withoutPassword = new URL(target);
withoutPassword.password = '';
const pgEnv = { ...process.env, PGPASSWORD: decodeURIComponent(target.password) };
const dir = mkdtempSync(join(tmpdir(), 'sg-bench-backup-'));
const env = { ...process.env, DATABASE_URL: target.toString(), SINGULARITY_HOME: join(dir, 'home'), SINGULARITY_BACKUP_DIR: join(dir, 'backups') };

const query = async (databaseUrl, text, params) => {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    return (await client.query(text, params)).rows;
  } finally {
    await client.end();
  }
};
const timed = (command, commandArgs, options) => {
  const t0 = performance.now();
  const result = spawnSync(command, commandArgs, { encoding: 'utf8', maxBuffer: 1 << 26, ...options });
  if (result.status !== 0) throw new Error(`${command} ${commandArgs.join(' ')} failed: ${result.stderr}`);
  return { ms: performance.now() - t0, stdout: result.stdout };
};

await query(url, `create database ${name}`);
try {
  log(`making a database of ${sizeMb} MB...`);
  timed(process.execPath, [BIN, 'migrate'], { env });
  await query(target.toString(), `create table bench_chunks (id bigserial primary key, path text not null, body text not null,
    meta jsonb, embedding bytea not null, created timestamptz default now())`);
  await query(target.toString(), `create index on bench_chunks (path)`);
  for (let batch = 0; ; batch++) {
    const [{ mb }] = await query(target.toString(), `select pg_database_size(current_database()) / 1048576 as mb`);
    if (Number(mb) >= sizeMb) break;
    await query(target.toString(),
      `insert into bench_chunks (path, body, meta, embedding)
       select 'src/module_' || (i % 5000) || '/file_' || i || '.ts',
              repeat('export function f' || i || '(x: number): number { return x * ' || (i % 97) || '; }' || chr(10), 3) || md5(i::text),
              jsonb_build_object('line', i % 1000, 'lang', 'typescript', 'hash', md5(random()::text)),
              decode(repeat(md5(i::text || 'e'), 12) || md5(random()::text) || md5(random()::text) || md5(random()::text) || md5(random()::text), 'hex')
       from generate_series($1::bigint * 100000, $1::bigint * 100000 + 99999) i`, [batch]);
  }
  await query(target.toString(), 'vacuum analyze');
  const [{ size }] = await query(target.toString(), `select pg_size_pretty(pg_database_size(current_database())) as size`);

  const bare = [];
  const cli = [];
  const work = [];
  const verify = [];
  let made;
  for (let round = 1; round <= rounds; round++) {
    log(`round ${round} of ${rounds}: bare pg_dump -Fc, then singularity backup...`);
    bare.push(timed('pg_dump', ['--format=custom', `--file=${join(dir, 'bare.dump')}`, `--dbname=${withoutPassword}`], { env: pgEnv }).ms);
    const run = timed(process.execPath, [BIN, 'backup', '--type', 'bench', '--keep', '1', '--json'], { env });
    const record = JSON.parse(run.stdout);
    made = record.result.backups[0];
    cli.push(run.ms - made.verifyMs);
    work.push(record.durationMs - made.verifyMs);
    verify.push(made.verifyMs);
  }
  log('backup verify --full...');
  const full = timed(process.execPath, [BIN, 'backup', 'verify', String(made.id), '--full'], { env });

  const s = (ms) => `${(ms / 1000).toFixed(2)} s`;
  const mb = (bytes) => `${(bytes / 1048576).toFixed(0)} MB`;
  const ratio = (ms) => `${(ms / median(bare)).toFixed(2)}x bare`;
  console.log(`backup benchmark: a ${size} database (${made.rows} rows), dump ${mb(made.sizeBytes)} (bare: ${mb(statSync(join(dir, 'bare.dump')).size)}), medians of ${rounds} interleaved rounds`);
  console.log(`  bare pg_dump -Fc -f FILE                                     ${s(median(bare))}   (${bare.map(s).join(', ')})`);
  console.log(`  singularity backup, CLI wall time, without verification      ${s(median(cli))}   ${ratio(median(cli))}, target <= 1.15x   (${cli.map(s).join(', ')})`);
  console.log(`  the run itself (its duration in the history), likewise       ${s(median(work))}   ${ratio(median(work))}`);
  console.log(`  verification right after writing (checksum, pg_restore -l)   ${s(median(verify))}`);
  console.log(`  backup verify --full (restore into a scratch database)       ${s(full.ms)}`);
} finally {
  await query(url, `drop database if exists ${name} with (force)`);
  rmSync(dir, { recursive: true, force: true });
}
