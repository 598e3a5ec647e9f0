// The task manifest: what the CLI needs to know of every task without loading it (name, summary,
// flags), derived from the task definitions at build time, so that `singularity --help` loads neither
// zod nor any task (src/tasks/manifest.ts reads it).
import { describeArgs, type OptionSpec } from './args.js';
import { defaultSchedules, type DefaultSchedule, type Engine, type Role, type TaskDefinition } from './define.js';

export interface TaskManifestEntry {
  name: string;
  summary: string;
  description?: string;
  engine: Engine;
  /** The roles it runs in (absent: both). */
  roles?: readonly Role[];
  /** The default crontab entries (empty: on demand only). */
  schedules: DefaultSchedule[];
  setupOrder?: number;
  positional?: string;
  timeoutMs: number;
  maxAttempts: number;
  overlap: 'skip' | 'allow';
  options: OptionSpec[];
}

export function deriveManifest(tasks: readonly TaskDefinition[]): TaskManifestEntry[] {
  return tasks.map((t) => ({
    name: t.name,
    summary: t.summary,
    description: t.description,
    engine: t.engine,
    ...(t.roles ? { roles: t.roles } : {}),
    schedules: defaultSchedules(t.schedule),
    setupOrder: t.setupOrder,
    positional: t.positional,
    timeoutMs: t.timeoutMs,
    maxAttempts: t.retry.maxAttempts,
    overlap: t.overlap,
    options: describeArgs(t.args),
  }));
}
