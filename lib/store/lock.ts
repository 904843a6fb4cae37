/**
 * The runner lock: `~/.teleclaude/cron_runner.pid`, held with an exclusive flock for the whole
 * run and carrying the holder's PID. The kernel drops a flock when its holder dies, so a stale
 * file (dead PID, or a PID since reused by another process) never blocks a run.
 */

import { dirname } from "../posix_path.ts";
import {
  ensurePrivateDir,
  isDiskFull,
  requireFileOrAbsent,
  requireSameFile,
  writeAllSync,
} from "./fs.ts";

/** A held lock. `release()` removes the file and drops the lock. */
export interface RunnerLock {
  path: string;
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
    writeHolder(file);
    return heldLock(path, file);
  }
  throw new Error(`could not take the runner lock ${path}: it kept being replaced`);
}

/**
 * Opens the lock file, creating it when missing, without ever following a link or opening a
 * directory or FIFO in its place: a link there would have the runner truncate a file elsewhere.
 */
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

function openLockFile(path: string): Deno.FsFile {
  if (requireFileOrAbsent(path) === "absent") {
    try {
      return Deno.openSync(path, { read: true, write: true, createNew: true, mode: 0o600 });
    } catch (error) {
      // Another runner created it first: open theirs, as below.
      if (!(error instanceof Deno.errors.AlreadyExists)) throw error;
      requireFileOrAbsent(path);
    }
  }
  const file = Deno.openSync(path, { read: true, write: true });
  try {
    requireSameFile(file, path);
  } catch (error) {
    file.close();
    throw error;
  }
  return file;
}

function heldLock(path: string, file: Deno.FsFile): RunnerLock {
  let released = false;
  return {
    path,
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

function sameInode(file: Deno.FsFile, path: string): boolean {
  try {
    const opened = file.statSync();
    const named = Deno.statSync(path);
    return opened.ino === named.ino && opened.dev === named.dev;
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
