// `singularity status`: health for operators and monitors. Exit 0 healthy (warnings allowed), 1 degraded (a
// failure), 2 down (no database): the rule doctor follows too (src/status/severity.ts).
import { renameSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { openCommandDatabase, type GlobalOptions } from './context.js';
import { loadConfig, type Config } from '../core/config.js';
import type { Database } from '../core/database.js';
import { DatabaseUnavailableError, UsageError } from '../core/errors.js';
import { describeUrl } from '../core/redact.js';
import { out, paint, printJson, table, truncate } from './output.js';
import type { StatusReport, TaskStatus } from '../status/types.js';
import { formatDuration } from '../core/format.js';

const EXIT_FOR = { healthy: 0, degraded: 1, down: 2 } as const;

interface StatusOptions {
  json?: boolean;
  prometheus?: string;
  watch?: boolean;
  interval: string;
}

async function loader(config: Config): Promise<{ load: () => Promise<StatusReport>; close: () => Promise<void> }> {
  const [{ collectStatus }, { loadTasks }, { configuredCrontab }] = await Promise.all([
    import('../status/status.js'),
    import('../tasks/index.js'),
    import('../schedule/crontab.js'),
  ]);
  const tasks = await loadTasks(config);
  const crontab = () => configuredCrontab(config, tasks);
  let db: Database | undefined;
  const load = async (): Promise<StatusReport> => {
    try {
      db ??= await openCommandDatabase(config);
      return await collectStatus(db, config, { tasks, crontab });
    } catch (error) {
      if (!(error instanceof DatabaseUnavailableError) && db) {
        // A lost connection: start afresh next time.
        await db.close().catch(() => {});
        db = undefined;
      }
      if (error instanceof DatabaseUnavailableError || (error as { code?: string }).code?.startsWith?.('57P') || (error as { code?: string }).code === 'ECONNREFUSED') {
        return down(config, (error as Error).message);
      }
      throw error;
    }
  };
  return { load, close: async () => db?.close() };
}

function down(config: Config, message: string): StatusReport {
  return {
    health: 'down',
    generatedAt: new Date(),
    database: config.databaseUrl ? describeUrl(config.databaseUrl) : `embedded database in ${config.home}`,
    problems: [message],
    findings: [{ severity: 'fail', text: message }],
    schedulers: [],
    tasks: [],
    central: null,
  };
}

function writePrometheus(file: string, text: string): void {
  // Written whole and renamed, so a scraper never reads half a file.
  const path = resolve(file);
  writeFileSync(`${path}.tmp`, text);
  renameSync(`${path}.tmp`, path);
}

const ago = (date: Date | null | undefined, now: Date) => (date ? `${formatDuration(now.getTime() - date.getTime())} ago` : 'never');
const until = (date: Date | null | undefined, now: Date) => (date ? `in ${formatDuration(Math.max(0, date.getTime() - now.getTime()))}` : '-');

function stateOf(t: TaskStatus, now: Date): string {
  const s = process.stdout;
  switch (t.state) {
    case 'running': return paint(s, 'cyan', `running ${formatDuration(t.running[0]!.elapsedMs)}${t.running.some((r) => r.stale) ? ' (stale)' : ''}`);
    case 'failing': return paint(s, 'red', `failing: ${truncate(t.lastFailure!.error, 50)}`);
    case 'overdue': return paint(s, 'yellow', `overdue ${ago(t.lastDue, now).replace(' ago', '')}`);
    case 'unattended': return paint(s, 'yellow', `${t.lastSuccess ? 'unattended' : 'never run'}: no scheduler runs it`);
    case 'paused': {
      const ends = t.schedules.map((e) => e.paused?.until).filter((d): d is Date => !!d).sort((a, b) => a.getTime() - b.getTime());
      return paint(s, 'magenta', ends.length ? `paused, ends ${until(ends[0], now)}` : 'paused');
    }
    case 'never-run': return paint(s, 'gray', 'never run');
    case 'manual': return paint(s, 'gray', 'manual');
    default: return paint(s, 'green', 'ok');
  }
}

/** '12 runs, 1 failed, p95 1.20 s ↑2.5x': the last 24 h, and the p95 against the day before when it doubled. */
function trendOf(t: TaskStatus): string {
  const last = t.trend?.last24h;
  if (!last?.runs) return '-';
  const before = t.trend!.previous24h.p95DurationMs;
  const ratio = last.p95DurationMs !== null && before ? last.p95DurationMs / before : null;
  return `${last.runs} run${last.runs === 1 ? '' : 's'}` +
    (last.failed ? paint(process.stdout, 'red', `, ${last.failed} failed`) : '') +
    (last.p95DurationMs !== null ? `, p95 ${formatDuration(last.p95DurationMs)}` : '') +
    (ratio !== null && ratio >= 2 ? paint(process.stdout, 'yellow', ` ↑${ratio.toFixed(1)}x`) : '');
}

function render(report: StatusReport): void {
  const now = report.generatedAt;
  const colour = report.health === 'healthy' ? 'green' : report.health === 'degraded' ? 'yellow' : 'red';
  const alive = report.schedulers.filter((s) => s.alive);
  out(`${paint(process.stdout, colour, report.health)}  ${report.database}  ${alive.length} scheduler(s) alive  ${report.problems.length} problem(s)`);
  if (report.tasks.length) {
    // The trend column only once aggregate-metrics has made metrics to show.
    const trends = report.tasks.some((t) => t.trend);
    out('');
    out(table(
      ['TASK', 'ENGINE', 'WHERE', 'LAST SUCCESS', 'NEXT DUE', 'STATE', ...(trends ? ['LAST 24 H'] : [])],
      report.tasks.map((t) => [t.task, t.engine, t.placement, ago(t.lastSuccess?.at, now), until(t.nextDue, now), stateOf(t, now),
        ...(trends ? [trendOf(t)] : [])]),
    ));
  }
  if (alive.length) {
    out('');
    out(table(['SCHEDULER', 'HOST', 'PID', 'VERSION', 'ENTRIES', 'HEARTBEAT'],
      alive.map((s) => [String(s.id), s.host, String(s.pid), s.version, String(s.entries), ago(s.heartbeatAt, now)])));
  }
  const link = report.central?.link;
  if (link) {
    out('');
    out(`central: ${link.target} as instance '${link.instance}' (${link.mode === 'fdw' ? 'postgres_fdw' : 'own connection'}), ` +
      `last sync ${link.lastSyncAt ? ago(link.lastSyncAt, now) : 'never'}, ${report.central!.unsent} unsent`);
  }
  if (report.problems.length) {
    out('');
    for (const problem of report.problems) out(`${paint(process.stdout, colour, '!')} ${problem}`);
  }
}

export async function statusCommand(opts: StatusOptions, globals: GlobalOptions): Promise<number> {
  const config = await loadConfig(globals);
  const { parseDuration } = await import('../core/duration.js');
  const intervalMs = parseDuration(opts.interval);
  if (!intervalMs || intervalMs < 1000) throw new UsageError(`--interval must be a duration of at least 1s (2s, 30s, 1m), got '${opts.interval}'`);
  const { load, close } = await loader(config);
  try {
    if (opts.watch) {
      const { watchStatus } = await import('./status-watch.js');
      const stop = new AbortController();
      const onSignal = () => stop.abort();
      process.once('SIGINT', onSignal);
      process.once('SIGTERM', onSignal);
      try {
        await watchStatus({ load, intervalMs, signal: stop.signal });
      } finally {
        process.off('SIGINT', onSignal);
        process.off('SIGTERM', onSignal);
      }
      return 0;
    }
    const report = await load();
    if (opts.prometheus) writePrometheus(opts.prometheus, (await import('../status/status.js')).prometheusText(report));
    if (opts.json) printJson(report);
    else render(report);
    return EXIT_FOR[report.health];
  } finally {
    await close();
  }
}
