// `singularity doctor`: every check, in order, each with its verdict and (when not ok) the fix. Returns
// results; printing is the command's. Read-only: it migrates nothing and marks no run.
import { toolVersion } from '../backup/pg-tools.js';
import { defaultKeep } from '../backup/retention.js';
import { backupTargets } from '../backup/targets.js';
import type { Config } from '../core/config.js';
import type { OpenOptions } from '../core/db.js';
import type { Database } from '../core/database.js';
import { DAY_MS, parseDuration } from '../core/duration.js';
import { migrationStatus, type MigrationStatus } from '../core/migrate.js';
import { redact } from '../core/redact.js';
import { jobStatuses, openCronDatabase, PgCronUnavailableError, type PgCronSite } from '../pgcron/pgcron.js';
import type { Crontab } from '../schedule/crontab.js';
import type { TaskSet } from '../core/task/registry.js';
import { checkBackups } from './backups.js';
import { checkMigrations, checkReachable, checkServerVersion, serverVersion, type ServerVersion } from './database.js';
import { checkPgCron, checkPgvector, checkPostgresFdw, findPgCron } from './extensions.js';
import { checkBackupDir, checkCrontab, checkEmbeddedData, checkEmbeddingModel, checkPgDump, checkTemplates } from './local.js';
import { checkMetrics } from './metrics.js';
import { checkEnginesSideBySide, checkPgCronJobs, jobFailures } from './pgcron-jobs.js';
import { checkSchedule } from './schedule.js';
import { listPauses } from '../schedule/pauses.js';
import { checkHistorySize, checkRecentFailures, checkStuckRuns } from './runs.js';
import { fail, guarded, ok, type Check, type DoctorReport } from './types.js';

export type { Check, DoctorReport, Verdict } from './types.js';

export interface DoctorOptions extends Pick<OpenOptions, 'onEmbeddedStart'> {
  /** The tasks this configuration knows (the built-in ones and its task modules'). */
  loadTasks: () => Promise<TaskSet>;
}

export async function runDoctor(config: Config, options: DoctorOptions): Promise<DoctorReport> {
  const local = await checkCrontab(config, options.loadTasks);
  const { check: reachable, db } = await checkReachable(config, { onEmbeddedStart: options.onEmbeddedStart });
  const checks: Check[] = [reachable];
  let server: ServerVersion | undefined;
  let databaseBytes = 0;
  if (db) {
    try {
      checks.push(await guarded('server-version', 'server version', async () => checkServerVersion((server = await serverVersion(db)))));
      let schema: MigrationStatus | undefined;
      checks.push(await guarded('migrations', 'migrations', async () => checkMigrations((schema = await migrationStatus(db)))));
      checks.push(...(await databaseChecks(db, config, local, { major: server?.major, schemaCurrent: schema?.pending.length === 0 })));
      databaseBytes = Number((await db.query<{ size: number }>('select pg_database_size(current_database()) as size').catch(() => []))[0]?.size ?? 0);
    } finally {
      await db.close();
    }
  }
  checks.push(
    local.check,
    // pg_dump is needed where a server is backed up: singularity's own, or one of backup.databases.
    checkPgDump(await toolVersion('pg_dump'), backupTargets(config).some((t) => t.kind === 'postgres') ? 'postgres' : 'embedded', server?.major),
    await guarded('backup-dir', 'backup directory', () => checkBackupDir(config, databaseBytes)),
    await guarded('embedding-model', 'embedding model', () => checkEmbeddingModel(config)),
    await guarded('templates', 'templates_data', () => checkTemplates(config.knowledge.templatesDir)),
  );
  if (!config.databaseUrl) checks.push(checkEmbeddedData(config, !!db));
  checks.push(checkSecrets(checks, config));
  return { ok: !checks.some((c) => c.verdict === 'fail'), checks };
}

