// The graph's edges between files and symbols, resolved from every file's references (imports, calls),
// as a whole for a codebase: a file that changed can change what the others' references mean.
import { dirname, posix } from 'node:path';
import type { Database } from '../core/db.js';
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
  const byShortName = new Map<string, SymbolNode[]>();
  for (const s of symbols) {
    const short = s.name.split(/\.|::|#/).pop()!;
    byShortName.set(short, [...(byShortName.get(short) ?? []), s]);
  }
  const symbolsOf = new Map<string, SymbolNode[]>();
  for (const s of symbols) symbolsOf.set(s.path, [...(symbolsOf.get(s.path) ?? []), s]);
  const paths = [...fileNode.keys()];
  const known = new Set(paths);
  // Many files import the same modules: each (folder, module) is resolved once.
  const resolved = new Map<string, string[]>();
  const resolve = (importer: string, module: string) => {
    const key = module.startsWith('.') ? `${dirname(importer)}\0${module}` : `\0${module}`;
    let targets = resolved.get(key);
    if (!targets) resolved.set(key, (targets = resolveModule(module.startsWith('.') ? importer : '', module, paths, known)));
    return targets.filter((t) => t !== importer);
  };

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
        const around = (symbolsOf.get(path) ?? []).filter((s) => s.line <= ref.line && ref.line <= s.endLine)
          .sort((a, b) => b.line - a.line)[0];
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

/**
 * The files an import names: a relative specifier ('./util', '../lib/x.js', '"foo.h"') from the importing
 * file's folder; otherwise any file whose path (without extension) ends with the module as a path
 * ('foo.bar' → foo/bar, 'crate::db' → db, 'MyApp.Repo' → my_app/repo). Packages outside the codebase match nothing.
 */
export function resolveModule(importer: string, module: string, paths: readonly string[], known: ReadonlySet<string> = new Set(paths)): string[] {
  const stripped = (p: string) => p.replace(/\.[^./]+$/, '');
  // A file named as written ('util/log.h', 'config.exs'), anywhere in the codebase.
  const direct = paths.filter((p) => p !== importer && (p === module || p.endsWith('/' + module)));
  if (direct.length && direct.length <= MAX_CALL_TARGETS) return direct;
  if (module.startsWith('.')) {
    const base = posix.normalize(posix.join(dirname(importer), module));
    const withoutJs = base.replace(/\.(m|c)?js$/, '');
    for (const candidate of [base, withoutJs]) {
      for (const ext of EXTENSIONS) if (known.has(candidate + ext)) return [candidate + ext];
      for (const ext of EXTENSIONS.slice(1)) if (known.has(`${candidate}/index${ext}`)) return [`${candidate}/index${ext}`];
    }
    return [];
  }
  const segments = module
    .replace(/^crate::|^super::|^self::/, '')
    .split(/::|\.|\//)
    .filter(Boolean)
    .map((s) => s.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toLowerCase());
  if (!segments.length) return [];
  const suffix = '/' + segments.join('/');
  const hits = paths.filter((p) => p !== importer && ('/' + stripped(p).toLowerCase()).endsWith(suffix));
  return hits.length <= MAX_CALL_TARGETS ? hits : [];
}
