// The task manifest: what the CLI needs to know of every task without loading it (name, summary,
// flags), derived from the registry at build time, so `singularity --help` loads neither zod nor
// any task. When the built manifest is missing (running from source) it is derived on the spot.
import { readFileSync } from 'node:fs';
import { defaultSchedules, type DefaultSchedule, type Engine } from './define.js';
import type { OptionSpec } from './args.js';

export interface TaskManifestEntry {
  name: string;
  summary: string;
  description?: string;
  engine: Engine;
  /** The default crontab entries (empty: on demand only). */
  schedules: DefaultSchedule[];
  setupOrder?: number;
  positional?: string;
  timeoutMs: number;
  maxAttempts: number;
  overlap: 'skip' | 'allow';
  options: OptionSpec[];
}

export const MANIFEST_URL = new URL('./manifest.json', import.meta.url);

export async function deriveManifest(): Promise<TaskManifestEntry[]> {
  const [{ tasks }, { describeArgs }] = await Promise.all([import('./index.js'), import('./args.js')]);
  return tasks.map((t) => ({
    name: t.name,
    summary: t.summary,
    description: t.description,
    engine: t.engine,
    schedules: defaultSchedules(t.schedule),
    setupOrder: t.setupOrder,
    positional: t.positional,
    timeoutMs: t.timeoutMs,
    maxAttempts: t.retry.maxAttempts,
    overlap: t.overlap,
    options: describeArgs(t.args),
  }));
}

export async function loadManifest(): Promise<TaskManifestEntry[]> {
  try {
    return JSON.parse(readFileSync(MANIFEST_URL, 'utf8')) as TaskManifestEntry[];
  } catch {
    return deriveManifest();
  }
}
