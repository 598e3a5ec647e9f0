// `npm run db:schema`: rewrite drizzle/schema.sql from the migrations.
import { writeFileSync } from 'node:fs';
import { dumpMigratedSchema, SCHEMA_FILE } from '../core/schema-dump.js';

writeFileSync(SCHEMA_FILE, await dumpMigratedSchema());
