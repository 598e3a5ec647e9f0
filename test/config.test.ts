// Configuration layering: defaults < config file < environment < flags. No database here: every case
// passes its own cwd (a temp dir) and env object.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CONFIG_FILE_NAME, loadConfig } from '../src/core/config.js';
import { ConfigError } from '../src/core/errors.js';
import { redact } from '../src/core/redact.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'sg-config-'));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

function writeJson(path: string, value: unknown): string {
  writeFileSync(path, typeof value === 'string' ? value : JSON.stringify(value));
  return path;
}

async function configError(promise: Promise<unknown>): Promise<ConfigError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error, 'expected loadConfig to fail with a ConfigError').toBeInstanceOf(ConfigError);
  expect((error as ConfigError).exitCode).toBe(2);
  return error as ConfigError;
}

describe('loadConfig: defaults', () => {
  it('uses the embedded database under ./.singularity with the documented timings when nothing is configured', async () => {
    const config = await loadConfig({}, {}, dir);
    expect(config.databaseUrl).toBeUndefined();
    expect(config.configPath).toBeUndefined();
    expect(config.home).toBe(join(dir, '.singularity'));
    expect(config.embedded).toEqual({ idleTimeoutMs: 30_000, startTimeoutMs: 60_000 });
    expect(config.runs).toEqual({ heartbeatMs: 5_000, staleAfterMs: 60_000, stopGraceMs: 5_000 });
  });
});

