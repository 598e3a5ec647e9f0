// The crontab: its parser (every problem with its line and column) and the `crontab` commands as a user runs them.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { runCli } from './support/cli.js';
import { CrontabError, UsageError } from '../src/core/errors.js';
import {
  DEFAULT_CRONTAB_SOURCE,
  defaultCrontab,
  defaultCrontabText,
  formatInZone,
  parseCrontab,
  readCrontab,
  upcomingRuns,
  type CrontabProblem,
} from '../src/schedule/crontab.js';
import { defaultSchedules, defineTask } from '../src/core/task/define.js';
import { tasks as builtIn } from '../src/tasks/index.js';
import type { TaskSet } from '../src/core/task/registry.js';

// A task with every kind of flag, beside the built-in ones.
const copyFiles = defineTask({
  name: 'copy-files',
  summary: 'Copy files somewhere',
  engine: 'node',
  args: z.object({
    path: z.string().describe('where to'),
    mode: z.enum(['fast', 'safe']).default('safe').describe('how'),
    dryRun: z.boolean().default(false).describe('only say what would be copied'),
  }),
  timeoutMs: 5_000,
  overlap: 'allow',
  run: async () => ({}),
});
const all = [...builtIn, copyFiles];
const tasks: TaskSet = { all, find: (name) => all.find((t) => t.name === name) };

const HOUR = 3600_000;
const DAY = 24 * HOUR;

const parse = (text: string) => parseCrontab(text, { source: 'test.cron', tasks });
/** The entries of a crontab that must have no problems. */
function entries(text: string) {
  const { crontab, problems } = parse(text);
  expect(problems).toEqual([]);
  return crontab.entries;
}
const entry = (line: string) => entries(line)[0]!;
/** The problems of a crontab as 'LINE:COL: message'. */
const problems = (text: string) => parse(text).problems.map((p: CrontabProblem) => `${p.line}:${p.column}: ${p.message}`);
/** The one problem of a one-line crontab. */
function problem(text: string): string {
  const found = problems(text);
  expect(found).toHaveLength(1);
  return found[0]!;
}

