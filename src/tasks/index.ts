// The registry: the single list of tasks. A task is one file in this folder and one line here.
import type { TaskDefinition } from './define.js';
import analyzeStats from './analyze-stats.js';
import pruneRuns from './prune-runs.js';
import reindex from './reindex.js';
import seedPlan from './seed-plan.js';
import vacuumAnalyze from './vacuum-analyze.js';
import vectorStats from './vector-stats.js';

export const tasks: readonly TaskDefinition[] = [seedPlan, vacuumAnalyze, analyzeStats, pruneRuns, reindex, vectorStats];

export function findTask(name: string): TaskDefinition | undefined {
  return tasks.find((t) => t.name === name);
}
