// `pgcron install | uninstall | status`: the sql tasks' schedules as pg_cron jobs, applied as a difference.
// Jobs singularity manages are named `singularity:<task>[:<n>]@<database>` (pg_cron names are unique per
// user, and one server may hold several singularity databases); no other job is ever touched.
import type { Config } from '../core/config.js';
import { openDatabase } from '../core/db.js';
import type { Database } from '../core/database.js';
import { SingularityError, EXIT } from '../core/errors.js';
import { durationInterval } from '../core/task/args.js';
import { sqlLiteral, type TaskDefinition } from '../core/task/define.js';
import type { TaskSet } from '../core/task/registry.js';
import type { Crontab, CrontabEntry } from '../schedule/crontab.js';
import { PGCRON_JOB_PREFIX } from './placement.js';

/** pg_cron cannot be used here; the message says why and the hint what to do. Exit 2. */
export class PgCronUnavailableError extends SingularityError {
  override readonly exitCode = EXIT.usage;
}

export interface PgCronSite {
  /** The database singularity uses: where the jobs run. */
  database: string;
  /** The database pg_cron lives in (cron.database_name): where the jobs are stored. */
  cronDatabase: string;
  version: string;
  /** The zone pg_cron reads schedules in. */
  timezone: string;
}

export interface CronJob {
  jobname: string;
  task: string;
  entry: string;
  schedule: string;
  command: string;
  /** The entry's arguments, as its runs record them. */
  args: Record<string, unknown>;
  /** Run as it is, outside the recording wrapper: its outcome is read from cron.job_run_details. */
  direct: boolean;
  /** False for a paused entry's job (`schedule pause`): installed, not started. Default true. */
  active?: boolean;
  /** Where the job runs: singularity's database, unless said otherwise. */
  database?: string;
}

export interface InstalledJob {
  jobid: number;
  jobname: string;
  schedule: string;
  command: string;
  active: boolean;
  database: string;
}

export interface JobPlan {
  add: CronJob[];
  change: Array<{ job: CronJob; from: InstalledJob }>;
  remove: InstalledJob[];
  unchanged: CronJob[];
}

const UTC_NAMES = new Set(['UTC', 'GMT', 'Etc/UTC', 'Etc/GMT', 'Etc/Universal', 'Universal', 'Zulu', 'Etc/Zulu']);
const sameZone = (a: string, b: string) => a === b || (UTC_NAMES.has(a) && UTC_NAMES.has(b));

/** What the server says about pg_cron, as far as this database can see. */
export interface PgCronFacts {
  kind: Database['kind'];
  database: string;
  preload: string;
  /** cron.database_name (undefined unless pg_cron is loaded). */
  cronDatabase: string | null;
  timezone: string | null;
  /** pg_cron's version in its database, null if the extension is not created there. */
  version: string | null;
}

/** The verdict on the facts: where pg_cron is, or why it cannot be used, with the fix. */
export function diagnosePgCron(facts: PgCronFacts): PgCronSite {
  if (facts.kind === 'embedded') {
    throw new PgCronUnavailableError('the embedded database (PGlite) has no pg_cron; its sql tasks run through run-scheduler', {
      hint: 'To use pg_cron, point DATABASE_URL at a PostgreSQL server with pg_cron (see docs/postgresql.md).',
    });
  }
  if (!facts.preload.split(',').map((s) => s.trim().replace(/^"|"$/g, '')).includes('pg_cron')) {
    throw new PgCronUnavailableError(`pg_cron is not loaded by this server (shared_preload_libraries = '${facts.preload}')`, {
      hint: `Add pg_cron to shared_preload_libraries in postgresql.conf, set cron.database_name = '${facts.database}', restart the server, then run CREATE EXTENSION pg_cron in that database. Until then, run-scheduler runs the sql tasks.`,
    });
  }
  const cronDatabase = facts.cronDatabase || 'postgres';
  if (!facts.version) {
    throw new PgCronUnavailableError(`pg_cron is loaded but not installed in its database '${cronDatabase}' (cron.database_name)`, {
      hint: `Run CREATE EXTENSION pg_cron; in database '${cronDatabase}' as a superuser.`,
    });
  }
  return { database: facts.database, cronDatabase, version: facts.version, timezone: facts.timezone || 'GMT' };
}

