// `singularity pgcron install | uninstall | status`: thin; the work is in src/pgcron/pgcron.ts.
import { resolve } from 'node:path';
import { openCommandDatabase, type GlobalOptions } from './context.js';
import { loadConfig } from '../core/config.js';
import type { Database } from '../core/database.js';
import { UsageError } from '../core/errors.js';
import { out, err, printJson, table, truncate } from './output.js';
import { formatTime } from '../core/format.js';

interface Opened {
  db: Database;
  cronDb: Database;
  site: import('../pgcron/pgcron.js').PgCronSite;
  lib: typeof import('../pgcron/pgcron.js');
  close(): Promise<void>;
}

async function open(globals: GlobalOptions): Promise<Opened> {
  const config = await loadConfig(globals);
  const db = await openCommandDatabase(config);
  try {
    const lib = await import('../pgcron/pgcron.js');
    const site = await lib.locatePgCron(db);
    const cronDb = await lib.openCronDatabase(db, site);
    return { db, cronDb, site, lib, close: async () => { if (cronDb !== db) await cronDb.close(); await db.close(); } };
  } catch (error) {
    await db.close();
    throw error;
  }
}

const where = (site: Opened['site']) =>
  `pg_cron ${site.version} in database '${site.cronDatabase}'; jobs run in '${site.database}'; schedules read in ${site.timezone}`;

export async function pgcronInstall(opts: { dryRun?: boolean; crontab?: string; json?: boolean }, globals: GlobalOptions): Promise<number> {
  const config = await loadConfig(globals);
  const [{ loadTasks }, { readCrontab, defaultCrontab }] = await Promise.all([import('../tasks/index.js'), import('../schedule/crontab.js')]);
  const tasks = await loadTasks(config);
  const crontab = opts.crontab ? await readCrontab(resolve(opts.crontab), tasks) : defaultCrontab(tasks);
  const { db, cronDb, site, lib, close } = await open(globals);
  try {
    const wanted = lib.wantedJobs(tasks, crontab, site);
    // A paused entry's job is installed inactive: installing does not end a pause ('schedule resume' does).
    const { listPauses, pausedAt } = await import('../schedule/pauses.js');
    const pauses = new Map((await listPauses(db)).map((p) => [p.entry, p]));
    for (const job of wanted.jobs) if (pausedAt(pauses.get(job.entry), new Date())) job.active = false;
    if (wanted.problems.length) {
      throw new UsageError(`${wanted.problems.length} entr${wanted.problems.length === 1 ? 'y' : 'ies'} cannot go into pg_cron as written:\n${wanted.problems.join('\n')}`);
    }
    const plan = lib.planJobs(wanted.jobs, await lib.installedJobs(cronDb, site));
    const changes = plan.add.length + plan.change.length + plan.remove.length;
    // Applied even without changes: that also brings the local record of the jobs in step.
    if (!opts.dryRun) await lib.applyPlan(db, cronDb, site, plan, wanted.jobs, crontab);
    if (opts.json) {
      printJson({ site, dryRun: !!opts.dryRun, plan, leftToScheduler: wanted.leftToScheduler.map((e) => e.id) });
      return 0;
    }
    out(where(site));
    for (const job of plan.add) out(`+ ${job.jobname}  ${job.schedule}  ${truncate(job.command, 80)}`);
    for (const { job, from } of plan.change) {
      const what = [from.schedule !== job.schedule && `schedule ${from.schedule} -> ${job.schedule}`, from.command !== job.command && 'command', from.active !== (job.active ?? true) && (from.active ? 'paused' : 'reactivated')]
        .filter(Boolean).join(', ');
      out(`~ ${job.jobname}  ${what}`);
    }
    for (const job of plan.remove) out(`- ${job.jobname}  ${job.schedule}`);
    if (plan.unchanged.length) out(`= ${plan.unchanged.length} job(s) unchanged`);
    if (wanted.leftToScheduler.length) out(`left to run-scheduler: ${wanted.leftToScheduler.map((e) => e.id).join(', ')}`);
    out(opts.dryRun ? `dry run: ${changes} change(s) planned, nothing applied` : changes ? `applied ${changes} change(s)` : 'nothing to change');
    return 0;
  } finally {
    await close();
  }
}

export async function pgcronUninstall(opts: { dryRun?: boolean; json?: boolean }, globals: GlobalOptions): Promise<number> {
  const { db, cronDb, site, lib, close } = await open(globals);
  try {
    const plan = lib.planJobs([], await lib.installedJobs(cronDb, site));
    if (!opts.dryRun) await lib.applyPlan(db, cronDb, site, plan, []);
    if (opts.json) printJson({ site, dryRun: !!opts.dryRun, removed: plan.remove });
    else {
      out(where(site));
      for (const job of plan.remove) out(`- ${job.jobname}  ${job.schedule}`);
      out(opts.dryRun ? `dry run: ${plan.remove.length} job(s) would be removed` : `removed ${plan.remove.length} job(s); run-scheduler runs their tasks again`);
    }
    return 0;
  } finally {
    await close();
  }
}

export async function pgcronStatus(opts: { json?: boolean }, globals: GlobalOptions): Promise<number> {
  const { loadTasks } = await import('../tasks/index.js');
  const tasks = await loadTasks(await loadConfig(globals));
  const { db, cronDb, site, lib, close } = await open(globals);
  try {
    const { syncPgCronHistory } = await import('../pgcron/history.js');
    await syncPgCronHistory(db, tasks);
    const jobs = await lib.jobStatuses(db, cronDb, site);
    const { listPauses } = await import('../schedule/pauses.js');
    const paused = new Set((await listPauses(db)).map((p) => p.entry));
    // Placement: every sql task runs in exactly one place.
    const byScheduler = tasks.all.filter((t) => t.engine === 'sql' && !jobs.some((j) => j.task === t.name)).map((t) => t.name);
    if (opts.json) {
      printJson({ site, jobs, runByScheduler: byScheduler });
      return 0;
    }
    out(where(site));
    if (byScheduler.length) out(`sql tasks not in pg_cron (run-scheduler or by hand): ${byScheduler.join(', ')}`);
    if (!jobs.length) {
      err("no jobs installed: 'singularity pgcron install' puts the sql tasks into pg_cron");
      return 0;
    }
    // OUTCOME is the task's, from the run history; pg_cron's own status only says that the job's command ran.
    out(table(
      ['JOB', 'SCHEDULE', 'ACTIVE', 'LAST RUN', 'OUTCOME'],
      jobs.map((j) => {
        const run = j.lastRun;
        const outcome = run ? `${run.state} (run ${run.runId})${run.message ? `: ${truncate(run.message, 60)}` : ''}`
          : j.cronRun ? `pg_cron: ${j.cronRun.status}${j.cronRun.message ? `: ${truncate(j.cronRun.message, 60)}` : ''}` : 'never ran';
        return [j.jobname, j.schedule, j.active ? 'yes' : j.entry && paused.has(j.entry) ? 'paused' : 'no', formatTime(run?.startedAt ?? j.cronRun?.startedAt), outcome];
      }),
    ));
    return 0;
  } finally {
    await close();
  }
}
