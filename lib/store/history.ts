/**
 * `~/.teleclaude/cron_history.jsonl`: one JSON line per finished run, newest last, rotated by
 * size (the previous file is kept as `.1`), so "why did this not run last night" has an answer
 * after the state file has moved on. Lines are read newest first in blocks from the end, so a
 * history of any size costs the same small memory, and every line is checked before it is shown.
 */

import { dirname } from "../posix_path.ts";
import { appendLine, ensurePrivateDir, pathKind } from "./fs.ts";
import { type HistoryEntry, isHistoryEntry } from "./state.ts";

/** One finished run (its shape lives in `state.ts`, whose entries hold a pending one). */
export type { HistoryEntry };

/** Rotate when the file passes this size. */
export const HISTORY_MAX_BYTES = 2 * 1024 * 1024;

/** Appends one entry, rotating first when the file is too large. */
export async function appendHistory(
  path: string,
  entry: HistoryEntry,
  maxBytes = HISTORY_MAX_BYTES,
): Promise<void> {
  ensurePrivateDir(dirname(path), dirname(path));
  if (pathKind(path) === "file" && Deno.lstatSync(path).size >= maxBytes) {
    if (pathKind(`${path}.1`) !== "directory") Deno.renameSync(path, `${path}.1`);
  }
  await appendLine(path, JSON.stringify(entry));
}

/** What reading the history found: the entries, and how many lines were not entries. */
export interface HistoryRead {
  entries: HistoryEntry[];
  /** Lines skipped: cut short by a crash, or not a run at all. */
  skipped: number;
  /** Files larger than any history the runner writes: only their end was read. */
  truncated: string[];
}

/** The latest runs, newest first, optionally of one job; reads the rotated file too if needed. */
export async function readHistory(
  path: string,
  options: { job?: string | null; limit: number },
): Promise<HistoryRead> {
  const read: HistoryRead = { entries: [], skipped: 0, truncated: [] };
  for (const file of [path, `${path}.1`]) {
    if (pathKind(file) !== "file") continue;
    if (Deno.lstatSync(file).size > HISTORY_READ_BYTES) read.truncated.push(file);
    for await (const line of linesFromEnd(file)) {
      if (!line.trim()) continue;
      const entry = historyEntry(line);
      if (entry === null) read.skipped++;
      else if (!options.job || entry.job === options.job) read.entries.push(entry);
      if (read.entries.length >= options.limit) return read;
    }
  }
  return read;
}

/** A run as `recentRuns` names it: its job and when it started. */
export function runKey(job: string, started: string): string {
  return `${job}\u0000${started}`;
}

/**
 * The runs (`runKey`) among the newest `lines` entries of the history, the rotated file included:
 * whether a line a stopped runner may have appended is there already.
 */
export async function recentRuns(path: string, lines: number): Promise<Set<string>> {
  const { entries } = await readHistory(path, { limit: lines });
  return new Set(entries.map((entry) => runKey(entry.job, entry.started)));
}

/** A history line as an entry, or null when it is not one (checked field by field). */
export function historyEntry(line: string): HistoryEntry | null {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    return null;
  }
  return isHistoryEntry(value) ? value : null;
}

const BLOCK = 64 * 1024;
/** A line longer than this is not a history entry (ours are a few hundred bytes); skipped whole. */
const MAX_LINE = 1024 * 1024;
/** How much of a history file is read: it rotates at 2 MiB, so more than this is not ours. */
export const HISTORY_READ_BYTES = 8 * HISTORY_MAX_BYTES;
/** What an overlong line is read as: not an entry, so it is counted as skipped. */
const OVERLONG = "\u0000overlong";

/**
 * The lines of a file, last first, read in blocks from its end, at most the last `maxBytes`
 * (a first line the window cuts is not returned). Memory stays at a block and one line.
 */
async function* linesFromEnd(path: string, maxBytes = HISTORY_READ_BYTES): AsyncGenerator<string> {
  const file = await Deno.open(path, { read: true });
  try {
    const size = (await file.stat()).size;
    const floor = Math.max(0, size - maxBytes);
    const decoder = new TextDecoder();
    let position = size;
    // The end of the line being read, from blocks already seen (it began in an earlier block).
    let carry: Uint8Array = new Uint8Array(0);
    let overlong = false;
    while (position > floor) {
      const block = await readBlock(file, position, Math.min(BLOCK, position - floor));
      position -= block.length;
      let end = block.length;
      for (let at = lastNewline(block, end); at !== -1; at = lastNewline(block, end)) {
        yield overlong ? OVERLONG : decoder.decode(joined(block.subarray(at + 1, end), carry));
        [carry, overlong, end] = [new Uint8Array(0), false, at];
      }
      if (overlong) continue;
      if (end + carry.length > MAX_LINE) [carry, overlong] = [new Uint8Array(0), true];
      else carry = joined(block.subarray(0, end), carry);
    }
    if (floor === 0) yield overlong ? OVERLONG : decoder.decode(carry);
  } finally {
    file.close();
  }
}

async function readBlock(file: Deno.FsFile, end: number, length: number): Promise<Uint8Array> {
  const block = new Uint8Array(length);
  await file.seek(end - length, Deno.SeekMode.Start);
  for (let read = 0; read < length;) {
    const count = await file.read(block.subarray(read));
    if (count === null) return block.subarray(0, read);
    read += count;
  }
  return block;
}

function lastNewline(block: Uint8Array, end: number): number {
  return end === 0 ? -1 : block.lastIndexOf(0x0a, end - 1);
}

function joined(head: Uint8Array, tail: Uint8Array): Uint8Array {
  if (tail.length === 0) return head;
  const bytes = new Uint8Array(head.length + tail.length);
  bytes.set(head);
  bytes.set(tail, head.length);
  return bytes;
}