/** Where pg_cron is, or why it cannot be used, with the fix. */
export async function locatePgCron(db: Database): Promise<PgCronSite> {
  if (db.kind === 'embedded') return diagnosePgCron({ kind: db.kind, database: '', preload: '', cronDatabase: null, timezone: null, version: null });
  const [facts] = await db.query<Omit<PgCronFacts, 'kind' | 'version'>>(
    `select current_database() as database, current_setting('shared_preload_libraries') as preload,
       current_setting('cron.database_name', true) as "cronDatabase", current_setting('cron.timezone', true) as timezone`,
  );
  const loaded = { kind: db.kind, ...facts!, version: null };
  if (!facts!.preload.includes('pg_cron')) return diagnosePgCron(loaded);
  const cronDatabase = facts!.cronDatabase || 'postgres';
  const cronDb = cronDatabase === facts!.database ? db : await openSibling(db.config, cronDatabase);
  try {
    const [extension] = await cronDb.query<{ version: string }>(`select extversion as version from pg_extension where extname = 'pg_cron'`);
    return diagnosePgCron({ ...loaded, version: extension?.version ?? null });
  } finally {
    if (cronDb !== db) await cronDb.close();
  }
}

/** A connection to another database of the same server, with the same credentials. */
async function openSibling(config: Config, database: string): Promise<Database> {
  const url = new URL(config.databaseUrl!);
  url.pathname = `/${encodeURIComponent(database)}`;
  try {
    return await openDatabase({ ...config, databaseUrl: url.toString() }, { migrate: false, max: 1 });
  } catch (error) {
    throw new PgCronUnavailableError(`pg_cron lives in database '${database}' (cron.database_name), which cannot be reached: ${(error as Error).message}`, {
      hint: `The user in DATABASE_URL must be able to connect to '${database}' to manage pg_cron jobs there.`,
      cause: error,
    });
  }
}

export function openCronDatabase(db: Database, site: PgCronSite): Promise<Database> | Database {
  return site.cronDatabase === site.database ? db : openSibling(db.config, site.cronDatabase);
}

/** The database pg_cron lives in, by name: this one, or a sibling with the same credentials (close it after). */
export async function openCronDatabaseNamed(db: Database, cronDatabase: string): Promise<Database> {
  const [{ here }] = (await db.query<{ here: string }>('select current_database() as here')) as [{ here: string }];
  return cronDatabase === here ? db : openSibling(db.config, cronDatabase);
}

/** A statement quoted for use inside another: dollar quotes that the statement does not contain. */
function dollarQuote(text: string): string {
  let tag = 'singularity';
  while (text.includes(`$${tag}$`)) tag += '_';
  return `$${tag}$${text}$${tag}$`;
}

/** The command a job runs: transactional tasks through the recording wrapper, the others as they are. */
export function jobCommand(task: TaskDefinition, entry: CrontabEntry): string {
  if (task.engine !== 'sql') throw new Error(`${task.name} is not a sql task`);
  const statement = task.sql(entry.args as never);
  // VACUUM, REINDEX CONCURRENTLY and committing procedures cannot run inside the wrapper's transaction.
  if (!task.transaction) return statement;
  const args = `${sqlLiteral(JSON.stringify(entry.args))}::jsonb`;
  return `CALL singularity_cron_run(${sqlLiteral(task.name)}, ${sqlLiteral(entry.id)}, ${args}, ${dollarQuote(statement)})`;
}

export interface WantedJobs {
  jobs: CronJob[];
  /** Entries pg_cron cannot run as written (a time zone other than pg_cron's), each with the fix. */
  problems: string[];
  /** Entries that stay with run-scheduler: node tasks and on-start entries. */
  leftToScheduler: CrontabEntry[];
}

