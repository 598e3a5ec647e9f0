// The knowledge base's loaders: reading a folder (every kind of bad file reported, the good ones kept),
// the plan, and loading into each backend: unchanged re-runs write nothing, sync deletes only vanished
// file rows, a failing batch leaves nothing half-written, and the CLI's exit codes.
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { backendNames, createBackend, onBackend, type Backend } from './support/backends.js';
import { runCli } from './support/cli.js';
import type { Database } from '../src/core/database.js';
import { UsageError } from '../src/core/errors.js';
import { loadKnowledge } from '../src/knowledge/load.js';
import { planLoad, type StoredArtifact } from '../src/knowledge/plan.js';
import { MAX_ARTIFACT_BYTES, scanKnowledgeFolder, type ScannedArtifact } from '../src/knowledge/scan.js';

const prompt = (id: string, extra: Record<string, unknown> = {}) => ({
  id,
  name: `Prompt ${id}`,
  description: `What ${id} asks`,
  purpose: 'testing',
  template: 'Explain {{subject}}',
  variables: [{ name: 'subject', description: 'what to explain' }],
  ...extra,
});

function writeTree(root: string, files: Record<string, string | Buffer>): void {
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), content);
  }
}

const json = (value: unknown) => JSON.stringify(value, null, 2) + '\n';

describe('reading a knowledge folder', () => {
  let root: string;
  beforeAll(() => {
    root = mkdtempSync(join(tmpdir(), 'sg-kb-'));
    const kb = join(root, 'kb');
    writeTree(kb, {
      'README.md': '# not an artifact',
      'schemas/prompt.schema.json': '{}',
      'prompts/good.json': json(prompt('good')),
      'prompts/nested/also-good.json': json(prompt('also-good', { version: '2.1' })),
      'prompts/same-id.json': json(prompt('good')),
      'prompts/other-version.json': json(prompt('good', { version: '2.0.0' })),
      'prompts/wrong-field.json': json(prompt('wrong-field', { colour: 'red' })),
      'prompts/undeclared.json': json(prompt('undeclared', { template: 'Explain {{subject}} to {{audience}}' })),
      'prompts/not-json.json': '{\n  "id": "x",\n  oops\n}\n',
      'prompts/empty.json': '',
      'prompts/latin1.json': Buffer.from('{"id": "caf\xe9"}', 'latin1'),
      'prompts/huge.json': json(prompt('huge', { description: 'x'.repeat(MAX_ARTIFACT_BYTES) })),
      'prompts/notes.txt': 'a stray file',
      'workflows/bad-deps.json': json({
        id: 'bad-deps', name: 'w', description: 'd', trigger: 't',
        steps: [{ id: 'b', name: 'B', description: 'second', depends_on: ['a'] }, { id: 'a', name: 'A', description: 'first' }],
      }),
      'recipes/cake.json': json({ id: 'cake' }),
      'templates/elixir/genserver.eex': '# version: 1.2\ndefmodule <%= module %> do\nend\n',
      'templates/readme.hbs': '# {{title}}\n\n{{#each sections}}{{this}}{{/each}}\n',
    });
    writeFileSync(join(root, 'outside.json'), json(prompt('outside')));
    symlinkSync(join(root, 'outside.json'), join(kb, 'prompts', 'escape.json'));
    symlinkSync(join(kb, 'prompts', 'good.json'), join(kb, 'prompts', 'link-inside.json'));
    symlinkSync(join(kb, 'prompts'), join(kb, 'prompts', 'loop'));
  });
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it('keeps exactly the valid artifacts and reports every bad file with its pointer and reason', async () => {
    const scan = await scanKnowledgeFolder(join(root, 'kb'), { include: 'json' });
    expect(scan.artifacts.map((a) => `${a.path} ${a.type}/${a.id}@${a.version}`)).toEqual([
      'prompts/good.json prompt/good@1.0.0',
      'prompts/nested/also-good.json prompt/also-good@2.1',
      'prompts/other-version.json prompt/good@2.0.0',
    ]);
    const problems = scan.problems.map((p) => `${p.path} ${p.pointer} ${p.reason}`);
    expect(problems).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^prompts\/empty\.json \/ the file is empty$/),
        expect.stringMatching(/^prompts\/escape\.json \/ a symlink leading outside .* \(to .*outside\.json\)/),
        expect.stringMatching(/^prompts\/huge\.json \/ \d+ bytes, over the limit of 1048576/),
        expect.stringMatching(/^prompts\/latin1\.json \/ not UTF-8 \(first bad byte near offset 11\)/),
        'prompts/link-inside.json /id duplicate id: prompt \'good\' version 1.0.0 is already defined by prompts/good.json',
        expect.stringMatching(/^prompts\/not-json\.json \/ not JSON: .* at line 3, column 3$/),
        'prompts/notes.txt / only .json files are artifacts in prompts/ (text templates go under templates/)',
        'prompts/same-id.json /id duplicate id: prompt \'good\' version 1.0.0 is already defined by prompts/good.json',
        'prompts/undeclared.json /template uses {{audience}}, which variables does not declare',
        'prompts/wrong-field.json /colour unknown field for a prompt',
        expect.stringMatching(/^recipes\/cake\.json \/ 'recipes\/' is not an artifact folder/),
        "workflows/bad-deps.json /steps/0/depends_on/0 'a' is not an earlier step",
      ]),
    );
    expect(problems).toHaveLength(12);
    expect(scan.files).toBe(15);
  });

  it('reads text templates too when asked: id from the path, metadata from the text', async () => {
    const scan = await scanKnowledgeFolder(join(root, 'kb'), { include: 'all' });
    const templates = scan.artifacts.filter((a) => a.type === 'template');
    expect(templates.map((t) => [t.id, t.version, t.metadata])).toEqual([
      ['elixir/genserver', '1.2', { extension: '.eex', language: 'eex', lines: 4, variables: [] }],
      ['readme', '1.0.0', { extension: '.hbs', language: 'handlebars', lines: 4, variables: ['sections', 'title'] }],
    ]);
    expect(templates.every((t) => t.content === null)).toBe(true);
  });

  it('a folder that does not exist is a usage error (exit 2)', async () => {
    const error = await scanKnowledgeFolder(join(root, 'missing'), { include: 'json' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UsageError);
    expect((error as UsageError).message).toBe(`knowledge folder not found: ${join(root, 'missing')}`);
  });
});

