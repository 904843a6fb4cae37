/**
 * The file primitives every writer under `~/.teleclaude` uses: private directories, whole writes,
 * and atomic replacement. Synchronous variants exist for the idle tick (docs/benchmarks.md,
 * "Idle tick"): each async file call wakes Deno's I/O thread pool.
 */

import { dirname } from "../posix_path.ts";

/** Creates a directory (and parents) private to the user: 0700. */
export async function ensurePrivateDir(path: string): Promise<void> {
  await Deno.mkdir(path, { recursive: true, mode: 0o700 });
}

/** Writes every byte; `FsFile.write` may write fewer than asked. */
export async function writeAll(file: Deno.FsFile, bytes: Uint8Array): Promise<void> {
  let offset = 0;
  while (offset < bytes.length) offset += await file.write(bytes.subarray(offset));
}

/** `writeAll` for the synchronous paths of the idle tick. */
export function writeAllSync(file: Deno.FsFile, bytes: Uint8Array): void {
  let offset = 0;
  while (offset < bytes.length) offset += file.writeSync(bytes.subarray(offset));
}

/**
 * Replaces `path` with `bytes` atomically: a temp file in the same directory (0600), fsync, then
 * rename over the old file, so a crash leaves the old file or the new one, never half of one.
 * `beforeRename` runs between the two (the state file links its `.bak` there).
 */
export async function atomicWrite(
  path: string,
  bytes: Uint8Array,
  beforeRename?: () => Promise<void>,
): Promise<void> {
  await ensurePrivateDir(dirname(path));
  const temp = `${path}.tmp-${Deno.pid}`;
  const file = await Deno.open(temp, { write: true, create: true, truncate: true, mode: 0o600 });
  try {
    await writeAll(file, bytes);
    await file.sync();
  } finally {
    file.close();
  }
  await beforeRename?.();
  await Deno.rename(temp, path);
}

/** `atomicWrite` without the fsync, for notes the idle tick writes (nothing is lost with them). */
export function atomicWriteSync(path: string, text: string): void {
  const temp = `${path}.tmp-${Deno.pid}`;
  Deno.writeTextFileSync(temp, text, { mode: 0o600 });
  Deno.renameSync(temp, path);
}
