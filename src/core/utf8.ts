import { isUtf8 } from 'node:buffer';

/** The offset of the first byte that makes a buffer invalid UTF-8 (its length when it is valid). */
export function firstInvalidUtf8(bytes: Buffer): number {
  if (isUtf8(bytes)) return bytes.length;
  let lo = 0;
  let hi = bytes.length;
  while (hi - lo > 1) {
    const mid = (lo + hi) >> 1;
    if (isUtf8(bytes.subarray(0, mid))) lo = mid;
    else hi = mid;
  }
  return lo;
}
