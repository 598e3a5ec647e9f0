// The embedded server's lock under a real race: processes that try to take it at the same moment.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { runNode } from './support/cli.js';

const RACER = fileURLToPath(new URL('./fixtures/race-lock.mjs', import.meta.url));

describe('the embedded server lock', () => {
  it('goes to exactly one of several processes racing for it, round after round', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sg-lock-'));
    try {
      for (let round = 0; round < 10; round++) {
        const lockFile = join(dir, `round-${round}.lock`);
        const startAt = Date.now() + 400; // after every racer has started
        const results = await Promise.all(Array.from({ length: 4 }, () => runNode([RACER, lockFile, String(startAt), '4'])));
        expect(results.map((r) => r.stderr)).toEqual(['', '', '', '']);
        expect(results.filter((r) => r.stdout === 'won'), `round ${round}`).toHaveLength(1);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);
});

describe('the embedded server lock left by a dead process', () => {
  it('goes to exactly one of several processes racing to take it over', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sg-lock-'));
    try {
      for (let round = 0; round < 10; round++) {
        const lockFile = join(dir, `round-${round}.lock`);
        writeFileSync(lockFile, JSON.stringify({ pid: 2 ** 22 + 12345, host: hostname() })); // a pid no process has
        const startAt = Date.now() + 400;
        const results = await Promise.all(Array.from({ length: 4 }, () => runNode([RACER, lockFile, String(startAt), '4'])));
        expect(results.filter((r) => r.stdout === 'won'), `round ${round}`).toHaveLength(1);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);
});
