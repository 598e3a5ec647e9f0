// The crontab file: what run-scheduler runs, when, and how. Parsed into entries whose arguments went
// through the same flag parser and schema as the command line, so a line's command can be copied and run.
//
// The format, one entry or setting per line:
//
//   # a comment on its own line; a '#' after whitespace starts a trailing comment
//   TZ=Europe/Berlin        time zone of the entries below, until the next TZ= (CRON_TZ= too); default UTC
//   0 1 * * * backup --type daily --keep 7
//   */5 * * * * [missed=skip overlap=allow timeout=10m] analyze-stats
//   @daily [missed=all max=5 lateness=3d tz=America/New_York id=nightly-prune] prune-runs --older-than 30d
//   @setup setup            once each time a scheduler starts ('setup' = the set-up flow); @reboot = @setup
//
// SCHEDULE is five cron fields (minute hour day-of-month month day-of-week; ranges, steps, lists and
// names) or @hourly @daily @midnight @weekly @monthly @yearly @annually @setup @reboot.
// [OPTIONS], optional, one bracket group right after the schedule:
//   missed=skip|once|all   default once for entries at most daily (period >= 24 h), else skip
//   max=N                  catch-up runs per start for missed=all (default 24)
//   lateness=DURATION      a tick older than this only counts as missed (default max(period, 24h))
//   overlap=skip|allow     default the task's; timeout=DURATION default the task's
//   tz=Area/City           overrides TZ= for this line; id=NAME the entry's identity (default: its command)
//   ping=URL               an http(s) URL pinged healthchecks.io-style: URL/start, then URL or URL/fail
// TASK --FLAGS is exactly what one would type after `singularity `: shell quoting is allowed, but nothing
// a shell would expand or interpret ($, globs, operators), since the scheduler runs no shell.

import { isUtf8 } from 'node:buffer';
import { readFile } from 'node:fs/promises';
import { CommanderError } from 'commander';
import { CronExpressionParser } from 'cron-parser';
import { buildTaskCommand, taskCommandValues } from '../core/task/flags.js';
import { DAY_MS, parseDuration } from '../core/duration.js';
import { CrontabError, UsageError } from '../core/errors.js';
import { describeArgs, parseArgs } from '../core/task/args.js';
import { defaultSchedules, refusedInRole, type TaskDefinition } from '../core/task/define.js';
import type { TaskSet } from '../core/task/registry.js';
import { periodMs, ticksBetween } from './ticks.js';

export type MissedPolicy = 'skip' | 'once' | 'all';

export interface CrontabEntry {
  /** Stable identity of the entry: its runs' dedupe keys and its history hang on it (`id=` or the command). */
  id: string;
  /** 1-based line number in the file. */
  line: number;
  /** The schedule as written: '0 1 * * *', '@daily', '@setup'. */
  schedule: string;
  /** The five-field expression cron-parser gets ('@daily' → '0 0 * * *'); undefined for on-start entries. */
  expression?: string;
  /** @setup / @reboot: run once each time a scheduler starts, before its first tick. */
  onStart: boolean;
  /** IANA time zone the expression is read in. */
  timezone: string;
  /** A task name, or 'setup' for the whole set-up flow. */
  task: string;
  /** The flag tokens as written after the task name. */
  argv: string[];
  /** The arguments, parsed and validated by the task's schema (defaults filled in). */
  args: Record<string, unknown>;
  /** The command as a user types it: 'backup --type daily --keep 7'. */
  command: string;
  missed: MissedPolicy;
  /** missed=all: at most this many catch-up runs per start. */
  maxCatchUp: number;
  /** A tick older than this is never run late, only recorded as missed. */
  maxLatenessMs: number;
  overlap: 'skip' | 'allow';
  timeoutMs: number;
  /** `ping=URL`: pinged as URL/start when a run starts, URL when it completes, URL/fail when it fails. */
  ping?: string;
}

export interface CrontabProblem {
  line: number;
  /** 1-based column of the offending token. */
  column: number;
  message: string;
}

