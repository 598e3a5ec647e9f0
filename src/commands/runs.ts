// `singularity runs list | show | retry | cancel`: the run history.
import { setTimeout as sleep } from 'node:timers/promises';
import { withDatabase, type GlobalOptions } from './context.js';
import { loadConfig, type Config } from '../core/config.js';
import type { Database } from '../core/database.js';
import { parseDuration } from '../core/duration.js';
import { UsageError } from '../core/errors.js';
import * as runs from '../core/runs.js';
import type { Run } from '../core/runs.js';
import type { RunState } from '../core/run-states.js';
import { out, printJson, table, truncate } from './output.js';
import { renderRunError, runOutcome, stateLabel } from './render-run.js';
import { withTaskRun } from './task.js';
import { formatDuration, formatTime } from '../core/format.js';

/**
 * Before the history is shown: runs whose process died are marked, and pg_cron's record of what it ran
 * is read in, so that the list never shows a dead run executing nor misses a pg_cron run.
 */
async function bringUpToDate(db: Database, config: Config): Promise<void> {
  await runs.reapStaleRuns(db, db.config.runs);
  if (db.kind !== 'postgres') return;
  const [{ loadTasks }, { syncPgCronHistory }] = await Promise.all([import('../tasks/index.js'), import('../pgcron/history.js')]);
  await syncPgCronHistory(db, await loadTasks(config));
}

function parseRunId(id: string): number {
  if (!/^\d+$/.test(id) || !Number.isSafeInteger(Number(id))) {
    throw new UsageError(`'${id}' is not a run id`, { hint: "Run ids are whole numbers; see 'singularity runs list'." });
  }
  return Number(id);
}

export async function runsList(
  opts: { task?: string; state?: RunState; since?: string; limit: string; json?: boolean },
  globals: GlobalOptions,
): Promise<number> {
  let since: Date | undefined;
  if (opts.since) {
    const ms = parseDuration(opts.since, 'mhdw');
    if (ms === undefined) throw new UsageError(`--since: '${opts.since}' is not a duration`, { hint: 'Use a number and a unit: 90m, 24h, 7d, 2w.' });
    since = new Date(Date.now() - ms);
  }
  const limit = Number(opts.limit);
  if (!Number.isInteger(limit) || limit < 1) throw new UsageError(`--limit: '${opts.limit}' is not a positive whole number`);
  const config = await loadConfig(globals);
  const list = await withDatabase(config, async (db) => {
    await bringUpToDate(db, config);
    return runs.listRuns(db, { task: opts.task, state: opts.state, since, limit });
  });
  if (opts.json || globals.json) {
    printJson(list);
    return 0;
  }
  if (list.length === 0) {
    out('no runs recorded' + (opts.task || opts.state || opts.since ? ' that match' : ' yet'));
    return 0;
  }
  out(
    table(
      ['ID', 'TASK', 'STATE', 'TRIGGER', 'ATTEMPT', 'STARTED', 'DURATION', 'OUTCOME'],
      list.map((r) => [
        String(r.id),
        r.task,
        stateLabel(process.stdout, r.state),
        r.trigger,
        `${r.attempt}/${r.maxAttempts}`,
        formatTime(r.startedAt ?? r.insertedAt),
        r.state === 'executing' ? `${formatDuration(Date.now() - (r.startedAt?.getTime() ?? Date.now()))}…` : formatDuration(r.durationMs),
        truncate(runOutcome(r), 70),
      ]),
    ),
  );
  return 0;
}

