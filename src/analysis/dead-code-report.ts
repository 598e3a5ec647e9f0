// The weekly dead-code summary, from the recorded checks: the count over time, the candidates that came
// and went within the window, and the biggest of those that remain.
import type { Database } from '../core/database.js';
import { codebasesToAnalyse } from './codebase.js';
import type { DeadCodeCandidate } from './dead-code.js';

export interface DeadCodeReport {
  codebase: string;
  since: string;
  until: string;
  /** Why the report is empty, when it is (no check recorded yet). */
  note?: string;
  /** The last check of each day in the window. */
  series: Array<{ day: string; candidates: number; checkedAt: string }>;
  /** Candidates now that no check before the window had. */
  added: Array<CandidateRow>;
  /** Candidates at the window's start that are candidates no more. */
  resolved: Array<Pick<CandidateRow, 'path' | 'symbol' | 'line' | 'kind'>>;
  /** The longest candidates now, by lines. */
  biggest: Array<CandidateRow>;
  total: number;
}

type CandidateRow = DeadCodeCandidate & { lines: number; firstSeenAt: string };

const BIGGEST = 10;

export async function reportDeadCode(
  db: Database, options: { codebase?: string; days: number; now?: Date },
): Promise<DeadCodeReport[]> {
  const until = options.now ?? new Date();
  const since = new Date(until.getTime() - options.days * 86_400_000);
  const reports: DeadCodeReport[] = [];
  for (const codebase of await codebasesToAnalyse(db, options.codebase)) {
    const empty: DeadCodeReport = { codebase, since: since.toISOString(), until: until.toISOString(), series: [], added: [], resolved: [], biggest: [], total: 0 };
    const checks = await db.query<{ id: number; checkedAt: Date; candidates: number }>(
      `select id, checked_at as "checkedAt", candidates from dead_code_checks
       where codebase = $1 and checked_at <= $2 order by checked_at, id`, [codebase, until]);
    if (!checks.length) {
      reports.push({ ...empty, note: `no dead-code check of '${codebase}' has been recorded yet: run singularity check-dead-code --codebase ${codebase}` });
      continue;
    }
    const latest = checks.at(-1)!;
    const inWindow = checks.filter((c) => new Date(c.checkedAt) >= since);
    // The state at the window's start: the last check before it, else the window's first.
    const start = [...checks].reverse().find((c) => new Date(c.checkedAt) < since) ?? inWindow[0] ?? latest;
    const byDay = new Map<string, { day: string; candidates: number; checkedAt: string }>();
    for (const c of inWindow) {
      const at = new Date(c.checkedAt);
      byDay.set(at.toISOString().slice(0, 10), { day: at.toISOString().slice(0, 10), candidates: c.candidates, checkedAt: at.toISOString() });
    }
    const now = await candidatesOf(db, latest.id);
    const before = start.id === latest.id ? now : await candidatesOf(db, start.id);
    const key = (c: { path: string; symbol: string }) => `${c.path}\0${c.symbol}`;
    const nowKeys = new Set(now.map(key));
    const beforeKeys = new Set(before.map(key));
    const startedBefore = new Date(start.checkedAt) < since;
    reports.push({
      ...empty,
      ...(inWindow.length ? {} : { note: `no check of '${codebase}' within the window; the last was at ${new Date(latest.checkedAt).toISOString()}` }),
      series: [...byDay.values()],
      // Without a check before the window, what the first check found is where the week started, not what it added.
      added: now.filter((c) => (startedBefore ? !beforeKeys.has(key(c)) : new Date(c.firstSeenAt) > new Date(start.checkedAt))),
      resolved: before.filter((c) => !nowKeys.has(key(c))).map(({ path, symbol, line, kind }) => ({ path, symbol, line, kind })),
      biggest: [...now].sort((a, b) => b.lines - a.lines || (a.path < b.path ? -1 : 1)).slice(0, BIGGEST),
      total: now.length,
    });
  }
  return reports;
}

async function candidatesOf(db: Database, checkId: number): Promise<CandidateRow[]> {
  const rows = await db.query<CandidateRow>(
    `select path, symbol, line, end_line as "endLine", kind, language, reason, end_line - line + 1 as lines, first_seen_at as "firstSeenAt"
     from dead_code_candidates where check_id = $1 order by path, line`, [checkId]);
  return rows.map((r) => ({ ...r, firstSeenAt: new Date(r.firstSeenAt).toISOString() }));
}
