// The JSON Schemas of the artifact types, written to templates_data/schemas/ for editors (`npm run docs`
// writes them; a test checks they match the zod schemas they come from).
import { ARTIFACT_TYPES, jsonSchemaOf, type ArtifactFolder } from '../knowledge/types.js';

export const SCHEMAS_URL = new URL('../../templates_data/schemas/', import.meta.url);

/** File name → text, one per artifact type. */
export function renderJsonSchemas(): Map<string, string> {
  return new Map(
    (Object.keys(ARTIFACT_TYPES) as ArtifactFolder[]).map((folder) => [
      `${ARTIFACT_TYPES[folder].type}.schema.json`,
      JSON.stringify(jsonSchemaOf(folder), null, 2) + '\n',
    ]),
  );
}
