// The built-in tasks: one file each in this folder, and one line here.
import type { Config } from '../core/config.js';
import type { TaskDefinition } from '../core/task/define.js';
import { loadTaskSet, type TaskSet } from '../core/task/registry.js';
import aggregateMetrics from './aggregate-metrics.js';
import analyzeFeedback from './analyze-feedback.js';
import analyzeStats from './analyze-stats.js';
import archiveBackups from './archive-backups.js';
import assignTasks from './assign-tasks.js';
import backup from './backup.js';
import checkDeadCode from './check-dead-code.js';
import cleanupCache from './cleanup-cache.js';
import clearCache from './clear-cache.js';
import embedTemplates from './embed-templates.js';
import exportKnowledge from './export-knowledge.js';
import evolveAgents from './evolve-agents.js';
import ingest from './ingest.js';
import learnPatterns from './learn-patterns.js';
import loadTemplates from './load-templates.js';
import migrateKnowledge from './migrate-knowledge.js';
import prewarmCache from './prewarm-cache.js';
import populateGraph from './populate-graph.js';
import pruneArtifacts from './prune-artifacts.js';
import pruneChunks from './prune-chunks.js';
import pruneRuns from './prune-runs.js';
import rankGraph from './rank-graph.js';
import refreshCache from './refresh-cache.js';
import refreshMetrics from './refresh-metrics.js';
import reportDeadCode from './report-dead-code.js';
import reindex from './reindex.js';
import seedPlan from './seed-plan.js';
import setupRag from './setup-rag.js';
import syncLearning from './sync-learning.js';
import syncPatterns from './sync-patterns.js';
import syncRegistry from './sync-registry.js';
import syncTemplates from './sync-templates.js';
import updateAgentKnowledge from './update-agent-knowledge.js';
import vacuumAnalyze from './vacuum-analyze.js';
import vectorStats from './vector-stats.js';

export const tasks: readonly TaskDefinition[] = [
  migrateKnowledge,
  loadTemplates,
  seedPlan,
  ingest,
  setupRag,
  vacuumAnalyze,
  analyzeStats,
  pruneRuns,
  reindex,
  vectorStats,
  populateGraph,
  rankGraph,
  pruneArtifacts,
  pruneChunks,
  archiveBackups,
  backup,
  assignTasks,
  learnPatterns,
  syncLearning,
  syncPatterns,
  cleanupCache,
  clearCache,
  refreshMetrics,
  aggregateMetrics,
  updateAgentKnowledge,
  analyzeFeedback,
  evolveAgents,
  refreshCache,
  prewarmCache,
  syncTemplates,
  embedTemplates,
  syncRegistry,
  checkDeadCode,
  reportDeadCode,
  exportKnowledge,
];

/** Every task this configuration knows: the built-in ones and those of its task modules. */
export function loadTasks(config: Pick<Config, 'taskModules'> & Partial<Pick<Config, 'role'>>): Promise<TaskSet> {
  return loadTaskSet(tasks, config);
}