describe('the load plan', () => {
  const scanned = (id: string, hash: string, path = `prompts/${id}.json`): ScannedArtifact => ({
    type: 'prompt', id, version: '1.0.0', path, raw: '', content: {}, metadata: {}, contentHash: hash, stamp: `stamp-${hash}`,
  });
  const stored = (id: string, hash: string, source: 'file' | 'learned' = 'file', path: string | null = `prompts/${id}.json`): StoredArtifact => ({
    type: 'prompt', id, version: '1.0.0', source, path: source === 'file' ? path : null, contentHash: hash, stamp: `stamp-${hash}`,
  });

  it('sorts artifacts into new, changed (text or place), unchanged; deletes only vanished file rows when syncing', () => {
    const touched = { ...scanned('touched', 'h8'), stamp: 'a newer mtime' };
    const plan = planLoad(
      [scanned('new', 'h1'), scanned('same', 'h2'), scanned('edited', 'h3'), scanned('moved', 'h4', 'prompts/elsewhere/moved.json'), touched],
      [{ type: 'prompt', id: 'unread', version: '1.0.0' }],
      [stored('same', 'h2'), stored('edited', 'old'), stored('moved', 'h4'), stored('gone', 'h5'), stored('learned', 'h6', 'learned'),
        stored('broken-now', 'h7'), stored('unread', 'h9'), stored('touched', 'h8')],
      { deleteVanished: true },
      [{ path: 'prompts/broken-now.json', pointer: '/', reason: 'not JSON' }],
    );
    expect(plan.insert.map((a) => a.id)).toEqual(['new']);
    expect(plan.update.map((a) => a.id)).toEqual(['edited', 'moved']);
    expect(plan.unchanged.map((a) => a.id)).toEqual(['same', 'touched']);
    expect(plan.restamp.map((a) => a.id)).toEqual(['touched']);
    expect(plan.delete.map((a) => a.id)).toEqual(['gone']);
  });

  it('never deletes without sync, and refuses to overwrite a learned artifact with a file', () => {
    const plan = planLoad([scanned('learned', 'h')], [], [stored('learned', 'x', 'learned'), stored('gone', 'h5')], { deleteVanished: false });
    expect(plan.delete).toEqual([]);
    expect(plan.insert.length + plan.update.length).toBe(0);
    expect(plan.problems[0]!.reason).toMatch(/is a learned artifact in the database/);
  });
});

