// What the benchmarks share: the database one measures on. With BENCH_DATABASE_URL (a PostgreSQL
// server), a database of its own there, dropped afterwards; otherwise the embedded database in a home
// folder under `temp`.
import { join } from 'node:path';
import { loadConfig } from '../dist/core/config.js';
import { openDatabase } from '../dist/core/db.js';

/** The embedded database's configuration in a home under `temp` (its server idles out soon after). */
export const embeddedBenchConfig = (temp) => loadConfig({}, { SINGULARITY_HOME: join(temp, 'home'), SINGULARITY_EMBEDDED_IDLE_MS: '1000' });

/** The configuration to measure on, and `drop()`, which removes the server database it made (if any). */
export async function benchDatabaseConfig(label, temp) {
  const url = process.env.BENCH_DATABASE_URL;
  if (!url) return { config: await embeddedBenchConfig(temp), drop: async () => {} };
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
