// A task's argument schema (zod) is the one source of its command-line flags, their help and their
// validation; the crontab (same flags) and the manifest are derived from it too.
import { z } from 'zod';
import { DAY_MS, parseDuration, parseDurationInterval } from '../duration.js';
import { UsageError } from '../errors.js';

export type OptionKind = 'string' | 'number' | 'boolean' | 'enum';

/** One flag, derived from one key of a task's argument schema. Plain data: it goes into the manifest. */
export interface OptionSpec {
  key: string;
  flag: string;
  kind: OptionKind;
  description: string;
  required: boolean;
  default?: unknown;
  choices?: string[];
}

export const kebab = (key: string) => key.replace(/[A-Z]/g, (c) => '-' + c.toLowerCase());

/** A duration flag value such as 30d, 12h, 90m, 45s or 2w. */
export const duration = () =>
  z
    .string()
    .regex(/^\d+(s|m|h|d|w)$/, 'expected a duration such as 30d, 12h, 90m, 45s or 2w')
    .refine((value) => (parseDuration(value) ?? 0) <= MAX_DURATION_MS, 'must be at most 100 years');

// Beyond this PostgreSQL's timestamps overflow (now() - interval), so such a bound can only be a typo.
const MAX_DURATION_MS = 100 * 365 * DAY_MS;

export function durationMs(value: string): number {
  const ms = parseDuration(value);
  if (ms === undefined) throw new UsageError(`'${value}' is not a duration`, { hint: 'Use a number and a unit: 30d, 12h, 90m, 45s, 2w.' });
  return ms;
}

/** A duration as a PostgreSQL interval literal ('30 days'). */
export function durationInterval(value: string): string {
  return parseDurationInterval(value)!;
}

function describeField(key: string, field: z.ZodType): OptionSpec {
  let inner: z.ZodType = field;
  let required = true;
  let defaultValue: unknown;
  const description = field.description ?? '';
  // Peel optional/default wrappers to reach the value's type.
  for (;;) {
    const def = (inner as any)._zod.def;
    if (def.type === 'optional') required = false;
    else if (def.type === 'default') {
      required = false;
      defaultValue = typeof def.defaultValue === 'function' ? def.defaultValue() : def.defaultValue;
    } else break;
    inner = def.innerType;
  }
  const type = (inner as any)._zod.def.type as string;
  const spec: OptionSpec = { key, flag: kebab(key), kind: 'string', description: description || inner.description || '', required };
  if (defaultValue !== undefined) spec.default = defaultValue;
  if (type === 'number') spec.kind = 'number';
  else if (type === 'boolean') spec.kind = 'boolean';
  else if (type === 'enum') {
    spec.kind = 'enum';
    spec.choices = (inner as z.ZodEnum).options.map(String);
  } else if (type !== 'string') {
    throw new Error(`argument '${key}': ${type} arguments are not supported as flags`);
  }
  return spec;
}

export function describeArgs(schema: z.ZodObject): OptionSpec[] {
  return Object.entries(schema.shape).map(([key, field]) => describeField(key, field as z.ZodType));
}

/**
 * Validate raw flag values (strings from the command line or a crontab line, keyed by schema key)
 * against the task's schema. Errors name the flag, the value and what was expected.
 */
export function parseArgs<S extends z.ZodObject>(schema: S, raw: Record<string, unknown>, taskName: string): z.output<S> {
  const specs = new Map(describeArgs(schema).map((s) => [s.key, s]));
  const values: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(raw)) {
    if (value === undefined) continue;
    const spec = specs.get(key);
    if (!spec) throw new UsageError(`${taskName}: unknown option '--${kebab(key)}'`);
    if (spec.kind === 'number' && typeof value === 'string') {
      if (value.trim() === '' || isNaN(Number(value))) {
        throw new UsageError(`${taskName}: --${spec.flag}: expected a number, got '${value}'`, {
          hint: `See 'singularity ${taskName} --help'.`,
        });
      }
      values[key] = Number(value);
    } else values[key] = value;
  }
  const parsed = schema.safeParse(values);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0]!;
  const key = String(issue.path[0] ?? '');
  const shown = key in values ? ` (got '${String(values[key])}')` : '';
  throw new UsageError(`${taskName}: --${kebab(key)}: ${issue.message}${shown}`, {
    hint: `See 'singularity ${taskName} --help'.`,
  });
}
