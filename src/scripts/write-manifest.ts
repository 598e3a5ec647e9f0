// Build step: write dist/tasks/manifest.json from the built-in tasks.
import { writeFileSync } from 'node:fs';
import { builtInManifest, MANIFEST_URL } from '../tasks/manifest.js';

writeFileSync(MANIFEST_URL, JSON.stringify(await builtInManifest(), null, 2) + '\n');
