// The central link as an operator sees it: CENTRAL_DATABASE_URL read and its password kept secret, and
// doctor's `central` check saying whether the central database answers and what waits in the outbox.
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../src/core/config.js';
import { ConfigError } from '../src/core/errors.js';
import { checkCentral } from '../src/doctor/central.js';
import { applyCentralLink } from '../src/central/link.js';
import type { Database } from '../src/core/database.js';
import { backendNames, onBackend, type Backend } from './support/backends.js';
import { ADMIN_URL, PASSWORD } from './support/backup.js';
import { runCli } from './support/cli.js';

describe('CENTRAL_DATABASE_URL', () => {
  it('is read from the environment over the config file, and a bad one is refused without echoing it', async () => {
    const config = await loadConfig({}, { CENTRAL_DATABASE_URL: 'postgres://me:s3cret-central@central.internal:5432/central' });
    expect(config.central.url).toBe('postgres://me:s3cret-central@central.internal:5432/central');
    await expect(loadConfig({}, { CENTRAL_DATABASE_URL: 'mysql://me:s3cret@host/db' })).rejects.toThrow(
      new ConfigError('CENTRAL_DATABASE_URL must start with postgres:// or postgresql://, not mysql://'));
    const error = await loadConfig({}, { CENTRAL_DATABASE_URL: 'not a url s3cret' }).catch((e: Error) => e);
    expect(error.message).toBe('CENTRAL_DATABASE_URL is not a valid URL');
  });
});

for (const backendName of backendNames) {
  describe(`doctor's central check (${backendName})`, () => {
    let db: Database;
    let backend: Backend;
    onBackend(backendName, (opened) => ({ db, backend } = opened));

    it('says none is configured, or that this is the central, with the outbox size', async () => {
      const config = await loadConfig({}, backend.env);
      expect(await checkCentral(db, config)).toMatchObject({ verdict: 'ok', detail: 'none configured (CENTRAL_DATABASE_URL): learnings stay in this instance; 0 learnings unsent' });
      expect((await checkCentral(db, { ...config, role: 'central' })).detail).toBe('this is the central database (role central); 0 instances registered');
    });

    it('fails for a central database that does not answer, never showing its password', async () => {
      const url = 'postgres://learner:Unseen-Pass-77@127.0.0.1:1/central';
      const config = await loadConfig({}, { ...backend.env, CENTRAL_DATABASE_URL: url });
      const check = await checkCentral(db, config);
      expect(check.verdict).toBe('fail');
      expect(check.detail).toMatch(/^postgres:\/\/learner:\*\*\*@127\.0\.0\.1:1\/central does not answer: .*ECONNREFUSED/);
      expect(JSON.stringify(check)).not.toContain('Unseen-Pass-77');
      const doctor = await runCli(['doctor', '--json'], { ...backend.env, CENTRAL_DATABASE_URL: url });
      expect(doctor.code).toBe(1);
      expect(JSON.parse(doctor.stdout).checks.find((c: { id: string }) => c.id === 'central').verdict).toBe('fail');
      expect(doctor.stdout + doctor.stderr).not.toContain('Unseen-Pass-77');
    });

    it.skipIf(!ADMIN_URL)('says a reachable central database answers, whether linked, how, and never the password', async () => {
      const config = await loadConfig({}, { ...backend.env, CENTRAL_DATABASE_URL: ADMIN_URL, SINGULARITY_INSTANCE: 'doctor-test' });
      const unlinked = await checkCentral(db, config);
      expect(unlinked.verdict).toBe('warn');
      expect(unlinked.detail).toMatch(/^postgres:\/\/postgres:\*\*\*@127\.0\.0\.1:\d+\/postgres answers \(PostgreSQL 15\.\d+.*\), but this database is not linked to it yet; 0 learnings unsent$/);
      await applyCentralLink(db, config);
      try {
        const check = await checkCentral(db, config);
        expect(check.verdict).toBe('ok');
        const port = new URL(ADMIN_URL!).port;
        expect(check.detail).toContain(backendName === 'postgres'
          ? `; instance 'doctor-test' through postgres_fdw server host=127.0.0.1 port=${port} dbname=postgres user=postgres; never synced; 0 learnings unsent`
          : "; instance 'doctor-test' through a connection of its own (no postgres_fdw here); never synced; 0 learnings unsent");
        expect(JSON.stringify(check)).not.toContain(PASSWORD);
        const env = { ...backend.env, CENTRAL_DATABASE_URL: ADMIN_URL!, SINGULARITY_INSTANCE: 'doctor-test' };
        const status = await runCli(['status', '--json'], env);
        expect(JSON.parse(status.stdout).central).toMatchObject({ link: { instance: 'doctor-test', mode: backendName === 'postgres' ? 'fdw' : 'connection' }, unsent: 0 });
        expect(status.stdout + status.stderr).not.toContain(PASSWORD);
        const text = await runCli(['status'], env);
        expect(text.stdout).toMatch(/central: postgres:\/\/postgres:\*\*\*@127\.0\.0\.1:\d+\/postgres as instance 'doctor-test' \((postgres_fdw|own connection)\), last sync never, 0 unsent/);
      } finally {
        await db.query('select unlink_central()');
      }
    });
  });
}
