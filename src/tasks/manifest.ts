// The built-in tasks' manifest, written beside this file at build time (scripts/write-manifest.ts), so that
// the launcher builds its command tree without loading any task. Running from source, it is derived.
import { readFileSync } from 'node:fs';
import { deriveManifest, type TaskManifestEntry } from '../core/task/manifest.js';

export const MANIFEST_URL = new URL('./manifest.json', import.meta.url);

/** The manifest of the built-in tasks, derived from their definitions now. */
export async function builtInManifest(): Promise<TaskManifestEntry[]> {
  return deriveManifest((await import('./index.js')).tasks);
}

export async function loadManifest(): Promise<TaskManifestEntry[]> {
  try {
    return JSON.parse(readFileSync(MANIFEST_URL, 'utf8')) as TaskManifestEntry[];
  } catch {
    return builtInManifest();
  }
}
