// Instances and one central database on one PostgreSQL server: learnings arrive once and merge, templates
// come down, and every way the link can be wrong says so. PostgreSQL instances link through postgres_fdw;
// embedded ones, which have no postgres_fdw, through a connection of singularity's own.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { applyCentralLink } from '../src/central/link.js';
import { recordArtifactUse } from '../src/knowledge/usage.js';
import { loadConfig, type Config } from '../src/core/config.js';
import type { Database } from '../src/core/database.js';
import { runTask } from '../src/core/runner.js';
import type { Run } from '../src/core/runs.js';
import { loadTasks } from '../src/tasks/index.js';
import { createBackend, type Backend, type BackendName } from './support/backends.js';
import { ADMIN_URL, PASSWORD } from './support/backup.js';
import { runCli } from './support/cli.js';
import { canRunOwnServer, startOwnServer, type OwnServer } from './support/own-server.js';

interface Instance {
  name: string;
  backend: Backend;
  db: Database;
  config: Config;
  env: Record<string, string>;
}

const opened: Array<{ backend: Backend; db: Database }> = [];
afterAll(async () => {
  for (const { backend, db } of opened.reverse()) {
    await db.close();
    await backend.dispose();
  }
});

async function openBackend(kind: BackendName) {
  const backend = await createBackend(kind);
  const db = await backend.open();
  opened.push({ backend, db });
  return { backend, db };
}

async function instance(kind: BackendName, name: string, centralUrl: string): Promise<Instance> {
  const { backend, db } = await openBackend(kind);
  const env = { ...backend.env, CENTRAL_DATABASE_URL: centralUrl, SINGULARITY_INSTANCE: name };
  const config = await loadConfig({}, env);
  await applyCentralLink(db, config); // what `singularity migrate` does
  return { name, backend, db, config, env };
}

async function run(target: Instance, task: string, args: Record<string, unknown> = {}): Promise<Run> {
  const tasks = await loadTasks(target.config);
  const definition = tasks.find(task)!;
  return runTask({ db: target.db, config: target.config, tasks }, definition, { trigger: 'cli', args: definition.args.parse(args) });
}

/** Analysis results that learn_patterns() turns into one pattern per key, `per` occurrences each. */
async function learn(db: Database, keys: string[], per = 2, confidence = 0.8): Promise<void> {
  await db.query(
    `insert into analysis_results (codebase, kind, subject, finding, confidence)
     select 'app', 'framework', k, '{}', $2 from unnest($1::text[]) k, generate_series(1, $3)`, [keys, confidence, per]);
  await db.query('select learn_patterns(100000)');
}

const count = async (db: Database, sql: string, params: unknown[] = []) => Number((await db.query<{ n: string }>(sql, params))[0]!.n);
/** Patterns whose current version the central database has not received: what a sync still owes it. */
const unsent = (db: Database) => count(db, `select count(*) as n from learned_patterns p where not exists (
  select 1 from learning_outbox o where o.pattern_id = p.id and o.pattern_version = p.version and o.sent_at is not null)`);

