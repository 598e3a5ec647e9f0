// `singularity status --watch`: a dashboard that refreshes itself. On a terminal (stdout and stdin both TTYs)
// an ink app on the alternate screen, one screen high, quit with q or Ctrl-C; anywhere else (a pipe, a log
// file, a terminal without a keyboard) one plain block of text per refresh until the signal aborts.
import { useEffect, useState } from 'react';
import { Box, Text, render, useApp, useInput, useStdout } from 'ink';
import { setTimeout as sleep } from 'node:timers/promises';
import { paint, truncate, write, type Style } from './output.js';
import { redact } from '../core/redact.js';
import type { Health, StatusReport, TaskState as TaskStateOf, TaskStatus } from '../status/types.js';
import { formatTime } from '../core/format.js';

export interface WatchOptions {
  load: () => Promise<StatusReport>;
  intervalMs: number;
  stdout?: NodeJS.WriteStream;
  stdin?: NodeJS.ReadStream;
  signal?: AbortSignal;
}

// ---- pure helpers ---------------------------------------------------------------------------------------

/** A span of time in one or two units: 45s, 12m, 2h 5m, 3d 4h (the second unit only while it matters). */
export function formatSpan(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m`;
  const h = Math.floor(m / 60);
  if (h < 24) return h < 10 && m % 60 ? `${h}h ${m % 60}m` : `${h}h`;
  const d = Math.floor(h / 24);
  return d < 10 && h % 24 ? `${d}d ${h % 24}h` : `${d}d`;
}

/** "3m ago", "just now", or "-" when there is no date. */
export function formatAgo(date: Date | null | undefined, now: Date): string {
  if (!date) return '-';
  const ms = now.getTime() - date.getTime();
  return ms < 1000 ? 'just now' : `${formatSpan(ms)} ago`;
}

/** "in 12m", "now" (due or past), or "-" when there is no date. */
export function formatIn(date: Date | null | undefined, now: Date): string {
  if (!date) return '-';
  const ms = date.getTime() - now.getTime();
  return ms < 1000 ? 'now' : `in ${formatSpan(ms)}`;
}

export type TaskStateKind = TaskStateOf;
export interface TaskState {
  kind: TaskStateKind;
  label: string;
}

export const STATE_STYLE: Record<TaskStateKind, Style> = {
  running: 'cyan', failing: 'red', overdue: 'yellow', paused: 'magenta', unattended: 'yellow', 'never-run': 'gray', ok: 'green', manual: 'gray',
};
export const HEALTH_STYLE: Record<Health, Style> = { healthy: 'green', degraded: 'yellow', down: 'red' };
/**
 * Display order: what needs attention first, so that a truncated list still shows it. Paused after the
 * unintended problems (someone chose it) but before running: it stays paused until someone resumes it.
 */
const STATE_ORDER: TaskStateKind[] = ['failing', 'overdue', 'unattended', 'paused', 'running', 'never-run', 'ok', 'manual'];

/** "14:00" today, "2026-05-12 14:00" another day (local time, as the refresh time). */
function clockTime(date: Date, now: Date): string {
  const [day, time] = [formatTime(date).slice(0, 10), formatTime(date).slice(11, 16)];
  return day === formatTime(now).slice(0, 10) ? time : `${day} ${time}`;
}

/** "paused until 14:00 by alice@host: reason": the pause that ends first (with several schedules), else any. */
function pausedLabel(task: TaskStatus, width: number, now: Date): string {
  const pauses = task.schedules.flatMap((s) => (s.paused ? [s.paused] : []));
  const ending = pauses.filter((p) => p.until).sort((a, b) => a.until!.getTime() - b.until!.getTime());
  const pause = ending[0] ?? pauses[0];
  if (!pause) return 'paused';
  const label = `paused${pause.until ? ` until ${clockTime(pause.until, now)}` : ''} by ${pause.by}`;
  return pause.reason ? `${label}: ${truncate(pause.reason, width)}` : label;
}

/** The task's verdict (the one `status --json` gives it, `task.state`), with a short label. */
export function taskState(task: TaskStatus, errorWidth = 50, now = new Date()): TaskState {
  const kind = task.state;
  switch (kind) {
    case 'running': {
      const longest = task.running.reduce((a, b) => (b.elapsedMs > a.elapsedMs ? b : a));
      const extra = (task.running.length > 1 ? ` (${task.running.length} runs)` : '') + (longest.stale ? ' (stale)' : '');
      return { kind, label: `running ${formatSpan(longest.elapsedMs)}${extra}` };
    }
    case 'failing': return { kind, label: `failing: ${truncate(task.lastFailure?.error ?? 'failed', errorWidth)}` };
    case 'overdue': return { kind, label: task.overdueByMs === null ? 'overdue' : `overdue ${formatSpan(task.overdueByMs)}` };
    case 'paused': return { kind, label: pausedLabel(task, errorWidth, now) };
    case 'unattended': return { kind, label: `${task.lastSuccess ? 'unattended' : 'never run'}: no scheduler runs it` };
    case 'never-run': return { kind, label: 'never run' };
    default: return { kind, label: kind };
  }
}

const BARS = '▁▂▃▄▅▆▇█';
const RUN_STYLE: Record<string, Style> = { completed: 'green', discarded: 'red', cancelled: 'red', skipped: 'gray', executing: 'cyan' };
const FAILED = new Set(['discarded', 'cancelled']);

/**
 * A cell per recent run, oldest first: its height from its duration against the longest of them, its colour
 * from its state. A failed run is a ✖ whatever its duration, so that it shows without colour too; a run
 * without a duration yet (executing, scheduled) is a dot.
 */
export function sparkline(recent: TaskStatus['recent']): Array<{ glyph: string; style: Style }> {
  const longest = Math.max(0, ...recent.map((r) => r.durationMs ?? 0));
  return recent.map(({ state, durationMs }) => {
    const style = RUN_STYLE[state] ?? 'yellow';
    if (FAILED.has(state)) return { glyph: '✖', style };
    if (durationMs === null) return { glyph: '·', style };
    const level = longest ? Math.ceil((durationMs / longest) * BARS.length) - 1 : 0;
    return { glyph: BARS[Math.max(0, level)]!, style };
  });
}

/** The tasks, those that need attention first (stable within a state). */
export function sortTasks(tasks: TaskStatus[]): TaskStatus[] {
  return tasks
    .map((task, i) => ({ task, i, rank: STATE_ORDER.indexOf(taskState(task).kind) }))
    .sort((a, b) => a.rank - b.rank || a.i - b.i)
    .map((x) => x.task);
}

/** The tasks whose last failure is the most recent, newest first. */
export function recentFailures(report: StatusReport, limit = 5): TaskStatus[] {
  return report.tasks
    .filter((t) => t.lastFailure)
    .sort((a, b) => b.lastFailure!.at.getTime() - a.lastFailure!.at.getTime())
    .slice(0, limit);
}

/** How many of `total` rows to show in `available` lines: all, or all but one line kept for "+N more". */
export function fitRows(total: number, available: number): { shown: number; more: number } {
  if (total <= available) return { shown: total, more: 0 };
  const shown = Math.max(1, available - 1);
  return { shown, more: total - shown };
}

export function errorMessage(error: unknown): string {
  return redact(error instanceof Error ? error.message : String(error));
}

/** Words of `text` in lines of at most `width` columns (a longer word on its own line); no width: one line. */
export function wrapText(text: string, width?: number): string[] {
  if (!width || text.length <= width) return [text];
  const lines: string[] = [];
  for (const word of text.split(' ')) {
    const last = lines.length ? lines[lines.length - 1]! : undefined;
    if (last !== undefined && last.length + 1 + word.length <= width) lines[lines.length - 1] = `${last} ${word}`;
    else lines.push(word);
  }
  return lines;
}

/**
 * One refresh as plain text: a timestamped health line, each problem as `! text` (but those about a task
 * listed below: its line shows them), a line per task that is not ok, and a count (none when down).
 */
export function plainBlock(result: { report: StatusReport } | { error: string }, at: Date, stream: NodeJS.WriteStream): string {
  const stamp = formatTime(at);
  if ('error' in result) return `${stamp}  ${paint(stream, 'red', 'down')}  ${truncate(result.error, 200)}`;
  const { report } = result;
  const style = HEALTH_STYLE[report.health];
  const problems = report.problems.length ? ` (${report.problems.length} problem${report.problems.length === 1 ? '' : 's'})` : '';
  const lines = [`${stamp}  ${paint(stream, style, report.health)}${problems}  ${report.database}`];
  const width = Math.max(0, ...report.tasks.map((t) => t.task.length));
  const listed = sortTasks(report.tasks)
    .map((task) => ({ task, state: taskState(task, 100, at) }))
    .filter(({ state }) => state.kind !== 'ok' && state.kind !== 'manual');
  for (const problem of report.problems) {
    if (!listed.some(({ task }) => problem.startsWith(`${task.task} `))) lines.push(`${paint(stream, style, '!')} ${problem}`);
  }
  if (report.health === 'down') return lines.join('\n');
  // Running and paused tasks are listed but not counted as not ok: nothing is wrong with them.
  let notOk = 0;
  let running = 0;
  let paused = 0;
  for (const { task, state } of listed) {
    if (state.kind === 'running') running++;
    else if (state.kind === 'paused') paused++;
    else notOk++;
    lines.push(`  ${task.task.padEnd(width)}  ${paint(stream, STATE_STYLE[state.kind], state.label)}`);
  }
  const n = report.tasks.length;
  const notes = [running ? `${running} running` : '', paused ? `${paused} paused` : ''].filter(Boolean).join(', ');
  const note = notes ? ` (${notes})` : '';
  lines.push(notOk === 0 ? `all ${n} tasks ok${note}` : `${notOk} of ${n} tasks not ok${note}`);
  return lines.join('\n');
}

// ---- the ink app ----------------------------------------------------------------------------------------

export interface View {
  report?: StatusReport;
  error?: string;
  refreshedAt?: Date;
}

const pad = (text: string, width: number) => text.padEnd(width);

/** The dashboard for one view; `rows` bounds its height, `columns` wraps the problems (undefined: no bound). */
export function Dashboard({ view, rows, columns, colour = true }: { view: View; rows?: number; columns?: number; colour?: boolean }) {
  const tint = (style: Style) => (colour ? style : undefined);
  const { report, error, refreshedAt } = view;
  const health: Health = error ? 'down' : (report?.health ?? 'down');
  // Every problem, as `status` prints them, wrapped; at most a third of the screen, then "+N more problems".
  const budget = rows === undefined ? Infinity : Math.max(1, Math.floor(rows / 3));
  const problemLines: string[] = [];
  let hidden = report?.problems.length ?? 0;
  for (const problem of report?.problems ?? []) {
    const wrapped = wrapText(`! ${problem}`, columns).map((line, i) => (i ? `  ${line}` : line));
    if (problemLines.length + wrapped.length > budget - (hidden > 1 ? 1 : 0)) break;
    problemLines.push(...wrapped);
    hidden--;
  }
  if (hidden) problemLines.push(`+${hidden} more problem${hidden === 1 ? '' : 's'} (singularity status)`);
  const header = (
    <Box flexDirection="column">
      <Text wrap="truncate">
        <Text bold>singularity status</Text>
        {'  '}
        <Text color={tint(HEALTH_STYLE[health])} bold>{report || error ? health : 'loading…'}</Text>
        {refreshedAt ? `  refreshed ${formatTime(refreshedAt).slice(11)}` : ''}
        <Text color={tint('gray')}>{'  q to quit'}</Text>
      </Text>
      {error ? (
        <Text wrap="truncate" color={tint('red')}>{`error: ${truncate(error, 500)} (retrying)`}</Text>
      ) : report ? (
        <Text wrap="truncate">{`database ${report.database}`}</Text>
      ) : null}
      {problemLines.map((line, i) => (
        <Text key={i} wrap="truncate" color={tint(HEALTH_STYLE[health])}>{line}</Text>
      ))}
    </Box>
  );
  if (error || !report || report.health === 'down') return header;

  const now = report.generatedAt;
  const running = report.tasks.flatMap((t) => t.running.map((r) => ({ task: t.task, ...r })));
  const failures = recentFailures(report);
  const section = (title: string, empty: boolean) => (
    <Text bold>
      {title}
      {empty ? <Text color={tint('gray')} bold={false}>{'  none'}</Text> : null}
    </Text>
  );
  // Lines besides the task rows: the header (2 and the problems), a blank line and the table head (2), 3 blank
  // lines and 3 section titles (6), the sections' rows.
  const fixed = 2 + problemLines.length + 2 + 3 * 2 + running.length + failures.length + report.schedulers.length;
  const tasks = sortTasks(report.tasks);
  // One line short of the terminal: ink redraws the whole screen (flickering) once a frame fills it.
  const { shown, more } = fitRows(tasks.length, rows === undefined ? Infinity : rows - fixed - 1);

  const w = {
    task: Math.max(4, ...tasks.map((t) => t.task.length)),
    engine: 6,
    placement: 9,
    last: 12,
    next: 10,
    runs: Math.max(4, ...tasks.map((t) => t.recent.length)),
  };
  // A sparkline when there are runs to draw and it leaves the state room: a narrow terminal keeps the state.
  const before = w.task + w.engine + w.placement + w.last + w.next + 5 * 2;
  const stateRoom = 24;
  const showRuns = tasks.some((t) => t.recent.length) && (columns === undefined || columns >= before + w.runs + 2 + stateRoom);
  const schedWidth = Math.max(4, ...report.schedulers.map((s) => s.host.length));
  return (
    <Box flexDirection="column">
      {header}
      <Box flexDirection="column" marginTop={1}>
        <Text bold wrap="truncate">
          {[pad('TASK', w.task), pad('ENGINE', w.engine), pad('PLACEMENT', w.placement), pad('LAST SUCCESS', w.last), pad('NEXT DUE', w.next),
            ...(showRuns ? [pad('RUNS', w.runs)] : []), 'STATE'].join('  ')}
        </Text>
        {tasks.slice(0, shown).map((t) => {
          const state = taskState(t, 50, now);
          const runs = showRuns ? sparkline(t.recent) : [];
          return (
            <Text key={t.task} wrap="truncate">
              {[pad(t.task, w.task), pad(t.engine, w.engine), pad(t.placement, w.placement), pad(formatAgo(t.lastSuccess?.at, now), w.last), pad(formatIn(t.nextDue, now), w.next), ''].join('  ')}
              {showRuns ? ' '.repeat(w.runs - runs.length) : null}
              {runs.map((r, i) => <Text key={i} color={tint(r.style)}>{r.glyph}</Text>)}
              {showRuns ? '  ' : null}
              <Text color={tint(STATE_STYLE[state.kind])}>{state.label}</Text>
            </Text>
          );
        })}
        {more > 0 ? <Text color={tint('gray')}>{`+${more} more`}</Text> : null}
      </Box>
      <Box flexDirection="column" marginTop={1}>
        {section('running', running.length === 0)}
        {running.map((r) => (
          <Text key={r.runId} wrap="truncate">
            {`  run ${r.runId}  ${pad(r.task, w.task)}  ${pad(formatSpan(r.elapsedMs), 7)}  ${r.host ?? '-'}/${r.pid ?? '-'}`}
            {r.stale ? <Text color={tint('yellow')}>{'  stale'}</Text> : null}
          </Text>
        ))}
      </Box>
      <Box flexDirection="column" marginTop={1}>
        {section('recent failures', failures.length === 0)}
        {failures.map((t) => (
          <Text key={t.task} wrap="truncate">
            {`  ${pad(t.task, w.task)}  ${pad(formatAgo(t.lastFailure!.at, now), 9)}  `}
            <Text color={tint('red')}>{truncate(t.lastFailure!.error, 200)}</Text>
          </Text>
        ))}
      </Box>
      <Box flexDirection="column" marginTop={1}>
        {section('schedulers', report.schedulers.length === 0)}
        {report.schedulers.map((s) => (
          <Text key={s.id} wrap="truncate">
            {`  ${pad(s.host, schedWidth)}  pid ${pad(String(s.pid), 7)}  v${pad(s.version, 8)}  heartbeat ${pad(formatAgo(s.heartbeatAt, now), 9)}  `}
            <Text color={tint(s.alive ? 'green' : 'red')}>{s.alive ? 'alive' : 'dead'}</Text>
          </Text>
        ))}
      </Box>
    </Box>
  );
}

/** The live dashboard: loads now and every intervalMs after the last load; q quits. */
export function WatchApp({ load, intervalMs, colour = true }: { load: () => Promise<StatusReport>; intervalMs: number; colour?: boolean }) {
  const { exit } = useApp();
  const { stdout } = useStdout();
  const [view, setView] = useState<View>({});
  const [size, setSize] = useState<{ rows?: number; columns?: number }>({ rows: stdout.rows, columns: stdout.columns });

  useInput((input) => {
    if (input === 'q' || input === 'Q') exit();
  });

  useEffect(() => {
    const resized = () => setSize({ rows: stdout.rows, columns: stdout.columns });
    stdout.on('resize', resized);
    return () => void stdout.off('resize', resized);
  }, [stdout]);

  useEffect(() => {
    let stopped = false;
    let timer: NodeJS.Timeout | undefined;
    const refresh = async () => {
      let next: View;
      try {
        next = { report: await load(), refreshedAt: new Date() };
      } catch (error) {
        next = { error: errorMessage(error), refreshedAt: new Date() };
      }
      if (stopped) return;
      setView(next);
      timer = setTimeout(refresh, intervalMs);
    };
    void refresh();
    return () => {
      stopped = true;
      clearTimeout(timer);
    };
  }, [load, intervalMs]);

  return <Dashboard view={view} rows={size.rows} columns={size.columns} colour={colour} />;
}

// ---- entry point ----------------------------------------------------------------------------------------

const noColour = () => 'NO_COLOR' in process.env && process.env.NO_COLOR !== '';

async function watchInteractive(options: WatchOptions, stdout: NodeJS.WriteStream, stdin: NodeJS.ReadStream): Promise<void> {
  // The alternate screen: on quit the terminal shows what it showed before (even if the process dies).
  const leaveScreen = () => stdout.write('\u001b[?1049l');
  stdout.write('\u001b[?1049h\u001b[H');
  process.once('exit', leaveScreen);
  const app = render(<WatchApp load={options.load} intervalMs={options.intervalMs} colour={!noColour()} />, {
    stdout,
    stdin,
    exitOnCtrlC: true,
    patchConsole: false,
  });
  const stop = () => app.unmount();
  options.signal?.addEventListener('abort', stop, { once: true });
  if (options.signal?.aborted) stop();
  try {
    await app.waitUntilExit();
  } finally {
    options.signal?.removeEventListener('abort', stop);
    process.off('exit', leaveScreen);
    leaveScreen();
  }
}

async function watchPlain(options: WatchOptions, stdout: NodeJS.WriteStream): Promise<void> {
  const { signal } = options;
  while (!signal?.aborted) {
    let result: { report: StatusReport } | { error: string };
    try {
      result = { report: await options.load() };
    } catch (error) {
      result = { error: errorMessage(error) };
    }
    if (signal?.aborted) break;
    write(stdout, plainBlock(result, new Date(), stdout) + '\n');
    await sleep(options.intervalMs, undefined, { signal }).catch(() => undefined);
  }
}

/** Show the status every intervalMs until q/Ctrl-C (terminal) or until the signal aborts (always). */
export async function watchStatus(options: WatchOptions): Promise<void> {
  const stdout = options.stdout ?? process.stdout;
  const stdin = options.stdin ?? process.stdin;
  if (stdout.isTTY && stdin.isTTY) return watchInteractive(options, stdout, stdin);
  return watchPlain(options, stdout);
}
