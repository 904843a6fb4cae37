/**
 * `~/.teleclaude/cron_history.jsonl`: one JSON line per finished run, newest last, rotated by
 * size (the previous file is kept as `.1`), so "why did this not run last night" has an answer
 * after the state file has moved on.
 */

import { dirname } from "../posix_path.ts";
import { ensurePrivateDir, writeAll } from "./fs.ts";

/** One finished run. */
export interface HistoryEntry {
  job: string;
  type: "agent" | "script";
  agent?: string;
  started: string;
  finished: string;
  duration_ms: number;
  status: string;
  exit_code: number | null;
  error: string | null;
  log_path: string | null;
  report_path?: string | null;
  usage?: Record<string, number>;
}

/** Rotate when the file passes this size. */
export const HISTORY_MAX_BYTES = 2 * 1024 * 1024;

/** Appends one entry, rotating first when the file is too large. */
export async function appendHistory(
  path: string,
  entry: HistoryEntry,
  maxBytes = HISTORY_MAX_BYTES,
): Promise<void> {
  await ensurePrivateDir(dirname(path));
  try {
    if ((await Deno.stat(path)).size >= maxBytes) await Deno.rename(path, `${path}.1`);
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
  const file = await Deno.open(path, { read: true, append: true, create: true, mode: 0o600 });
  try {
    // A line cut short by a crash mid-append must not swallow this one.
    const size = (await file.stat()).size;
    let separator = "";
    if (size > 0) {
      const last = new Uint8Array(1);
      await file.seek(size - 1, Deno.SeekMode.Start);
      await file.read(last);
      if (last[0] !== 0x0a) separator = "\n";
    }
    await writeAll(file, new TextEncoder().encode(`${separator}${JSON.stringify(entry)}\n`));
  } finally {
    file.close();
  }
}

/** The latest runs, newest first, optionally of one job; reads the rotated file too if needed. */
export async function readHistory(
  path: string,
  options: { job?: string | null; limit: number },
): Promise<HistoryEntry[]> {
  const entries: HistoryEntry[] = [];
  for (const file of [path, `${path}.1`]) {
    let text: string;
    try {
      text = await Deno.readTextFile(file);
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) continue;
      throw error;
    }
    const lines = text.split("\n").filter((line) => line.trim()).reverse();
    for (const line of lines) {
      try {
        const entry = JSON.parse(line) as HistoryEntry;
        if (!options.job || entry.job === options.job) entries.push(entry);
      } catch {
        // A line cut short by a crash mid-append: skip it, keep the rest.
      }
      if (entries.length >= options.limit) return entries;
    }
  }
  return entries;
}