export interface Crontab {
  /** Where it came from: a path, or '(default crontab)'. */
  source: string;
  entries: CrontabEntry[];
}

export const DEFAULT_CRONTAB_SOURCE = '(default crontab)';

const NICKNAMES: Record<string, string> = {
  '@hourly': '0 * * * *',
  '@daily': '0 0 * * *',
  '@midnight': '0 0 * * *',
  '@weekly': '0 0 * * 0',
  '@monthly': '0 0 1 * *',
  '@yearly': '0 0 1 1 *',
  '@annually': '0 0 1 1 *',
};
const ON_START = ['@setup', '@reboot'];
/** A periodic schedule, not an on-start one: what status, doctor and schedule list count as a scheduled entry. */
export const isScheduled = (schedule: string) => !ON_START.includes(schedule);
const FIELD_NAMES = ['minute', 'hour', 'day-of-month', 'month', 'day-of-week'];
// What a cron field can be made of; decides where the schedule ends and the task begins.
const FIELD = /^(?:[\d*?,/#LWH-]|jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec|sun|mon|tue|wed|thu|fri|sat)+$/i;
const OPTION_KEYS = ['missed', 'max', 'lateness', 'overlap', 'timeout', 'tz', 'id', 'ping'];
const ID = /^[a-z0-9][a-z0-9._-]*$/;
const DEFAULT_MAX_CATCH_UP = 24;
// setTimeout cannot wait longer (about 24.8 days); a longer timeout would fire at once.
const MAX_TIMEOUT_MS = 2 ** 31 - 1;
// Characters a shell would expand or treat as syntax when unquoted; in double quotes only these three.
const SHELL_SPECIAL = '$`;&|<>()*?[]{}~!';
const SHELL_SPECIAL_IN_DOUBLE_QUOTES = '$`!';

/** The reserved task name of the whole set-up flow. */
const SETUP = 'setup';

/** A whitespace-separated word of a line and where it starts. */
interface Word {
  /** As written, quotes included. */
  text: string;
  /** As a POSIX shell passes it on: quotes and escaping backslashes removed. */
  value: string;
  column: number;
  /** The first character a shell would not take literally, if any. */
  special?: { char: string; column: number };
}

/**
 * Split a line into words the way a POSIX shell does (quotes, backslashes, a '#' starting a word starts a
 * comment), keeping each word's column, which a shell-words library does not report. Returns the column
 * of an unterminated quote too when there is one.
 */
function splitWords(line: string): { words: Word[]; unterminated?: number } {
  const words: Word[] = [];
  let word: Word | undefined;
  let quoteChar: string | undefined;
  let quoteColumn = 0;
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    const column = i + 1;
    if (!quoteChar && /\s/.test(c)) {
      word = undefined;
      continue;
    }
    if (!quoteChar && !word && c === '#') break;
    if (!word) words.push((word = { text: '', value: '', column }));
    word.text += c;
    if (quoteChar === "'") {
      if (c === "'") quoteChar = undefined;
      else word.value += c;
    } else if (c === '\\') {
      if (i + 1 === line.length) word.special ??= { char: c, column }; // a shell would join the next line
      const next = line[++i] ?? '';
      word.text += next;
      // In double quotes a backslash only escapes these; elsewhere it escapes anything.
      word.value += quoteChar && !'$`"\\'.includes(next) ? c + next : next;
    } else if (c === quoteChar) {
      quoteChar = undefined;
    } else if (!quoteChar && (c === "'" || c === '"')) {
      quoteChar = c;
      quoteColumn = column;
    } else {
      if ((quoteChar ? SHELL_SPECIAL_IN_DOUBLE_QUOTES : SHELL_SPECIAL).includes(c)) word.special ??= { char: c, column };
      word.value += c;
    }
  }
  return quoteChar ? { words, unterminated: quoteColumn } : { words };
}

/** Whether a time zone name is one the platform knows (cron-parser's own error for a bad one is unhelpful). */
function isTimeZone(name: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: name });
    return true;
  } catch {
    return false;
  }
}