function describeRun(run: Run): string {
  const lines: Array<[string, string]> = [
    ['run', String(run.id)],
    ['task', run.task],
    ['state', stateLabel(process.stdout, run.state) + (run.reason ? ` (${run.reason})` : '')],
    ['trigger', run.trigger + (run.retryOf ? ` (retry of run ${run.retryOf})` : '') + (run.parentRunId ? ` (a step of run ${run.parentRunId})` : '')],
    ['arguments', JSON.stringify(run.args)],
    ['attempt', `${run.attempt} of ${run.maxAttempts}`],
    ['scheduled for', formatTime(run.scheduledFor)],
    ['inserted', formatTime(run.insertedAt)],
    ['started', formatTime(run.startedAt)],
    ['heartbeat', formatTime(run.heartbeatAt)],
    ['finished', formatTime(run.finishedAt)],
    ['duration', formatDuration(run.durationMs)],
    ['timeout', formatDuration(run.timeoutMs)],
    ['host / pid', `${run.host ?? '-'} / ${run.pid ?? '-'}`],
  ];
  if (run.runAfter) lines.push(['next attempt', formatTime(run.runAfter)]);
  if (run.cancelRequestedAt) lines.push(['cancel requested', formatTime(run.cancelRequestedAt)]);
  if (run.summary) lines.push(['summary', run.summary]);
  if (run.result !== null && run.result !== undefined) lines.push(['result', JSON.stringify(run.result, null, 2)]);
  const width = Math.max(...lines.map(([k]) => k.length));
  const body = lines.map(([k, v]) => `${k.padEnd(width)}  ${v.replace(/\n/g, '\n' + ' '.repeat(width + 2))}`);
  for (const e of run.errors) {
    const [first, ...rest] = renderRunError(e);
    body.push('', `attempt ${e.attempt ?? '?'} failed${e.at ? ' at ' + formatTime(new Date(e.at)) : ''}: ${first}`, ...rest);
  }
  return body.join('\n');
}

export async function runsShow(id: string, opts: { json?: boolean }, globals: GlobalOptions): Promise<number> {
  const runId = parseRunId(id);
  const config = await loadConfig(globals);
  const run = await withDatabase(config, async (db) => {
    await bringUpToDate(db, config);
    return runs.getRun(db, runId);
  });
  if (opts.json || globals.json) printJson(run);
  else out(describeRun(run));
  return 0;
}

export async function runsRetry(id: string, opts: { json?: boolean }, globals: GlobalOptions): Promise<number> {
  const runId = parseRunId(id);
  const config = await loadConfig(globals);
  const original = await withDatabase(config, (db) => runs.getRun(db, runId));
  const { loadTasks } = await import('../tasks/index.js');
  const tasks = await loadTasks(config);
  const task = tasks.find(original.task);
  if (!task) {
    throw new UsageError(`run ${runId} is of task '${original.task}', which neither this version of singularity nor its task modules have`);
  }
  if (original.state === 'executing') throw new UsageError(`run ${runId} is executing now; wait for it, or cancel it first`);
  if (original.state === 'completed') throw new UsageError(`run ${runId} completed; run '${original.task}' again instead of retrying it`);
  return withTaskRun(task, { config, tasks }, { ...globals, json: opts.json || globals.json }, async (execute, db) => {
    if (original.state === 'retryable') {
      const { resumeRun } = await import('../core/runner.js');
      const resumed = await resumeRun({ db, config, tasks }, task, runId, {});
      if (resumed) return resumed;
      throw new UsageError(`run ${runId} could not be resumed: it is no longer retryable, or another run of '${task.name}' is executing`);
    }
    // The recorded arguments through the task's schema: what a run recorded without them (or by an older
    // version) lacks gets the defaults, as on the command line.
    const { parseArgs } = await import('../core/task/args.js');
    return execute({ trigger: 'retry', args: parseArgs(task.args, original.args, task.name), retryOf: runId });
  });
}

export async function runsCancel(id: string, opts: { json?: boolean }, globals: GlobalOptions): Promise<number> {
  const runId = parseRunId(id);
  const config = await loadConfig(globals);
  return withDatabase(config, async (db) => {
    let run = await runs.requestCancel(db, runId);
    // An executing run notices at its next heartbeat and has the stop grace to wind down.
    const deadline = Date.now() + config.runs.heartbeatMs * 2 + config.runs.stopGraceMs + 1_000;
    while (run.state === 'executing' && Date.now() < deadline) {
      await sleep(Math.min(250, config.runs.heartbeatMs));
      run = await runs.getRun(db, runId);
    }
    if (opts.json || globals.json) printJson(run);
    else if (run.state === 'executing') out(`run ${runId} was asked to stop and is still executing; it stops at its next heartbeat`);
    else out(`run ${runId} is ${run.state}`);
    return run.state === 'executing' || run.state === 'cancelled' ? 0 : 1;
  });
}
