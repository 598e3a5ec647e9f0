import { describe, expect, it } from 'vitest';
import { confirmChanges, planIngest, type StoredFile } from '../src/ingest/plan.js';
import type { ScannedFile } from '../src/ingest/scan.js';

const scanned = (path: string, size: number, mtimeMs: number): ScannedFile => ({ path, absolute: `/code/${path}`, size, mtimeMs, language: null });
const stored = (path: string, size: number, mtimeMs: number, contentHash: string, deleted = false): StoredFile => ({ path, size, mtimeMs, contentHash, deleted });

describe('planIngest', () => {
  const onDisk = [
    scanned('new.ts', 10, 1),
    scanned('same.ts', 20, 2),
    scanned('grown.ts', 31, 3),
    scanned('touched.ts', 40, 44),
    scanned('back.ts', 50, 5),
    scanned('back-changed.ts', 61, 6),
  ];
  const inDatabase = [
    stored('same.ts', 20, 2, 'h-same'),
    stored('grown.ts', 30, 3, 'h-grown'),
    stored('touched.ts', 40, 4, 'h-touched'),
    stored('back.ts', 50, 5, 'h-back', true),
    stored('back-changed.ts', 60, 6, 'h-back-changed', true),
    stored('gone.ts', 70, 7, 'h-gone'),
    stored('gone-before.ts', 80, 8, 'h-gone-before', true),
  ];
  const plan = planIngest(onDisk, inDatabase);
  const paths = (files: Array<{ path: string }>) => files.map((f) => f.path);

  it('sorts files into add, suspect, unchanged, delete and restore', () => {
    expect(paths(plan.add)).toEqual(['new.ts']);
    expect(paths(plan.suspect)).toEqual(['grown.ts', 'touched.ts', 'back-changed.ts']);
    expect(paths(plan.unchanged)).toEqual(['same.ts', 'back.ts']);
    expect(paths(plan.delete)).toEqual(['gone.ts']);
    expect(paths(plan.restore)).toEqual(['back.ts', 'back-changed.ts']);
  });

  it('keeps the scanned and stored records as given', () => {
    expect(plan.add[0]).toBe(onDisk[0]);
    expect(plan.delete[0]).toBe(inDatabase[5]);
  });

  it('confirms suspects by hash: changed, or touched only', () => {
    const hashes = new Map([
      ['grown.ts', 'h-grown-2'],
      ['touched.ts', 'h-touched'],
      ['back-changed.ts', 'h-back-changed-2'],
    ]);
    const { change, touched } = confirmChanges(plan.suspect, hashes, inDatabase);
    expect(paths(change)).toEqual(['grown.ts', 'back-changed.ts']);
    expect(paths(touched)).toEqual(['touched.ts']);
  });

  it('leaves out a suspect that could not be hashed', () => {
    const { change, touched } = confirmChanges(plan.suspect, new Map([['grown.ts', 'h-grown']]), inDatabase);
    expect(paths(change)).toEqual([]);
    expect(paths(touched)).toEqual(['grown.ts']);
  });

  it('plans everything as new against an empty database, and everything deleted for an empty scan', () => {
    expect(paths(planIngest(onDisk, []).add)).toEqual(paths(onDisk));
    expect(paths(planIngest([], inDatabase).delete)).toEqual(['same.ts', 'grown.ts', 'touched.ts', 'gone.ts']);
  });
});
