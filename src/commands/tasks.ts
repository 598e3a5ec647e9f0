// `singularity tasks`: the task table, derived from the registry.
import { out, printJson, table } from './output.js';
import { describeSchedules } from '../core/task/define.js';
import type { TaskManifestEntry } from '../core/task/manifest.js';

export function tasksCommand(manifest: TaskManifestEntry[], opts: { json?: boolean }): number {
  if (opts.json) {
    printJson(manifest);
    return 0;
  }
  out(
    table(
      ['TASK', 'ENGINE', 'ROLES', 'SCHEDULE', 'SETUP', 'SUMMARY'],
      manifest.map((t) => [t.name, t.engine, t.roles?.join(', ') ?? 'any', t.schedules.length ? describeSchedules(t.schedules) : '-', t.setupOrder ? String(t.setupOrder) : '-', t.summary]),
    ),
  );
  return 0;
}
