// An exclusive lock file naming the process that holds the embedded data directory.
import { linkSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
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
 * it exists), so no one reads a half-written lock and takes it for a stale one. A stale lock is moved
 * aside by rename, which only one process can do to that file; one that moved a fresh lock instead (a
 * racer took it meanwhile) puts it back and gives way.
 */
export function tryLock(lockFile: string): boolean {
  const unique = `${process.pid}.${Date.now()}`;
  const draft = `${lockFile}.${unique}`;
  writeFileSync(draft, JSON.stringify({ pid: process.pid, host: hostname() }), { mode: 0o600 });
  try {
    for (let attempt = 0; attempt < 3; attempt++) {
      try {
        linkSync(draft, lockFile);
        return true;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      }
      if (liveLockOwner(lockFile)) return false;
      const aside = `${lockFile}.stale.${unique}`;
      try {
        renameSync(lockFile, aside);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') continue; // another racer moved it first
        throw error;
      }
      const moved = readLockOwner(aside);
      if (moved && isLive(moved)) {
        try {
          linkSync(aside, lockFile);
        } catch {
          // someone else holds it now: either way, not us
        }
        rmSync(aside, { force: true });
        return false;
      }
      rmSync(aside, { force: true });
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
