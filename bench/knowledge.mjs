#!/usr/bin/env node
// The knowledge loader on 10,000 generated artifacts, medians of three rounds, figures as ratios to a
// baseline measured in the same run:
//   (a) migrate-knowledge --skip-embedding (scan, validate, plan, batched upserts, recorded as a run)
//       against a bare batched INSERT of the same rows (files read and parsed, 500 rows a statement);
//       target within 1.5x;
//   (b) the unchanged re-run against the first run; target at most 5%;
//   (c) embedding 500 of the artifacts, three alternating rounds, (embed-templates: database reads, the cache, the updates) against calling
//       the model directly on the same texts; target at least 90% of its throughput. The model is the
//       stand-in in all-MiniLM-L6-v2's shape (6 layers, 384 wide: its speed, not its meaning), or the real
//       model when SINGULARITY_MODEL_DIR names a folder that holds it.
//   npm run bench:knowledge [-- --artifacts 10000 --embed 500]
//   With BENCH_DATABASE_URL (a PostgreSQL server) it runs there, in a database of its own; otherwise on
//   the embedded database in a temporary home.
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openDatabase } from '../dist/core/db.js';
import { runTask } from '../dist/core/runner.js';
import { artifactText, embedPendingArtifacts } from '../dist/knowledge/embed.js';
import migrateKnowledge from '../dist/tasks/migrate-knowledge.js';
import { benchDatabaseConfig, minilmShapedEmbedder } from './support.mjs';

const args = process.argv.slice(2);
const option = (name, fallback) => Number(args[args.indexOf(`--${name}`) + 1] || fallback) || fallback;
const count = option('artifacts', 10_000);
const embedCount = option('embed', 500);
const log = (line) => process.stderr.write(line + '\n');
const seconds = (ms) => `${(ms / 1000).toFixed(2)} s`;
const median = (values) => [...values].sort((x, y) => x - y)[values.length >> 1];

const temp = mkdtempSync(join(tmpdir(), 'sg-bench-knowledge-'));
const { config, drop } = await benchDatabaseConfig('knowledge', temp);
const db = await openDatabase(config);

