// The README's task table is derived from the registry; this fails when someone forgets `npm run docs`.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { README_URL, renderTaskTable, withTaskTable } from '../src/docs/task-table.js';
import { builtInManifest } from '../src/tasks/manifest.js';

describe('README', () => {
  it('shows the task table of the current registry (run `npm run docs` to refresh it)', async () => {
    const readme = readFileSync(README_URL, 'utf8');
    expect(withTaskTable(readme, renderTaskTable(await builtInManifest()))).toBe(readme);
  });

  it('names every registered task in that table', async () => {
    const readme = readFileSync(README_URL, 'utf8');
    for (const task of await builtInManifest()) expect(readme).toContain(`| \`${task.name}\` |`);
  });
});