/** Why a ping= value cannot be pinged, if it cannot. */
function badPingUrl(value: string): string | undefined {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return 'expected an http:// or https:// URL such as https://hc-ping.com/UUID';
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return `expected an http:// or https:// URL, not ${url.protocol}//`;
  if (url.username || url.password) return 'a ping URL cannot hold user:password (its path is what identifies the check)';
  return undefined;
}

const badZone = (name: string) => `unknown time zone '${name}': use an IANA name such as Europe/Berlin, America/New_York or UTC`;

/** Why cron-parser rejects five fields, and the column of the field to blame. */
function checkFields(fields: Word[]): { column: number; message: string } | undefined {
  const reason = (expression: string) => {
    try {
      CronExpressionParser.parse(expression, { tz: 'UTC' });
      return undefined;
    } catch (error) {
      return (error as Error).message;
    }
  };
  const whole = reason(fields.map((f) => f.text).join(' '));
  if (!whole) return undefined;
  // Blame the first field that fails on its own; a combination (Feb 30) is blamed on the schedule.
  for (const [k, field] of fields.entries()) {
    const alone = reason(fields.map((f, j) => (j === k ? f.text : '*')).join(' '));
    if (alone) return { column: field.column, message: `bad ${FIELD_NAMES[k]} field '${field.text}': ${alone}` };
  }
  return { column: fields[0]!.column, message: `bad schedule: ${whole}` };
}

/** Levenshtein distance, for "did you mean". */
function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min(previous[j]! + 1, current[j - 1]! + 1, previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    previous = current;
  }
  return previous[b.length]!;
}

function closest(name: string, candidates: string[]): string | undefined {
  const ranked = candidates.map((c) => ({ c, d: editDistance(name, c) })).sort((x, y) => x.d - y.d);
  const best = ranked[0];
  return best && best.d <= Math.max(2, Math.floor(name.length / 3)) ? best.c : undefined;
}