/** The jobs a crontab asks for: one per scheduled entry of a sql task. */
export function wantedJobs(tasks: TaskSet, crontab: Crontab, site: PgCronSite): WantedJobs {
  const jobs: CronJob[] = [];
  const problems: string[] = [];
  const leftToScheduler: CrontabEntry[] = [];
  const perTask = new Map<string, number>();
  for (const entry of crontab.entries) {
    const task = tasks.find(entry.task);
    // A task whose statements are chosen at run time (REINDEX CONCURRENTLY) cannot be one pg_cron command;
    // an entry with ping= needs a process to call its monitor.
    if (!task || task.engine !== 'sql' || entry.onStart || task.expands || entry.ping) {
      leftToScheduler.push(entry);
      continue;
    }
    if (!sameZone(entry.timezone, site.timezone)) {
      problems.push(
        `${crontab.source}:${entry.line}: ${entry.id} is read in ${entry.timezone}, but pg_cron reads schedules in ${site.timezone}; ` +
          `write the schedule for ${site.timezone} (TZ=UTC) or leave this entry out of the crontab given to pgcron install`,
      );
      continue;
    }
    const n = (perTask.get(task.name) ?? 0) + 1;
    perTask.set(task.name, n);
    jobs.push({
      jobname: `${PGCRON_JOB_PREFIX}${task.name}${n > 1 ? `:${n}` : ''}@${site.database}`,
      task: task.name,
      entry: entry.id,
      schedule: entry.expression!,
      command: jobCommand(task, entry),
      args: entry.args,
      direct: !task.transaction,
    });
  }
  // pg_cron's own history lives in its database; where that is not singularity's, prune_runs cannot
  // reach it, so a job there prunes the history of singularity's jobs, with prune-runs' schedule and bound.
  const prune = crontab.entries.find((e) => e.task === 'prune-runs' && !e.onStart);
  if (prune && site.cronDatabase !== site.database && jobs.some((j) => j.task === 'prune-runs')) {
    const olderThan = durationInterval(String(prune.args.olderThan ?? '30d'));
    jobs.push({
      jobname: `${PGCRON_JOB_PREFIX}prune-runs:cron-details@${site.database}`,
      task: 'prune-runs',
      entry: prune.id,
      schedule: prune.expression!,
      args: {},
      direct: true,
      command:
        `DELETE FROM cron.job_run_details WHERE end_time < now() - ${sqlLiteral(olderThan)}::interval AND jobid IN ` +
        `(SELECT jobid FROM cron.job WHERE jobname LIKE ${sqlLiteral(managedJobPattern(site))})`,
      database: site.cronDatabase,
    });
  }
  return { jobs, problems, leftToScheduler };
}

/** The difference between the wanted jobs and those installed: what to add, change and remove. */
export function planJobs(wanted: CronJob[], installed: InstalledJob[]): JobPlan {
  const byName = new Map(installed.map((j) => [j.jobname, j]));
  const plan: JobPlan = { add: [], change: [], remove: [], unchanged: [] };
  for (const job of wanted) {
    const current = byName.get(job.jobname);
    if (!current) plan.add.push(job);
    else if (current.schedule !== job.schedule || current.command !== job.command || current.active !== (job.active ?? true) ||
      current.database !== (job.database ?? current.database)) {
      plan.change.push({ job, from: current });
    }
    else plan.unchanged.push(job);
    byName.delete(job.jobname);
  }
  plan.remove = [...byName.values()];
  return plan;
}

/** The names of the jobs singularity manages for this database: `singularity:...@<database>` (LIKE pattern). */
export function managedJobPattern(site: PgCronSite): string {
  return `${PGCRON_JOB_PREFIX}%@${site.database.replace(/[\\%_]/g, (c) => '\\' + c)}`;
}

/** The jobs singularity manages for this database. */
export async function installedJobs(cronDb: Database, site: PgCronSite): Promise<InstalledJob[]> {
  return cronDb.query<InstalledJob>(
    `select jobid, jobname, schedule, command, active, database from cron.job
     where jobname like $1 order by jobname`,
    [managedJobPattern(site)],
  );
}

