// An exclusive lock file naming the process that holds the embedded data directory.
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
  try {
    const owner = JSON.parse(readFileSync(lockFile, 'utf8')) as LockOwner;
    return typeof owner.pid === 'number' ? owner : undefined;
  } catch {
    return undefined;
  }
}

/** The live owner of the lock, or undefined when it is free or its owner is gone. */
export function liveLockOwner(lockFile: string): LockOwner | undefined {
  const owner = readLockOwner(lockFile);
  if (!owner) return undefined;
  if (owner.host !== hostname()) return owner; // cannot check another host's process: assume alive
  return processAlive(owner.pid) ? owner : undefined;
}

/**
 * Take the lock if it is free (or held by a dead process). Returns false if a live process holds it.
 * The lock file appears whole or not at all (written aside, then hard-linked into place, which fails if
 * it exists): another process never reads a half-written lock and takes it for a stale one.
 */
export function tryLock(lockFile: string): boolean {
  const draft = `${lockFile}.${process.pid}.${Date.now()}`;
  writeFileSync(draft, JSON.stringify({ pid: process.pid, host: hostname() }), { mode: 0o600 });
  try {
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        linkSync(draft, lockFile);
        return true;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
        if (liveLockOwner(lockFile)) return false;
        rmSync(lockFile, { force: true }); // stale: its owner died without cleaning up
      }
    }
    return false;
  } finally {
    rmSync(draft, { force: true });
  }
}

export function unlock(lockFile: string): void {
  const owner = readLockOwner(lockFile);
  if (owner?.pid === process.pid) rmSync(lockFile, { force: true });
}
