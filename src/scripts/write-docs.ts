// `npm run docs`: rewrite the task table in README.md from the task registry.
import { readFileSync, writeFileSync } from 'node:fs';
import { README_URL, renderTaskTable, withTaskTable } from '../docs/task-table.js';
import { deriveManifest } from '../tasks/manifest.js';

const readme = readFileSync(README_URL, 'utf8');
writeFileSync(README_URL, withTaskTable(readme, renderTaskTable(await deriveManifest())));
