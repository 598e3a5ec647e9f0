import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseAndChunk } from '../src/ingest/parse.js';
import { readSource } from '../src/ingest/source.js';

const dir = mkdtempSync(join(tmpdir(), 'ingest-source-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('readSource', () => {
  it('returns the text and the hash of the bytes, without a byte-order mark', async () => {
    const bytes = Buffer.from('\uFEFFdef f():\n    return 1\n');
    writeFileSync(join(dir, 'bom.py'), bytes);
    const read = await readSource(join(dir, 'bom.py'));
    expect(read).toMatchObject({ ok: true, text: 'def f():\n    return 1\n', size: bytes.length, contentHash: createHash('sha256').update(bytes).digest('hex') });
    expect(read.ok && read.invalidUtf8).toBeUndefined();
  });

  it('decodes invalid UTF-8 with replacement characters and says where the first bad byte is', async () => {
    writeFileSync(join(dir, 'latin1.c'), Buffer.concat([Buffer.from('/* caf'), Buffer.from([0xe9]), Buffer.from(' */\nint main(void) { return 0; }\n')]));
    const read = await readSource(join(dir, 'latin1.c'));
    expect(read).toMatchObject({ ok: true, invalidUtf8: { offset: 6 } });
    if (!read.ok) return;
    expect(read.text.startsWith('/* caf\uFFFD */')).toBe(true);
    const analysis = await parseAndChunk(read.text, 'c', { maxTokens: 100, countTokens: (t) => t.length });
    expect(analysis.definitions.map((d) => d.symbol)).toEqual(['main']);
  });

  it('reports a file gone since the scan, one grown past the cap, and one now binary', async () => {
    expect(await readSource(join(dir, 'vanished.ts'))).toEqual({ ok: false, problem: 'vanished', detail: 'gone since the scan' });
    writeFileSync(join(dir, 'big.ts'), 'x'.repeat(2000));
    expect(await readSource(join(dir, 'big.ts'), { maxFileBytes: 1000 })).toMatchObject({ ok: false, problem: 'too-large' });
    writeFileSync(join(dir, 'now-binary.ts'), Buffer.from([0x61, 0x00, 0x62]));
    expect(await readSource(join(dir, 'now-binary.ts'))).toMatchObject({ ok: false, problem: 'binary' });
    expect(await readSource(dir)).toMatchObject({ ok: false, problem: 'unreadable' });
  });
});
