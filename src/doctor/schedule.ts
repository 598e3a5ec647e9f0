// The schedule in force, judged exactly as `status` judges it (the same report, the same severities): every
// task failing, overdue or stuck, entries nobody runs, pauses past their end. So doctor and status agree.
import type { Config } from '../core/config.js';
import type { Database } from '../core/database.js';
import { plural } from '../core/format.js';
import type { TaskSet } from '../core/task/registry.js';
import type { Crontab } from '../schedule/crontab.js';
import { collectStatus } from '../status/status.js';
import { fail, ok, warn, type Check } from './types.js';

export async function checkSchedule(db: Database, config: Config, tasks: TaskSet, crontab: Crontab): Promise<Check> {
  const report = await collectStatus(db, config, { tasks, crontab: async () => crontab });
  const id = 'schedule';
  const title = 'schedule in force';
  const entries = report.tasks.flatMap((t) => t.schedules);
  const byEngine = (runBy: string) => entries.filter((e) => e.runBy === runBy).length;
  const paused = entries.filter((e) => e.paused).length;
  const summary = `${plural(entries.length, 'scheduled entry', 'scheduled entries')}: ${byEngine('pg_cron')} in pg_cron, ` +
    `${byEngine('scheduler')} run by run-scheduler, ${byEngine('nobody')} by nobody; ${paused} paused`;
  const data = {
    tasks: report.tasks.map((t) => ({
      task: t.task, state: t.state, overdue: t.overdue, failing: t.failing, paused: t.state === 'paused',
      lastSuccess: t.lastSuccess, lastFailure: t.lastFailure,
    })),
  };
  const fails = report.findings.filter((f) => f.severity === 'fail');
  const detail = [summary, ...report.findings.map((f) => `${f.severity === 'fail' ? 'FAIL' : 'warn'}: ${f.text}`)].join('\n');
  const fix = "'singularity status' shows each task's state; 'singularity runs show ID' a run's error; an overdue pg_cron task " +
    "means pg_cron did not start it (its launcher, cron.use_background_workers or cron.host: see docs/postgresql.md); " +
    "'singularity schedule list' shows every entry with its engine and pause.";
  if (fails.length) return { ...fail(id, title, detail, fix), data };
  if (report.findings.length) return { ...warn(id, title, detail, fix), data };
  return { ...ok(id, title, `${summary}; nothing failing or overdue`), data };
}