describe('loadConfig: the config file', () => {
  it('reads ./singularity.config.json from the working directory when present', async () => {
    writeJson(join(dir, CONFIG_FILE_NAME), {
      databaseUrl: 'postgres://app@db.internal:5433/app',
      embedded: { idleTimeoutMs: 1234 },
      runs: { heartbeatMs: 250 },
    });
    const config = await loadConfig({}, {}, dir);
    expect(config.configPath).toBe(join(dir, CONFIG_FILE_NAME));
    expect(config.databaseUrl).toBe('postgres://app@db.internal:5433/app');
    // Keys the file sets win; the ones it leaves out keep their defaults.
    expect(config.embedded).toEqual({ idleTimeoutMs: 1234, startTimeoutMs: 60_000 });
    expect(config.runs).toEqual({ heartbeatMs: 250, staleAfterMs: 60_000, stopGraceMs: 5_000 });
  });

  it('resolves a relative home in the file against the file\'s folder, not the working directory', async () => {
    mkdirSync(join(dir, 'etc'));
    const file = writeJson(join(dir, 'etc', 'sg.json'), { home: 'data' });
    const config = await loadConfig({ config: 'etc/sg.json' }, {}, dir);
    expect(config.configPath).toBe(file);
    expect(config.home).toBe(join(dir, 'etc', 'data'));
  });

  it('takes the file from SINGULARITY_CONFIG, and --config over SINGULARITY_CONFIG', async () => {
    writeJson(join(dir, 'env.json'), { home: 'from-env-file' });
    writeJson(join(dir, 'flag.json'), { home: 'from-flag-file' });
    writeJson(join(dir, CONFIG_FILE_NAME), { home: 'from-default-file' });
    expect((await loadConfig({}, { SINGULARITY_CONFIG: 'env.json' }, dir)).home).toBe(join(dir, 'from-env-file'));
    expect((await loadConfig({ config: 'flag.json' }, { SINGULARITY_CONFIG: 'env.json' }, dir)).home).toBe(
      join(dir, 'from-flag-file'),
    );
    expect((await loadConfig({}, {}, dir)).home).toBe(join(dir, 'from-default-file'));
  });

  it('fails with exit 2 when a named file does not exist', async () => {
    const error = await configError(loadConfig({ config: 'missing.json' }, {}, dir));
    expect(error.message).toContain(join(dir, 'missing.json'));
    const fromEnv = await configError(loadConfig({}, { SINGULARITY_CONFIG: 'gone.json' }, dir));
    expect(fromEnv.message).toContain('gone.json');
  });

  it('fails with exit 2 naming the file when it is not JSON', async () => {
    const file = writeJson(join(dir, 'bad.json'), '{ "home": ');
    const error = await configError(loadConfig({ config: 'bad.json' }, {}, dir));
    expect(error.message).toBe(`${file}:1:11: not valid JSON: Unexpected end of JSON input`);
  });

  it('a syntax error is named by line and column, where an editor goes to it', async () => {
    const file = writeJson(join(dir, 'comma.json'), '{\n  "backup": {\n    "dir": "x",\n  }\n}\n');
    const error = await configError(loadConfig({ config: 'comma.json' }, {}, dir));
    expect(error.message).toBe(`${file}:4:3: not valid JSON: Expected double-quoted property name`);
    expect(error.hint).toContain('Fix the syntax there');
  });

  it('fails with exit 2 naming the file and the JSON pointer of a value of the wrong type', async () => {
    const file = writeJson(join(dir, 'types.json'), { runs: { heartbeatMs: 'often' } });
    const error = await configError(loadConfig({ config: 'types.json' }, {}, dir));
    expect(error.message).toContain(file);
    expect(error.message).toContain('/runs/heartbeatMs');
    const negative = writeJson(join(dir, 'negative.json'), { embedded: { startTimeoutMs: -5 } });
    const error2 = await configError(loadConfig({ config: negative }, {}, dir));
    expect(error2.message).toContain('/embedded/startTimeoutMs');
  });

  it('fails with exit 2 naming the file, the place and the key when a key is unknown', async () => {
    const file = writeJson(join(dir, 'unknown.json'), { databseUrl: 'postgres://h/db' });
    const error = await configError(loadConfig({ config: 'unknown.json' }, {}, dir));
    expect(error.message).toContain(file);
    expect(error.message).toContain('databseUrl');
    const nested = writeJson(join(dir, 'nested.json'), { runs: { heartbeat: 100 } });
    const error2 = await configError(loadConfig({ config: nested }, {}, dir));
    expect(error2.message).toContain(nested);
    expect(error2.message).toContain('/runs');
    expect(error2.message).toContain('heartbeat');
  });

  it('validates a databaseUrl from the file like one from the environment', async () => {
    writeJson(join(dir, CONFIG_FILE_NAME), { databaseUrl: 'mysql://root:FileSecret99@h/db' });
    const error = await configError(loadConfig({}, {}, dir));
    expect(error.message).toMatch(/postgres:\/\//);
    expect(error.message + (error.hint ?? '')).not.toContain('FileSecret99');
  });
});

describe('loadConfig: environment and flags', () => {
  it('lets the environment override the file and flags override both', async () => {
    writeJson(join(dir, CONFIG_FILE_NAME), {
      databaseUrl: 'postgres://file@file-host/db',
      home: 'file-home',
      embedded: { idleTimeoutMs: 1111, startTimeoutMs: 2222 },
      runs: { heartbeatMs: 3333, staleAfterMs: 4444, stopGraceMs: 5555 },
    });
    const env = {
      DATABASE_URL: 'postgres://env@env-host/db',
      SINGULARITY_HOME: 'env-home',
      SINGULARITY_EMBEDDED_IDLE_MS: '11',
      SINGULARITY_EMBEDDED_START_TIMEOUT_MS: '22',
      SINGULARITY_HEARTBEAT_MS: '33',
      SINGULARITY_STALE_AFTER_MS: '44',
      SINGULARITY_STOP_GRACE_MS: '55',
    };
    const fromEnv = await loadConfig({}, env, dir);
    expect(fromEnv.databaseUrl).toBe('postgres://env@env-host/db');
    expect(fromEnv.home).toBe(join(dir, 'env-home'));
    expect(fromEnv.embedded).toEqual({ idleTimeoutMs: 11, startTimeoutMs: 22 });
    expect(fromEnv.runs).toEqual({ heartbeatMs: 33, staleAfterMs: 44, stopGraceMs: 55 });

    const fromFlags = await loadConfig({ home: 'flag-home' }, env, dir);
    expect(fromFlags.home).toBe(join(dir, 'flag-home'));

    // Without the environment the file's values stand.
    const fromFile = await loadConfig({}, {}, dir);
    expect(fromFile.databaseUrl).toBe('postgres://file@file-host/db');
    expect(fromFile.home).toBe(join(dir, 'file-home'));
    expect(fromFile.runs.heartbeatMs).toBe(3333);
  });

  it('resolves SINGULARITY_HOME and --home against the working directory; absolute ones stay', async () => {
    expect((await loadConfig({}, { SINGULARITY_HOME: 'h' }, dir)).home).toBe(join(dir, 'h'));
    expect((await loadConfig({ home: '/srv/sg' }, {}, dir)).home).toBe('/srv/sg');
  });

  it('ignores empty environment variables', async () => {
    const config = await loadConfig({}, { DATABASE_URL: '', SINGULARITY_HEARTBEAT_MS: '' }, dir);
    expect(config.databaseUrl).toBeUndefined();
    expect(config.runs.heartbeatMs).toBe(5_000);
  });

  it.each([
    'SINGULARITY_EMBEDDED_IDLE_MS',
    'SINGULARITY_EMBEDDED_START_TIMEOUT_MS',
    'SINGULARITY_HEARTBEAT_MS',
    'SINGULARITY_STALE_AFTER_MS',
    'SINGULARITY_STOP_GRACE_MS',
  ])('refuses a %s that is not a positive whole number, with exit 2 naming it', async (name) => {
    for (const bad of ['abc', '0', '-5', '1.5', '10ms']) {
      const error = await configError(loadConfig({}, { [name]: bad }, dir));
      expect(error.message).toContain(name);
      expect(error.message).toContain(`'${bad}'`);
    }
  });

  it('refuses a DATABASE_URL that is not a URL without repeating it', async () => {
    const error = await configError(loadConfig({}, { DATABASE_URL: 'not a url VerySecret123' }, dir));
    expect(error.message).toContain('DATABASE_URL');
    expect(`${error.message}\n${error.hint}`).not.toContain('VerySecret123');
    expect(error.hint).toMatch(/postgres:\/\//);
  });

  it('refuses a DATABASE_URL of another database, without the password', async () => {
    const error = await configError(loadConfig({}, { DATABASE_URL: 'mysql://a:VerySecret123@h/db' }, dir));
    expect(error.message).toContain('postgres://');
    expect(error.message).toContain('mysql://');
    expect(`${error.message}\n${error.hint ?? ''}`).not.toContain('VerySecret123');
  });

  it('accepts postgres:// and postgresql:// and registers the password so no output shows it', async () => {
    const a = await loadConfig({}, { DATABASE_URL: 'postgresql://u:Qx7%40Lantern@db.example.com/app' }, dir);
    expect(a.databaseUrl).toBe('postgresql://u:Qx7%40Lantern@db.example.com/app');
    // The decoded password and its encoded form are both hidden from now on.
    expect(redact('auth failed for Qx7@Lantern')).not.toContain('Qx7@Lantern');
    expect(redact('auth failed for Qx7%40Lantern')).not.toContain('Qx7%40Lantern');
  });

  it('handles a password with a stray % (not a valid escape) as a usage error, never a crash', async () => {
    // The URL parser accepts postgres://u:50%off@host/db; decoding the password then throws a URIError.
    const result = await loadConfig({}, { DATABASE_URL: 'postgres://u:Very%Secret123@db.example.com/app' }, dir).then(
      (config) => ({ config }),
      (error: unknown) => ({ error }),
    );
    if ('error' in result) {
      expect(result.error).toBeInstanceOf(ConfigError);
      expect(String((result.error as Error).message)).not.toContain('Secret123');
    } else {
      expect(redact('password Very%Secret123 refused')).not.toContain('Secret123');
    }
  });
});
