// drizzle/schema.sql: the whole schema the migrations produce (tables, views, functions, procedures,
// indexes), dumped from a fresh embedded database. One file to read instead of sixteen migrations;
// `npm run db:schema` rewrites it and test/schema.test.ts fails when a migration changed it unseen.
import { fileURLToPath } from 'node:url';
import { MIGRATIONS_FOLDER } from './migrate.js';

export const SCHEMA_FILE = fileURLToPath(new URL('../../drizzle/schema.sql', import.meta.url));

const HEADER = `-- The schema the migrations in drizzle/ produce, as pg_dump --schema-only prints it from a new
-- embedded database (PostgreSQL ${'${version}'}). Written by \`npm run db:schema\`: do not edit; write a migration.
`;

/** pg_dump --schema-only of a new in-memory database with every migration applied. */
export async function dumpMigratedSchema(): Promise<string> {
  const [{ PGlite }, { drizzle }, { migrate }, { pgDump }] = await Promise.all([
    import('@electric-sql/pglite'),
    import('drizzle-orm/pglite'),
    import('drizzle-orm/pglite/migrator'),
    import('@electric-sql/pglite-tools/pg_dump'),
  ]);
  const pg = await PGlite.create();
  try {
    await migrate(drizzle(pg), { migrationsFolder: MIGRATIONS_FOLDER });
    const dump = await pgDump({ pg, args: ['--schema-only', '--no-owner', '--no-privileges', '--exclude-schema=drizzle'] });
    return normalizeSchemaDump(await dump.text());
  } finally {
    await pg.close();
  }
}

/**
 * The dump without what changes from run to run or says nothing about the schema: the version lines,
 * pg_dump's random \restrict key, the session SETs; runs of blank lines become one.
 */
export function normalizeSchemaDump(dump: string): string {
  const version = /^-- Dumped from database version (\S+)/m.exec(dump)?.[1] ?? 'unknown';
  const lines = dump
    .split('\n')
    .filter((line) => !/^(-- Dumped (from|by) |-- PostgreSQL database dump|\\(un)?restrict |SET |SELECT pg_catalog\.set_config\()/.test(line));
  // What is left around the objects is comment markers and blank lines.
  const first = lines.findIndex((line) => line.startsWith('-- Name: '));
  let end = lines.length;
  while (end > first && (lines[end - 1] === '' || lines[end - 1] === '--')) end--;
  const body = ['--', ...lines.slice(first, end)].join('\n').replace(/\n{3,}/g, '\n\n');
  return HEADER.replace('${version}', version) + '\n' + body + '\n';
}

/** Every object a dump creates, by pg_dump's own "Name; Type; Schema" line: comparable across versions. */
export function schemaObjects(dump: string): string[] {
  return [...dump.matchAll(/^-- Name: (.+?); Type: (.+?); Schema: (.+?);/gm)].map((m) => `${m[2]} ${m[3]}.${m[1]}`).sort();
}
