/** An RFC 6901 JSON pointer for a path of keys and indexes; "/" stands for the whole document, for readability. */
export function jsonPointer(path: ReadonlyArray<PropertyKey>): string {
  if (path.length === 0) return '/';
  return path.map((key) => '/' + String(key).replace(/~/g, '~0').replace(/\//g, '~1')).join('');
}
