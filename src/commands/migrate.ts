// `singularity migrate`: apply pending schema migrations, or show where the schema stands.
import { openCommandDatabase, type GlobalOptions } from './context.js';
import { loadConfig } from '../core/config.js';
import { migrate, migrationStatus } from '../core/migrate.js';
import { out, printJson } from './output.js';

export async function migrateCommand(opts: { status?: boolean; json?: boolean }, globals: GlobalOptions): Promise<number> {
  const db = await openCommandDatabase(await loadConfig(globals), { migrate: false });
  try {
    const applied = opts.status ? [] : await migrate(db);
    const status = await migrationStatus(db);
    const report = { database: db.target, appliedNow: applied, ...status };
    if (opts.json || globals.json) printJson(report);
    else {
      if (applied.length) out(`applied ${applied.length} migration(s) to ${db.target}: ${applied.join(', ')}`);
      if (status.pending.length) out(`${status.pending.length} migration(s) pending: ${status.pending.join(', ')}`);
      else out(`schema is up to date (${status.applied} migrations applied)`);
      if (status.ahead) out('warning: the database has migrations this version of singularity does not know; upgrade singularity');
    }
    return 0;
  } finally {
    await db.close();
  }
}
