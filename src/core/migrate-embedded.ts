// The embedded server migrates its PGlite database itself before it serves anyone: PGlite is a single
// session, so advisory locks cannot keep two clients' migrations apart there.
import type { PGlite } from '@electric-sql/pglite';
import { MIGRATIONS_FOLDER } from './migrate.js';

/** Returns the number of migrations applied. */
export async function migrateEmbedded(db: PGlite): Promise<number> {
  const count = async () => {
    try {
      const { rows } = await db.query<{ n: number }>('select count(*)::int as n from drizzle.__drizzle_migrations');
      return rows[0]!.n;
    } catch {
      return 0;
    }
  };
  const before = await count();
  const [{ drizzle }, { migrate }] = await Promise.all([
    import('drizzle-orm/pglite'),
    import('drizzle-orm/pglite/migrator'),
  ]);
  await migrate(drizzle(db), { migrationsFolder: MIGRATIONS_FOLDER });
  return (await count()) - before;
}
