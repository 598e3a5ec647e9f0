// Embedding the knowledge base on each backend, with the stand-in model (a real BERT graph and tokenizer,
// random weights, built here): the model and dimension recorded with every vector, the cache that keeps a
// text from being embedded twice, a model change that re-embeds instead of mixing, loading without a
// model, and search through the HNSW index (pgvector) or exactly (without it) finding the same rows.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { backendNames, createBackend, type Backend } from './support/backends.js';
import { buildStandInModel } from './support/stand-in-model.mjs';
import type { Config } from '../src/core/config.js';
import type { Database } from '../src/core/database.js';
import type { Embedder } from '../src/embed/embedder.js';
import { isEmbedder, loadEmbedder } from '../src/embed/transformers.js';
import { nearest, vectorIndexName } from '../src/vectors/vectors.js';
import { artifactText, embedPendingArtifacts } from '../src/knowledge/embed.js';
import { runKnowledgeLoad } from '../src/knowledge/run.js';

const prompt = (id: string, purpose: string) => ({
  id, name: `Prompt ${id}`, description: purpose, purpose, template: 'Answer about {{subject}}',
  variables: [{ name: 'subject', description: 'the subject' }],
});
const PURPOSES: Record<string, string> = {
  review: 'review a pull request for correctness, naming and missing tests',
  explain: 'explain what a function does to a new team member',
  changelog: 'summarise a diff as lines for a changelog',
  triage: 'triage an error log and name the most likely cause',
};

