// An exclusive lock file naming the process that holds the embedded data directory.
import { createHash, randomUUID } from 'node:crypto';
import { linkSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';

export interface LockOwner {
  pid: number;
  host: string;
}

export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export function readLockOwner(lockFile: string): LockOwner | undefined {
  const raw = readRaw(lockFile);
  return raw === undefined ? undefined : parseOwner(raw);
}

function isLive(owner: LockOwner): boolean {
  if (owner.host !== hostname()) return true; // cannot check another host's process: assume alive
  return processAlive(owner.pid);
}

/** The live owner of the lock, or undefined when it is free or its owner is gone. */
export function liveLockOwner(lockFile: string): LockOwner | undefined {
  const owner = readLockOwner(lockFile);
  return owner && isLive(owner) ? owner : undefined;
}

/**
 * Take the lock if it is free (or held by a dead process). Returns false if a live process holds it.
 * The lock file appears whole or not at all (written aside, then hard-linked into place, which fails if
 * it exists), so no one reads a half-written lock and takes it for a stale one. A stale lock is removed
 * only by the one process that first claims a breaker file named after that lock's exact content; the
 * claimant checks the lock still has that content before removing it, so a fresh lock taken meanwhile
 * by a racer is never removed.
 */
export function tryLock(lockFile: string): boolean {
  const draft = `${lockFile}.${process.pid}.${randomUUID()}`;
  writeFileSync(draft, JSON.stringify({ pid: process.pid, host: hostname(), nonce: randomUUID() }), { mode: 0o600 });
  try {
    for (let attempt = 0; attempt < 5; attempt++) {
      if (linkExclusive(draft, lockFile)) return true;
      const held = readRaw(lockFile);
      if (held === undefined) continue; // released meanwhile
      const owner = parseOwner(held);
      if (owner && isLive(owner)) return false;
      const breaker = `${lockFile}.break.${fingerprint(held)}`;
      if (!linkExclusive(draft, breaker)) {
        const breaking = parseOwner(readRaw(breaker) ?? '');
        if (breaking && isLive(breaking)) return false; // a live racer is taking it over
        rmSync(breaker, { force: true }); // its claimant died mid-way
        continue;
      }
      const still = readRaw(lockFile);
      if (still !== undefined && fingerprint(still) === fingerprint(held)) rmSync(lockFile, { force: true });
      rmSync(breaker, { force: true });
    }
    return false;
  } finally {
    rmSync(draft, { force: true });
  }
}

function linkExclusive(from: string, to: string): boolean {
  try {
    linkSync(from, to);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw error;
  }
}

function readRaw(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

function parseOwner(raw: string): LockOwner | undefined {
  try {
    const owner = JSON.parse(raw) as LockOwner;
    return typeof owner.pid === 'number' ? owner : undefined;
  } catch {
    return undefined;
  }
}

function fingerprint(raw: string): string {
  return createHash('sha256').update(raw).digest('hex').slice(0, 16);
}

export function unlock(lockFile: string): void {
  const owner = readLockOwner(lockFile);
  if (owner?.pid === process.pid) rmSync(lockFile, { force: true });
}
