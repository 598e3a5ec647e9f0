// `npm install` must need no host but the npm registry: no dependency's install script may download
// binaries or headers (see docs/configuration.md, "Installing"). Every install script in the lockfile
// is either denied in package.json's allowScripts or one of the few reviewed ones that fetch nothing.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

const root = new URL('../', import.meta.url);
const pkg = JSON.parse(readFileSync(new URL('package.json', root), 'utf8')) as { allowScripts: Record<string, boolean> };
const lock = JSON.parse(readFileSync(new URL('package-lock.json', root), 'utf8')) as {
  packages: Record<string, { hasInstallScript?: boolean }>;
};
const npmrc = readFileSync(new URL('.npmrc', root), 'utf8');

/** Install scripts reviewed and allowed: esbuild checks its platform binary, protobufjs checks versions. */
const REVIEWED = ['esbuild', 'protobufjs'];

const withInstallScripts = [
  ...new Set(
    Object.entries(lock.packages)
      .filter(([path, entry]) => path && entry.hasInstallScript)
      .map(([path]) => path.slice(path.lastIndexOf('node_modules/') + 'node_modules/'.length)),
  ),
].sort();

describe('installing', () => {
  it('has a decision in allowScripts for every dependency with an install script', () => {
    expect(withInstallScripts.length).toBeGreaterThan(0);
    expect(withInstallScripts.filter((name) => !(name in pkg.allowScripts))).toEqual([]);
  });

  it('runs only the reviewed install scripts: the grammars and onnxruntime-node are denied', () => {
    const allowed = Object.entries(pkg.allowScripts).filter(([, allow]) => allow).map(([name]) => name).sort();
    expect(allowed).toEqual(REVIEWED);
    expect(pkg.allowScripts['onnxruntime-node']).toBe(false);
    expect(withInstallScripts.filter((name) => name.includes('tree-sitter')).every((name) => pkg.allowScripts[name] === false)).toBe(true);
  });

  it('skips the CUDA download of onnxruntime-node for npm versions without allowScripts', () => {
    expect(npmrc).toMatch(/^onnxruntime-node-install=skip$/m);
  });

  it('depends on no grammar package that compiles itself at install (node-gyp rebuild)', () => {
    for (const [path, entry] of Object.entries(lock.packages)) {
      if (!path.includes('tree-sitter') || !entry.hasInstallScript) continue;
      const manifest = JSON.parse(readFileSync(new URL(`${path}/package.json`, root), 'utf8')) as { scripts?: { install?: string } };
      // node-gyp-build uses the package's prebuilt binary where there is one; node-gyp rebuild always compiles.
      expect({ path, install: manifest.scripts?.install }).toEqual({ path, install: 'node-gyp-build' });
    }
  });
});
