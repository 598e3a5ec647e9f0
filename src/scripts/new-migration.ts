// `npm run db:migration -- NAME`: start a new migration, drizzle/NNNN_NAME.sql, and enter it in the journal
// drizzle's migrator reads. Write its SQL by hand, then `npm run db:schema` to update drizzle/schema.sql.
import { readFileSync, writeFileSync } from 'node:fs';
import { MIGRATIONS_FOLDER } from '../core/migrate.js';

interface Journal {
  entries: Array<{ idx: number; version: string; when: number; tag: string; breakpoints: boolean }>;
}

const name = process.argv[2] ?? '';
if (!/^[a-z][a-z0-9_]*$/.test(name)) {
  console.error(`error: a migration needs a name of lower-case letters, digits and _, e.g. npm run db:migration -- task_pauses (got '${name}')`);
  process.exit(2);
}
const journalFile = `${MIGRATIONS_FOLDER}/meta/_journal.json`;
const journal = JSON.parse(readFileSync(journalFile, 'utf8')) as Journal;
const last = journal.entries.at(-1);
const idx = last ? last.idx + 1 : 0;
const tag = `${String(idx).padStart(4, '0')}_${name}`;
// The migrator applies what is newer than the last applied entry: `when` must grow.
const when = Math.max(Date.now(), (last?.when ?? 0) + 1);
journal.entries.push({ idx, version: '7', when, tag, breakpoints: true });

const file = `${MIGRATIONS_FOLDER}/${tag}.sql`;
writeFileSync(file, `-- Why this migration exists, in a sentence or two.\n-- Separate statements with a line: --> statement-breakpoint\n`, { flag: 'wx' });
writeFileSync(journalFile, JSON.stringify(journal, null, 2) + '\n');
console.log(`wrote ${file}; write its SQL, then run npm run db:schema`);