describe.skipIf(!ADMIN_URL)('the central database', () => {
  let central: Database;
  let centralUrl: string;
  beforeAll(async () => {
    const c = await openBackend('postgres');
    central = c.db;
    centralUrl = c.backend.config.databaseUrl!;
  });

  for (const [kind, mode] of [['postgres', 'fdw'], ['embedded', 'connection']] as const) {
    describe(`receives learnings from ${kind} instances (${mode})`, () => {
      let a: Instance;
      let b: Instance;
      const names = { a: `${kind}-a`, b: `${kind}-b` };
      const merged = () => central.query<{ pattern_key: string; instances: number; occurrences: number; uses: number; successes: number }>(
        `select pattern_key, instances, occurrences, uses, successes from central_patterns
         where pattern_key like $1 order by pattern_key`, [`${kind}:%`]);
      const received = (name: string) => count(central, 'select count(*) as n from central_learnings where instance = $1', [name]);

      beforeAll(async () => {
        a = await instance(kind, names.a, centralUrl);
        b = await instance(kind, names.b, centralUrl);
      });

      it('links the way the database allows', async () => {
        expect(await a.db.query('select instance, mode from central_link')).toEqual([{ instance: names.a, mode }]);
      });

      it('gets every pattern of both instances once, with the counts of a pattern both learned added up', async () => {
        await learn(a.db, [`${kind}:p1`, `${kind}:p2`, `${kind}:shared`], 2);
        await learn(b.db, [`${kind}:shared`, `${kind}:p3`], 3);
        const first = await run(a, 'sync-learning');
        expect(first.state).toBe('completed');
        expect(first.result).toMatchObject({ enqueued: 3, sent: 3, unsent_left: 0, link: mode });
        expect((await run(b, 'sync-learning')).result).toMatchObject({ sent: 2, link: mode });
        expect(await merged()).toEqual([
          { pattern_key: `${kind}:p1`, instances: 1, occurrences: 2, uses: 0, successes: 0 },
          { pattern_key: `${kind}:p2`, instances: 1, occurrences: 2, uses: 0, successes: 0 },
          { pattern_key: `${kind}:p3`, instances: 1, occurrences: 3, uses: 0, successes: 0 },
          { pattern_key: `${kind}:shared`, instances: 2, occurrences: 5, uses: 0, successes: 0 },
        ]);
        expect(await count(central, 'select learnings_received as n from central_instances where name = $1', [names.a])).toBe(3);
      });

      it('sends nothing on a re-run, and a changed pattern once, replacing (not adding) its earlier counts', async () => {
        expect((await run(a, 'sync-learning')).result).toMatchObject({ enqueued: 0, sent: 0 });
        await learn(a.db, [`${kind}:shared`], 1);
        await a.db.query(`update learned_patterns set uses = 120, successes = 118, version = version + 1 where pattern_key = $1`, [`${kind}:shared`]);
        expect((await run(a, 'sync-learning')).result).toMatchObject({ enqueued: 1, sent: 1 });
        expect((await merged()).find((p) => p.pattern_key === `${kind}:shared`)).toEqual(
          { pattern_key: `${kind}:shared`, instances: 2, occurrences: 6, uses: 120, successes: 118 });
        expect(await received(names.a)).toBe(4);
      });

      it('keeps the outbox when the central database refuses a batch half-way, and sends it once later', async () => {
        await central.query(`create function refuse_poison() returns trigger language plpgsql as $$
          begin if new.pattern_key like '%poison' then raise exception 'central refuses %', new.pattern_key; end if; return new; end $$`);
        await central.query('create trigger refuse_poison before insert on central_learnings for each row execute function refuse_poison()');
        try {
          await learn(a.db, [`${kind}:q1`, `${kind}:q2`, `${kind}:q3-poison`, `${kind}:q4`], 1);
          const failed = await run(a, 'sync-learning');
          expect(failed.state).toBe('discarded');
          expect(failed.error?.message).toContain(`central refuses ${kind}:q3-poison`);
          expect(await unsent(a.db)).toBe(4);
          expect(await received(names.a)).toBe(4);
        } finally {
          await central.query('drop trigger refuse_poison on central_learnings; drop function refuse_poison()');
        }
        expect((await run(a, 'sync-learning')).result).toMatchObject({ sent: 4, unsent_left: 0 });
        expect(await received(names.a)).toBe(8);
      });

      it('ignores a batch sent again after the central database committed it (the instance did not)', async () => {
        const before = await merged();
        await a.db.query('update learning_outbox set sent_at = null, batch_id = null');
        expect((await run(a, 'sync-learning', { batchSize: 100 })).result).toMatchObject({ sent: 8 });
        expect(await received(names.a)).toBe(8);
        expect(await merged()).toEqual(before);
      });

      it('refuses a second database that takes a registered name: exit 2, nothing sent', async () => {
        const twin = await instance(kind, names.a, centralUrl);
        await learn(twin.db, [`${kind}:twin`], 1);
        const cli = await runCli(['sync-learning'], twin.env);
        expect(cli.code).toBe(2);
        expect(cli.stderr).toContain(`another database is registered with the central database as instance '${names.a}'`);
        expect(cli.stderr).toContain('SINGULARITY_INSTANCE');
        expect(await received(names.a)).toBe(8);
        // A scheduler's run (no check before it) fails the same way, and is recorded.
        const scheduled = await runTask({ db: twin.db, config: twin.config, tasks: await loadTasks(twin.config) },
          (await loadTasks(twin.config)).find('sync-learning')!, { trigger: 'scheduler', args: { batchSize: 500 } });
        expect(scheduled.state).toBe('discarded');
        expect(scheduled.error?.message).toContain(`instance '${names.a}'`);
      });

      it('refuses a bad password with exit 2 and never prints it', async () => {
        const url = new URL(centralUrl);
        url.password = 'Wrong-Central-Pw-31';
        const cli = await runCli(['sync-learning'], { ...b.env, CENTRAL_DATABASE_URL: url.toString() });
        expect(cli.code).toBe(2);
        expect(cli.stderr).toContain('password authentication failed');
        expect(cli.stdout + cli.stderr).not.toContain('Wrong-Central-Pw-31');
        expect(cli.stdout + cli.stderr).not.toContain(PASSWORD);
      });

      it('pulls the central templates, adding, updating and deleting only central-sourced rows', async () => {
        const root = mkdtempSync(join(tmpdir(), 'sg-central-templates-'));
        const localRoot = mkdtempSync(join(tmpdir(), 'sg-local-templates-'));
        // Text templates: the templates/ folder holds them.
        const dir = join(root, 'templates');
        const local = join(localRoot, 'templates');
        mkdirSync(dir);
        mkdirSync(local);
        try {
          const centralConfig = { ...(await loadConfig({}, { DATABASE_URL: centralUrl })), role: 'central' as const };
          const load = async (folder: string, db: Database, config: Config) => {
            const tasks = await loadTasks(config);
            const task = tasks.find('sync-templates')!;
            return runTask({ db, config, tasks }, task, { trigger: 'cli', args: task.args.parse({ path: folder }) });
          };
          writeFileSync(join(dir, 'alpha.md'), '# Alpha\n');
          writeFileSync(join(dir, 'beta.md'), '# Beta\n');
          writeFileSync(join(dir, 'shared.md'), '# Shared, as the central has it\n');
          expect((await load(root, central, centralConfig)).state).toBe('completed');
          // The instance's own file (same identity as a central one) and a learned artifact: never touched.
          writeFileSync(join(local, 'shared.md'), '# Shared, as this instance has it\n');
          expect((await load(localRoot, b.db, b.config)).state).toBe('completed');
          await b.db.query(`insert into knowledge_artifacts (artifact_type, artifact_id, version, source, raw, content_hash)
                            values ('pattern', 'learned-one', '1', 'learned', '{}', 'h')`);
          const rowsOf = async () => b.db.query<{ artifact_id: string; source: string; raw: string }>(
            `select artifact_id, source, raw from knowledge_artifacts order by artifact_id, source`);

          const first = await run(b, 'sync-templates');
          expect(first.result).toMatchObject({ source: 'central', added: 2, updated: 0, deleted: 0, kept_local: 1 });
          const ids = (await rowsOf()).map((r) => `${r.artifact_id}:${r.source}`);
          expect(ids).toEqual(expect.arrayContaining(['alpha:central', 'beta:central', 'shared:file', 'learned-one:learned']));

          writeFileSync(join(dir, 'alpha.md'), '# Alpha, revised\n');
          rmSync(join(dir, 'beta.md'));
          writeFileSync(join(dir, 'gamma.md'), '# Gamma\n');
          await load(root, central, centralConfig);
          const dry = await run(b, 'sync-templates', { dryRun: true });
          expect(dry.result).toMatchObject({ added: 1, updated: 1, deleted: 1, dryRun: true });
          const second = await run(b, 'sync-templates');
          expect(second.result).toMatchObject({ added: 1, updated: 1, deleted: 1, kept_local: 1 });
          const after = await rowsOf();
          expect(after.find((r) => r.artifact_id === 'alpha')).toMatchObject({ source: 'central', raw: '# Alpha, revised\n' });
          expect(after.some((r) => r.artifact_id === 'beta')).toBe(false);
          expect(after.find((r) => r.artifact_id === 'shared')).toMatchObject({ source: 'file', raw: '# Shared, as this instance has it\n' });
          expect(after.find((r) => r.artifact_id === 'learned-one')).toMatchObject({ source: 'learned' });
          expect((await run(b, 'sync-templates')).result).toMatchObject({ added: 0, updated: 0, deleted: 0 });
        } finally {
          rmSync(root, { recursive: true, force: true });
          rmSync(localRoot, { recursive: true, force: true });
        }
      });
    });
  }

  describe('export-knowledge', () => {
    let repo: string;
    const git = (...args: string[]) => execFileSync('git', ['-C', repo, ...args], { encoding: 'utf8' }).trim();
    const centralEnv = () => ({ DATABASE_URL: centralUrl, SINGULARITY_ROLE: 'central', SINGULARITY_HOME: join(repo, '..', 'home') });
    const day = new Date().toISOString().slice(0, 10).replace(/-/g, '');

    beforeAll(async () => {
      repo = join(mkdtempSync(join(tmpdir(), 'sg-export-')), 'templates');
      mkdirSync(repo);
      git('init', '-q', '-b', 'main');
      writeFileSync(join(repo, 'README.md'), 'templates\n');
      git('add', 'README.md');
      git('-c', 'user.name=t', '-c', 'user.email=t@t', 'commit', '-q', '-m', 'start');
      // Merged counts as two instances sent them: 'good' only qualifies over both.
      await central.query(`insert into central_instance_patterns (instance, kind, pattern_key, version, occurrences, confidence, uses, successes, first_seen_at, last_seen_at) values
        ('x1', 'framework', 'export:good', 3, 4, 0.9, 80, 78, now(), now()),
        ('x2', 'framework', 'export:good', 1, 2, 0.6, 70, 67, now(), now()),
        ('x1', 'framework', 'export:edge', 1, 1, 0.9, 100, 95, now(), now()),
        ('x1', 'framework', 'export:few-uses', 1, 1, 0.9, 99, 99, now(), now()),
        ('x1', 'framework', 'export:unreliable', 1, 1, 0.9, 200, 180, now(), now())`);
    });
    afterAll(async () => {
      await central.query(`delete from central_instance_patterns where pattern_key like 'export:%'`);
      rmSync(join(repo, '..'), { recursive: true, force: true });
    });

    it('writes exactly the qualifying patterns on a new branch with one commit, leaving the current branch alone', async () => {
      writeFileSync(join(repo, 'uncommitted.txt'), 'work in progress\n');
      const cli = await runCli(['export-knowledge', '--repo', repo, '--json'], centralEnv());
      expect(cli.code, cli.stderr).toBe(0);
      const branch = `learned-patterns-${day}-1`;
      expect(git('branch', '--show-current')).toBe('main');
      expect(git('status', '--porcelain')).toBe('?? uncommitted.txt');
      expect(git('rev-list', '--count', `main..${branch}`)).toBe('1');
      const files = git('diff', '--name-only', `main..${branch}`).split('\n');
      // Other tests' patterns qualify too (two instances' 'shared' with 120 uses): the thresholds decide, not the test.
      const expected = await central.query<{ id: string }>(
        `select learned_artifact_id(kind, pattern_key) as id from central_patterns where uses >= 100 and success_rate >= 0.95 order by 1`);
      expect(files).toEqual(expected.map((e) => `templates_data/learned/learned_pattern/${e.id}.json`));
      const ours = files.filter((f) => f.includes('.export-'));
      expect(ours.map((f) => f.split('/').pop()!.replace(/-[0-9a-f]{8}\.json$/, ''))).toEqual(['framework.export-edge', 'framework.export-good']);
      const good = JSON.parse(git('show', `${branch}:${ours[1]}`));
      expect(good).toMatchObject({ kind: 'framework', pattern_key: 'export:good', uses: 150, successes: 145, instances: 2, occurrences: 6, success_rate: 0.9667 });
      expect(good.confidence).toBeCloseTo(0.8, 4);
      // Loaded on the central database, the promoted file is a valid artifact of the knowledge base.
      const folder = mkdtempSync(join(tmpdir(), 'sg-promoted-'));
      mkdirSync(join(folder, 'learned', 'learned_pattern'), { recursive: true });
      writeFileSync(join(folder, 'learned', 'learned_pattern', 'good.json'), git('show', `${branch}:${ours[1]}`));
      const load = await runCli(['load-templates', '--path', folder], centralEnv());
      rmSync(folder, { recursive: true, force: true });
      expect(load.code, load.stderr + load.stdout).toBe(0);
      expect(load.stdout + load.stderr).toContain('1 loaded (1 new');
    });

    it('makes no branch when nothing qualifies, and says why', async () => {
      const before = git('branch', '--list');
      const cli = await runCli(['export-knowledge', '--repo', repo, '--min-uses', '100000'], centralEnv());
      expect(cli.code).toBe(0);
      expect(cli.stdout + cli.stderr).toContain('no branch: no artifact qualifies (0 patterns with 100000+ uses and 95%+ success)');
      expect(git('branch', '--list')).toBe(before);
    });

    it('runs in the central role only, and needs a repository: exit 2', async () => {
      const instanceRole = await runCli(['export-knowledge', '--repo', repo], { ...centralEnv(), SINGULARITY_ROLE: 'instance' });
      expect(instanceRole.code).toBe(2);
      expect(instanceRole.stderr).toContain('export-knowledge runs in the central role only, and this is the instance role');
      const noRepo = await runCli(['export-knowledge'], centralEnv());
      expect(noRepo.code).toBe(2);
      expect(noRepo.stderr).toContain('export-knowledge needs a git repository');
    });
  });

  it('walks one pattern from an analysis result on an instance to an exported JSON file', async () => {
    const a = await instance('postgres', 'loop-instance', centralUrl);
    await a.db.query(`insert into analysis_results (codebase, kind, subject, finding, confidence)
      select 'app', 'framework', 'src/app' || i || '.ts', '{"pattern": "loop:react-hooks", "description": "Hooks at the top level"}', 0.9
      from generate_series(1, 3) i`);
    expect((await run(a, 'learn-patterns')).result).toMatchObject({ new_patterns: 1 });
    const published = await run(a, 'sync-patterns', { out: join(a.backend.config.home, 'patterns') });
    expect(published.state).toBe('completed');
    const [artifact] = await a.db.query<{ artifact_id: string }>(`select artifact_id from knowledge_artifacts where source = 'learned' and content ->> 'pattern_key' = 'loop:react-hooks'`);
    // An agent uses the artifact: 119 times well, once not.
    await recordArtifactUse(a.db, { type: 'learned_pattern', id: artifact!.artifact_id, success: true, uses: 119 });
    await recordArtifactUse(a.db, { type: 'learned_pattern', id: artifact!.artifact_id, success: false });
    expect((await run(a, 'sync-learning')).result).toMatchObject({ sent: 1, link: 'fdw' });
    expect(await central.query(`select uses, successes from central_patterns where pattern_key = 'loop:react-hooks'`)).toEqual([{ uses: 120, successes: 119 }]);

    const repo = mkdtempSync(join(tmpdir(), 'sg-loop-'));
    try {
      execFileSync('git', ['-C', repo, 'init', '-q', '-b', 'main']);
      execFileSync('git', ['-C', repo, '-c', 'user.name=t', '-c', 'user.email=t@t', 'commit', '-q', '--allow-empty', '-m', 'start']);
      const cli = await runCli(['export-knowledge', '--repo', repo], { DATABASE_URL: centralUrl, SINGULARITY_ROLE: 'central', SINGULARITY_HOME: join(repo, '.home') });
      expect(cli.code, cli.stderr).toBe(0);
      const branch = execFileSync('git', ['-C', repo, 'branch', '--list', 'learned-patterns-*', '--format=%(refname:short)'], { encoding: 'utf8' }).trim();
      const file = `templates_data/learned/learned_pattern/${artifact!.artifact_id}.json`;
      const exported = JSON.parse(execFileSync('git', ['-C', repo, 'show', `${branch}:${file}`], { encoding: 'utf8' }));
      expect(exported).toMatchObject({ id: artifact!.artifact_id, pattern_key: 'loop:react-hooks', description: 'Hooks at the top level', uses: 120, successes: 119, instances: 1, occurrences: 3 });
    } finally {
      rmSync(repo, { recursive: true, force: true });
    }
  });

  it('says the embedded database has no postgres_fdw when the link is set to fdw: exit 2', async () => {
    const { backend } = await openBackend('embedded');
    const cli = await runCli(['sync-learning'], { ...backend.env, CENTRAL_DATABASE_URL: centralUrl, SINGULARITY_CENTRAL_LINK: 'fdw' });
    expect(cli.code).toBe(2);
    expect(cli.stderr).toContain('the central link is set to fdw, but the embedded database has no postgres_fdw');
  });

  it('without a central database, sync-learning enqueues nothing and says so', async () => {
    const { backend, db } = await openBackend('embedded');
    await learn(db, ['alone'], 1);
    const cli = await runCli(['sync-learning'], backend.env);
    expect(cli.code).toBe(0);
    expect(cli.stdout + cli.stderr).toContain('no central database linked (CENTRAL_DATABASE_URL): nothing enqueued');
    expect(await count(db, 'select count(*) as n from learning_outbox')).toBe(0);
  });
});

