// `npm run docs`: rewrite the task table in README.md from the task registry, and the JSON Schemas of
// templates_data/schemas/ from the artifact types.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { renderJsonSchemas, SCHEMAS_URL } from '../docs/json-schemas.js';
import { README_URL, renderTaskTable, withTaskTable } from '../docs/task-table.js';
import { builtInManifest } from '../tasks/manifest.js';

const readme = readFileSync(README_URL, 'utf8');
writeFileSync(README_URL, withTaskTable(readme, renderTaskTable(await builtInManifest())));
mkdirSync(SCHEMAS_URL, { recursive: true });
for (const [name, text] of renderJsonSchemas()) writeFileSync(new URL(name, SCHEMAS_URL), text);
