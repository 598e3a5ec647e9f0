// How imports name files: the readings moduleResolver knows, each across languages' conventions.
import { describe, expect, it } from 'vitest';
import { moduleResolver } from '../src/ingest/graph.js';

const PATHS = [
  'src/main.ts', 'src/util.ts', 'src/lib/index.ts', 'src/lib/x.js', 'include/util/log.h', 'src/db.rs', 'lib/my_app/repo.ex',
  'app/models/user.rb', 'pkg/foo/bar.py', 'a/config.exs', 'b/config.exs', ...['1', '2', '3', '4', '5', '6'].map((n) => `p${n}/common.go`),
];

describe('moduleResolver', () => {
  const resolve = moduleResolver(PATHS);
  it.each([
    ['src/main.ts', './util', ['src/util.ts']], // relative, extension added
    ['src/main.ts', './lib', ['src/lib/index.ts']], // a folder's index
    ['src/lib/index.ts', './x.js', ['src/lib/x.js']],
    ['src/lib/x.js', '../util.js', ['src/util.ts']], // .js written for a .ts source
    ['src/main.ts', 'util/log.h', ['include/util/log.h']], // named as written, anywhere
    ['src/main.rs', 'crate::db', ['src/db.rs']],
    ['lib/my_app.ex', 'MyApp.Repo', ['lib/my_app/repo.ex']],
    ['main.py', 'foo.bar', ['pkg/foo/bar.py']],
    ['a/config.exs', 'config.exs', ['b/config.exs']], // never the importing file itself
    ['main.go', 'common', []], // six files could be meant: too many to link
    ['src/main.ts', 'react', []], // a package outside the codebase
    ['src/main.ts', './missing', []],
  ])('%s imports %s', (importer, module, expected) => {
    expect(resolve(importer, module)).toEqual(expected);
  });
});
