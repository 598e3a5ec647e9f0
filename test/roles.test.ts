// Roles: an instance (the default) or the central database's host. Each task says where it runs; a task
// started in the other role is refused with exit 2 and the reason, and never scheduled there.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/core/config.js';
import { ConfigError, UsageError } from '../src/core/errors.js';
import { runTask } from '../src/core/runner.js';
import { refusedInRole } from '../src/core/task/define.js';
import { defaultCrontab, parseCrontab } from '../src/schedule/crontab.js';
import { loadTasks } from '../src/tasks/index.js';
import { backendNames, onBackend, type Backend } from './support/backends.js';
import { runCli } from './support/cli.js';

const scratch = mkdtempSync(join(tmpdir(), 'singularity-roles-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

describe('the role', () => {
  it('is instance unless the config file, SINGULARITY_ROLE or --role says central, in that order', async () => {
    expect((await loadConfig({}, {}, scratch)).role).toBe('instance');
    const file = join(scratch, 'central.json');
    writeFileSync(file, JSON.stringify({ role: 'central' }));
    expect((await loadConfig({ config: file }, {}, scratch)).role).toBe('central');
    expect((await loadConfig({ config: file }, { SINGULARITY_ROLE: 'instance' }, scratch)).role).toBe('instance');
    expect((await loadConfig({ config: file, role: 'instance' }, { SINGULARITY_ROLE: 'central' }, scratch)).role).toBe('instance');
  });

  it('is refused when it is neither, saying where the bad value came from', async () => {
    await expect(loadConfig({ role: 'hub' }, {}, scratch)).rejects.toThrow(new ConfigError("--role must be instance or central, not 'hub'"));
    await expect(loadConfig({}, { SINGULARITY_ROLE: 'hub' }, scratch)).rejects.toThrow("SINGULARITY_ROLE must be instance or central, not 'hub'");
  });

  it('leaves the tasks of the other role out of the default crontab, and refuses them in a crontab file', async () => {
    const central = await loadTasks({ taskModules: [], role: 'central' });
    const instance = await loadTasks({ taskModules: [] });
    const tasksOf = (tasks: typeof central) => new Set(defaultCrontab(tasks).entries.map((e) => e.task));
    expect(tasksOf(instance).has('sync-learning')).toBe(true);
    expect(tasksOf(central).has('sync-learning')).toBe(false);
    expect(tasksOf(central).has('vacuum-analyze')).toBe(true); // a task of both roles
    const { problems } = parseCrontab('*/10 * * * * sync-learning\n', { source: 'central.crontab', tasks: central });
    expect(problems.map((p) => p.message)).toEqual([
      'sync-learning runs in the instance role only, and this is the central role: a scheduler of this role cannot run it',
    ]);
    expect(refusedInRole(central.find('vacuum-analyze')!, 'central')).toBeUndefined();
  });
});

for (const backendName of backendNames) {
  describe(`a task of another role (${backendName})`, () => {
    let backend: Backend;
    onBackend(backendName, (opened) => (backend = opened.backend));

    it('exits 2 with the reason and records no run, from the command line and from a scheduler alike', async () => {
      const refused = await runCli(['--role', 'central', 'sync-learning'], backend.env);
      expect(refused.code).toBe(2);
      expect(refused.stderr).toContain('error: sync-learning runs in the instance role only, and this is the central role');
      expect(refused.stderr).toContain('--role, SINGULARITY_ROLE or the config file\'s "role"');
      const viaEnv = await runCli(['sync-learning'], { ...backend.env, SINGULARITY_ROLE: 'central' });
      expect(viaEnv.code).toBe(2);

      const config = { ...(await loadConfig({}, backend.env)), role: 'central' as const };
      const tasks = await loadTasks(config);
      const db = await backend.open();
      try {
        await expect(runTask({ db, config, tasks }, tasks.find('sync-learning')!, { trigger: 'scheduler', args: { batchSize: 10 } }))
          .rejects.toBeInstanceOf(UsageError);
        expect(await db.query("select id from task_runs where task = 'sync-learning'")).toEqual([]);
      } finally {
        await db.close();
      }
      const crontab = await runCli(['--role', 'central', 'crontab'], backend.env);
      expect(crontab.code).toBe(0);
      expect(crontab.stdout).not.toMatch(/ sync-learning/);
      expect(crontab.stdout).toMatch(/ vacuum-analyze/);
    });
  });
}
