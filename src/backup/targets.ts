// Which databases `backup` dumps, by the name their backups are recorded and filed under.
import type { Config } from '../core/config.js';
import { ConfigError } from '../core/errors.js';
import { databaseNameOf } from './pg-tools.js';

export type BackupTarget = { name: string; kind: 'postgres'; url: string } | { name: string; kind: 'embedded' };

/** The name backups of the embedded database are recorded under. */
export const EMBEDDED = 'embedded';

/** backup.databases when configured; else the database singularity uses (a server's, or the embedded one). */
export function backupTargets(config: Config): BackupTarget[] {
  if (config.backup.databases.length) return config.backup.databases.map((d) => ({ name: d.name, kind: 'postgres', url: d.url }));
  if (config.databaseUrl) return [{ name: folderName(databaseNameOf(config.databaseUrl)), kind: 'postgres', url: config.databaseUrl }];
  return [{ name: EMBEDDED, kind: 'embedded' }];
}

/** The server a backup of `database` came from, as configured now. */
export function serverOf(config: Config, database: string, backupId: number): string {
  const target = backupTargets(config).find((t) => t.name === database);
  if (target?.kind !== 'postgres') {
    throw new ConfigError(`backup ${backupId} is of the database '${database}', which is not configured now, so its server is unknown`, {
      hint: `Add it to backup.databases in the config file: {"name": "${database}", "url": "postgres://USER@HOST:5432/DBNAME"}.`,
    });
  }
  return target.url;
}

// A database name names a folder of the backup path: keep it to what config's names allow.
function folderName(name: string): string {
  const safe = name.replace(/[^A-Za-z0-9_.-]/g, '_');
  return /^[A-Za-z0-9]/.test(safe) ? safe : `db${safe}`;
}
