#!/usr/bin/env node
// Cold-start benchmark: how long `singularity` takes to start, as a ratio to a bare `node -e 0`
// measured in the same run (the machine is noisy: only ratios within one run mean anything).
//
//   npm run bench:startup [-- --rounds N] [--warmup N] [--json] [--no-embedded]
//
// Rows, spawned round-robin (the starting row rotates each round, so drift hits all alike):
//   node -e 0                                   the baseline
//   singularity --help                          target: median ≤ 2.0x the baseline
//   singularity runs list --json (PostgreSQL)   target: ≤ 3.0x; needs BENCH_DATABASE_URL or DATABASE_URL
//   singularity runs list --json (embedded)     target: ≤ 3.0x; a warm embedded server in a temp home
// Each spawn's wall-clock time is taken with process.hrtime.bigint() around spawnSync; stdout is
// discarded, and a command that exits non-zero stops the benchmark. A missed target is reported,
// but the exit code stays 0: this is a measurement, not a test.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

// Set once the temp folder exists; die() may run before that (bad arguments).
let work;
let embeddedHome;
let cleanedUp = false;

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const BIN = join(ROOT, 'bin', 'singularity');
const NODE = process.execPath;

// ---- arguments -------------------------------------------------------------------------------
function usage() {
  return [
    'usage: node bench/startup.mjs [--rounds N] [--warmup N] [--json] [--no-embedded]',
    '  --rounds N      measured rounds (default 30)',
    '  --warmup N      warm-up rounds, not counted (default 3)',
    '  --json          print the results as JSON (progress goes to stderr)',
    '  --no-embedded   skip the embedded-database row',
    'The PostgreSQL row needs BENCH_DATABASE_URL (or DATABASE_URL), e.g.',
    '  BENCH_DATABASE_URL=postgres://USER:PASSWORD@127.0.0.1:5432/DBNAME npm run bench:startup',
  ].join('\n');
}

function usageError(message) {
  process.stderr.write(`bench: ${message}\n${usage()}\n`);
  process.exit(2);
}

function parseArgs(argv) {
  const opts = { rounds: 30, warmup: 3, json: false, embedded: true };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const [flag, inline] = arg.includes('=') ? [arg.slice(0, arg.indexOf('=')), arg.slice(arg.indexOf('=') + 1)] : [arg, undefined];
    const value = () => {
      const v = inline ?? argv[++i];
      const n = Number(v);
      if (v === undefined || !Number.isInteger(n) || n < 0) usageError(`${flag} needs a whole number, got '${v ?? ''}'`);
      return n;
    };
    if (flag === '--rounds') opts.rounds = value();
    else if (flag === '--warmup') opts.warmup = value();
    else if (flag === '--json') opts.json = true;
    else if (flag === '--no-embedded') opts.embedded = false;
    else if (flag === '--help' || flag === '-h') {
      process.stdout.write(usage() + '\n');
      process.exit(0);
    } else usageError(`unknown argument '${arg}'`);
  }
  if (opts.rounds < 1) usageError('--rounds must be at least 1');
  return opts;
}

// ---- secrets never printed ---------------------------------------------------------------------
const secrets = new Set();
function safeUrl(url) {
  try {
    const u = new URL(url);
    if (u.password) {
      secrets.add(decodeURIComponent(u.password));
      secrets.add(u.password);
      u.password = '***';
    }
    return u.toString();
  } catch {
    return '(not a valid URL)';
  }
}
function redact(text) {
  let out = String(text).replace(/\b([a-z][a-z0-9+.-]*:\/\/)([^/\s:@]*):([^@\s]*)@/gi, '$1$2:***@');
  for (const secret of secrets) if (secret.length >= 3) out = out.split(secret).join('***');
  return out;
}

const opts = parseArgs(process.argv.slice(2));
// With --json, stdout carries only the JSON document.
const say = (text = '') => (opts.json ? process.stderr : process.stdout).write(redact(text) + '\n');
// Only for fixed text that holds no secret (a placeholder URL would otherwise be starred).
const sayFixed = (text) => (opts.json ? process.stderr : process.stdout).write(text + '\n');
function die(message, code = 1) {
  process.stderr.write(redact(`bench: ${message}`) + '\n');
  cleanup();
  process.exit(code);
}

// ---- the environment every child gets -----------------------------------------------------------
// Children run in an empty temp folder so that no singularity.config.json or ./.singularity of the
// caller is picked up, with none of the caller's database settings.
work = mkdtempSync(join(tmpdir(), 'sg-bench-'));
const baseEnv = { ...process.env };
for (const key of ['DATABASE_URL', 'BENCH_DATABASE_URL', 'SINGULARITY_HOME', 'SINGULARITY_CONFIG', 'SINGULARITY_DEBUG', 'FORCE_COLOR']) {
  delete baseEnv[key];
}
baseEnv.NO_COLOR = '1';
embeddedHome = join(work, 'home');

