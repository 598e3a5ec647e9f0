// The knowledge base singularity ships: every file valid, enough of each kind, and the JSON Schemas that
// editors use in step with the zod schemas that the loader uses.
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { SHIPPED_TEMPLATES_DIR } from '../src/core/config.js';
import { renderJsonSchemas, SCHEMAS_URL } from '../src/docs/json-schemas.js';
import { scanKnowledgeFolder } from '../src/knowledge/scan.js';

describe('the shipped templates_data/', () => {
  it('loads completely: every file valid, no duplicate ids', async () => {
    const scan = await scanKnowledgeFolder(SHIPPED_TEMPLATES_DIR, { include: 'all' });
    expect(scan.problems).toEqual([]);
    expect(scan.artifacts.length).toBe(scan.files);
  });

  it('has at least 40 JSON artifacts across every type, code patterns in several languages, and text templates', async () => {
    const { artifacts } = await scanKnowledgeFolder(SHIPPED_TEMPLATES_DIR, { include: 'all' });
    const byType = new Map<string, typeof artifacts>();
    for (const a of artifacts) byType.set(a.type, [...(byType.get(a.type) ?? []), a]);
    expect(artifacts.filter((a) => a.content !== null).length).toBeGreaterThanOrEqual(40);
    for (const type of ['code_pattern', 'architecture_pattern', 'framework', 'prompt', 'workflow', 'quality_standard', 'template']) {
      expect(byType.get(type)?.length ?? 0, type).toBeGreaterThanOrEqual(3);
    }
    const languages = new Set(byType.get('code_pattern')!.map((a) => (a.content as { language: string }).language));
    expect(languages.size).toBeGreaterThanOrEqual(6);
  });

  it("points each JSON artifact's $schema at its type's schema file", async () => {
    const { artifacts } = await scanKnowledgeFolder(SHIPPED_TEMPLATES_DIR, { include: 'json' });
    for (const a of artifacts) {
      const schema = (a.content as { $schema?: string }).$schema;
      const expected = relative(dirname(join(SHIPPED_TEMPLATES_DIR, a.path)), join(SHIPPED_TEMPLATES_DIR, 'schemas', `${a.type}.schema.json`));
      expect(schema, a.path).toBe(expected);
    }
  });

  it('ships the JSON Schemas generated from the zod schemas (run `npm run docs` to refresh them)', () => {
    const dir = fileURLToPath(SCHEMAS_URL);
    const rendered = renderJsonSchemas();
    expect(readdirSync(dir).sort()).toEqual([...rendered.keys()].sort());
    for (const [name, text] of rendered) expect(readFileSync(join(dir, name), 'utf8'), name).toBe(text);
  });
});
