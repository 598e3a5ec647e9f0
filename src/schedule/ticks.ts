// When an entry's ticks fall. cron-parser does the calendar work (time zones, DST, names, steps);
// this file only asks it for instants.
import { CronExpressionParser } from 'cron-parser';

/** What a tick needs of a crontab entry: its five-field expression (none for on-start entries) and zone. */
interface Scheduled {
  expression?: string;
  timezone: string;
}

function iterate(entry: Scheduled, from: Date) {
  if (!entry.expression) throw new Error('an on-start entry has no ticks');
  return CronExpressionParser.parse(entry.expression, { currentDate: from, tz: entry.timezone });
}

/** The first tick strictly after `after`. */
export function nextTick(entry: Scheduled, after: Date): Date {
  return iterate(entry, after).next().toDate();
}

/**
 * Ticks in (from, to], oldest first: the newest `limit` of them, and how many older ones there were.
 * Always walks forwards: cron-parser's backward walk is wrong across DST changes.
 */
export function ticksBetween(entry: Scheduled, from: Date, to: Date, limit = Infinity): { ticks: Date[]; dropped: number } {
  const ticks: Date[] = [];
  let dropped = 0;
  if (to <= from) return { ticks, dropped };
  // An outage of more than a year is not replayed tick by tick.
  const start = new Date(Math.max(from.getTime(), to.getTime() - MAX_LOOKBACK_MS));
  const it = iterate(entry, start);
  for (;;) {
    const tick = it.next().toDate();
    if (tick > to) break;
    ticks.push(tick);
    if (ticks.length > limit) {
      ticks.shift();
      dropped++;
    }
  }
  return { ticks, dropped };
}

const MAX_LOOKBACK_MS = 366 * 24 * 3600_000;

/** The newest tick at or before `until`, looking back no further than a year: wider windows only when needed. */
export function lastTickAtOrBefore(entry: Scheduled, until: Date): Date | undefined {
  for (const span of [2 * periodMs(entry), 40 * 24 * 3600_000, MAX_LOOKBACK_MS]) {
    const { ticks } = ticksBetween(entry, new Date(until.getTime() - span), until, 1);
    if (ticks.length) return ticks[0];
  }
  return undefined;
}

/** The shortest gap between consecutive ticks over the next year's first ticks: how frequent the entry is. */
export function periodMs(entry: Scheduled, reference = new Date('2026-01-01T00:00:00Z')): number {
  const it = iterate(entry, reference);
  let previous = it.next().toDate().getTime();
  let shortest = Infinity;
  for (let i = 0; i < 16; i++) {
    const tick = it.next().toDate().getTime();
    shortest = Math.min(shortest, tick - previous);
    previous = tick;
  }
  return shortest;
}
