// Build step: write dist/tasks/manifest.json from the task registry.
import { writeFileSync } from 'node:fs';
import { deriveManifest, MANIFEST_URL } from '../tasks/manifest.js';

writeFileSync(MANIFEST_URL, JSON.stringify(await deriveManifest(), null, 2) + '\n');