describe.each(backendNames)('embedding the knowledge base (%s)', (backendName) => {
  let backend: Backend;
  let db: Database;
  let dir: string;
  let kb: string;
  let embedding: Config['embedding'];
  let embedder: Embedder;

  beforeAll(async () => {
    backend = await createBackend(backendName);
    db = await backend.open();
    dir = mkdtempSync(join(tmpdir(), 'sg-kb-embed-'));
    const model = buildStandInModel(join(dir, 'models'));
    embedding = { model: model.modelId, modelDir: model.modelDir, batchSize: 3 };
    const loaded = await loadEmbedder(embedding, { allowDownload: false });
    if (!isEmbedder(loaded)) throw new Error(loaded.reason);
    embedder = loaded;
  });
  afterAll(async () => {
    await embedder?.dispose();
    await db?.close();
    await backend?.dispose();
    rmSync(dir, { recursive: true, force: true });
  });
  beforeEach(async () => {
    await db.query('delete from knowledge_artifacts');
    await db.query('delete from embedding_cache');
    kb = mkdtempSync(join(dir, 'kb-'));
    mkdirSync(join(kb, 'prompts'));
    for (const [id, purpose] of Object.entries(PURPOSES)) writeFileSync(join(kb, 'prompts', `${id}.json`), JSON.stringify(prompt(id, purpose)));
  });

  const migrate = (settings: Config['embedding'] = embedding) =>
    runKnowledgeLoad(
      { db, config: { ...backend.config, embedding: settings }, signal: new AbortController().signal, progress: () => {} },
      { path: kb, include: 'json', deleteVanished: false, dryRun: false, allowInvalid: false, embed: true },
    );
  const vectors = () =>
    db.query<{ id: string; model: string; dim: number; length: number }>(
      `select artifact_id as id, embedding_model as model, embedding_dim as dim, cardinality(embedding) as length
       from knowledge_artifacts order by 1`,
    );

  it('records the model and dimension with every vector, and never embeds the same text twice', async () => {
    const first = await migrate();
    expect(first.embedding).toMatchObject({ model: embedding.model, dimension: 32, embedded: 4, computed: 4 });
    expect(await vectors()).toEqual(Object.keys(PURPOSES).sort().map((id) => ({ id, model: embedding.model, dim: 32, length: 32 })));
    expect(await db.query('select count(*)::int as n from embedding_cache')).toEqual([{ n: 4 }]);

    // Nothing pending: nothing embedded. Everything again (--all): all of it from the cache.
    expect((await migrate()).embedding).toBeUndefined();
    const all = await embedPendingArtifacts(db, embedder, { all: true });
    expect([all.embedded, all.computed]).toEqual([4, 0]);

    // One artifact edited: that one alone is embedded again.
    writeFileSync(join(kb, 'prompts', 'triage.json'), JSON.stringify(prompt('triage', 'triage a crash report from production')));
    const edited = await migrate();
    expect([edited.updated, edited.embedding && 'computed' in edited.embedding && edited.embedding.computed]).toEqual([1, 1]);
  });

  it('a new model re-embeds every artifact with its own dimension instead of mixing the two', async () => {
    await migrate();
    const other = buildStandInModel(join(dir, 'models'), { modelId: 'singularity-test/wider', hidden: 48, heads: 4, seed: 2 });
    const report = await migrate({ model: other.modelId, modelDir: other.modelDir, batchSize: 3 });
    expect(report.embedding).toMatchObject({ model: other.modelId, dimension: 48, embedded: 4, computed: 4 });
    expect(new Set((await vectors()).map((v) => `${v.model} ${v.dim} ${v.length}`))).toEqual(new Set([`${other.modelId} 48 48`]));
  });

  it('without a model, loading succeeds and leaves every artifact pending, saying why', async () => {
    const report = await migrate({ ...embedding, modelDir: join(dir, 'empty') });
    expect([report.inserted, report.invalid]).toEqual([4, []]);
    expect(report.embedding).toMatchObject({ pending: 4, reason: expect.stringMatching(/no embedding model/) });
    expect((await vectors()).every((v) => v.model === null)).toBe(true);
  });

  it(`finds an artifact by its own text ${backendName === 'embedded' ? 'through the HNSW index (pgvector)' : 'by exact search'}`, async () => {
    const report = await migrate();
    const [row] = await db.query<{ id: number; type: string; artifactId: string; raw: string; content: unknown }>(
      `select id, artifact_type as type, artifact_id as "artifactId", raw, content from knowledge_artifacts where artifact_id = 'changelog'`,
    );
    const {
      vectors: [query],
    } = await embedder.embed([artifactText({ ...row!, id: row!.artifactId })]);
    const hits = await nearest(db, 'knowledge_artifacts', embedder.model, query!, 2);
    expect(hits[0]).toMatchObject({ id: row!.id });
    expect(hits[0]!.similarity).toBeCloseTo(1, 4);
    expect(hits[1]!.similarity).toBeLessThan(0.999);

    const [{ pgvector }] = await db.query<{ pgvector: boolean }>(`select exists (select 1 from pg_extension where extname = 'vector') as pgvector`);
    const indexes = await db.query<{ indexname: string }>(`select indexname from pg_indexes where tablename = 'knowledge_artifacts' and indexname like '%hnsw%'`);
    if (pgvector) {
      expect(report.embedding).toMatchObject({ index: vectorIndexName('knowledge_artifacts', embedder.model) });
      expect(indexes.map((i) => i.indexname)).toEqual([vectorIndexName('knowledge_artifacts', embedder.model)]);
      // Four rows make a scan cheaper; with scans off, the planner shows that the index serves this query.
      const plan = await db.withClient(async (client) => {
        await client.query('set enable_seqscan = off');
        const { rows } = await client.query(
          `explain select id from knowledge_artifacts where embedding_model = $1
           order by embedding::vector(32) <=> $2::vector(32) limit 2`,
          [embedder.model, `[${Array.from(query!).join(',')}]`],
        );
        await client.query('reset enable_seqscan');
        return rows.map((r) => r['QUERY PLAN']).join('\n');
      });
      expect(plan).toContain(`Index Scan using ${vectorIndexName('knowledge_artifacts', embedder.model)}`);
    } else {
      expect(report.embedding).toMatchObject({ exactOnly: expect.stringMatching(/pgvector is not installed/) });
      expect(indexes).toEqual([]);
    }
  });
});
