/**
 * The runner lock: `~/.teleclaude/cron_runner.pid`, held with an exclusive flock for the whole
 * run and carrying the holder's PID. The kernel drops a flock when its holder dies, so a stale
 * file (dead PID, or a PID since reused by another process) never blocks a run.
 */

import { dirname } from "../posix_path.ts";
import { ensurePrivateDir, isDiskFull, requireFileOrAbsent, writeAllSync } from "./fs.ts";

/** A held lock. `release()` removes the file and drops the lock. */
export interface RunnerLock {
  path: string;
  /**
   * The PID of a runner that held this lock and did not release it (it was killed, or lost
   * power): a clean release removes the file, so finding one with a PID in it says so.
   */
  leftBy: number | null;
  release(): void;
}

/** The lock could not be taken: another runner holds it. */
export interface LockBusy {
  holderPid: number | null;
}

/**
 * Takes the runner lock without waiting. Returns the lock, or who holds it.
 *
 * The file is removed on release (the Python original's plan asks for it), which reopens a race:
 * A unlinks the file while B, which opened it just before, locks the old inode, and C creates a
 * new file at the path; B and C would both "hold" the lock. So after locking we check that the
 * path still names the inode we locked, and start over if it does not. `open` is a parameter so a
 * test can step into that window.
 */
export function acquireRunnerLock(
  path: string,
  open: (path: string) => Deno.FsFile = openLockFile,
): RunnerLock | LockBusy {
  ensurePrivateDir(dirname(path), dirname(path));
  for (let attempt = 0; attempt < 50; attempt++) {
    // Synchronous calls: this is on the idle tick (docs/benchmarks.md, "Idle tick").
    const file = open(path);
    // tryLock(true) is exclusive; tryLock() with no argument would be a shared lock.
    if (!file.tryLockSync(true)) {
      const holderPid = readHolder(file);
      file.close();
      return { holderPid };
    }
    if (!sameInode(file, path)) {
      file.close();
      continue;
    }
    const leftBy = readHolder(file);
    writeHolder(file);
    return heldLock(path, file, leftBy);
  }
  throw new Error(`could not take the runner lock ${path}: it kept being replaced`);
}

/**
 * Writes this runner's PID into the held lock file, for people (and the next runner's "busy"
 * line) to read. The flock itself is the lock: a full disk that refuses these few bytes must
 * not stop the tick (the state save right after says what is wrong). No fsync, for that reason.
 */
function writeHolder(file: Deno.FsFile): void {
  try {
    file.truncateSync(0);
    writeAllSync(file, new TextEncoder().encode(`${Deno.pid}\n`));
  } catch (error) {
    if (!isDiskFull(error)) throw error;
  }
}

/**
 * Opens the lock file, creating it when missing, never a directory or FIFO in its place and never
 * through a link. Opening writes nothing; a link swapped in after the check is caught once the
 * lock is taken (`sameInode`), before anything is written.
 */
function openLockFile(path: string): Deno.FsFile {
  // Usually the file is absent (a clean release removes it): create it, which (O_EXCL) never
  // follows a link and fails on anything already there. Looking first would throw NotFound on
  // every idle tick, and building that error is a millisecond (docs/benchmarks.md, "Idle tick").
  try {
    return Deno.openSync(path, { read: true, write: true, createNew: true, mode: 0o600 });
  } catch (error) {
    if (!(error instanceof Deno.errors.AlreadyExists)) throw error;
  }
  // Left by a runner that did not release it, or held by another one: only a regular file will do.
  requireFileOrAbsent(path);
  return Deno.openSync(path, { read: true, write: true });
}

function heldLock(path: string, file: Deno.FsFile, leftBy: number | null): RunnerLock {
  let released = false;
  return {
    path,
    leftBy,
    release() {
      if (released) return;
      released = true;
      // Unlink while still holding the lock, then unlock by closing.
      try {
        Deno.removeSync(path);
      } catch (error) {
        if (!(error instanceof Deno.errors.NotFound)) throw error;
      }
      file.close();
    },
  };
}

/** Whether the lock result is a held lock. */
export function isHeld(result: RunnerLock | LockBusy): result is RunnerLock {
  return "release" in result;
}

/** Whether the path still names the very file we hold (not a link, not a newer file). */
function sameInode(file: Deno.FsFile, path: string): boolean {
  try {
    const opened = file.statSync();
    const named = Deno.lstatSync(path);
    return !named.isSymlink && opened.ino === named.ino && opened.dev === named.dev;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return false;
    throw error;
  }
}

function readHolder(file: Deno.FsFile): number | null {
  const buffer = new Uint8Array(64);
  const count = file.readSync(buffer);
  const pid = Number.parseInt(new TextDecoder().decode(buffer.subarray(0, count ?? 0)), 10);
  return Number.isNaN(pid) ? null : pid;
}

/**
 * Reads the PID in a lock file and whether its lock is held right now (for --doctor). Throws a
 * `StoreError` when something other than a file is at the path.
 */
export async function inspectRunnerLock(
  path: string,
): Promise<{ held: false } | { held: true; holderPid: number | null; since: Date | null }> {
  // A link, directory or FIFO in its place is a StoreError for the doctor to report.
  if (requireFileOrAbsent(path) === "absent") return { held: false };
  let file: Deno.FsFile;
  try {
    file = await Deno.open(path, { read: true, write: true });
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return { held: false };
    throw error;
  }
  try {
    if (await file.tryLock(true)) {
      await file.unlock();
      return { held: false };
    }
    const holderPid = readHolder(file);
    const since = (await file.stat()).mtime;
    return { held: true, holderPid, since };
  } finally {
    file.close();
  }
}
