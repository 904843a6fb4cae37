/**
 * The file primitives every writer under `~/.teleclaude` uses. Nothing here follows a symbolic
 * link for a write or a delete: a link planted at one of the runner's paths would otherwise make
 * it truncate, overwrite or delete files elsewhere. A path of the wrong kind (a directory, a
 * FIFO, a link where a file belongs) is a `StoreError` naming the path and the fix. Replacing
 * writes are atomic (temp file, fsync, rename) and leave no temp file behind when they fail.
 * Everything is synchronous: these calls are on the idle tick (docs/benchmarks.md, "Idle tick")
 * and each takes microseconds.
 */

import { StoreError } from "../errors.ts";

/** The kind of thing at a path, without following a link. */
export type PathKind = "absent" | "file" | "directory" | "symlink" | "other";

/** What is at `path` itself (a link is reported as a link, never followed). */
export function pathKind(path: string): PathKind {
  let info: Deno.FileInfo;
  try {
    info = Deno.lstatSync(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound || error instanceof Deno.errors.NotADirectory) {
      return "absent";
    }
    throw error;
  }
  if (info.isSymlink) return "symlink";
  if (info.isFile) return "file";
  return info.isDirectory ? "directory" : "other";
}

const KIND_WORDS: Record<PathKind, string> = {
  absent: "missing",
  file: "a file",
  directory: "a directory",
  symlink: "a symbolic link",
  other: "a special file (a FIFO, socket or device)",
};

/** Throws unless `path` is a regular file or absent. */
export function requireFileOrAbsent(path: string): "file" | "absent" {
  const kind = pathKind(path);
  if (kind === "file" || kind === "absent") return kind;
  throw new StoreError(
    path,
    `is ${KIND_WORDS[kind]}, where the runner keeps a file of its own; it never writes through ` +
      `links or into other kinds of file: move it away (the runner recreates the file)`,
  );
}

/**
 * Creates `path` and its missing parents as private (0700) directories. Every directory below
 * `root` must be a real directory: a link there would send the runner's writes elsewhere.
 * `root` itself (`~/.teleclaude`) may be a link the user made on purpose.
 */
export function ensurePrivateDir(path: string, root: string): void {
  if (path !== root && !path.startsWith(`${root}/`)) {
    throw new Error(`${path} is not under ${root}`);
  }
  Deno.mkdirSync(root, { recursive: true, mode: 0o700 });
  let current = root;
  for (const part of path.slice(root.length).split("/").filter(Boolean)) {
    current = `${current}/${part}`;
    const kind = pathKind(current);
    if (kind === "absent") {
      try {
        Deno.mkdirSync(current, { mode: 0o700 });
      } catch (error) {
        // Another runner (or a view) made it meanwhile: fine when it is a directory.
        if (!(error instanceof Deno.errors.AlreadyExists) || pathKind(current) !== "directory") {
          throw error;
        }
      }
    } else if (kind !== "directory") {
      throw new StoreError(
        current,
        `is ${KIND_WORDS[kind]}, where the runner keeps a directory of its own: move it away`,
      );
    }
  }
}

/** Writes every byte; `FsFile.write` may write fewer than asked. */
export async function writeAll(file: Deno.FsFile, bytes: Uint8Array): Promise<void> {
  let offset = 0;
  while (offset < bytes.length) offset += await file.write(bytes.subarray(offset));
}

/** `writeAll` for the synchronous paths. */
export function writeAllSync(file: Deno.FsFile, bytes: Uint8Array): void {
  let offset = 0;
  while (offset < bytes.length) offset += file.writeSync(bytes.subarray(offset));
}

/**
 * Opens a file of the runner's own for appending (created 0600 when missing), refusing anything
 * that is not a regular file, and refusing a file swapped in between the check and the open.
 */
export function openForAppend(path: string, options: { read?: boolean } = {}): Deno.FsFile {
  requireFileOrAbsent(path);
  const file = Deno.openSync(path, {
    append: true,
    create: true,
    read: options.read ?? false,
    mode: 0o600,
  });
  try {
    requireSameFile(file, path);
    return file;
  } catch (error) {
    file.close();
    throw error;
  }
}

/**
 * Appends one line to a file of the runner's own (`openForAppend`). A line cut short by a crash
 * mid-append is ended first, so it cannot swallow this one.
 */