describe.each(backendNames)('loading the knowledge base (%s)', (backendName) => {
  let backend: Backend;
  let db: Database;
  let kb: string;

  onBackend(backendName, (opened) => ({ backend, db } = opened));
  beforeEach(async () => {
    await db.query('delete from knowledge_artifacts');
    kb = mkdtempSync(join(tmpdir(), 'sg-kb-load-'));
    writeTree(kb, {
      'prompts/one.json': json(prompt('one')),
      'prompts/two.json': json(prompt('two')),
      'prompts/three.json': json(prompt('three')),
      'templates/note.md': '# Note\n{{body}}\n',
    });
  });

  const load = (options: Partial<Parameters<typeof loadKnowledge>[1]> = {}) =>
    loadKnowledge(db, { dir: kb, include: 'all', deleteVanished: false, dryRun: false, ...options });
  /** Each row's xmin: it changes whenever a row is written, so equal snapshots mean nothing was written. */
  const snapshot = () => db.query<{ id: string; xmin: string }>('select artifact_id as id, xmin::text from knowledge_artifacts order by 1');

  it('stores raw text beside JSONB with a hash, then writes nothing on an unchanged re-run', async () => {
    const first = await load();
    expect([first.inserted, first.updated, first.unchanged, first.invalid]).toEqual([4, 0, 0, []]);
    const [row] = await db.query<{ raw: string; content: { id: string }; hash: string; source: string; path: string }>(
      `select raw, content, content_hash as hash, source, path from knowledge_artifacts where artifact_id = 'one'`,
    );
    expect(row).toMatchObject({ raw: json(prompt('one')), content: prompt('one'), source: 'file', path: 'prompts/one.json' });
    expect(row!.hash).toMatch(/^[0-9a-f]{64}$/);
    const [note] = await db.query(`select content, metadata from knowledge_artifacts where artifact_type = 'template'`);
    expect(note).toEqual({ content: null, metadata: { extension: '.md', language: 'markdown', lines: 3, variables: ['body'] } });

    const before = await snapshot();
    const again = await load();
    expect([again.inserted, again.updated, again.unchanged]).toEqual([0, 0, 4]);
    expect(await snapshot()).toEqual(before);
  });

  it('updates the one changed file; sync deletes the one removed, and never a learned artifact', async () => {
    await load();
    await db.query(
      `insert into knowledge_artifacts (artifact_type, artifact_id, version, source, raw, content_hash) values ('prompt', 'learned-one', '1', 'learned', '{}', 'x')`,
    );
    writeFileSync(join(kb, 'prompts/two.json'), json(prompt('two', { description: 'asks something else now' })));
    rmSync(join(kb, 'prompts/three.json'));
    const before = await snapshot();

    const loadOnly = await load({ dryRun: true });
    expect([loadOnly.updated, loadOnly.deleted]).toEqual([1, 0]);
    const synced = await load({ deleteVanished: true });
    expect([synced.inserted, synced.updated, synced.unchanged, synced.deleted]).toEqual([0, 1, 2, 1]);
    expect(synced.removed).toEqual(['prompt/three@1.0.0']);

    const after = await snapshot();
    expect(after.map((r) => r.id)).toEqual(['learned-one', 'note', 'one', 'two']);
    const changed = after.filter((r) => before.find((b) => b.id === r.id)?.xmin !== r.xmin).map((r) => r.id);
    expect(changed).toEqual(['two']);
  });

  it('passes over files whose size and mtime are as loaded; a touched file only gets its new stamp', async () => {
    await load();
    const stamps = () => db.query<{ id: string; stamp: string; updated: Date }>(
      `select artifact_id as id, file_stamp as stamp, updated_at as updated from knowledge_artifacts order by 1`);
    const before = await stamps();
    const later = new Date(Date.now() + 60_000);
    utimesSync(join(kb, 'prompts/one.json'), later, later);
    const again = await load();
    expect([again.inserted, again.updated, again.unchanged]).toEqual([0, 0, 4]);
    const after = await stamps();
    expect(after.filter((r, i) => r.stamp !== before[i]!.stamp).map((r) => r.id)).toEqual(['one']);
    expect(after.map((r) => r.updated)).toEqual(before.map((r) => r.updated));
  });

  it('a dry run writes nothing and reports what a real run would do', async () => {
    const dry = await load({ dryRun: true });
    expect([dry.dryRun, dry.inserted, dry.changed.length]).toEqual([true, 4, 4]);
    expect(await snapshot()).toEqual([]);
  });

  it('a database error in a batch leaves none of that batch written (earlier batches stay)', async () => {
    writeTree(kb, { 'prompts/four.json': json(prompt('four')), 'prompts/five.json': json(prompt('five')) });
    await db.query(`alter table knowledge_artifacts add constraint no_three check (artifact_id <> 'three')`);
    try {
      // Sorted by path: five, four | one, three | two, note: the second batch holds the bad row.
      const error = await load({ batchSize: 2 }).catch((e: unknown) => e);
      expect((error as Error).message).toMatch(/no_three/);
      expect((await snapshot()).map((r) => r.id)).toEqual(['five', 'four']);
    } finally {
      await db.query('alter table knowledge_artifacts drop constraint no_three');
    }
  });
});

