// Schema migrations: the SQL files in drizzle/ (listed in meta/_journal.json), applied by drizzle's migrator under an
// advisory lock so that any number of processes may start (and migrate) at once.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Database } from './database.js';

export const MIGRATIONS_FOLDER = fileURLToPath(new URL('../../drizzle', import.meta.url));
const MIGRATIONS_TABLE = 'drizzle.__drizzle_migrations';
// pg_advisory_lock key: the first 8 bytes of sha1('singularity:migrate'), fixed so every version agrees.
const MIGRATION_LOCK_KEY = '7162055817206411862';

interface JournalEntry {
  tag: string;
  when: number;
}

export function journal(): JournalEntry[] {
  const text = readFileSync(`${MIGRATIONS_FOLDER}/meta/_journal.json`, 'utf8');
  return (JSON.parse(text) as { entries: JournalEntry[] }).entries;
}

export interface MigrationStatus {
  applied: number;
  pending: string[];
  /** The database has migrations this version of singularity does not know (it is newer). */
  ahead: boolean;
}

export async function migrationStatus(db: Database): Promise<MigrationStatus> {
  const entries = journal();
  let appliedMillis: number[] = [];
  try {
    const rows = await db.query<{ created_at: string }>(`select created_at from ${MIGRATIONS_TABLE}`);
    appliedMillis = rows.map((r) => Number(r.created_at));
  } catch (error) {
    // 42P01 undefined_table, 3F000 invalid_schema_name: a database never migrated.
    const code = (error as { code?: string }).code;
    if (code !== '42P01' && code !== '3F000') throw error;
  }
  const last = appliedMillis.length ? Math.max(...appliedMillis) : -1;
  const known = new Set(entries.map((e) => e.when));
  return {
    applied: appliedMillis.length,
    pending: entries.filter((e) => e.when > last).map((e) => e.tag),
    ahead: appliedMillis.some((when) => !known.has(when)),
  };
}

/** Apply pending migrations; returns the tags applied (none when the schema is current). */
export async function migrate(db: Database): Promise<string[]> {
  return db.withClient(async (client) => {
    await client.query(`select pg_advisory_lock(${MIGRATION_LOCK_KEY})`);
    try {
      // Another process may have migrated while we waited for the lock.
      const { pending } = await migrationStatus(db);
      if (pending.length === 0) return [];
      const [{ drizzle }, { migrate: drizzleMigrate }] = await Promise.all([
        import('drizzle-orm/node-postgres'),
        import('drizzle-orm/node-postgres/migrator'),
      ]);
      await drizzleMigrate(drizzle(client), { migrationsFolder: MIGRATIONS_FOLDER });
      return pending;
    } finally {
      await client.query(`select pg_advisory_unlock(${MIGRATION_LOCK_KEY})`);
    }
  });
}

/** The cheap check every command makes: one query, and migrate only when behind. */
export async function ensureMigrated(db: Database): Promise<void> {
  const { pending } = await migrationStatus(db);
  if (pending.length > 0) await migrate(db);
}
