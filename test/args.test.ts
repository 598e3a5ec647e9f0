// A task's argument schema is the one source of its flags: names, kinds, defaults, choices, help and
// validation. No database here.
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  describeArgs,
  duration,
  durationInterval,
  durationMs,
  kebab,
  parseArgs,
  type OptionSpec,
} from '../src/core/task/args.js';
import { UsageError } from '../src/core/errors.js';
import { tasks } from '../src/tasks/index.js';
import pruneRuns from '../src/tasks/prune-runs.js';

/** The UsageError that `fn` throws (fails the test when it throws nothing or something else). */
function usageError(fn: () => unknown): UsageError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(UsageError);
    expect((error as UsageError).exitCode).toBe(2);
    return error as UsageError;
  }
  throw new Error('expected a UsageError, but nothing was thrown');
}

const sample = z.object({
  repoPath: z.string().describe('the repository to read'),
  maxFiles: z.number().int().positive().default(500).describe('stop after this many files'),
  dryRun: z.boolean().default(false).describe('only show what would change'),
  backupType: z.enum(['hourly', 'daily']).default('daily').describe('which retention applies'),
  label: z.string().optional(),
  note: z.string().describe('described inside the optional').optional(),
});

const byKey = (specs: OptionSpec[]) => Object.fromEntries(specs.map((s) => [s.key, s]));

describe('describeArgs: flags derived from the schema', () => {
  it('turns camelCase keys into kebab-case flags', () => {
    expect(kebab('olderThan')).toBe('older-than');
    expect(kebab('maxFilesPerBatch')).toBe('max-files-per-batch');
    expect(kebab('json')).toBe('json');
    expect(describeArgs(sample).map((s) => s.flag)).toEqual([
      'repo-path', 'max-files', 'dry-run', 'backup-type', 'label', 'note',
    ]);
  });

  it('takes kinds, defaults, choices, requiredness and descriptions from the schema', () => {
    const specs = byKey(describeArgs(sample));
    expect(specs.repoPath).toEqual({
      key: 'repoPath', flag: 'repo-path', kind: 'string', description: 'the repository to read', required: true,
    });
    expect(specs.maxFiles).toMatchObject({ kind: 'number', required: false, default: 500, description: 'stop after this many files' });
    expect(specs.dryRun).toMatchObject({ kind: 'boolean', required: false, default: false, description: 'only show what would change' });
    expect(specs.backupType).toMatchObject({
      kind: 'enum', choices: ['hourly', 'daily'], default: 'daily', required: false, description: 'which retention applies',
    });
    expect(specs.label).toMatchObject({ kind: 'string', required: false, description: '' });
    expect(specs.label).not.toHaveProperty('default');
    // A description given before .optional() still reaches the help.
    expect(specs.note).toMatchObject({ kind: 'string', required: false, description: 'described inside the optional' });
  });

  it('describes prune-runs as --older-than (default 30d) and --batch-size (default 1000)', () => {
    expect(describeArgs(pruneRuns.args)).toEqual([
      expect.objectContaining({ key: 'olderThan', flag: 'older-than', kind: 'string', default: '30d', required: false }),
      expect.objectContaining({ key: 'batchSize', flag: 'batch-size', kind: 'number', default: 1000, required: false }),
    ]);
    for (const spec of describeArgs(pruneRuns.args)) expect(spec.description).not.toBe('');
  });

  it('gives every registered task kebab-case flags that do not clash with --json', () => {
    for (const task of tasks) {
      const flags = describeArgs(task.args).map((s) => s.flag);
      for (const flag of flags) expect(flag, `${task.name} --${flag}`).toMatch(/^[a-z][a-z0-9]*(-[a-z0-9]+)*$/);
      expect(new Set(flags).size, task.name).toBe(flags.length);
      expect(flags, task.name).not.toContain('json');
    }
  });

  it('refuses argument types that cannot be flags, naming the key', () => {
    expect(() => describeArgs(z.object({ paths: z.array(z.string()) }))).toThrow(/paths/);
  });
});