describe.skipIf(!canRunOwnServer)('a central database that goes down mid-sync', () => {
  let server: OwnServer;
  beforeAll(async () => {
    server = await startOwnServer({ withoutPgCron: true });
    const c = await createBackend('postgres');
    // The central database lives on a server of the test's own, so that it can be stopped.
    const centralUrl = new URL(server.url);
    centralUrl.pathname = '/postgres';
    const { openDatabase } = await import('../src/core/db.js');
    const db = await openDatabase({ ...c.config, databaseUrl: centralUrl.toString() });
    await db.close();
    await c.dispose();
  }, 120_000);
  afterAll(() => server?.dispose());

  for (const kind of ['postgres', 'embedded'] as const) {
    it(`fails the run and keeps the outbox (${kind} instance); a re-run after it is back sends each learning once`, async () => {
      const { openDatabase } = await import('../src/core/db.js');
      const centralUrl = new URL(server.url);
      centralUrl.pathname = '/postgres';
      const target = await instance(kind, `down-${kind}`, centralUrl.toString());
      const central = await openDatabase({ ...target.config, databaseUrl: centralUrl.toString() });
      try {
        await learn(target.db, Array.from({ length: 50 }, (_, i) => `down-${kind}:${i}`), 1);
        // The central database takes its time with the batch, and is stopped while it does.
        await central.query(`create or replace function slow_down() returns trigger language plpgsql as $$ begin perform pg_sleep(5); return null; end $$`);
        await central.query('create trigger slow_down before insert on central_learnings for each statement execute function slow_down()');
        const sync = run(target, 'sync-learning');
        await new Promise((r) => setTimeout(r, 1500));
        await central.close();
        server.stop('immediate');
        const failed = await sync;
        expect(failed.state).toBe('discarded');
        expect(failed.error?.message).toMatch(/server closed the connection|terminat|Connection terminated|ECONNRESET|connection/i);
        expect(await unsent(target.db)).toBe(50);

        server.start();
        const back = await openDatabase({ ...target.config, databaseUrl: centralUrl.toString() });
        try {
          await back.query('drop trigger slow_down on central_learnings');
          expect((await run(target, 'sync-learning')).result).toMatchObject({ sent: 50, unsent_left: 0 });
          expect((await run(target, 'sync-learning')).result).toMatchObject({ sent: 0 });
          expect(await count(back, 'select count(*) as n from central_learnings where instance = $1', [`down-${kind}`])).toBe(50);
        } finally {
          await back.close();
        }
      } finally {
        await central.close().catch(() => {});
      }
    }, 120_000);
  }
});