export async function appendLine(path: string, line: string): Promise<void> {
  const file = openForAppend(path, { read: true });
  try {
    const size = file.statSync().size;
    let separator = "";
    if (size > 0) {
      const last = new Uint8Array(1);
      await file.seek(size - 1, Deno.SeekMode.Start);
      await file.read(last);
      if (last[0] !== 0x0a) separator = "\n";
    }
    await writeAll(file, new TextEncoder().encode(`${separator}${line}\n`));
  } finally {
    file.close();
  }
}

/** Throws unless the open `file` is the regular file at `path` (not reached through a link). */
export function requireSameFile(file: Deno.FsFile, path: string): void {
  const opened = file.statSync();
  const named = Deno.lstatSync(path);
  if (named.isSymlink || opened.ino !== named.ino || opened.dev !== named.dev || !opened.isFile) {
    throw new StoreError(path, "was replaced while the runner opened it: left alone");
  }
}

/** Creates a new file for writing; never follows a link and never reuses an existing file. */
export function createNewFile(path: string): Deno.FsFile {
  return Deno.openSync(path, { write: true, createNew: true, mode: 0o600 });
}

/**
 * Replaces `path` with `bytes` atomically: a temp file beside it, fsync (unless `sync: false`),
 * rename over the old file; a crash leaves the old file or the new one, never half of one. The
 * temp file is removed when anything fails (a full disk, say). `beforeRename` runs between the
 * two (the state file keeps its `.bak` there).
 */
export function atomicWrite(
  path: string,
  bytes: Uint8Array,
  options: { sync?: boolean; beforeRename?: () => void } = {},
): void {
  requireFileOrAbsent(path);
  const temp = tempPath(path);
  try {
    const file = createTemp(temp);
    try {
      writeAllSync(file, bytes);
      if (options.sync ?? true) file.syncSync();
    } finally {
      file.close();
    }
    options.beforeRename?.();
    Deno.renameSync(temp, path);
  } catch (error) {
    removeIfFileOrLink(temp);
    throw error;
  }
}

/** Creates the temp file, replacing one a process of the same PID left behind. */
function createTemp(temp: string): Deno.FsFile {
  try {
    return createNewFile(temp);
  } catch (error) {
    if (!(error instanceof Deno.errors.AlreadyExists)) throw error;
    removeIfFileOrLink(temp);
    return createNewFile(temp);
  }
}

/** The temp file a write of `path` by this process uses: `<path>.tmp-<pid>`. */
export function tempPath(path: string, pid = Deno.pid): string {
  return `${path}.tmp-${pid}`;
}

/** The PID in a temp file's name, when `name` is one (`cron_state.json.tmp-123` → 123). */
export function tempOwner(name: string): number | null {
  const match = /\.tmp-(\d+)$/.exec(name);
  return match ? Number(match[1]) : null;
}

/**
 * Removes `path` when it is a regular file or a link (unlinking a link never touches its target);
 * leaves directories and special files alone. True when something was removed.
 */
export function removeIfFileOrLink(path: string): boolean {
  const kind = pathKind(path);
  if (kind !== "file" && kind !== "symlink") return false;
  try {
    Deno.removeSync(path);
    return true;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return false;
    throw error;
  }
}

/** Whether an error is the file system saying it is full (or out of quota). */
export function isDiskFull(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return code === "ENOSPC" || code === "EDQUOT";
}

/** Errno codes that mean "this path cannot be written as it is" rather than a bug. */
const PATH_FAULTS = new Set(["EROFS", "EISDIR", "ENOTDIR", "ELOOP", "ENAMETOOLONG", "EEXIST"]);

/**
 * A file system failure at one of the runner's paths, as the user's to fix: a `StoreError` that
 * names the path (exit 1 for a full disk, 2 otherwise). Anything else (a bug, a Deno permission
 * error in the runner's own flags) is returned as it is, to be rethrown.
 */
export function storeFailure(path: string, error: unknown): unknown {
  if (error instanceof StoreError || error instanceof Deno.errors.NotCapable) return error;
  const message = error instanceof Error ? error.message : String(error);
  if (isDiskFull(error)) {
    return new StoreError(path, `cannot be written: the disk is full (${message})`, 1);
  }
  const code = (error as { code?: unknown } | null)?.code;
  if (error instanceof Deno.errors.PermissionDenied) {
    return new StoreError(
      path,
      `cannot be written: permission denied (${message}); the runner keeps its files under ` +
        `$HOME/.teleclaude, which must be yours and writable`,
    );
  }
  if (typeof code === "string" && PATH_FAULTS.has(code)) {
    return new StoreError(path, `cannot be written: ${message}`);
  }
  return error;
}
