// drizzle/schema.sql is what the migrations produce: a migration that changes the schema without
// `npm run db:schema` fails here, and the same objects exist on a real server as on the embedded one.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { runTool } from '../src/backup/pg-tools.js';
import { dumpMigratedSchema, normalizeSchemaDump, schemaObjects, SCHEMA_FILE } from '../src/core/schema-dump.js';
import { onBackend } from './support/backends.js';
import type { Backend } from './support/backends.js';

const committed = readFileSync(SCHEMA_FILE, 'utf8');

describe('drizzle/schema.sql', () => {
  it('is exactly what the migrations produce on a new embedded database (else: npm run db:schema)', async () => {
    expect(await dumpMigratedSchema()).toBe(committed);
  });

  it('names every table the run history, the scheduler and search stand on', () => {
    const objects = schemaObjects(committed);
    for (const table of ['task_runs', 'schedulers', 'pgcron_jobs', 'code_chunks', 'knowledge_artifacts', 'backups', 'codebases']) {
      expect(objects).toContain(`TABLE public.${table}`);
    }
    expect(objects.some((o) => o.startsWith('FUNCTION ') || o.startsWith('PROCEDURE '))).toBe(true);
  });
});

describe.runIf(process.env.TEST_DATABASE_URL)('drizzle/schema.sql on PostgreSQL', () => {
  let backend: Backend;
  onBackend('postgres', (opened) => ({ backend } = opened));

  it('lists the same objects as the migrations create on a real server', async () => {
    // View bodies are printed differently by PostgreSQL 15 and 18; the objects themselves must agree.
    const dump = await runTool('pg_dump', ['--schema-only', '--no-owner', '--no-privileges', '--exclude-schema=drizzle'], {
      url: backend.config.databaseUrl,
    });
    expect(schemaObjects(normalizeSchemaDump(dump))).toEqual(schemaObjects(committed));
  });
});