describe('the knowledge commands', () => {
  let backend: Backend;
  let kb: string;
  beforeAll(async () => {
    backend = await createBackend('embedded');
    kb = mkdtempSync(join(tmpdir(), 'sg-kb-cli-'));
    writeTree(kb, { 'prompts/one.json': json(prompt('one')), 'prompts/bad.json': json({ id: 'bad' }) });
  });
  afterAll(async () => {
    await backend?.dispose();
    rmSync(kb, { recursive: true, force: true });
  });
  const cli = (args: string[]) => runCli(args, { ...backend.env, SINGULARITY_OFFLINE: '1' });

  it('exit 1 with each problem when a file is invalid (the valid ones still load), 0 with --allow-invalid', async () => {
    const failed = await cli(['migrate-knowledge', '--path', kb]);
    expect(failed.code).toBe(1);
    expect(failed.stderr).toContain('1 invalid file(s)');
    expect(failed.stderr).toContain('prompts/bad.json at /name: required (string), but missing');

    const allowed = await cli(['migrate-knowledge', '--path', kb, '--allow-invalid', '--json']);
    expect(allowed.code, allowed.stderr).toBe(0);
    const run = JSON.parse(allowed.stdout);
    expect(run.state).toBe('completed');
    expect(run.result).toMatchObject({ inserted: 0, unchanged: 1, invalid: expect.arrayContaining([expect.objectContaining({ path: 'prompts/bad.json' })]) });
  });

  it('exit 2 when the folder does not exist', async () => {
    const r = await cli(['migrate-knowledge', '--path', join(kb, 'nope')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`knowledge folder not found: ${join(kb, 'nope')}`);
  });
});
