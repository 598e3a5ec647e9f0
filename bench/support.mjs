// What the benchmarks share: the database one measures on. With BENCH_DATABASE_URL (a PostgreSQL
// server), a database of its own there, dropped afterwards; otherwise the embedded database in a home
// folder under `temp`.
import { copyFileSync, existsSync, mkdirSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { loadConfig } from '../dist/core/config.js';
import { openDatabase } from '../dist/core/db.js';
import { liveLockOwner } from '../dist/core/embedded/lock.js';
import { embeddedPaths } from '../dist/core/embedded/paths.js';
import { isEmbedder, loadEmbedder } from '../dist/embed/transformers.js';
import { DENIED } from '../dist/ingest/scan.js';
import { buildStandInModel } from '../test/support/stand-in-model.mjs';

/**
 * The embedded database's configuration in a home under `temp`. Its server never idles out during a
 * benchmark (a restart, after a pause in which the model ran alone, would be measured as the
 * database's time); stopEmbeddedServer() stops it at the end.
 */
export const embeddedBenchConfig = (temp) => loadConfig({}, { SINGULARITY_HOME: join(temp, 'home'), SINGULARITY_EMBEDDED_IDLE_MS: '3600000' });

/** Stop the embedded server of a home (SIGTERM: it shuts down cleanly), before its folder is removed. */
export async function stopEmbeddedServer(config) {
  const lockFile = embeddedPaths(config.home).lockFile;
  const owner = liveLockOwner(lockFile);
  if (!owner) return;
  process.kill(owner.pid, 'SIGTERM');
  for (let i = 0; i < 200 && liveLockOwner(lockFile); i++) await sleep(50);
}

/** The configuration to measure on, and `drop()`, which removes the server database it made, or stops the embedded server. */
export async function benchDatabaseConfig(label, temp) {
  const url = process.env.BENCH_DATABASE_URL;
  if (!url) {
    const config = await embeddedBenchConfig(temp);
    return { config, drop: () => stopEmbeddedServer(config) };
  }
  const admin = await openDatabase(await loadConfig({}, { DATABASE_URL: url }), { migrate: false, max: 1 });
  const name = `sg_bench_${label}_${process.pid}`;
  await admin.query(`create database ${name}`);
  const target = new URL(url);
  target.pathname = `/${name}`;
  return {
    config: await loadConfig({}, { DATABASE_URL: target.toString() }),
    drop: async () => {
      await admin.query(`drop database ${name} with (force)`);
      await admin.close();
    },
  };
}

/**
 * The embedder to measure with: the real model when SINGULARITY_MODEL_DIR (embedding.modelDir) names a
 * folder that holds it, otherwise a stand-in in all-MiniLM-L6-v2's shape (6 layers, 384 wide: its
 * speed, not its meaning) built under `temp`. Never downloads.
 */
export async function minilmShapedEmbedder(config, temp) {
  let settings = config.embedding;
  if (!settings.modelDir) {
    const standIn = buildStandInModel(join(temp, 'models'), { modelId: 'singularity-test/minilm-shaped', layers: 6, hidden: 384, heads: 12, intermediate: 1536, maxPositions: 256 });
    settings = { ...settings, model: standIn.modelId, modelDir: standIn.modelDir };
  }
  const embedder = await loadEmbedder(settings, { allowDownload: false });
  if (!isEmbedder(embedder)) throw new Error(embedder.reason);
  return embedder;
}

/** A numeric command-line option of a benchmark: `--name N`, else the fallback. */
export function numberOption(args, name, fallback) {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : fallback;
}

/** The project's node_modules/: code nobody here wrote, for the benchmarks that ingest. */
export const modules = join(dirname(fileURLToPath(import.meta.url)), '..', 'node_modules');
const deniedFolders = new Set(DENIED.filter((p) => p.endsWith('/') && !p.includes('*')).map((p) => p.slice(0, -1)));
const SOURCE = /\.(ts|mts|cts|tsx|js|mjs|cjs|jsx)$/;

/** Copies the TypeScript and JavaScript files under `from` to `to`, a denied folder name getting a '_' (so that the scan takes it); returns their number. */
export function copySources(from, to) {
  let copied = 0;
  const walk = (folder, target) => {
    for (const entry of readdirSync(folder, { withFileTypes: true })) {
      const name = entry.isDirectory() && deniedFolders.has(entry.name) ? `${entry.name}_` : entry.name;
      if (entry.isDirectory()) walk(join(folder, entry.name), join(target, name));
      else if (entry.isFile() && SOURCE.test(entry.name)) {
        mkdirSync(target, { recursive: true });
        copyFileSync(join(folder, entry.name), join(target, name));
        copied++;
      }
    }
  };
  walk(from, to);
  return copied;
}

/** copySources() of each package of node_modules/ named, into `to`/<package>; returns the files copied. */
export function copyPackages(packages, to) {
  let copied = 0;
  for (const name of packages) {
    if (!existsSync(join(modules, name))) throw new Error(`node_modules/${name} is missing: run npm ci`);
    copied += copySources(join(modules, name), join(to, name));
  }
  return copied;
}