try {
  log(`writing ${count} artifacts...`);
  const kb = join(temp, 'kb');
  const languages = ['rust', 'elixir', 'typescript', 'python', 'go', 'java', 'ruby', 'c'];
  for (const language of languages) mkdirSync(join(kb, 'code_patterns', language), { recursive: true });
  for (let i = 0; i < count; i++) {
    const language = languages[i % languages.length];
    const artifact = {
      $schema: '../../schemas/code_pattern.schema.json',
      id: `pattern-${i}`,
      version: '1.0.0',
      name: `Pattern ${i} for ${language}`,
      description: `How to handle case ${i} in ${language} code without surprises, and why it matters for readers and for production.`,
      tags: ['generated', language],
      language,
      category: ['error-handling', 'concurrency', 'testing', 'io'][i % 4],
      problem: `Code that deals with situation ${i} tends to grow conditionals that nobody can follow after a few months.`,
      solution: `Name the situation, give it a type of its own, and let the compiler tell you every place that must handle it (${i}).`,
      example: { code: `fn case_${i}(input: &str) -> Result<Output, Error> {\n    parse(input).map(Output::from)\n}\n`, explanation: 'The happy path reads top to bottom.' },
      references: [],
    };
    writeFileSync(join(kb, 'code_patterns', language, `pattern-${i}.json`), JSON.stringify(artifact, null, 2) + '\n');
  }

  // (a) baseline: the same rows by a bare batched INSERT into a table of the same shape.
  await db.query('create table bare_artifacts (like knowledge_artifacts including all)');
  const bareInsert = async () => {
    const t0 = performance.now();
    const rows = [];
    for (const language of languages) {
      const folder = join(kb, 'code_patterns', language);
      for (const file of readdirSync(folder)) {
        const raw = readFileSync(join(folder, file), 'utf8');
        const content = JSON.parse(raw);
        rows.push(['code_pattern', content.id, content.version, 'file', `code_patterns/${language}/${file}`, raw, raw, 'h']);
      }
    }
    for (let i = 0; i < rows.length; i += 500) {
      const batch = rows.slice(i, i + 500);
      const values = batch.map((_, r) => `(${Array.from({ length: 8 }, (_, c) => `$${r * 8 + c + 1}${c === 6 ? '::jsonb' : ''}`).join(', ')})`);
      await db.transaction((client) =>
        client.query(
          `insert into bare_artifacts (artifact_type, artifact_id, version, source, path, raw, content, content_hash) values ${values.join(', ')}`,
          batch.flat(),
        ),
      );
    }
    return performance.now() - t0;
  };

  const task = migrateKnowledge;
  const migrate = async () => {
    const t0 = performance.now();
    const run = await runTask({ db, config }, task, { trigger: 'cli', args: { path: kb, dryRun: false, allowInvalid: false, skipEmbedding: true } });
    if (run.state !== 'completed') throw new Error(`migrate-knowledge ${run.state}: ${run.error?.message}`);
    return { ms: performance.now() - t0, result: run.result };
  };
  // Three rounds from empty tables, medians: a busy moment of the machine falls on one round only.
  const bare = [];
  const first = [];
  const again = [];
  for (let round = 0; round < 3; round++) {
    await db.query('truncate bare_artifacts, knowledge_artifacts');
    bare.push(await bareInsert());
    const loaded = await migrate();
    const unchanged = await migrate();
    if (loaded.result.inserted !== count || unchanged.result.unchanged !== count) throw new Error('the loads did not load what was written');
    first.push(loaded.ms);
    again.push(unchanged.ms);
  }

  // (c) embedding, on the first embedCount artifacts.
  const embedder = await minilmShapedEmbedder(config, temp);
  await db.query(`delete from knowledge_artifacts where id not in (select id from knowledge_artifacts order by id limit ${embedCount})`);
  const texts = (await db.query('select artifact_type as type, artifact_id as id, raw, content from knowledge_artifacts order by id')).map(artifactText);
  // Alternating rounds, so that a busy moment of the machine does not fall on one side only.
  let started;
  let direct = 0;
  let through = 0;
  let report;
  for (let round = 0; round < 3; round++) {
    await db.query('update knowledge_artifacts set embedding = null, embedding_model = null, embedding_dim = null, embedded_hash = null');
    await db.query('delete from embedding_cache');
    started = performance.now();
    for (let i = 0; i < texts.length; i += 256) await embedder.embed(texts.slice(i, i + 256));
    direct += performance.now() - started;
    started = performance.now();
    report = await embedPendingArtifacts(db, embedder);
    through += performance.now() - started;
  }
  await embedder.dispose();
  if (report.computed !== texts.length) throw new Error(`embedded ${report.computed} of ${texts.length}`);

  console.log(`knowledge benchmark (${db.kind}): ${count} artifacts, medians of 3 rounds`);
  const [a, b, c] = [median(first), median(bare), median(again)];
  console.log(`  (a) migrate-knowledge --skip-embedding  ${seconds(a)}   bare batched INSERT ${seconds(b)}   ratio ${(a / b).toFixed(2)}x   target <= 1.5x`);
  console.log(`  (b) unchanged re-run                    ${seconds(c)}   ${((c / a) * 100).toFixed(1)}% of the first run   target <= 5%`);
  // A first run that embeds too takes (a) plus the embedding, at (c)'s measured rate, of every artifact.
  const withEmbedding = a + (count / ((3 * texts.length) / (through / 1000))) * 1000;
  console.log(`      against a first run with embeddings (${seconds(withEmbedding)}, from (a) and (c)'s rate): ${((c / withEmbedding) * 100).toFixed(2)}%`);
  console.log(`  (c) embedding ${texts.length} artifacts (${embedder.model})   ${((3 * texts.length) / (through / 1000)).toFixed(0)}/s   model alone ${((3 * texts.length) / (direct / 1000)).toFixed(0)}/s   ${((direct / through) * 100).toFixed(0)}% of its throughput   target >= 90%`);
} finally {
  await db.close();
  await drop();
  rmSync(temp, { recursive: true, force: true });
}
