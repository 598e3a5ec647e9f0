// Dead-code candidates: definitions whose name no file of the codebase mentions outside the definition
// itself (names.ts records each file's mentions at ingest), less what the language's rules count as used
// without a mention (dead-code-rules.ts). Matching is by name, not by resolved reference: a name used
// anywhere keeps every definition of that name, so a candidate is reliably unmentioned, at the price of
// missing dead definitions that share a name with a live one.
import type { Database } from '../core/database.js';
import { codebasesToAnalyse, requireNames } from './codebase.js';
import { moduleResolver } from '../ingest/graph.js';
import type { Reference } from '../ingest/parse.js';
import { compileRules, type CompiledRules, type DeadCodeRules } from './dead-code-rules.js';
import { publishedFiles } from './package-json.js';

export interface DeadCodeCandidate {
  path: string;
  symbol: string;
  line: number;
  endLine: number;
  kind: string;
  language: string;
  reason: string;
}

/** How many lines above a definition its decorators, attributes and comments may take. */
const HEAD_LINES_ABOVE = 10;
/** Lines directly above a definition that belong to it: decorators, attributes, comments. */
const ATTACHED_LINE = /^\s*(@|#\[|#!\[|\/\/|#|\/\*|\*)/;

/** The short name a definition is called by: the last part of its qualified symbol. */
export const shortName = (symbol: string) => symbol.split(/\.|::|#/).pop() ?? symbol;
/** Names that a mention can match (an operator, a quoted key or a computed name cannot be mentioned by a word). */
const WORD_NAME = /^[\p{L}_$][\p{L}\p{N}_$]*[?!]?$/u;

interface Unmentioned {
  symbol: string;
  path: string;
  language: string;
  line: number;
  endLine: number;
  kind: string;
  parentLine: number | null;
  parentKind: string | null;
  /** Another file imports this one (the graph's import edges). */
  imported: boolean;
}

/** A file of the codebase as the analysis reads it; refs only where it re-exports a module whole. */
interface StoredFile {
  id: number;
  path: string;
  language: string | null;
  /** The codebase's folder, where its package.json files are read. */
  root: string;
  refs: Reference[];
}

/** Definitions a method can be a member of; a method in anything else is a member of an object literal. */
const CLASS_LIKE = new Set(['class', 'interface', 'struct', 'object', 'impl', 'trait', 'enum', 'protocol', 'extension']);
/** File names that say nothing of their module: a file loaded by path is named by its folder then. */
const GENERIC_STEMS = new Set(['index', 'main', 'mod', 'lib', 'init', '__init__']);

export async function findDeadCode(db: Database, codebase: string, rules: DeadCodeRules): Promise<DeadCodeCandidate[]> {
  await requireNames(db, codebase);
  const compiled = compileRules(rules);
  // The codebase's files, read once: prose is left out of the mentions, the rest decide which files are public.
  const files = await db.query<StoredFile>(
    `select f.id, f.path, f.language, c.root,
            case when f.refs @> '[{"reexportAll": true}]' then f.refs else '[]'::jsonb end as refs
     from code_files f join codebases c on c.id = f.codebase where f.codebase = $1 and f.deleted_at is null`, [codebase]);
  const prose = files.filter((f) => compiled.prose(f.path)).map((f) => f.id);
  const languages = [...compiled.languages.keys()];
  const kinds = [...new Set([...compiled.languages.values()].flatMap((l) => [...l.kinds]))];
  // The set of every mentioned name is built once in the database; only the unmentioned symbols come back.
  const unmentioned = await db.query<Unmentioned>(
    `with mentioned as (
       select distinct m.name from code_files f, unnest(f.names) as m(name)
       where f.codebase = $1 and f.deleted_at is null and not (f.id = any($4::bigint[])))
     select s.name as symbol, s.path, s.language, s.line, coalesce((s.metadata ->> 'endLine')::int, s.line) as "endLine",
            s.metadata ->> 'kind' as kind, p.line as "parentLine", p.metadata ->> 'kind' as "parentKind",
            exists (select 1 from graph_nodes f join graph_edges e on e.target_id = f.id and e.kind = 'imports'
                    where f.codebase = s.codebase and f.kind = 'file' and f.path = s.path) as imported
     from graph_nodes s
     left join lateral (
       select p.line, p.metadata from graph_nodes p
       where p.codebase = s.codebase and p.path = s.path and p.kind = 'symbol'
         and p.name = regexp_replace(s.name, '(\\.|::|#)[^.:#]*$', '') and p.name <> s.name
       limit 1) p on true
     where s.codebase = $1 and s.kind = 'symbol' and s.language = any($2::text[]) and s.metadata ->> 'kind' = any($3::text[])
       and not exists (select 1 from mentioned where mentioned.name = regexp_replace(s.name, '^.*(\\.|::|#)', ''))
     order by s.path, s.line, s.name`,
    [codebase, languages, kinds, prose],
  );
  const possible = unmentioned.filter((u) => {
    const language = compiled.languages.get(u.language)!;
    const name = shortName(u.symbol);
    return language.kinds.has(u.kind) && WORD_NAME.test(name) && !compiled.ignoredFile(u.path) && !language.used(u.path)
      && !language.callback(name) && !compiled.ignoredName(name);
  });
  const heads = await readHeads(db, codebase, possible.flatMap((u) => [{ path: u.path, line: u.line }, ...(u.parentLine ? [{ path: u.path, line: u.parentLine }] : [])]));
  const head = (path: string, line: number) => heads.get(`${path}:${line}`) ?? '';
  const parentHead = (u: Unmentioned) => (u.parentLine === null ? '' : head(u.path, u.parentLine));
  // The bases the codebase defines itself: a method overriding one of theirs is kept alive by its mention there.
  const defined = await definedNames(db, codebase, [...new Set(possible.flatMap((u) => compiled.languages.get(u.language)!.bases(parentHead(u))))]);
  // A default export is named by its importer; a file nothing imports may still be loaded by path, naming it in a string.
  const stems = new Map(possible.filter((u) => !u.imported && compiled.languages.get(u.language)!.defaultExport(head(u.path, u.line)))
    .map((u) => [u.path, stemWords(u.path)]));
  const named = await mentionedAmong(db, codebase, prose, [...new Set([...stems.values()].flat())]);
  const isPublic = publicFiles(files, compiled, packageTargets(files));
  const unmentionedAt = new Set(unmentioned.map((u) => `${u.path}\0${u.symbol}`));
  const candidates: DeadCodeCandidate[] = [];
  for (const u of possible) {
    const language = compiled.languages.get(u.language)!;
    const name = shortName(u.symbol);
    const own = head(u.path, u.line);
    if (language.registered(own) || language.localName(name, own)) continue;
    if (!CLASS_LIKE.has(u.parentKind ?? '') && language.objectMember(own)) continue;
    if (language.bases(parentHead(u)).some((base) => !defined.has(base))) continue;
    if (language.defaultExport(own) && (u.imported || stems.get(u.path)!.every((word) => named.has(word)))) continue;
    // Where members say they are private (TypeScript's private, #), a member of an exported class is
    // exported with it, and in a public file so is one of a class exported by a list (`export { Cart }`);
    // elsewhere a member's own head or name says it all.
    const parent = u.symbol.slice(0, -name.length - 1);
    const parentExported = u.parentLine !== null && language.membersInherit && CLASS_LIKE.has(u.parentKind ?? '')
      && (language.exported(shortName(parent), parentHead(u)) || (isPublic(u.path) && !unmentionedAt.has(`${u.path}\0${parent}`)));
    const exported = language.exported(name, own) || (parentExported && !language.privateMember(own));
    if (exported && isPublic(u.path)) continue;
    const reason = exported
      ? `exported, but no file mentions '${name}' outside its definition, and ${u.path} is no public entry point`
      : `no file mentions '${name}' outside its definition`;
    candidates.push({ path: u.path, symbol: u.symbol, line: u.line, endLine: u.endLine, kind: u.kind, language: u.language, reason });
  }
  return candidates;
}

/** Of the names given, those some definition of the codebase has as its short name. */
async function definedNames(db: Database, codebase: string, names: string[]): Promise<Set<string>> {
  if (!names.length) return new Set();
  const rows = await db.query<{ name: string }>(
    `select distinct regexp_replace(name, '^.*(\\.|::|#)', '') as name from graph_nodes
     where codebase = $1 and kind = 'symbol' and regexp_replace(name, '^.*(\\.|::|#)', '') = any($2::text[])`, [codebase, names]);
  return new Set(rows.map((r) => r.name));
}

/** Of the words given, those some file (prose aside) mentions. */
async function mentionedAmong(db: Database, codebase: string, prose: number[], words: string[]): Promise<Set<string>> {
  if (!words.length) return new Set();
  const rows = await db.query<{ name: string }>(
    `select distinct m.name from code_files f, unnest(f.names) as m(name)
     where f.codebase = $1 and f.deleted_at is null and not (f.id = any($2::bigint[])) and m.name = any($3::text[])`, [codebase, prose, words]);
  return new Set(rows.map((r) => r.name));
}

/** The words of the name a file is loaded by: its name without extensions, or its folder's for index.js and the like. */
function stemWords(path: string): string[] {
  const parts = path.split('/');
  let stem = parts.at(-1)!.replace(/\..*$/, '');
  if (GENERIC_STEMS.has(stem) && parts.length > 1) stem = parts.at(-2)!;
  return stem.split(/[^\p{L}\p{N}_$]+/u).filter(Boolean);
}

/**
 * The public files: those the language's rules or a package.json make public, and what they pass on
 * whole (`export * from './x'`), transitively: a package's index re-exporting its modules publishes them.
 */
function publicFiles(files: readonly StoredFile[], compiled: CompiledRules, published: (path: string) => boolean): (path: string) => boolean {
  const direct = (f: { path: string; language: string | null }) => published(f.path) || (compiled.languages.get(f.language ?? '')?.public(f.path) ?? false);
  const open = new Set(files.filter(direct).map((f) => f.path));
  const passesOn = new Map(files.filter((f) => f.refs.length).map((f) => [f.path, f.refs.filter((r) => r.reexportAll && r.module)]));
  if (passesOn.size) {
    const resolve = moduleResolver(files.map((f) => f.path));
    const queue = [...open];
    while (queue.length) {
      const path = queue.pop()!;
      for (const ref of passesOn.get(path) ?? []) {
        for (const target of resolve(path, ref.module!).filter((t) => !open.has(t))) {
          open.add(target);
          queue.push(target);
        }
      }
    }
  }
  return (path) => open.has(path);
}

/** The files the codebase's package.json files publish, read from its folder. */
function packageTargets(files: readonly StoredFile[]): (path: string) => boolean {
  const manifests = files.filter((f) => f.path === 'package.json' || f.path.endsWith('/package.json'));
  return manifests.length ? publishedFiles(manifests[0]!.root, manifests.map((m) => m.path)) : () => false;
}

/** Each definition's head: its first line and the decorator, attribute and comment lines right above it, from the stored chunks. */
async function readHeads(db: Database, codebase: string, at: Array<{ path: string; line: number }>): Promise<Map<string, string>> {
  const heads = new Map<string, string>();
  if (!at.length) return heads;
  const rows = await db.query<{ path: string; line: number; lines: string[] | null }>(
    `select x.p as path, x.l as line,
       (select (string_to_array(c.content, E'\\n'))[greatest(1, x.l - c.start_line + 1 - ${HEAD_LINES_ABOVE}) : x.l - c.start_line + 1]
        from code_chunks c where c.file_id = f.id and c.start_line <= x.l and c.end_line >= x.l
        order by c.start_line limit 1) as lines
     from jsonb_to_recordset($2::jsonb) as x(p text, l int)
     join code_files f on f.codebase = $1 and f.path = x.p`,
    [codebase, JSON.stringify(at.map((a) => ({ p: a.path, l: a.line })))],
  );
  for (const row of rows) {
    const lines = row.lines ?? [];
    let first = lines.length - 1;
    while (first > 0 && ATTACHED_LINE.test(lines[first - 1]!)) first--;
    heads.set(`${row.path}:${row.line}`, lines.slice(Math.max(first, 0)).join('\n'));
  }
  return heads;
}

export interface DeadCodeCheck {
  codebase: string;
  checkId: number;
  checkedAt: string;
  candidates: Array<DeadCodeCandidate & { isNew: boolean; firstSeenAt: string }>;
  newCandidates: number;
  /** Candidates of the check before that are no longer candidates. */
  resolved: Array<Pick<DeadCodeCandidate, 'path' | 'symbol' | 'line' | 'kind'>>;
  /** No check before this one: nothing is marked new. */
  first: boolean;
}

/** Find each codebase's candidates and record them as today's check, marking those the last check did not have. */
export async function checkDeadCode(
  db: Database, options: { codebase?: string; rules: DeadCodeRules; runId?: number; keep?: number },
): Promise<DeadCodeCheck[]> {
  const checks: DeadCodeCheck[] = [];
  for (const codebase of await codebasesToAnalyse(db, options.codebase)) {
    const found = await findDeadCode(db, codebase, options.rules);
    checks.push(await recordCheck(db, codebase, found, options.rules, options.runId, options.keep));
  }
  return checks;
}

async function recordCheck(
  db: Database, codebase: string, found: DeadCodeCandidate[], rules: DeadCodeRules, runId?: number, keep?: number,
): Promise<DeadCodeCheck> {
  return db.transaction(async (client) => {
    const [previous] = (await client.query<{ id: number }>(
      'select id from dead_code_checks where codebase = $1 order by checked_at desc, id desc limit 1', [codebase])).rows;
    const before = previous
      ? (await client.query<{ path: string; symbol: string; line: number; kind: string; firstSeenAt: string }>(
        `select path, symbol, line, kind, first_seen_at as "firstSeenAt" from dead_code_candidates where check_id = $1`, [previous.id])).rows
      : [];
    const key = (c: { path: string; symbol: string }) => `${c.path}\0${c.symbol}`;
    const earlier = new Map(before.map((c) => [key(c), c]));
    const now = new Set(found.map(key));
    const resolved = before.filter((c) => !now.has(key(c))).map(({ path, symbol, line, kind }) => ({ path, symbol, line, kind }));
    const newCount = found.filter((c) => !earlier.has(key(c))).length;
    const [check] = (await client.query<{ id: number; checkedAt: string }>(
      `insert into dead_code_checks (codebase, run_id, candidates, new_candidates, resolved, rules)
       values ($1, $2, $3, $4, $5, $6) returning id, checked_at as "checkedAt"`,
      [codebase, runId ?? null, found.length, previous ? newCount : 0, resolved.length, JSON.stringify(rules)])).rows;
    const rows = found.map((c) => ({ ...c, isNew: previous !== undefined && !earlier.has(key(c)), firstSeenAt: earlier.get(key(c))?.firstSeenAt ?? check!.checkedAt }));
    for (let i = 0; i < rows.length; i += 5000) {
      await client.query(
        `insert into dead_code_candidates (check_id, path, symbol, line, end_line, kind, language, reason, first_seen_at)
         select $1, x.path, x.symbol, x.line, x."endLine", x.kind, x.language, x.reason, x."firstSeenAt"
         from jsonb_to_recordset($2::jsonb) as x(path text, symbol text, line int, "endLine" int, kind text, language text, reason text, "firstSeenAt" timestamptz)
         on conflict do nothing`,
        [check!.id, JSON.stringify(rows.slice(i, i + 5000))]);
    }
    if (keep !== undefined) {
      await client.query(
        `delete from dead_code_checks where codebase = $1 and id not in
           (select id from dead_code_checks where codebase = $1 order by checked_at desc, id desc limit $2)`, [codebase, keep]);
    }
    return {
      codebase, checkId: check!.id, checkedAt: new Date(check!.checkedAt).toISOString(),
      candidates: rows.map((r) => ({ ...r, firstSeenAt: new Date(r.firstSeenAt).toISOString() })),
      newCandidates: previous ? newCount : 0, resolved, first: !previous,
    };
  });
}
