// `singularity migrate`: apply pending schema migrations, or show where the schema stands.
import { openCommandDatabase, type GlobalOptions } from './context.js';
import { loadConfig } from '../core/config.js';
import { migrate, migrationStatus } from '../core/migrate.js';
import { out, printJson } from './output.js';
import { applyCentralLink } from '../central/link.js';

export async function migrateCommand(opts: { status?: boolean; json?: boolean }, globals: GlobalOptions): Promise<number> {
  const config = await loadConfig(globals);
  const db = await openCommandDatabase(config, { migrate: false });
  try {
    const applied = opts.status ? [] : await migrate(db);
    const status = await migrationStatus(db);
    // The central link follows CENTRAL_DATABASE_URL: set up, changed or dropped here (pg_cron's runs use it).
    const link = opts.status || status.pending.length ? undefined : await applyCentralLink(db, config);
    const report = { database: db.target, appliedNow: applied, ...status, role: config.role, ...(link !== undefined && { central: link && { instance: link.instance, mode: link.mode, target: link.target } }) };
    if (opts.json || globals.json) printJson(report);
    else {
      if (applied.length) out(`applied ${applied.length} migration(s) to ${db.target}: ${applied.join(', ')}`);
      if (status.pending.length) out(`${status.pending.length} migration(s) pending: ${status.pending.join(', ')}`);
      else out(`schema is up to date (${status.applied} migrations applied)`);
      if (link) out(`linked to the central database ${link.target} as instance '${link.instance}' (${link.mode === 'fdw' ? 'postgres_fdw' : 'a connection of its own: this database has no postgres_fdw'})`);
      if (config.role === 'central') out('role central: this database receives the instances\' learnings (central_learnings, central_patterns)');
      if (status.ahead) out('warning: the database has migrations this version of singularity does not know; upgrade singularity');
    }
    return 0;
  } finally {
    await db.close();
  }
}