describe('schedules', () => {
  it.each([
    ['@hourly', '0 * * * *'],
    ['@daily', '0 0 * * *'],
    ['@midnight', '0 0 * * *'],
    ['@weekly', '0 0 * * 0'],
    ['@monthly', '0 0 1 * *'],
    ['@yearly', '0 0 1 1 *'],
    ['@annually', '0 0 1 1 *'],
  ])('%s is the expression %s', (nickname, expression) => {
    const e = entry(`${nickname} analyze-stats`);
    expect(e).toMatchObject({ schedule: nickname, expression, onStart: false, task: 'analyze-stats' });
  });

  it.each(['@setup', '@reboot'])('%s runs on start: no expression, no ticks, never late', (nickname) => {
    const e = entry(`${nickname} seed-plan`);
    expect(e).toMatchObject({ schedule: nickname, onStart: true, missed: 'skip', maxLatenessMs: 0 });
    expect(e.expression).toBeUndefined();
    expect(upcomingRuns({ source: 'x', entries: [e] }, new Date('2026-01-01T00:00:00Z'), new Date('2027-01-01T00:00:00Z'))).toEqual([]);
  });

  it('ranges, steps, lists and month and day names all work', () => {
    const e = entry('15 9-17/4 * jan,feb mon-fri analyze-stats');
    const runs = upcomingRuns({ source: 'x', entries: [e] }, new Date('2026-01-02T00:00:00Z'), new Date('2026-01-06T00:00:00Z'));
    // Friday Jan 2 and Monday Jan 5, at 9:15, 13:15 and 17:15; nothing on the weekend.
    expect(runs.map((r) => r.at.toISOString())).toEqual([
      '2026-01-02T09:15:00.000Z',
      '2026-01-02T13:15:00.000Z',
      '2026-01-02T17:15:00.000Z',
      '2026-01-05T09:15:00.000Z',
      '2026-01-05T13:15:00.000Z',
      '2026-01-05T17:15:00.000Z',
    ]);
    expect(entry('*/5 * * * * analyze-stats').expression).toBe('*/5 * * * *');
  });

  it('a bad field is reported at its column, with what cron-parser says', () => {
    expect(problem('61 * * * * analyze-stats')).toMatch(/^1:1: bad minute field '61': .*0-59/);
    expect(problem('0 25 * * * analyze-stats')).toMatch(/^1:3: bad hour field '25': .*0-23/);
    expect(problem('0  0 * 13 * analyze-stats')).toMatch(/^1:8: bad month field '13'/);
    expect(problem('0 0 31 2 * analyze-stats')).toMatch(/^1:1: bad schedule: /);
  });

  it('fewer or more than five fields is refused, naming the fields', () => {
    expect(problem('0 0 * * analyze-stats')).toBe('1:1: the schedule needs five fields (minute hour day-of-month month day-of-week), found 4');
    expect(problem('0 0 0 * * * analyze-stats')).toMatch(/^1:1: the schedule has 6 fields: seconds and years are not supported/);
    expect(problem('0 0 0 * * * 2026 analyze-stats')).toMatch(/^1:1: the schedule has 7 fields/);
    expect(problem('analyze-stats')).toBe("1:1: 'analyze-stats' is not a schedule: a line starts with five fields (minute hour day-of-month month day-of-week) or a nickname such as @daily");
    expect(problem('@fortnightly analyze-stats')).toMatch(/^1:1: unknown schedule '@fortnightly' \(use five cron fields or one of @hourly/);
  });
});

describe('time zones', () => {
  it('TZ= applies to the entries below it until the next TZ=; CRON_TZ= is the same; tz= overrides one line', () => {
    const e = entries(
      [
        '@daily analyze-stats',
        'TZ=Europe/Berlin',
        '@hourly [id=hourly-stats] analyze-stats',
        '@daily [tz=America/New_York] vacuum-analyze',
        'CRON_TZ=Asia/Tokyo',
        '@weekly prune-runs',
      ].join('\n'),
    );
    expect(e.map((x) => x.timezone)).toEqual(['UTC', 'Europe/Berlin', 'America/New_York', 'Asia/Tokyo']);
    // Midnight in New York is 05:00 UTC in winter.
    const [run] = upcomingRuns({ source: 'x', entries: [e[2]!] }, new Date('2026-01-01T06:00:00Z'), new Date('2026-01-02T06:00:00Z'));
    expect(run!.at.toISOString()).toBe('2026-01-02T05:00:00.000Z');
  });

  it('an unknown zone is reported at the value, in TZ= lines and in tz=', () => {
    expect(problem('TZ=Mars/Olympus')).toBe(
      "1:4: unknown time zone 'Mars/Olympus': use an IANA name such as Europe/Berlin, America/New_York or UTC",
    );
    expect(problem('CRON_TZ=Nowhere')).toMatch(/^1:9: unknown time zone 'Nowhere'/);
    expect(problem('@daily [tz=Nowhere] analyze-stats')).toMatch(/^1:12: tz=Nowhere: unknown time zone/);
  });

  it('formatInZone shows the wall time with its offset, so DST changes are unambiguous', () => {
    expect(formatInZone(new Date('2026-03-29T00:30:00Z'), 'Europe/Berlin')).toBe('2026-03-29 01:30 +01:00');
    expect(formatInZone(new Date('2026-03-29T01:30:00Z'), 'Europe/Berlin')).toBe('2026-03-29 03:30 +02:00');
    expect(formatInZone(new Date('2026-10-25T00:30:00Z'), 'Europe/Berlin')).toBe('2026-10-25 02:30 +02:00');
    expect(formatInZone(new Date('2026-10-25T01:30:00Z'), 'Europe/Berlin')).toBe('2026-10-25 02:30 +01:00');
    expect(formatInZone(new Date('2026-01-01T00:00:00Z'), 'UTC')).toBe('2026-01-01 00:00 +00:00');
  });
});

describe('scheduler options', () => {
  it('defaults: missed=once for daily or rarer, skip for more frequent; lateness max(period, 24h); overlap and timeout from the task', () => {
    const [hourly, daily, weekly, allowing] = entries(
      ['@hourly analyze-stats', '@daily vacuum-analyze', '@weekly prune-runs', '@daily copy-files --path /tmp'].join('\n'),
    );
    expect(hourly).toMatchObject({ missed: 'skip', maxLatenessMs: DAY, maxCatchUp: 24, overlap: 'skip', timeoutMs: 30 * 60_000 });
    expect(daily).toMatchObject({ missed: 'once', maxLatenessMs: DAY, timeoutMs: 2 * HOUR });
    expect(weekly).toMatchObject({ missed: 'once', maxLatenessMs: 7 * DAY });
    expect(allowing).toMatchObject({ overlap: 'allow', timeoutMs: 5_000 });
  });

  it('every option is read', () => {
    const e = entry('@daily [missed=all max=5 lateness=3d overlap=allow timeout=10m tz=America/New_York id=nightly-prune] prune-runs');
    expect(e).toMatchObject({
      missed: 'all',
      maxCatchUp: 5,
      maxLatenessMs: 3 * DAY,
      overlap: 'allow',
      timeoutMs: 10 * 60_000,
      timezone: 'America/New_York',
      id: 'nightly-prune',
      command: 'prune-runs',
    });
    expect(entry('*/5 * * * * [ missed=skip ] analyze-stats').missed).toBe('skip');
    expect(entry('@daily [ping=https://hc-ping.com/0f1c2d3e?rid=1] analyze-stats').ping).toBe('https://hc-ping.com/0f1c2d3e?rid=1');
    expect(entry('@daily analyze-stats')).not.toHaveProperty('ping');
    expect(entry('@hourly [missed=once] analyze-stats').missed).toBe('once');
  });

  it.each([
    ['[missed=sometimes]', '1:9: missed=sometimes: expected skip, once or all'],
    ['[missed=all max=0]', '1:20: max=0: expected a whole number above 0'],
    ['[missed=all max=2.5]', '1:20: max=2.5: expected a whole number above 0'],
    ['[lateness=soon]', '1:9: lateness=soon: expected a duration above 0 such as 90m, 12h, 3d or 1w'],
    ['[lateness=0s]', '1:9: lateness=0s: expected a duration above 0 such as 90m, 12h, 3d or 1w'],
    ['[overlap=maybe]', '1:9: overlap=maybe: expected skip or allow'],
    ['[timeout=forever]', '1:9: timeout=forever: expected a duration above 0 and at most 24d, such as 90s, 10m or 2h'],
    ['[timeout=30d]', '1:9: timeout=30d: expected a duration above 0 and at most 24d, such as 90s, 10m or 2h'],
    ['[id=Nightly!]', '1:9: id=Nightly!: expected lower-case letters, digits, dots, dashes and underscores'],
    ['[color=red]', "1:9: unknown option 'color' (options: missed, max, lateness, overlap, timeout, tz, id, ping)"],
    ['[ping=hc-ping.com/abc]', '1:14: ping=hc-ping.com/abc: expected an http:// or https:// URL such as https://hc-ping.com/UUID'],
    ['[ping=ftp://hc.example/abc]', '1:14: ping=ftp://hc.example/abc: expected an http:// or https:// URL, not ftp://'],
    ['[ping=https://u:pw@hc.example/abc]', '1:14: ping=https://u:pw@hc.example/abc: a ping URL cannot hold user:password (its path is what identifies the check)'],
    ['[missed=all missed=skip]', "1:20: option 'missed' is given twice"],
    ['[missed]', "1:9: expected key=value in the options, got 'missed'"],
    ['[max=3]', '1:9: max= bounds the catch-up runs of missed=all; add missed=all'],
    ['[missed=all', "1:8: the options group has no closing ']'"],
  ])('%s is refused at its column', (options, expected) => {
    expect(problem(`@daily ${options} analyze-stats`)).toBe(expected);
  });

  it('missed=, max= and lateness= do not apply to on-start entries', () => {
    expect(problem('@setup [lateness=1h] seed-plan')).toBe('1:9: lateness= does not apply to @setup: it runs once each time a scheduler starts');
  });

  it('the options go right after the schedule', () => {
    expect(problem('@daily analyze-stats [missed=all]')).toBe('1:22: the [options] go right after the schedule, before the task');
  });
});

describe('tasks and flags', () => {
  it('flags go through the command-line parser and the task schema: defaults filled, the command re-quoted', () => {
    const e = entry('0 0 * * 0 prune-runs --older-than 60d --batch-size=500');
    expect(e).toMatchObject({
      argv: ['--older-than', '60d', '--batch-size=500'],
      args: { olderThan: '60d', batchSize: 500 },
      command: 'prune-runs --older-than 60d --batch-size=500',
      id: 'prune-runs --older-than 60d --batch-size=500',
    });
    const quoted = entry(`@daily copy-files --path "my dir" --mode fast --dry-run`);
    expect(quoted.args).toEqual({ path: 'my dir', mode: 'fast', dryRun: true });
    expect(quoted.command).toBe("copy-files --path 'my dir' --mode fast --dry-run");
    // As a shell reads them: single quotes keep everything, '#' inside a word is no comment, backslashes escape.
    expect(entry(`@daily copy-files --path '$HOME/x#y'`).args.path).toBe('$HOME/x#y');
    expect(entry('@daily copy-files --path=a#b # a comment').args.path).toBe('a#b');
    expect(entry('@daily copy-files --path my\\ dir\\$').args.path).toBe('my dir$');
    expect(entry('@daily copy-files --path "a\\"b\\c"').args.path).toBe('a"b\\c');
    // The command, pasted back into a line (or after `singularity `), means the same.
    for (const value of ["it's", '$HOME/x#y', 'a b\tc', '', '--path=x,y:z']) {
      const first = entry(`@daily copy-files --path "${value.replace(/[$"\\]/g, '\\$&')}"`);
      expect(first.args.path).toBe(value);
      expect(entry(`@daily ${first.command}`).args).toEqual(first.args);
    }
  });

  it('a bad flag value is reported at the flag, with the schema\'s reason', () => {
    expect(problem('0 0 * * 0 prune-runs --older-than soon')).toBe(
      "1:22: prune-runs: --older-than: expected a duration such as 30d, 12h, 90m, 45s or 2w (got 'soon')",
    );
    expect(problem('0 0 * * 0 prune-runs --batch-size 10 --older-than=soon')).toMatch(/^1:38: prune-runs: --older-than: /);
    expect(problem('0 0 * * 0 prune-runs --batch-size abc')).toBe("1:22: prune-runs: --batch-size: expected a number, got 'abc'");
    expect(problem('@daily copy-files --path x --mode slow')).toMatch(/^1:28: option '--mode <value>' argument 'slow' is invalid/);
  });

  it('an unknown flag is reported at the flag, with a suggestion when one is close', () => {
    expect(problem('0 0 * * 0 prune-runs --older-then 30d')).toBe("1:22: unknown option '--older-then' (Did you mean --older-than?)");
    expect(problem('0 0 * * 0 prune-runs --help')).toBe("1:22: unknown option '--help'");
    expect(problem('0 0 * * 0 prune-runs --json')).toBe("1:22: unknown option '--json'");
  });

  it('a missing flag value or a missing required flag is a problem', () => {
    expect(problem('0 0 * * 0 prune-runs --batch-size')).toBe("1:22: option '--batch-size <n>' argument missing");
    expect(problem('@daily copy-files')).toBe("1:8: required option '--path <value>' not specified");
  });

  it('positional arguments are refused at their column', () => {
    expect(problem('0 0 * * 0 prune-runs extra')).toBe("1:22: unexpected argument 'extra': a task takes only --flags");
    expect(problem('0 0 * * 0 prune-runs --older-than 7d extra')).toBe("1:38: unexpected argument 'extra': a task takes only --flags");
    expect(problem('0 0 * * 0 prune-runs -- --older-than')).toBe("1:25: unexpected argument '--older-than': a task takes only --flags");
  });

  it('an unknown task is reported at its column, with the closest name', () => {
    expect(problem('@daily prune-run')).toBe("1:8: unknown task 'prune-run' (did you mean 'prune-runs'?)");
    expect(problem('@setup setpu')).toBe("1:8: unknown task 'setpu' (did you mean 'setup'?)");
    expect(problem('@daily frobnicate')).toBe("1:8: unknown task 'frobnicate' (see 'singularity tasks')");
    expect(problem('@daily')).toBe('1:7: the task to run is missing after the schedule');
    // A tab is one column.
    expect(problem('\t@daily\tprune-run')).toMatch(/^1:9: unknown task 'prune-run'/);
  });

  it('setup is the set-up flow: it takes no flags', () => {
    const e = entry('@reboot setup');
    expect(e).toMatchObject({ task: 'setup', command: 'setup', onStart: true, args: {}, argv: [] });
    expect(e.timeoutMs).toBeGreaterThan(0);
    expect(problem('@setup setup --force')).toBe("1:14: 'setup' (the set-up flow) takes no flags");
  });

  it.each([
    ['@daily prune-runs --older-than $AGE', 32, '$'],
    ['@daily prune-runs --older-than "${AGE}"', 33, '$'],
    ['@daily analyze-stats | tee log', 22, '|'],
    ['@daily analyze-stats; rm -rf /', 21, ';'],
    ['@daily analyze-stats > /dev/null', 22, '>'],
    ['@daily copy-files --path *.txt', 26, '*'],
    ['@daily copy-files --path `pwd`', 26, '`'],
    ['@daily copy-files --path ~/x', 26, '~'],
  ])('%s is refused at the shell character', (line, column, char) => {
    expect(problem(line)).toBe(
      `1:${column}: '${char}' is special to a shell: quote it ('...') so the line means the same when pasted into one ` +
        '(the scheduler runs tasks, not shell commands: nothing is expanded)',
    );
  });

  it('an unclosed quote is reported where it opens', () => {
    expect(problem('@daily copy-files --path "my dir')).toBe('1:26: this quote is never closed');
  });
});

describe('the file', () => {
  it('comments on their own line and after whitespace are ignored; blank lines too; CRLF works', () => {
    const e = entries('# a comment\r\n\r\n   # indented\r\n0 0 * * 1#2 analyze-stats # the second Monday\r\n\t@daily\tvacuum-analyze\t#tabs\r\n');
    expect(e.map((x) => [x.line, x.expression, x.command])).toEqual([
      [4, '0 0 * * 1#2', 'analyze-stats'],
      [5, '0 0 * * *', 'vacuum-analyze'],
    ]);
  });

  it('a NAME=value line is refused: the scheduler has no environment to set', () => {
    expect(problem('MAILTO=ops@example.com')).toBe(
      "1:1: unknown setting 'MAILTO': the scheduler runs tasks, not shell commands, so environment lines have no effect",
    );
  });

  it('two entries with the same id: a problem on the later line, naming the earlier one', () => {
    expect(problems('@daily analyze-stats\n@hourly analyze-stats')).toEqual([
      "2:9: the id 'analyze-stats' is already the id of line 1; give one of them another id=",
    ]);
    expect(problems('@daily [id=a] analyze-stats\n@hourly [missed=skip id=a] vacuum-analyze')).toEqual([
      "2:22: the id 'a' is already the id of line 1; give one of them another id=",
    ]);
    expect(entries('@daily analyze-stats\n@hourly [id=hourly-stats] analyze-stats').map((e) => e.id)).toEqual(['analyze-stats', 'hourly-stats']);
  });

  it('every problem of every line is reported, in order, and the good lines still become entries', () => {
    const { crontab, problems: found } = parse(
      ['61 * * * * analyze-stats', '@daily vacuum-analyze', '@daily [missed=no overlap=no] prune-run', 'FOO=1', '@weekly prune-runs'].join('\n'),
    );
    expect(found.map((p) => `${p.line}:${p.column}`)).toEqual(['1:1', '3:9', '3:19', '3:31', '4:1']);
    expect(crontab.entries.map((e) => e.line)).toEqual([2, 5]);
  });

  it('upcomingRuns lists ticks by time, then by line', () => {
    const crontab = parse('@setup setup\n0 */12 * * * analyze-stats\n@daily vacuum-analyze').crontab;
    const runs = upcomingRuns(crontab, new Date('2026-01-01T06:00:00Z'), new Date('2026-01-02T12:00:00Z'));
    expect(runs.map((r) => `${r.at.toISOString().slice(0, 13)} ${r.entry.task}`)).toEqual([
      '2026-01-01T12 analyze-stats',
      '2026-01-02T00 analyze-stats',
      '2026-01-02T00 vacuum-analyze',
      '2026-01-02T12 analyze-stats',
    ]);
  });
});

describe('the default crontab', () => {
  it('has every task with a schedule, in registry order, the set-up flow on start, and no problems', () => {
    const text = defaultCrontabText(tasks);
    expect(text).toContain('(see docs/crontab-and-scheduler.md)');
    expect(parse(text).problems).toEqual([]);
    const crontab = defaultCrontab(tasks);
    expect(crontab.source).toBe(DEFAULT_CRONTAB_SOURCE);
    // The default crontab is the instance role's: central-only tasks (export-knowledge) are left out.
    const scheduled = all.filter((t) => !t.roles || t.roles.includes('instance')).flatMap((t) => defaultSchedules(t.schedule).map((s) => ({ task: t, ...s })));
    expect(crontab.entries.map((e) => e.task)).toEqual(['setup', ...scheduled.map((s) => s.task.name)]);
    expect(crontab.entries.slice(1).map((e) => e.expression)).toEqual(scheduled.map((s) => s.cron));
    for (const s of scheduled) expect(text).toContain(`${s.cron} ${s.task.name}${s.flags ? ` ${s.flags}` : ''}\n`);
    expect(crontab.entries.every((e) => e.timezone === 'UTC')).toBe(true);
  });

  it('a task with several default schedules gets one entry each, with its flags', () => {
    const twice = defineTask({
      name: 'twice', summary: 'two entries', engine: 'node', args: z.object({ kind: z.enum(['small', 'big']) }), timeoutMs: 1,
      schedule: [{ cron: '0 * * * *', flags: '--kind small' }, { cron: '0 1 * * *', flags: '--kind big' }],
      run: async () => 0,
    });
    const set: TaskSet = { all: [twice], find: (n) => (n === 'twice' ? twice : undefined) };
    const entries = defaultCrontab(set).entries.slice(1);
    expect(entries.map((e) => [e.expression, e.args])).toEqual([['0 * * * *', { kind: 'small' }], ['0 1 * * *', { kind: 'big' }]]);
    expect(defaultCrontabText(set)).toContain('# twice: two entries\n0 * * * * twice --kind small\n0 1 * * * twice --kind big\n');
  });

  it("a task module's bad default schedule makes the default crontab fail, naming the line", () => {
    const broken = defineTask({ name: 'broken', summary: 'x', engine: 'node', schedule: '0 25 * * *', args: z.object({}), timeoutMs: 1, run: async () => 0 });
    const set: TaskSet = { all: [broken], find: (n) => (n === 'broken' ? broken : undefined) };
    expect(() => defaultCrontab(set)).toThrow(/\(default crontab\):\d+:3: bad hour field '25'/);
  });
});

describe('reading a file', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'sg-crontab-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('a missing file is a usage error naming the path', async () => {
    const path = join(dir, 'missing.cron');
    const error = await readCrontab(path, tasks).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UsageError);
    expect((error as UsageError).message).toBe(`crontab file not found: ${path}`);
    expect((error as UsageError).exitCode).toBe(2);
  });

  it('problems become one CrontabError (exit 2) listing each as PATH:LINE:COL', async () => {
    const path = join(dir, 'bad.cron');
    writeFileSync(path, '@daily analyze-stats\n0 25 * * * analyze-stats\n@daily nope\n');
    const error = (await readCrontab(path, tasks).catch((e: unknown) => e)) as CrontabError;
    expect(error).toBeInstanceOf(CrontabError);
    expect(error.exitCode).toBe(2);
    expect(error.problems.map((p) => p.line)).toEqual([2, 3]);
    expect(error.message.split('\n').slice(1)).toEqual([
      `${path}:2:3: bad hour field '25': Constraint error, got value 25 expected range 0-23`,
      `${path}:3:8: unknown task 'nope' (see 'singularity tasks')`,
    ]);
  });

  it('a file that is not UTF-8 text is a problem at the first bad byte', async () => {
    const latin1 = join(dir, 'latin1.cron');
    writeFileSync(latin1, Buffer.from('@daily analyze-stats\n# caf\xe9\n', 'latin1'));
    await expect(readCrontab(latin1, tasks)).rejects.toThrow(`${latin1}:2:6: not UTF-8 text`);
    const binary = join(dir, 'binary.cron');
    writeFileSync(binary, 'ab\0cd');
    await expect(readCrontab(binary, tasks)).rejects.toThrow(`${binary}:1:3: a NUL byte: this is not a text file`);
  });
});