describe('parseArgs: validating raw flag values', () => {
  it('applies defaults for flags not given', () => {
    expect(parseArgs(pruneRuns.args, {}, 'prune-runs')).toEqual({ olderThan: '30d', batchSize: 1000 });
    expect(parseArgs(pruneRuns.args, { olderThan: undefined, batchSize: undefined }, 'prune-runs')).toEqual({
      olderThan: '30d',
      batchSize: 1000,
    });
  });

  it('converts number flags from their command-line strings', () => {
    expect(parseArgs(pruneRuns.args, { olderThan: '2w', batchSize: '250' }, 'prune-runs')).toEqual({
      olderThan: '2w',
      batchSize: 250,
    });
    expect(parseArgs(pruneRuns.args, { batchSize: 42 }, 'prune-runs').batchSize).toBe(42);
  });

  it('rejects a number flag that is not a number, naming the flag and the value', () => {
    for (const bad of ['abc', '', '  ', '12abc']) {
      const error = usageError(() => parseArgs(pruneRuns.args, { batchSize: bad }, 'prune-runs'));
      expect(error.message).toContain('--batch-size');
      expect(error.message).toContain('prune-runs');
      if (bad.trim()) expect(error.message).toContain(bad);
      expect(error.hint).toContain('singularity prune-runs --help');
    }
  });

  it('rejects values the schema refuses, naming the flag', () => {
    const zero = usageError(() => parseArgs(pruneRuns.args, { batchSize: '0' }, 'prune-runs'));
    expect(zero.message).toContain('--batch-size');
    expect(zero.message).toContain("'0'");
    const fraction = usageError(() => parseArgs(pruneRuns.args, { batchSize: '1.5' }, 'prune-runs'));
    expect(fraction.message).toContain('--batch-size');
    const tooBig = usageError(() => parseArgs(pruneRuns.args, { batchSize: '100001' }, 'prune-runs'));
    expect(tooBig.message).toContain('--batch-size');
    const years = usageError(() => parseArgs(pruneRuns.args, { olderThan: '5 years' }, 'prune-runs'));
    expect(years.message).toContain('--older-than');
    expect(years.message).toContain('5 years');
    const choice = usageError(() => parseArgs(sample, { repoPath: '.', backupType: 'weekly' }, 'backup'));
    expect(choice.message).toContain('--backup-type');
    expect(choice.message).toContain('weekly');
  });

  it('rejects a missing required flag, naming it', () => {
    const error = usageError(() => parseArgs(sample, {}, 'ingest'));
    expect(error.message).toContain('--repo-path');
  });

  it('rejects an unknown key, naming it as a flag', () => {
    const error = usageError(() => parseArgs(pruneRuns.args, { keepLast: '5' }, 'prune-runs'));
    expect(error.message).toContain('--keep-last');
  });

  it('passes booleans, enums and strings through and fills the rest with defaults', () => {
    expect(parseArgs(sample, { repoPath: './repo', dryRun: true, backupType: 'hourly' }, 'ingest')).toEqual({
      repoPath: './repo',
      maxFiles: 500,
      dryRun: true,
      backupType: 'hourly',
    });
  });
});

describe('durations', () => {
  it('durationMs converts every unit', () => {
    expect(durationMs('45s')).toBe(45_000);
    expect(durationMs('90m')).toBe(90 * 60_000);
    expect(durationMs('12h')).toBe(12 * 3_600_000);
    expect(durationMs('30d')).toBe(30 * 86_400_000);
    expect(durationMs('2w')).toBe(14 * 86_400_000);
    expect(durationMs('0s')).toBe(0);
  });

  it('durationMs rejects what is not a number and a unit with a UsageError', () => {
    for (const bad of ['5 years', '10', 'd', '1.5h', '-1d', '', '30D', '3y']) {
      const error = usageError(() => durationMs(bad));
      expect(error.message).toContain(`'${bad}'`);
    }
  });

  it('durationInterval renders PostgreSQL interval literals', () => {
    expect(durationInterval('45s')).toBe('45 seconds');
    expect(durationInterval('90m')).toBe('90 minutes');
    expect(durationInterval('12h')).toBe('12 hours');
    expect(durationInterval('30d')).toBe('30 days');
    expect(durationInterval('2w')).toBe('2 weeks');
  });

  it('the duration() schema accepts what durationMs accepts and explains what it expects', () => {
    const schema = duration();
    for (const good of ['45s', '90m', '12h', '30d', '2w']) expect(schema.safeParse(good).success, good).toBe(true);
    const bad = schema.safeParse('30 days');
    expect(bad.success).toBe(false);
    expect(bad.error?.issues[0]?.message).toMatch(/30d/);
  });
});