function cleanup() {
  if (cleanedUp) return;
  cleanedUp = true;
  if (!work) return;
  stopEmbeddedServer();
  rmSync(work, { recursive: true, force: true, maxRetries: 3 });
}
process.on('SIGINT', () => die('interrupted', 130));
process.on('SIGTERM', () => die('terminated', 143));

/** Stop the embedded server that this benchmark started (the pid in its own temp home's lock file). */
function stopEmbeddedServer() {
  const lockFile = join(embeddedHome, 'embedded.lock');
  let pid;
  try {
    pid = JSON.parse(readFileSync(lockFile, 'utf8')).pid;
  } catch {
    return;
  }
  if (typeof pid !== 'number') return;
  try {
    process.kill(pid, 'SIGTERM');
  } catch {
    return;
  }
  const deadline = Date.now() + 5000;
  while (Date.now() < deadline) {
    try {
      process.kill(pid, 0);
    } catch {
      return;
    }
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 50);
  }
}

/** Run a command once; stop the benchmark if it fails. Returns its stdout and wall-clock ms. */
function run(row, { capture = false } = {}) {
  const start = process.hrtime.bigint();
  const result = spawnSync(row.file, row.args, {
    cwd: work,
    env: row.env,
    stdio: ['ignore', capture ? 'pipe' : 'ignore', 'pipe'],
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
    timeout: 120_000,
  });
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  if (result.error || result.status !== 0) {
    const why = result.error ? result.error.message : result.signal ? `was killed by ${result.signal}` : `exited with status ${result.status}`;
    die(`\`${row.label}\` ${why}\n${(result.stderr || '').trim()}`);
  }
  return { ms, stdout: result.stdout };
}

// ---- the rows ------------------------------------------------------------------------------------
if (!existsSync(join(ROOT, 'dist', 'cli.js'))) die('dist/ is missing: run `npm run build` first', 2);

const rows = [
  { key: 'baseline', label: 'node -e 0', file: NODE, args: ['-e', '0'], env: baseEnv, target: null },
  { key: 'help', label: 'singularity --help', file: NODE, args: [BIN, '--help'], env: baseEnv, target: 2.0 },
];
const skipped = [];

const dbUrl = process.env.BENCH_DATABASE_URL || process.env.DATABASE_URL;
const dbSource = process.env.BENCH_DATABASE_URL ? 'BENCH_DATABASE_URL' : 'DATABASE_URL';
let shownUrl;
if (dbUrl) {
  shownUrl = safeUrl(dbUrl);
  const env = { ...baseEnv, DATABASE_URL: dbUrl };
  const cli = (...args) => ({ label: `singularity ${args.join(' ')}`, file: NODE, args: [BIN, ...args], env });
  say(`PostgreSQL: ${shownUrl} (from ${dbSource})`);
  say('  preparing: singularity migrate, then singularity seed-plan ×3');
  run(cli('migrate'));
  for (let i = 0; i < 3; i++) run(cli('seed-plan'));
  const listed = JSON.parse(run(cli('runs', 'list', '--json'), { capture: true }).stdout);
  if (!Array.isArray(listed) || listed.length === 0) die('`singularity runs list --json` listed no runs after seeding');
  say(`  runs list --json lists ${listed.length} run(s)`);
  rows.push({ key: 'runs-postgres', ...cli('runs', 'list', '--json'), label: 'singularity runs list --json (PostgreSQL)', target: 3.0 });
} else {
  const why = 'no database: set BENCH_DATABASE_URL (or DATABASE_URL)';
  skipped.push({ key: 'runs-postgres', label: 'singularity runs list --json (PostgreSQL)', reason: why });
  say('PostgreSQL row skipped: no BENCH_DATABASE_URL or DATABASE_URL. To measure it, run for example');
  sayFixed('  BENCH_DATABASE_URL=postgres://USER:PASSWORD@127.0.0.1:5432/DBNAME npm run bench:startup');
  say('  (.ci/start-postgres.sh starts a throw-away server and prints its URL)');
}

