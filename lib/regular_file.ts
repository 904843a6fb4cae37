/**
 * Reading a file that someone else owns (the config, an agent's own settings) so that no kind of
 * file can hang, flood or crash the reader: only a regular file is read, never more than a cap,
 * and the file judged is the one opened, not the path looked at before. A FIFO would block the
 * open until someone writes to it, a device (`/dev/zero`) never ends, a directory fails to read.
 */

/** What reading a file came to. */
export type FileRead =
  | { kind: "text"; text: string }
  | { kind: "absent" }
  /** `reason` follows the file's name: `~/.codex/config.toml: is a directory, not a file`. */
  | { kind: "refused"; reason: string };

/**
 * How long the open may take. A regular file opens in microseconds; what takes longer is a FIFO
 * swapped in after the path was looked at (an open blocks until a writer comes), or a file
 * system that does not answer.
 */
export const OPEN_TIMEOUT_MS = 5_000;

/**
 * The most of an agent CLI's own settings file the runner reads (codex's config.toml, gemini's
 * trusted folders and system settings): theirs are a few KiB.
 */
export const MAX_AGENT_FILE_BYTES = 1024 * 1024;

const NOT_REGULAR = "is not a regular file (a FIFO, socket or device)";

/**
 * The text of the regular file at `path`, at most `maxBytes` of it; why not, when not. A link is
 * followed to what it names, and that is judged. The open waits at most `openTimeoutMs`; null
 * opens synchronously, for the idle tick alone (docs/benchmarks.md, "Idle tick"), where a FIFO
 * swapped in during the microseconds between the look and the open would block. Deno's own
 * permission errors stay thrown (a bug in the runner's flags, not the user's to fix).
 */
export async function readRegularFile(
  path: string,
  maxBytes: number,
  openTimeoutMs: number | null = OPEN_TIMEOUT_MS,
): Promise<FileRead> {
  let info: Deno.FileInfo;
  try {
    // Looked at first, so a FIFO or a device at rest is refused without being opened.
    info = Deno.statSync(path);
  } catch (error) {
    return lookupFailure(error);
  }
  const wrong = wrongKind(info, maxBytes);
  if (wrong) return { kind: "refused", reason: wrong };
  const file = openTimeoutMs === null ? openNow(path) : await openWithin(path, openTimeoutMs);
  if (typeof file === "string") return { kind: "refused", reason: file };
  try {
    // The path may name something else by now: the open file is what counts.
    const opened = file.statSync();
    const wrongOpened = wrongKind(opened, maxBytes);
    if (wrongOpened) return { kind: "refused", reason: wrongOpened };
    const bytes = readAtMost(file, opened.size, maxBytes + 1);
    if (bytes.length > maxBytes) return { kind: "refused", reason: tooLarge(null, maxBytes) };
    return { kind: "text", text: new TextDecoder().decode(bytes) };
  } catch (error) {
    return { kind: "refused", reason: `cannot be read: ${describeFsError(error)}` };
  } finally {
    file.close();
  }
}

function wrongKind(info: Deno.FileInfo, maxBytes: number): string | null {
  if (info.isDirectory) return "is a directory, not a file";
  if (!info.isFile) return NOT_REGULAR;
  return info.size > maxBytes ? tooLarge(info.size, maxBytes) : null;
}

function tooLarge(size: number | null, maxBytes: number): string {
  const limit = `${maxBytes} bytes (${bytesInWords(maxBytes)})`;
  return size === null
    ? `is over the limit of ${limit}`
    : `is ${size} bytes, over the limit of ${limit}`;
}

function bytesInWords(bytes: number): string {
  return bytes % (1024 * 1024) === 0 ? `${bytes / 1024 / 1024} MiB` : `${bytes / 1024} KiB`;
}

function lookupFailure(error: unknown): FileRead {
  if (error instanceof Deno.errors.NotFound) return { kind: "absent" };
  if (error instanceof Deno.errors.NotADirectory) {
    return { kind: "refused", reason: "cannot be reached: a part of its path is not a folder" };
  }
  // Reading is granted everywhere, so a refusal is Deno's own for special files (/dev/stdin).
  if (error instanceof Deno.errors.NotCapable) return { kind: "refused", reason: NOT_REGULAR };
  return { kind: "refused", reason: `cannot be read: ${describeFsError(error)}` };
}

function openNow(path: string): Deno.FsFile | string {
  try {
    return Deno.openSync(path, { read: true });
  } catch (error) {
    return `cannot be read: ${describeFsError(error)}`;
  }
}

/**
 * Opens `path` for reading, or says why it could not within `timeoutMs`. Deno cannot open with
 * O_NONBLOCK, so the open runs on Deno's I/O threads and is waited for with a deadline; an open
 * still blocked then is left behind (a FIFO nobody writes to: it ends with the process), and
 * closed should it ever complete. The deadline is an `Atomics.waitAsync`: a first `setTimeout`
 * costs a process about 9 ms of CPU.
 */
export async function openWithin(path: string, timeoutMs: number): Promise<Deno.FsFile | string> {
  const cell = new Int32Array(new SharedArrayBuffer(4));
  const deadline = Atomics.waitAsync(cell, 0, 0, timeoutMs);
  const opening = Deno.open(path, { read: true });
  try {
    const first = await Promise.race([opening, deadline.value]);
    if (first instanceof Deno.FsFile) return first;
    opening.then((late) => late.close(), () => {});
    return `did not open within ${timeoutMs / 1000} s (a FIFO put in its place, or a file ` +
      "system that does not answer)";
  } catch (error) {
    return `cannot be read: ${describeFsError(error)}`;
  } finally {
    // Ends the wait, so nothing is left pending once the file is open.
    Atomics.notify(cell, 0);
  }
}

/** Up to `limit` bytes from the start of an open file of `size` bytes (as it was looked at). */
function readAtMost(file: Deno.FsFile, size: number, limit: number): Uint8Array {
  let chunk = new Uint8Array(Math.min(limit, size + 1));
  let length = 0;
  while (true) {
    if (length === chunk.length) {
      if (length >= limit) break;
      // It grew since it was looked at: read on, up to the limit.
      const bigger = new Uint8Array(Math.min(limit, length * 2));
      bigger.set(chunk);
      chunk = bigger;
    }
    const read = file.readSync(chunk.subarray(length));
    if (read === null || read === 0) break;
    length += read;
  }
  return chunk.subarray(0, length);
}

/** A file system error in words, without the stack (Deno permission errors stay bugs). */
export function describeFsError(error: unknown): string {
  if (error instanceof Deno.errors.NotCapable) throw error;
  if (error instanceof Deno.errors.PermissionDenied) return "permission denied";
  return error instanceof Error ? error.message : String(error);
}