async function databaseChecks(
  db: Database,
  config: Config,
  local: Awaited<ReturnType<typeof checkCrontab>>,
  { major = 15, schemaCurrent }: { major?: number; schemaCurrent: boolean },
): Promise<Check[]> {
  const checks: Check[] = [];
  const schedule = local.tasks && local.crontab ? { tasks: local.tasks, crontab: local.crontab } : undefined;
  let located: PgCronSite | PgCronUnavailableError | undefined;
  checks.push(await guarded('pg_cron', 'pg_cron', async () => {
    if (db.kind === 'postgres') located = await findPgCron(db);
    return checkPgCron(db, located, schedule);
  }));
  checks.push(await guarded('pgvector', 'pgvector', () => checkPgvector(db, major)));
  checks.push(await guarded('postgres_fdw', 'postgres_fdw', () => checkPostgresFdw(db)));
  // The schedule check goes first: status's report reads pg_cron's record into the history, which the
  // pg_cron checks below then read (a direct-command job's last run).
  if (schedule && schemaCurrent) checks.push(await guarded('schedule', 'schedule in force', () => checkSchedule(db, config, schedule.tasks, schedule.crontab)));
  if (located && !(located instanceof PgCronUnavailableError)) checks.push(...(await pgCronJobChecks(db, located, schemaCurrent)));
  // Without the schema there is no history to look at: the migrations check says so and how to fix it.
  if (!schemaCurrent) return checks;

  const prune = local.crontab?.entries.find((e) => e.task === 'prune-runs' && !e.onStart);
  const olderThan = String(prune?.args.olderThan ?? '30d');
  checks.push(
    await guarded('recent-failures', 'recent failures', () => checkRecentFailures(db)),
    await guarded('stuck-runs', 'stuck runs', () => checkStuckRuns(db, config.runs.staleAfterMs)),
    await guarded('history-size', 'run history', () => checkHistorySize(db, { olderThan, ms: parseDuration(olderThan) ?? 30 * DAY_MS })),
    await guarded('backups', 'backups', () => checkBackups(db, (type) => keepOf(local.crontab, type))),
    await guarded('notifications', 'notifications', async () => (await import('./notifications.js')).checkNotifications(db, config)),
    await guarded('metrics', 'metrics', () => checkMetrics(db)),
    await guarded('central', 'central database', async () => (await import('./central.js')).checkCentral(db, config)),
  );
  return checks;
}

/** How many good backups of a type the crontab keeps: its backup entry's --keep, or the default; undefined if none makes them. */
function keepOf(crontab: Crontab | undefined, type: string): number | undefined {
  const entry = crontab?.entries.find((e) => e.task === 'backup' && e.args.type === type);
  return entry && ((entry.args.keep as number | undefined) ?? defaultKeep(type));
}

async function pgCronJobChecks(db: Database, site: PgCronSite, schemaCurrent: boolean): Promise<Check[]> {
  let cronDb: Database | undefined;
  try {
    cronDb = await openCronDatabase(db, site);
    const jobs = schemaCurrent ? await jobStatuses(db, cronDb, site) : [];
    const failures = await jobFailures(cronDb, site);
    const wanted = schemaCurrent ? await db.query<{ jobname: string; entry: string }>('select jobname, entry from pgcron_jobs order by jobname') : [];
    const paused = schemaCurrent ? (await listPauses(db)).map((p) => p.entry) : [];
    const checks = [checkPgCronJobs(jobs, failures, wanted, paused)];
    if (schemaCurrent) checks.push(await guarded('engines', 'both engines, last 24 h', () => checkEnginesSideBySide(db, cronDb!, site)));
    return checks;
  } catch (error) {
    return [fail('pg_cron-jobs', 'pg_cron jobs', `cannot read pg_cron's jobs in '${site.cronDatabase}': ${(error as Error).message}`,
      `The user in DATABASE_URL must be able to connect to '${site.cronDatabase}' and read cron.job and cron.job_run_details.`)];
  } finally {
    if (cronDb && cronDb !== db) await cronDb.close();
  }
}

/** Nothing the report says contains a password: no registered secret, no credentials in a URL, no password=... */
export function checkSecrets(checks: Check[], config: Config): Check {
  const text = checks.map((c) => `${c.title}\n${c.detail}\n${c.fix ?? ''}`).join('\n');
  let password = '';
  try {
    password = config.databaseUrl ? decodeURIComponent(new URL(config.databaseUrl).password) : '';
  } catch {
    // not a URL: loadConfig would have refused it
  }
  if (redact(text) !== text || (password && text.includes(password))) {
    return fail('secrets', 'secrets', 'a password or credentials appear in this report (the output masks them as ***)',
      'Report this as a bug: every message should pass through redact() before it is printed.');
  }
  return ok('secrets', 'secrets', `no password or credentials in this report${password ? " (DATABASE_URL's password checked)" : ''}`);
}
