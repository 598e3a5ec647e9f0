// The embedded server multiplexes many PostgreSQL clients onto PGlite's single session. Clients must
// never see each other's statements, transactions or failures.
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { serialize } from 'pg-protocol';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { Database } from '../src/core/database.js';
import { embeddedPaths, SOCKET_PORT } from '../src/core/embedded/paths.js';
import { lastReadyStatus, withoutReadyAfterError } from '../src/core/embedded/server.js';
import { createBackend, type Backend } from './support/backends.js';
import { BIN, cleanEnv, runCli } from './support/cli.js';

describe('lastReadyStatus', () => {
  const ready = (status: string) => Buffer.from([0x5a, 0, 0, 0, 5, status.charCodeAt(0)]);
  const complete = Buffer.concat([Buffer.from([0x43, 0, 0, 0, 13]), Buffer.from('SELECT 1\0')]);

  it('reads the transaction status of the final ReadyForQuery', () => {
    expect(lastReadyStatus(Buffer.concat([complete, ready('I')]))).toBe('I');
    expect(lastReadyStatus(Buffer.concat([complete, ready('T')]))).toBe('T');
    expect(lastReadyStatus(Buffer.concat([ready('I'), complete, ready('E')]))).toBe('E');
  });

  it('finds none in a response that has none (a Parse without Sync)', () => {
    expect(lastReadyStatus(Buffer.from([0x31, 0, 0, 0, 4]))).toBeUndefined();
    expect(lastReadyStatus(complete)).toBeUndefined();
  });
});

describe('withoutReadyAfterError', () => {
  const message = (type: string, body = '') => Buffer.concat([Buffer.from([type.charCodeAt(0), 0, 0, 0, 4 + body.length]), Buffer.from(body)]);

  it('cuts the ReadyForQuery that follows an error (PostgreSQL sends it only at Sync)', () => {
    const { response, failed } = withoutReadyAfterError(Buffer.concat([message('E', 'Sboom\0\0'), message('Z', 'E')]));
    expect(failed).toBe(true);
    expect(Buffer.from(response)).toEqual(message('E', 'Sboom\0\0'));
  });

  it('leaves a response without an error as it is', () => {
    const bound = message('2');
    expect(withoutReadyAfterError(bound)).toEqual({ response: bound, failed: false });
  });
});

