// Durations as users write them on the command line: a whole number and a unit (45s, 90m, 24h, 30d, 2w).
// Kept apart from the zod schemas so that commands on hot paths (runs list) can parse them cheaply.

const UNIT_MS: Record<string, number> = { s: 1e3, m: 60e3, h: 3600e3, d: 86400e3, w: 604800e3 };
const UNIT_NAME: Record<string, string> = { s: 'seconds', m: 'minutes', h: 'hours', d: 'days', w: 'weeks' };
export const DAY_MS = UNIT_MS.d!;

/** Milliseconds of a duration written with one of `units`, or undefined if it is not one. */
export function parseDuration(value: string, units = 'smhdw'): number | undefined {
  const match = /^(\d+)([a-z])$/.exec(value);
  if (!match || !units.includes(match[2]!) || !(match[2]! in UNIT_MS)) return undefined;
  return Number(match[1]) * UNIT_MS[match[2]!]!;
}

/** A duration as a PostgreSQL interval literal ('30 days'); undefined if it is not a duration. */
export function parseDurationInterval(value: string): string | undefined {
  const match = /^(\d+)(s|m|h|d|w)$/.exec(value);
  return match ? `${match[1]} ${UNIT_NAME[match[2]!]}` : undefined;
}