describe('the crontab commands', () => {
  // An empty folder: no singularity.config.json around it is picked up.
  let cwd: string;
  beforeAll(() => {
    cwd = mkdtempSync(join(tmpdir(), 'sg-crontab-cli-'));
  });
  afterAll(() => rmSync(cwd, { recursive: true, force: true }));
  const cli = (args: string[], env: Record<string, string | undefined> = {}) => runCli(args, env, { cwd });
  const file = (name: string, text: string) => {
    writeFileSync(join(cwd, name), text);
    return name;
  };

  it('`crontab` prints the default crontab, and `crontab check` of it finds no problems', async () => {
    const printed = await cli(['crontab']);
    expect(printed.code, printed.stderr).toBe(0);
    expect(printed.stdout).toBe(defaultCrontabText({ all: builtIn, find: (n) => builtIn.find((t) => t.name === n) }));
    const name = file('default.cron', printed.stdout);
    const checked = await cli(['crontab', 'check', name]);
    expect(checked.code, checked.stderr).toBe(0);
    const scheduled = builtIn.filter((t) => !t.roles || t.roles.includes('instance')).reduce((n, t) => n + defaultSchedules(t.schedule).length, 0);
    expect(checked.stdout).toBe(`default.cron: ${scheduled + 1} entries, no problems\n`);
  });

  it('`crontab check` of a bad file prints FILE:LINE:COL per problem and the count on stderr, exit 2', async () => {
    const name = file('bad.cron', '@daily analyze-stats\n61 * * * * analyze-stats\n0 0 * * 0 prune-runs --older-than soon\nTZ=Nowhere\n');
    const r = await cli(['crontab', 'check', name]);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr.trimEnd().split('\n')).toEqual([
      "bad.cron:2:1: bad minute field '61': Constraint error, got value 61 expected range 0-59",
      "bad.cron:3:22: prune-runs: --older-than: expected a duration such as 30d, 12h, 90m, 45s or 2w (got 'soon')",
      "bad.cron:4:4: unknown time zone 'Nowhere': use an IANA name such as Europe/Berlin, America/New_York or UTC",
      'bad.cron: 3 problems',
    ]);
  });

  it('`crontab check --json` prints ok, the entries and the problems, with the same exit code', async () => {
    const bad = JSON.parse((await cli(['crontab', 'check', 'bad.cron', '--json'])).stdout);
    expect(bad).toMatchObject({ ok: false, source: 'bad.cron', entries: [{ line: 1, task: 'analyze-stats' }] });
    expect(bad.problems[0]).toEqual({ line: 2, column: 1, message: expect.stringMatching(/^bad minute field/) });
    const good = await cli(['crontab', 'check', file('one.cron', '@daily [id=stats] analyze-stats\n'), '--json']);
    expect(good.code).toBe(0);
    expect(JSON.parse(good.stdout)).toMatchObject({ ok: true, problems: [], entries: [{ id: 'stats', command: 'analyze-stats', missed: 'once' }] });
  });

  it('`crontab check` of a missing file exits 2 naming it', async () => {
    const r = await cli(['crontab', 'check', 'nope.cron']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('crontab file not found: nope.cron');
  });

  it('`crontab next` lists the on-start entries, then every run in time order, in each entry\'s zone', async () => {
    const name = file(
      'next.cron',
      '@setup setup\n0 */6 * * * analyze-stats\nTZ=Europe/Berlin\n0 23 * * * [id=nightly] vacuum-analyze\n',
    );
    const r = await cli(['crontab', 'next', name, '--hours', '24'], { SINGULARITY_NOW: '2026-01-10T10:30:00Z' });
    expect(r.code, r.stderr).toBe(0);
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines[0]).toBe('next.cron: 5 runs in the next 24 h');
    expect(lines[1]).toMatch(/^WHEN\s+IN\s+COMMAND$/);
    const rows = lines.slice(2).map((line) => line.split(/\s{2,}/));
    expect(rows).toEqual([
      ['on start', '-', 'setup'],
      ['2026-01-10 12:00 +00:00', 'in 1h 30m', 'analyze-stats'],
      ['2026-01-10 18:00 +00:00', 'in 7h 30m', 'analyze-stats'],
      ['2026-01-10 23:00 +01:00', 'in 11h 30m', 'vacuum-analyze (id nightly)'],
      ['2026-01-11 00:00 +00:00', 'in 13h 30m', 'analyze-stats'],
      ['2026-01-11 06:00 +00:00', 'in 19h 30m', 'analyze-stats'],
    ]);
  });

  it('`crontab next --json` gives from, until, the on-start entries and the runs', async () => {
    const r = await cli(['crontab', 'next', 'next.cron', '--hours', '6', '--json'], { SINGULARITY_NOW: '2026-01-10T10:30:00Z' });
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({
      source: 'next.cron',
      from: '2026-01-10T10:30:00.000Z',
      until: '2026-01-10T16:30:00.000Z',
      onStart: [{ entry: 'setup', task: 'setup', command: 'setup' }],
      runs: [{ at: '2026-01-10T12:00:00.000Z', entry: 'analyze-stats', task: 'analyze-stats', command: 'analyze-stats', timezone: 'UTC' }],
    });
  });

  it('`crontab next` without a file shows the default crontab, or the configured one', async () => {
    const now = { SINGULARITY_NOW: '2026-01-10T10:30:00Z' };
    const byDefault = await cli(['crontab', 'next', '--json'], now);
    expect(JSON.parse(byDefault.stdout)).toMatchObject({ source: DEFAULT_CRONTAB_SOURCE, onStart: [{ task: 'setup' }] });
    const configured = await cli(['crontab', 'next', '--json'], { ...now, SINGULARITY_CRONTAB: 'one.cron' });
    expect(JSON.parse(configured.stdout)).toMatchObject({ source: join(cwd, 'one.cron'), runs: [{ entry: 'stats' }] });
  });

  it('`crontab next` of a file with problems exits 2 and lists them', async () => {
    const r = await cli(['crontab', 'next', 'bad.cron']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('3 problems in the crontab bad.cron:\nbad.cron:2:1: bad minute field');
  });

  describe('DST in Europe/Berlin: 30 2 * * * runs exactly once on each change day', () => {
    const localDays = async (now: string) => {
      const r = await cli(['crontab', 'next', 'dst.cron', '--hours', '48', '--json'], { SINGULARITY_NOW: now });
      expect(r.code, r.stderr).toBe(0);
      return (JSON.parse(r.stdout).runs as Array<{ at: string }>).map((run) => formatInZone(new Date(run.at), 'Europe/Berlin'));
    };
    beforeAll(() => file('dst.cron', 'TZ=Europe/Berlin\n30 2 * * * analyze-stats\n'));

    it('spring forward (2026-03-29, 02:30 does not exist): one run that day', async () => {
      const runs = await localDays('2026-03-28T12:00:00Z');
      expect(runs.filter((at) => at.startsWith('2026-03-29'))).toHaveLength(1);
      expect(runs).toHaveLength(2);
      expect(runs[1]).toBe('2026-03-30 02:30 +02:00');
    });

    it('fall back (2026-10-25, 02:30 happens twice): one run that day', async () => {
      const runs = await localDays('2026-10-24T12:00:00Z');
      expect(runs).toEqual(['2026-10-25 02:30 +02:00', '2026-10-26 02:30 +01:00']);
    });
  });

  it.each([['0'], ['abc'], ['-3'], ['9000']])('`crontab next --hours %s` exits 2 and says what is allowed', async (hours) => {
    const r = await cli(['crontab', 'next', '--hours', hours]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`--hours must be a number above 0 and at most 8784 (a year), got '${hours}'`);
  });
});