describe('the embedded server with many clients', () => {
  let backend: Backend;
  let db: Database;

  beforeAll(async () => {
    backend = await createBackend('embedded');
    db = await backend.open();
    await db.query('create table if not exists mux_test (who text not null, i int not null)');
  });
  afterAll(async () => {
    await db?.close();
    await backend?.dispose();
  });

  it('keeps concurrent transactions and parameterized statements of different clients apart', async () => {
    const handles = await Promise.all([1, 2, 3].map(() => backend.open({ migrate: false })));
    const work = async (handle: Database, who: string) => {
      for (let i = 0; i < 25; i++) {
        await handle.withClient(async (client) => {
          await client.query('begin');
          const echoed = await client.query('select $1::text as who, $2::int as i', [who, i]);
          expect(echoed.rows[0]).toEqual({ who, i });
          await client.query('insert into mux_test (who, i) values ($1, $2)', [who, i]);
          // Rows of a transaction that is still open are this client's alone to see... and the single
          // session means nobody else may run until it ends.
          const mine = await client.query('select count(*)::int as n from mux_test where who = $1', [who]);
          expect(mine.rows[0].n).toBe(i + 1);
          await client.query(i % 5 === 4 ? 'rollback' : 'commit');
          if (i % 5 === 4) await handle.query('insert into mux_test (who, i) values ($1, $2)', [who, i]);
        });
      }
    };
    await Promise.all(handles.flatMap((h, n) => [work(h, `a${n}`), work(h, `b${n}`)]));
    const counts = await db.query<{ who: string; n: number; sum: number }>(
      'select who, count(*)::int as n, sum(i)::int as sum from mux_test group by who order by who',
    );
    expect(counts).toHaveLength(6);
    for (const row of counts) expect(row).toMatchObject({ n: 25, sum: (24 * 25) / 2 });
    await Promise.all(handles.map((h) => h.close()));
  });

  it('rolls back the open transaction of a client that disconnects, and lets the others go on', async () => {
    const paths = embeddedPaths(backend.config.home);
    const client = new pg.Client({ host: paths.socketDir, port: SOCKET_PORT, user: 'postgres', database: 'postgres' });
    client.on('error', () => {}); // the connection is killed on purpose below
    await client.connect();
    await client.query('begin');
    await client.query("insert into mux_test (who, i) values ('vanished', 1)");
    // Kill the connection without a Terminate message, as a crashed process would.
    (client as unknown as { connection: { stream: { destroy(): void } } }).connection.stream.destroy();
    const rows = await db.query("select * from mux_test where who = 'vanished'");
    expect(rows).toEqual([]);
    const [{ ok }] = (await db.query<{ ok: number }>('select 1 as ok')) as [{ ok: number }];
    expect(ok).toBe(1);
  });

  it('reports a failed statement to its client only; the session stays usable', async () => {
    const other = await backend.open({ migrate: false });
    await expect(db.query('select * from no_such_table')).rejects.toMatchObject({ code: '42P01' });
    await expect(other.withClient(async (c) => {
      await c.query('begin');
      await c.query('select 1/0').catch(() => {});
      return c.query('rollback');
    })).resolves.toBeDefined();
    expect(await other.query('select 2 as two')).toEqual([{ two: 2 }]);
    await other.close();
  });

  it('answers a failed extended-protocol batch as PostgreSQL does: one ReadyForQuery, at its Sync', async () => {
    await db.query('create table if not exists failing_batch (x int check (x < 5))');
    const socket = connect(embeddedPaths(backend.config.home).socketPath);
    let received = Buffer.alloc(0);
    socket.on('data', (chunk) => (received = Buffer.concat([received, chunk])));
    const types = () => {
      const seen: string[] = [];
      for (let at = 0; at + 5 <= received.length; at += 1 + received.readInt32BE(at + 1)) {
        seen.push(String.fromCharCode(received[at]!) + (received[at] === 0x5a ? String.fromCharCode(received[at + 5]!) : ''));
      }
      return seen;
    };
    const exchange = async (...messages: Buffer[]) => {
      received = Buffer.alloc(0);
      socket.write(Buffer.concat(messages));
      await vi.waitUntil(() => types().some((t) => t.startsWith('Z')));
      await new Promise((r) => setTimeout(r, 200)); // time for a stray second ReadyForQuery to arrive
      return types();
    };
    try {
      await exchange(serialize.startup({ user: 'postgres', database: 'postgres' }));
      expect(await exchange(serialize.query('begin'))).toEqual(['C', 'ZT']);
      const batch = await exchange(
        serialize.parse({ text: 'insert into failing_batch values ($1)' }), serialize.bind({ values: ['9'] }),
        serialize.describe({ type: 'P' }), serialize.execute({}), serialize.sync(),
      );
      expect(batch).toEqual(['1', '2', 'n', 'E', 'ZE']);
      expect(await exchange(serialize.query('rollback'))).toEqual(['C', 'ZI']);
    } finally {
      socket.destroy();
    }
  });
});

describe('starting the embedded database from the CLI', () => {
  // The first command on a new home waits seconds for the server to create its data directory.
  it('says so on a terminal, first that it creates the database, then that it starts it; piped, it says nothing', async () => {
    const home = mkdtempSync(join(tmpdir(), 'sg-start-'));
    const env = cleanEnv({ SINGULARITY_HOME: home, SINGULARITY_EMBEDDED_IDLE_MS: '300' });
    // script(1) runs the command on a pseudo-terminal; stderr and stdout both arrive in its output.
    const onTerminal = () => new Promise<string>((resolve, reject) =>
      execFile('script', ['-qec', `'${process.execPath}' '${BIN}' migrate`, '/dev/null'], { env, timeout: 60_000 },
        (error, stdout) => (error ? reject(error) : resolve(stdout))));
    // The server stops on its own once idle; the next command then has to start it again.
    const stopped = async () => {
      while (existsSync(embeddedPaths(home).socketPath)) await new Promise((r) => setTimeout(r, 100));
    };
    try {
      const first = await onTerminal();
      expect(first).toContain(`creating the embedded database in ${home}`);
      expect(first).toContain('schema is up to date');
      await stopped();
      const second = await onTerminal();
      expect(second).toContain(`starting the embedded database in ${home}...`);
      expect(second).not.toContain('creating');
      await stopped();
      const piped = await runCli(['migrate'], { SINGULARITY_HOME: home, SINGULARITY_EMBEDDED_IDLE_MS: '300' });
      expect(piped.code).toBe(0);
      expect(piped.stderr).not.toContain('embedded database');
      await stopped();
    } finally {
      rmSync(home, { recursive: true, force: true });
    }
  });
});
