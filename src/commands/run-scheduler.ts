// `singularity run-scheduler`: a long-running process for systemd, supervisord or a container. Logs one
// line per event (text or JSON lines); SIGTERM/SIGINT stop it gracefully (twice: at once), SIGHUP reloads.
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { openCommandDatabase, type GlobalOptions } from './context.js';
import { loadConfig } from '../core/config.js';
import { redact } from '../core/redact.js';
import type { Log } from '../scheduler/scheduler.js';

const VERSION = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;

function logger(format: 'text' | 'json'): Log {
  return (level, message, fields) => {
    const time = new Date().toISOString();
    if (format === 'json') {
      process.stdout.write(redact(JSON.stringify({ time, level, msg: message, ...fields })) + '\n');
      return;
    }
    const stream = level === 'info' ? process.stdout : process.stderr;
    stream.write(redact(`${time} ${level.padEnd(5)} ${message}`) + '\n');
  };
}

export async function runSchedulerCommand(opts: { crontab?: string; log: 'text' | 'json' }, globals: GlobalOptions): Promise<number> {
  const config = await loadConfig(globals);
  const [{ loadTasks }, { readCrontab, defaultCrontab }, { Scheduler }] = await Promise.all([
    import('../tasks/index.js'),
    import('../schedule/crontab.js'),
    import('../scheduler/scheduler.js'),
  ]);
  const tasks = await loadTasks(config);
  const path = opts.crontab ? resolve(opts.crontab) : config.scheduler.crontab;
  const load = () => (path ? readCrontab(path, tasks) : Promise.resolve(defaultCrontab(tasks)));
  const crontab = await load(); // a crontab with problems stops here, exit 2, before anything runs
  const db = await openCommandDatabase(config, { max: 8 });
  const log = logger(opts.log);
  const scheduler = new Scheduler({ db, config, tasks, crontab, version: VERSION, log, reloadCrontab: path ? load : undefined });
  const onTerm = () => scheduler.stop('SIGTERM');
  const onInt = () => scheduler.stop('SIGINT');
  const onHup = () => void scheduler.reload('SIGHUP');
  process.on('SIGTERM', onTerm);
  process.on('SIGINT', onInt);
  process.on('SIGHUP', onHup);
  try {
    await scheduler.run();
  } finally {
    process.off('SIGTERM', onTerm);
    process.off('SIGINT', onInt);
    process.off('SIGHUP', onHup);
    await db.close();
  }
  log('info', 'scheduler stopped');
  return 0;
}