if (opts.embedded) {
  // A long idle timeout keeps the server warm between rounds; it is stopped at the end.
  const env = { ...baseEnv, SINGULARITY_HOME: embeddedHome, SINGULARITY_EMBEDDED_IDLE_MS: '600000' };
  const cli = (...args) => ({ label: `singularity ${args.join(' ')} (embedded)`, file: NODE, args: [BIN, ...args], env });
  say(`embedded: SINGULARITY_HOME=${embeddedHome}`);
  say('  preparing: starting the embedded server (first call), then singularity seed-plan ×3');
  const first = run(cli('runs', 'list', '--json'));
  say(`  first call, which starts the server: ${first.ms.toFixed(0)} ms`);
  for (let i = 0; i < 3; i++) run(cli('seed-plan'));
  const listed = JSON.parse(run(cli('runs', 'list', '--json'), { capture: true }).stdout);
  if (!Array.isArray(listed) || listed.length === 0) die('`singularity runs list --json` (embedded) listed no runs after seeding');
  rows.push({ key: 'runs-embedded', ...cli('runs', 'list', '--json'), label: 'singularity runs list --json (embedded, warm server)', target: 3.0 });
} else {
  skipped.push({ key: 'runs-embedded', label: 'singularity runs list --json (embedded, warm server)', reason: '--no-embedded' });
}

// ---- measure -------------------------------------------------------------------------------------
say(`\n${opts.warmup} warm-up round(s), then ${opts.rounds} measured round(s) of ${rows.length} commands, round-robin…`);
for (const row of rows) row.samples = [];
const totalRounds = opts.warmup + opts.rounds;
for (let round = 0; round < totalRounds; round++) {
  for (let k = 0; k < rows.length; k++) {
    const row = rows[(round + k) % rows.length];
    const { ms } = run(row);
    if (round >= opts.warmup) row.samples.push(ms);
  }
  if (!opts.json && process.stdout.isTTY) process.stdout.write(`\r  round ${round + 1}/${totalRounds}`);
}
if (!opts.json && process.stdout.isTTY) process.stdout.write('\n');
cleanup();

// ---- report --------------------------------------------------------------------------------------
function quantile(sorted, q) {
  // Nearest rank: the smallest sample with at least q of all samples at or below it.
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))];
}
function median(sorted) {
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}
const round2 = (n) => Math.round(n * 100) / 100;

const baselineMedian = median([...rows[0].samples].sort((a, b) => a - b));
const results = rows.map((row) => {
  const sorted = [...row.samples].sort((a, b) => a - b);
  const med = median(sorted);
  const ratio = med / baselineMedian;
  return {
    key: row.key,
    command: row.label,
    medianMs: round2(med),
    p90Ms: round2(quantile(sorted, 0.9)),
    minMs: round2(sorted[0]),
    maxMs: round2(sorted[sorted.length - 1]),
    ratio: round2(ratio),
    target: row.target,
    pass: row.target === null ? null : ratio <= row.target,
  };
});
const failed = results.filter((r) => r.pass === false);

if (opts.json) {
  process.stdout.write(
    redact(
      JSON.stringify(
        {
          node: process.version,
          platform: `${process.platform}-${process.arch}`,
          rounds: opts.rounds,
          warmupRounds: opts.warmup,
          database: shownUrl ?? null,
          baselineMedianMs: round2(baselineMedian),
          results,
          skipped,
          allTargetsMet: failed.length === 0,
        },
        null,
        2,
      ),
    ) + '\n',
  );
} else {
  const header = ['command', 'median ms', 'p90 ms', 'ratio', 'target', 'result'];
  const body = results.map((r) => [
    r.command,
    r.medianMs.toFixed(1),
    r.p90Ms.toFixed(1),
    r.target === null ? '1.00x (baseline)' : `${r.ratio.toFixed(2)}x`,
    r.target === null ? '' : `≤ ${r.target.toFixed(1)}x`,
    r.pass === null ? '' : r.pass ? 'PASS' : 'FAIL',
  ]);
  for (const s of skipped) body.push([s.label, '-', '-', '-', '', `SKIPPED (${s.reason})`]);
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((line) => line[i].length)));
  const numeric = new Set([1, 2]);
  const fmt = (line) => line.map((cell, i) => (numeric.has(i) ? cell.padStart(widths[i]) : cell.padEnd(widths[i]))).join('  ').trimEnd();
  say('');
  say(`node ${process.version}, ${opts.rounds} measured rounds (+${opts.warmup} warm-up), wall-clock per spawn`);
  say(fmt(header));
  say(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const line of body) say(fmt(line));
  say('');
  if (failed.length === 0) {
    say(`all ${results.filter((r) => r.target !== null).length} startup targets met`);
  } else {
    say(`TARGET MISSED: ${failed.map((r) => `${r.command} at ${r.ratio.toFixed(2)}x (target ≤ ${r.target.toFixed(1)}x)`).join('; ')}`);
    say('(reported only: the exit code stays 0; compare ratios, not milliseconds, across runs)');
  }
}
process.exit(0);
