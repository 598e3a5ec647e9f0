// Reading a file the scan listed, for hashing and parsing. Between the scan and this read the file may
// have gone, grown, or turned into something else; each is a typed problem, never a throw:
//   vanished     gone since the scan (ENOENT): the caller marks it deleted, as the next scan would
//   unreadable   permissions, a folder in its place, an I/O error
//   too-large    grown past the cap since the scan
//   binary       a NUL byte in its first 8 KiB now
// Invalid UTF-8 is no reason to lose a file (a Latin-1 comment in old C code): it is decoded with U+FFFD
// in place of the bad bytes, ingested, and reported (invalidUtf8: the offset of the first bad byte).
// The hash is that of the bytes on disk, as code_files.content_hash stores it; a leading byte-order
// mark is dropped from the text.
import { isUtf8 } from 'node:buffer';
import { createHash } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { firstInvalidUtf8 } from '../core/utf8.js';
import { DEFAULT_MAX_FILE_BYTES } from './scan.js';

export type SourceProblem = 'vanished' | 'unreadable' | 'too-large' | 'binary';

export type SourceRead =
  | {
      ok: true;
      text: string;
      size: number;
      mtimeMs: number;
      /** sha256 (hex) of the bytes. */
      contentHash: string;
      /** Set when the bytes were not valid UTF-8: where the first bad byte is. */
      invalidUtf8?: { offset: number };
    }
  | { ok: false; problem: SourceProblem; detail: string };

export async function readSource(absolute: string, options: { maxFileBytes?: number } = {}): Promise<SourceRead> {
  const maxBytes = options.maxFileBytes ?? DEFAULT_MAX_FILE_BYTES;
  let bytes: Buffer;
  let mtimeMs: number;
  try {
    const stats = await stat(absolute);
    if (!stats.isFile()) return { ok: false, problem: 'unreadable', detail: 'not a regular file' };
    if (stats.size > maxBytes) return { ok: false, problem: 'too-large', detail: `${stats.size} bytes, over ${maxBytes}` };
    mtimeMs = stats.mtimeMs;
    bytes = await readFile(absolute);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return { ok: false, problem: 'vanished', detail: 'gone since the scan' };
    return { ok: false, problem: 'unreadable', detail: code ?? (error as Error).message };
  }
  if (bytes.length > maxBytes) return { ok: false, problem: 'too-large', detail: `${bytes.length} bytes, over ${maxBytes}` };
  if (bytes.subarray(0, 8192).includes(0)) return { ok: false, problem: 'binary', detail: 'a NUL byte in the first 8 KiB' };
  const contentHash = createHash('sha256').update(bytes).digest('hex');
  const text = bytes.toString('utf8').replace(/^\uFEFF/, '');
  const read = { ok: true as const, text, size: bytes.length, mtimeMs, contentHash };
  return isUtf8(bytes) ? read : { ...read, invalidUtf8: { offset: firstInvalidUtf8(bytes) } };
}
