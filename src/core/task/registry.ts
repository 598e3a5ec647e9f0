// The one way to find a task: a task set, the built-in tasks (src/tasks/index.ts hands them in) plus the
// tasks of the configured task modules (`taskModules`), so that an operator can run and schedule work of
// their own like the built-in tasks.
import { pathToFileURL } from 'node:url';
import type { Config } from '../config.js';
import { ConfigError } from '../errors.js';
import type { Role, TaskDefinition } from './define.js';

export interface TaskSet {
  all: readonly TaskDefinition[];
  find(name: string): TaskDefinition | undefined;
  /** The role of this process (config `role`): what its crontab may schedule. Default: instance. */
  role?: Role;
}

function isTask(value: unknown): value is TaskDefinition {
  const t = value as TaskDefinition | undefined;
  return !!t && typeof t.name === 'string' && (t.engine === 'node' || t.engine === 'sql') && typeof t.timeoutMs === 'number';
}

export async function loadTaskSet(builtIn: readonly TaskDefinition[], config: Pick<Config, 'taskModules'> & Partial<Pick<Config, 'role'>>): Promise<TaskSet> {
  const all = [...builtIn];
  for (const path of config.taskModules) {
    let module: { default?: unknown };
    try {
      module = await import(pathToFileURL(path).href);
    } catch (error) {
      throw new ConfigError(`task module ${path} could not be loaded: ${(error as Error).message}`, {
        hint: 'Check taskModules in the config file (or SINGULARITY_TASK_MODULES).',
      });
    }
    const exported = Array.isArray(module.default) ? module.default : [module.default];
    for (const task of exported) {
      if (!isTask(task)) {
        throw new ConfigError(`task module ${path}: its default export must be a task made with defineTask(), or a list of them`);
      }
      if (all.some((t) => t.name === task.name)) {
        throw new ConfigError(`task module ${path}: a task named '${task.name}' already exists`, { hint: 'Give the task another name.' });
      }
      all.push(task);
    }
  }
  const byName = new Map(all.map((t) => [t.name, t]));
  return { all, find: (name) => byName.get(name), role: config.role ?? 'instance' };
}