/** Apply a plan in one transaction of the cron database, and record the jobs (and the crontab they came from) here. */
export async function applyPlan(db: Database, cronDb: Database, site: PgCronSite, plan: JobPlan, wanted: CronJob[], crontab?: Crontab): Promise<void> {
  await cronDb.transaction(async (client) => {
    for (const job of plan.remove) await client.query('select cron.unschedule($1::bigint)', [job.jobid]);
    for (const { job, from } of plan.change) {
      await client.query('select cron.alter_job($1::bigint, schedule => $2, command => $3, database => $4, active => $5)', [
        from.jobid, job.schedule, job.command, job.database ?? site.database, job.active ?? true,
      ]);
    }
    for (const job of plan.add) {
      await client.query('select cron.schedule_in_database($1, $2, $3, $4, active => $5)', [
        job.jobname, job.schedule, job.command, job.database ?? site.database, job.active ?? true,
      ]);
    }
  });
  await db.transaction(async (client) => {
    await client.query('delete from pgcron_jobs');
    await client.query('delete from pgcron_install');
    for (const job of wanted) {
      await client.query(
        `insert into pgcron_jobs (jobname, task, entry, schedule, command, cron_database, args, direct, timezone)
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
        [job.jobname, job.task, job.entry, job.schedule, job.command, site.cronDatabase, JSON.stringify(job.args), job.direct, site.timezone],
      );
    }
    if (crontab && wanted.length) {
      const entries = crontab.entries.map((e) => ({ id: e.id, schedule: e.schedule, task: e.task, timezone: e.timezone, args: e.args }));
      await client.query('insert into pgcron_install (crontab, entries) values ($1, $2)', [crontab.source, JSON.stringify(entries)]);
    }
  });
}

export interface JobStatus {
  jobname: string;
  task: string;
  /** The crontab entry it was installed from (undefined for a job `pgcron install` did not record). */
  entry?: string;
  schedule: string;
  active: boolean;
  /** The task's real outcome: the job's latest run in the run history. */
  lastRun: { runId: number; state: string; startedAt: Date | null; finishedAt: Date | null; message: string | null } | null;
  /** pg_cron's own record of its latest run (for a wrapper job: only that the wrapper ran). */
  cronRun: { status: string; startedAt: Date | null; finishedAt: Date | null; message: string | null } | null;
}

/** Each managed job, with its latest run in the run history and pg_cron's own record of it. */
export async function jobStatuses(db: Database, cronDb: Database, site: PgCronSite): Promise<JobStatus[]> {
  const rows = await cronDb.query<InstalledJob & { status: string | null; startedAt: Date | null; finishedAt: Date | null; message: string | null }>(
    `select j.jobid, j.jobname, j.schedule, j.active, d.status, d.start_time as "startedAt", d.end_time as "finishedAt",
       d.return_message as message
     from cron.job j
     left join lateral (select * from cron.job_run_details r where r.jobid = j.jobid order by r.start_time desc limit 1) d on true
     where j.jobname like $1 order by j.jobname`,
    [managedJobPattern(site)],
  );
  const entries = new Map((await db.query<{ jobname: string; entry: string }>('select jobname, entry from pgcron_jobs')).map((r) => [r.jobname, r.entry]));
  const latest = new Map(
    (await db.query<{ entry: string; runId: number; state: string; startedAt: Date | null; finishedAt: Date | null; message: string | null }>(
      `select distinct on (entry) entry, id as "runId", state, started_at as "startedAt", finished_at as "finishedAt",
         coalesce(error->>'message', reason, nullif(summary, '')) as message
       from task_runs where trigger = 'pg_cron' and entry = any($1) order by entry, scheduled_for desc nulls last, id desc`,
      [[...new Set(entries.values())]],
    )).map(({ entry, ...run }) => [entry, run]),
  );
  return rows.map((r) => {
    const entry = entries.get(r.jobname);
    // The job that prunes pg_cron's own history records no run of its own.
    const own = entry && !r.jobname.includes(':cron-details@') ? latest.get(entry) ?? null : null;
    return {
      jobname: r.jobname,
      task: taskOfJob(r.jobname),
      ...(entry ? { entry } : {}),
      schedule: r.schedule,
      active: r.active,
      lastRun: own,
      cronRun: r.status ? { status: r.status, startedAt: r.startedAt, finishedAt: r.finishedAt, message: r.message } : null,
    };
  });
}

/** The task a managed job runs, from its name. */
export function taskOfJob(jobname: string): string {
  return jobname.slice(PGCRON_JOB_PREFIX.length).split(/[:@]/)[0]!;
}
