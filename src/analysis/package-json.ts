// The files a package.json publishes (main, module, types, bin, exports): public API of the codebase, in
// whatever folder the package.json sits. Read from the codebase's folder on disk; one that cannot be read
// or parsed publishes nothing (ingest has reported it already).
import { readFileSync } from 'node:fs';
import { join, posix } from 'node:path';
import ignore from 'ignore';

const FIELDS = ['main', 'module', 'types', 'typings', 'browser', 'bin', 'exports'] as const;

/** Every string under a field: a path, or conditions and subpaths mapping to paths (`exports`, `bin`). */
function targets(value: unknown): string[] {
  if (typeof value === 'string') return [value];
  if (value && typeof value === 'object') return Object.values(value).flatMap(targets);
  return [];
}

/** Whether a file of the codebase is a target of one of its package.json files. */
export function publishedFiles(root: string, manifests: readonly string[]): (path: string) => boolean {
  const patterns: string[] = [];
  for (const manifest of manifests) {
    let parsed: Record<string, unknown>;
    try {
      parsed = JSON.parse(readFileSync(join(root, manifest), 'utf8')) as Record<string, unknown>;
    } catch {
      continue;
    }
    const folder = posix.dirname(manifest);
    for (const field of FIELDS) {
      for (const target of targets(parsed[field])) {
        if (!target.startsWith('./') && target.startsWith('.')) continue; // outside the package
        const path = posix.normalize(posix.join(folder, target));
        if (path.startsWith('..')) continue;
        // The target, and the files beside it of the same name (its declaration: index.d.mts for index.mjs).
        patterns.push(`/${path}`, `/${path.replace(/\.[cm]?js$/, '')}.*`);
      }
    }
  }
  if (!patterns.length) return () => false;
  const matcher = ignore().add(patterns);
  return (path) => matcher.ignores(path);
}
