// The graph's edges between files and symbols, resolved from every file's references (imports, calls),
// as a whole for a codebase: a file that changed can change what the others' references mean.
import { dirname, posix } from 'node:path';
import type { Database } from '../core/database.js';
import type { Reference } from './parse.js';

/** A call whose name more definitions share is not linked: it says too little about which one it means. */
const MAX_CALL_TARGETS = 5;

interface SymbolNode {
  id: number;
  path: string;
  name: string;
  line: number;
  endLine: number;
}

/** Replace a codebase's import and call edges with those its files' references resolve to; returns their number. */
export async function resolveEdges(db: Database, codebase: string): Promise<number> {
  const files = await db.query<{ path: string; refs: Reference[] }>(
    'select path, refs from code_files where codebase = $1 and deleted_at is null', [codebase]);
  const nodes = await db.query<{ id: number; kind: 'file' | 'symbol'; path: string; name: string; line: number; endLine: number | null }>(
    `select id, kind, path, name, line, (metadata ->> 'endLine')::int as "endLine" from graph_nodes where codebase = $1`, [codebase]);
  const fileNode = new Map(nodes.filter((n) => n.kind === 'file').map((n) => [n.path, n.id]));
  const symbols = nodes.filter((n) => n.kind === 'symbol').map((n) => ({ ...n, endLine: n.endLine ?? n.line })) as SymbolNode[];
  const byShortName = groupBy(symbols, (s) => s.name.split(/\.|::|#/).pop()!);
  // Each file's definitions, the innermost (latest starting) first.
  const symbolsOf = groupBy(symbols, (s) => s.path);
  for (const list of symbolsOf.values()) list.sort((a, b) => b.line - a.line);
  const resolve = moduleResolver([...fileNode.keys()]);

  const edges = new Map<string, { s: number; t: number; k: string; w: number }>();
  const add = (source: number, target: number, kind: 'imports' | 'calls', weight: number) => {
    if (source === target) return;
    const key = `${source}:${target}:${kind}`;
    const edge = edges.get(key);
    if (edge) edge.w += weight;
    else edges.set(key, { s: source, t: target, k: kind, w: weight });
  };

  for (const { path, refs } of files) {
    const from = fileNode.get(path);
    if (from === undefined) continue;
    for (const ref of refs) {
      if (ref.kind === 'import' && ref.module) {
        const targets = resolve(path, ref.module);
        for (const target of targets) add(from, fileNode.get(target)!, 'imports', 1 / targets.length);
      } else if (ref.kind === 'call') {
        const candidates = byShortName.get(ref.name) ?? [];
        const local = candidates.filter((c) => c.path === path);
        const targets = local.length ? local : candidates;
        if (!targets.length || targets.length > MAX_CALL_TARGETS) continue;
        // The call's source: the innermost definition around its line, else the file.
        const around = symbolsOf.get(path)?.find((s) => s.line <= ref.line && ref.line <= s.endLine);
        for (const target of targets) add(around?.id ?? from, target.id, 'calls', 1 / targets.length);
      }
    }
  }

  await db.transaction(async (client) => {
    await client.query(
      `delete from graph_edges e using graph_nodes n where e.source_id = n.id and n.codebase = $1 and e.kind in ('imports', 'calls')`, [codebase]);
    const all = [...edges.values()];
    for (let i = 0; i < all.length; i += 5000) {
      await client.query(
        `insert into graph_edges (source_id, target_id, kind, weight)
         select x.s, x.t, x.k, x.w from jsonb_to_recordset($1::jsonb) as x(s bigint, t bigint, k text, w float8)`,
        [JSON.stringify(all.slice(i, i + 5000))],
      );
    }
  });
  return edges.size;
}

const EXTENSIONS = ['', '.ts', '.tsx', '.js', '.jsx', '.mjs', '.cjs', '.py', '.rb', '.rs', '.go', '.ex', '.exs', '.java', '.c', '.h', '.cpp', '.hpp', '.cc'];

function groupBy<T>(items: readonly T[], key: (item: T) => string): Map<string, T[]> {
  const groups = new Map<string, T[]>();
  for (const item of items) {
    const k = key(item);
    const group = groups.get(k);
    if (group) group.push(item);
    else groups.set(k, [item]);
  }
  return groups;
}

/** Every '/'-bounded ending of a path: 'a/b/c.ts' gives 'a/b/c.ts', 'b/c.ts', 'c.ts'. */
function endings(path: string): string[] {
  const found = [path];
  for (let i = path.indexOf('/'); i !== -1; i = path.indexOf('/', i + 1)) found.push(path.slice(i + 1));
  return found;
}

/**
 * Resolves the imports of a codebase's files to its files (importer, module) → paths. The files named
 * as written ('util/log.h', 'config.exs'), anywhere in the codebase; a relative specifier ('./util',
 * '../lib/x.js') from the importing file's folder; otherwise any file whose path (without extension)
 * ends with the module as a path ('foo.bar' → foo/bar, 'crate::db' → db, 'MyApp.Repo' → my_app/repo).
 * Packages outside the codebase match nothing. Paths are indexed by their endings once, and each
 * (folder, module) is resolved once: many files import the same modules.
 */
export function moduleResolver(paths: readonly string[]): (importer: string, module: string) => string[] {
  const known = new Set(paths);
  const byEnding = groupBy(paths.flatMap((p) => endings(p).map((ending) => ({ ending, p }))), (e) => e.ending);
  const byModuleEnding = groupBy(
    paths.flatMap((p) => endings(p.replace(/\.[^./]+$/, '').toLowerCase()).map((ending) => ({ ending, p }))), (e) => e.ending);
  const unique = (entries: Array<{ p: string }> | undefined) => [...new Set((entries ?? []).map((e) => e.p))];
  /** A module's files from a folder: those named as written, and else the relative or dotted reading. */
  const candidates = (folder: string, module: string): { named: string[]; otherwise: string[] } => {
    const named = unique(byEnding.get(module));
    if (module.startsWith('.')) {
      const base = posix.normalize(posix.join(folder, module));
      const withoutJs = base.replace(/\.(m|c)?js$/, '');
      for (const candidate of [base, withoutJs]) {
        for (const ext of EXTENSIONS) if (known.has(candidate + ext)) return { named, otherwise: [candidate + ext] };
        for (const ext of EXTENSIONS.slice(1)) if (known.has(`${candidate}/index${ext}`)) return { named, otherwise: [`${candidate}/index${ext}`] };
      }
      return { named, otherwise: [] };
    }
    const segments = module
      .replace(/^crate::|^super::|^self::/, '')
      .split(/::|\.|\//)
      .filter(Boolean)
      .map((s) => s.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toLowerCase());
    const hits = segments.length ? unique(byModuleEnding.get(segments.join('/'))) : [];
    return { named, otherwise: hits.length <= MAX_CALL_TARGETS ? hits : [] };
  };
  const resolved = new Map<string, { named: string[]; otherwise: string[] }>();
  return (importer, module) => {
    const relative = module.startsWith('.');
    const folder = relative ? dirname(importer) : '';
    const key = `${folder}\0${module}`;
    let found = resolved.get(key);
    if (!found) resolved.set(key, (found = candidates(folder, module)));
    const other = (list: string[]) => list.filter((p) => p !== importer);
    // A relative import never names its own file; a package-like one is counted before that is dropped.
    const named = relative ? other(found.named) : found.named;
    return other(named.length && named.length <= MAX_CALL_TARGETS ? named : found.otherwise);
  };
}