/** An argument quoted for a POSIX shell only where needed, so that a command reads as typed. */
const shellWord = (arg: string) => (/^[\w@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replace(/'/g, `'\\''`)}'`);

interface OptionValue {
  value: string;
  keyColumn: number;
  valueColumn: number;
}

/** The words of a `[k=v k=v]` group starting at words[start]; returns the index after it (undefined: no ']'). */
function readOptions(words: Word[], start: number, options: Map<string, OptionValue>, report: Report): number | undefined {
  const end = words.findIndex((w, k) => k >= start && w.text.endsWith(']'));
  if (end < 0) {
    report(words[start]!.column, "the options group has no closing ']'");
    return undefined;
  }
  for (let i = start; i <= end; i++) {
    const word = words[i]!;
    let text = word.text;
    let column = word.column;
    if (i === start) {
      text = text.slice(1);
      column++;
    }
    if (i === end) text = text.slice(0, -1);
    if (text) {
      const eq = text.indexOf('=');
      const key = text.slice(0, Math.max(eq, 0));
      if (eq < 1) report(column, `expected key=value in the options, got '${text}'`);
      else if (!OPTION_KEYS.includes(key)) report(column, `unknown option '${key}' (options: ${OPTION_KEYS.join(', ')})`);
      else if (options.has(key)) report(column, `option '${key}' is given twice`);
      else options.set(key, { value: text.slice(eq + 1), keyColumn: column, valueColumn: column + eq + 1 });
    }
  }
  return end + 1;
}

type Report = (column: number, message: string) => void;

/** One entry line, and the column to blame for its id; reports its problems and returns undefined if it has any. */
function parseEntry(
  words: Word[],
  line: number,
  timezone: string,
  tasks: TaskSet,
  problems: CrontabProblem[],
): { entry: CrontabEntry; idColumn: number } | undefined {
  const before = problems.length;
  const report: Report = (column, message) => problems.push({ line, column, message });
  const first = words[0]!;

  // The schedule.
  let i: number;
  let schedule: string;
  let expression: string | undefined;
  if (first.text.startsWith('@')) {
    i = 1;
    schedule = first.text;
    expression = NICKNAMES[first.text];
    if (!expression && !ON_START.includes(first.text)) {
      report(first.column, `unknown schedule '${first.text}' (use five cron fields or one of ${[...Object.keys(NICKNAMES), ...ON_START].join(' ')})`);
      return undefined;
    }
  } else {
    i = 0;
    while (words[i] && FIELD.test(words[i]!.text)) i++;
    if (i !== 5) {
      const fields = 'five fields (minute hour day-of-month month day-of-week)';
      report(
        first.column,
        i === 0
          ? `'${first.text}' is not a schedule: a line starts with ${fields} or a nickname such as @daily`
          : i < 5
          ? `the schedule needs ${fields}, found ${i}`
          : `the schedule has ${i} fields: seconds and years are not supported, use ${fields}`,
      );
      return undefined;
    }
    schedule = expression = words.slice(0, 5).map((w) => w.text).join(' ');
    const bad = checkFields(words.slice(0, 5));
    if (bad) report(bad.column, bad.message);
  }
  const onStart = expression === undefined;

  // The options.
  const options = new Map<string, OptionValue>();
  if (words[i]?.text.startsWith('[')) {
    const after = readOptions(words, i, options, report);
    if (after === undefined) return undefined;
    i = after;
  }
  const option = (key: string, valid: (value: string) => boolean, message: string) => {
    const o = options.get(key);
    if (!o || valid(o.value)) return o?.value;
    report(o.keyColumn, `${key}=${o.value}: ${message}`);
    return undefined;
  };
  const positiveDuration = (value: string) => (parseDuration(value) ?? 0) > 0;
  const missed = option('missed', (v) => ['skip', 'once', 'all'].includes(v), 'expected skip, once or all') as MissedPolicy | undefined;
  const max = option('max', (v) => /^[1-9]\d*$/.test(v), 'expected a whole number above 0');
  const lateness = option('lateness', positiveDuration, 'expected a duration above 0 such as 90m, 12h, 3d or 1w');
  const overlap = option('overlap', (v) => v === 'skip' || v === 'allow', 'expected skip or allow') as 'skip' | 'allow' | undefined;
  const timeout = option(
    'timeout',
    (v) => positiveDuration(v) && parseDuration(v)! <= MAX_TIMEOUT_MS,
    'expected a duration above 0 and at most 24d, such as 90s, 10m or 2h',
  );
  const tz = options.get('tz');
  if (tz && !isTimeZone(tz.value)) report(tz.valueColumn, `tz=${tz.value}: ${badZone(tz.value)}`);
  const id = option('id', (v) => ID.test(v), 'expected lower-case letters, digits, dots, dashes and underscores');
  const ping = options.get('ping');
  const pingProblem = ping && badPingUrl(ping.value);
  if (pingProblem) report(ping.valueColumn, `ping=${ping.value}: ${pingProblem}`);
  for (const key of ['missed', 'max', 'lateness']) {
    const o = options.get(key);
    if (o && onStart) report(o.keyColumn, `${key}= does not apply to ${schedule}: it runs once each time a scheduler starts`);
  }
  if (max && !onStart && missed !== 'all') report(options.get('max')!.keyColumn, 'max= bounds the catch-up runs of missed=all; add missed=all');

  // The task and its flags.
  const taskWord = words[i];
  if (!taskWord) {
    const last = words[words.length - 1]!;
    report(last.column + last.text.length, 'the task to run is missing after the schedule');
    return undefined;
  }
  const flagWords = words.slice(i + 1);
  const beforeWords = problems.length;
  for (const word of [taskWord, ...flagWords]) {
    if (word.text.startsWith('[')) report(word.column, 'the [options] go right after the schedule, before the task');
    else if (word.special) {
      report(
        word.special.column,
        `'${word.special.char}' is special to a shell: quote it ('...') so the line means the same when pasted into one ` +
          '(the scheduler runs tasks, not shell commands: nothing is expanded)',
      );
    }
  }
  if (problems.length > beforeWords) return undefined;
  const name = taskWord.value;
  const argv = flagWords.map((w) => w.value);
  let task: TaskDefinition | undefined;
  let args: Record<string, unknown> = {};
  if (name === SETUP) {
    if (flagWords.length) report(flagWords[0]!.column, `'${SETUP}' (the set-up flow) takes no flags`);
  } else if (!(task = tasks.find(name))) {
    const suggestion = closest(name, [SETUP, ...tasks.all.map((t) => t.name)]);
    report(taskWord.column, `unknown task '${name}'` + (suggestion ? ` (did you mean '${suggestion}'?)` : " (see 'singularity tasks')"));
  } else if (refusedInRole(task, tasks.role ?? 'instance')) {
    report(taskWord.column, `${refusedInRole(task, tasks.role ?? 'instance')}: a scheduler of this role cannot run it`);
  } else {
    const parsed = parseFlags(task, argv);
    if ('problem' in parsed) {
      const k = parsed.argIndex ?? argv.findIndex((a) => a === parsed.flag || a.startsWith(`${parsed.flag}=`));
      report(flagWords[k]?.column ?? taskWord.column, parsed.problem);
    } else args = parsed.args;
  }
  if (problems.length > before) return undefined;

  const command = [name, ...argv].map(shellWord).join(' ');
  const period = expression ? periodMs({ expression, timezone: tz?.value ?? timezone }) : 0;
  const entry: CrontabEntry = {
    id: id ?? command,
    line,
    schedule,
    expression,
    onStart,
    timezone: tz?.value ?? timezone,
    task: name,
    argv,
    args,
    command,
    missed: missed ?? (!onStart && period >= DAY_MS ? 'once' : 'skip'),
    maxCatchUp: max ? Number(max) : DEFAULT_MAX_CATCH_UP,
    maxLatenessMs: lateness ? parseDuration(lateness)! : onStart ? 0 : Math.max(period, DAY_MS),
    overlap: overlap ?? task?.overlap ?? 'skip',
    // The set-up flow runs its steps one after another, each within its own timeout.
    timeoutMs: timeout ? parseDuration(timeout)! : task?.timeoutMs ?? setupTimeoutMs(tasks),
    ...(ping && !pingProblem ? { ping: ping.value } : {}),
  };
  return { entry, idColumn: options.get('id')?.keyColumn ?? taskWord.column };
}

const setupTimeoutMs = (tasks: TaskSet) => tasks.all.filter((t) => t.setupOrder).reduce((sum, t) => sum + t.timeoutMs, 0);

/**
 * A task's flags through the command line's own parser (commander, then the task's schema), so a line is
 * valid exactly when `singularity TASK FLAGS` is. On failure: the message and the flag (or argument) to blame.
 */
function parseFlags(task: TaskDefinition, argv: string[]): { args: Record<string, unknown> } | { problem: string; flag?: string; argIndex?: number } {
  const specs = describeArgs(task.args);
  const entry = { name: task.name, summary: task.summary, options: specs, positional: task.positional };
  const command = buildTaskCommand(entry)
    .helpOption(false)
    .exitOverride()
    .configureOutput({ writeOut() {}, writeErr() {} });
  try {
    command.parse(argv, { from: 'user' });
    return { args: parseArgs(task.args, taskCommandValues(command, entry), task.name) };
  } catch (error) {
    if (error instanceof CommanderError && error.code === 'commander.excessArguments') {
      const k = firstPositional(argv, specs.filter((s) => s.kind !== 'boolean').map((s) => `--${s.flag}`));
      return { problem: `unexpected argument '${command.args[0]}': a task takes only --flags`, argIndex: k };
    }
    if (!(error instanceof CommanderError || error instanceof UsageError)) throw error;
    const problem = error.message.replace(/^error: /, '').replace(/\s*\n\s*/g, ' ');
    return { problem, flag: /(?:^|[\s'])(--?[A-Za-z0-9][\w-]*)/.exec(problem)?.[1] };
  }
}

/** The index of the first argument that is neither a flag nor a flag's value. */
function firstPositional(argv: string[], flagsWithValue: string[]): number {
  for (let k = 0; k < argv.length; k++) {
    if (argv[k] === '--') return k + 1;
    if (flagsWithValue.includes(argv[k]!)) k++;
    else if (!argv[k]!.startsWith('-')) return k;
  }
  return -1;
}

/** Parse a crontab's text. Every problem is collected; the lines without problems still become entries. */
export function parseCrontab(text: string, options: { source: string; tasks: TaskSet }): { crontab: Crontab; problems: CrontabProblem[] } {
  const entries: CrontabEntry[] = [];
  const problems: CrontabProblem[] = [];
  const ids = new Map<string, CrontabEntry>();
  let timezone = 'UTC';
  for (const [index, raw] of text.replace(/^\uFEFF/, '').split(/\r?\n/).entries()) {
    const line = index + 1;
    const { words, unterminated } = splitWords(raw);
    if (unterminated) {
      problems.push({ line, column: unterminated, message: 'this quote is never closed' });
      continue;
    }
    if (!words.length) continue;
    const setting = /^([A-Za-z_]\w*)=(.*)$/.exec(words[0]!.text);
    if (setting) {
      const name = setting[1]!;
      const value = setting[2]!;
      if (name !== 'TZ' && name !== 'CRON_TZ') {
        problems.push({
          line,
          column: words[0]!.column,
          message: `unknown setting '${name}': the scheduler runs tasks, not shell commands, so environment lines have no effect`,
        });
      } else if (words.length > 1) problems.push({ line, column: words[1]!.column, message: `${name}= takes one time zone name, without spaces` });
      else if (!isTimeZone(value)) problems.push({ line, column: words[0]!.column + name.length + 1, message: badZone(value) });
      else timezone = value;
      continue;
    }
    const parsed = parseEntry(words, line, timezone, options.tasks, problems);
    if (!parsed) continue;
    const earlier = ids.get(parsed.entry.id);
    if (earlier) {
      problems.push({
        line,
        column: parsed.idColumn,
        message: `the id '${parsed.entry.id}' is already the id of line ${earlier.line}; give one of them another id=`,
      });
    } else {
      ids.set(parsed.entry.id, parsed.entry);
      entries.push(parsed.entry);
    }
  }
  problems.sort((a, b) => a.line - b.line || a.column - b.column);
  return { crontab: { source: options.source, entries }, problems };
}

/** Read and parse a crontab file; unreadable files are usage errors, bad bytes are problems. */
export async function inspectCrontab(path: string, tasks: TaskSet): Promise<{ crontab: Crontab; problems: CrontabProblem[] }> {
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch (error) {
    const missing = (error as NodeJS.ErrnoException).code === 'ENOENT';
    throw new UsageError(missing ? `crontab file not found: ${path}` : `cannot read the crontab ${path}: ${(error as Error).message}`, {
      hint:
        'Check the path (a command argument, --crontab, scheduler.crontab in the config, or SINGULARITY_CRONTAB). ' +
        "'singularity crontab > FILE' writes the default crontab to start from.",
    });
  }
  const text = bytes.toString('utf8');
  const nul = text.indexOf('\0');
  const bad = nul >= 0 ? nul : isUtf8(bytes) ? -1 : text.indexOf('\uFFFD');
  if (bad >= 0) {
    const lines = text.slice(0, bad).split('\n');
    const problem = {
      line: lines.length,
      column: lines[lines.length - 1]!.length + 1,
      message: nul >= 0 ? 'a NUL byte: this is not a text file' : 'not UTF-8 text (save the file as UTF-8)',
    };
    return { crontab: { source: path, entries: [] }, problems: [problem] };
  }
  return parseCrontab(text, { source: path, tasks });
}

/** A crontab file, or a CrontabError listing every problem in it. */
export async function readCrontab(path: string, tasks: TaskSet): Promise<Crontab> {
  const { crontab, problems } = await inspectCrontab(path, tasks);
  if (problems.length) throw new CrontabError(path, problems);
  return crontab;
}

/** The crontab of every task with a default schedule, and the set-up flow on start; `singularity crontab` prints it. */
export function defaultCrontabText(tasks: TaskSet): string {
  const lines = [
    '# The singularity crontab: what `singularity run-scheduler` runs, and when (see docs/crontab-and-scheduler.md).',
    '# A line is: SCHEDULE [OPTIONS] TASK --FLAGS, where TASK --FLAGS is what you would type after `singularity`.',
    '# SCHEDULE: five cron fields (minute hour day-of-month month day-of-week), @hourly, @daily, @weekly,',
    '# @monthly, @yearly, or @setup (once each time a scheduler starts). OPTIONS, in one [...] group:',
    '# missed=skip|once|all max=N lateness=3d overlap=skip|allow timeout=10m tz=Area/City id=NAME ping=URL.',
    '# TZ=Area/City sets the time zone of the lines below it. Check a file: singularity crontab check FILE',
    '',
    'TZ=UTC',
    '',
    '# setup: the set-up flow (every set-up step in order; steps already done are skipped), on each start',
    '@setup setup',
  ];
  // A task of another role is left out: the central's crontab has no instance tasks, and the other way round.
  for (const task of tasks.all.filter((t) => !refusedInRole(t, tasks.role ?? 'instance'))) {
    const schedules = defaultSchedules(task.schedule);
    if (schedules.length) lines.push('', `# ${task.name}: ${task.summary}`);
    for (const { cron, flags } of schedules) lines.push(`${cron} ${task.name}${flags ? ` ${flags}` : ''}`);
  }
  return lines.join('\n') + '\n';
}

/** The default crontab, parsed; a task module's bad default schedule is reported like a bad file's line. */
export function defaultCrontab(tasks: TaskSet): Crontab {
  const { crontab, problems } = parseCrontab(defaultCrontabText(tasks), { source: DEFAULT_CRONTAB_SOURCE, tasks });
  if (problems.length) throw new CrontabError(DEFAULT_CRONTAB_SOURCE, problems);
  return crontab;
}

/** The crontab a run-scheduler started now would run: `scheduler.crontab` from the config, else the default. */
export function configuredCrontab(config: { scheduler: { crontab?: string } }, tasks: TaskSet): Promise<Crontab> {
  return config.scheduler.crontab ? readCrontab(config.scheduler.crontab, tasks) : Promise.resolve(defaultCrontab(tasks));
}

/** Every run the crontab's scheduled entries start in (from, until], by time, then line. */
export function upcomingRuns(crontab: Crontab, from: Date, until: Date): Array<{ at: Date; entry: CrontabEntry }> {
  return crontab.entries
    .filter((entry) => !entry.onStart)
    .flatMap((entry) => ticksBetween(entry, from, until).ticks.map((at) => ({ at, entry })))
    .sort((a, b) => a.at.getTime() - b.at.getTime() || a.entry.line - b.entry.line);
}

/** '2026-03-29 03:30 +02:00': wall time in the zone with its offset, unambiguous across DST changes. */
export function formatInZone(date: Date, timezone: string): string {
  const parts = new Intl.DateTimeFormat('en-US', {
    timeZone: timezone,
    hourCycle: 'h23',
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
    timeZoneName: 'longOffset',
  }).formatToParts(date);
  const part = (type: Intl.DateTimeFormatPartTypes) => parts.find((p) => p.type === type)!.value;
  const offset = part('timeZoneName').replace(/^GMT/, '') || '+00:00';
  return `${part('year')}-${part('month')}-${part('day')} ${part('hour')}:${part('minute')} ${offset}`;
}
