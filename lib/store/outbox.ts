/**
 * `~/.teleclaude/cron_outbox.jsonl`: notifications not yet delivered, one JSON line each, oldest
 * first. An event is queued before it is sent (a runner killed mid-delivery sends it on the next
 * tick; the idempotency key lets the daemon drop a second copy) and the file is rewritten,
 * atomically, with what is still undelivered. It is kept, empty, when nothing waits: the idle
 * tick pays one `lstat` for it, and a missing file would cost a thrown NotFound on every tick.
 */

import { appendLine, atomicWrite, createNewFile, pathKind } from "./fs.ts";
import { parseTimestamp } from "./state.ts";

/** The channels that keep what they could not deliver (a desktop notice is not worth a retry). */
export type QueuedChannel = "daemon" | "command";

/** One undelivered notification for one channel. */
export interface OutboxEntry {
  channel: QueuedChannel;
  /** The event as its channel sends it; `id` is its idempotency key. */
  event: { id: string; [field: string]: unknown };
  queued: string;
  attempts: number;
  /** Not tried again before this instant (a refusal that a retry in five minutes won't fix). */
  next: string;
  last_error: string | null;
}

/** Entries older than this are dropped: a week-old "it failed" helps nobody. */
export const OUTBOX_MAX_AGE_MS = 7 * 24 * 3600_000;
/** The most entries kept; the oldest go first. */
export const OUTBOX_MAX_ENTRIES = 1000;
/** A file larger than this is not ours to read whole (1,000 entries take a few MiB). */
const OUTBOX_MAX_BYTES = 32 * 1024 * 1024;

/** Queues entries: appended, each a line of its own. */
export async function queueEntries(path: string, entries: OutboxEntry[]): Promise<void> {
  for (const entry of entries) await appendLine(path, JSON.stringify(entry));
}

/** The outbox as read: its entries and how many lines were not entries (skipped). */
export interface OutboxRead {
  entries: OutboxEntry[];
  skipped: number;
  /** Larger than any outbox the runner writes: not read at all. */
  tooLarge: boolean;
}

/** Reads the outbox; empty when there is none. A file too large to be ours is not read. */
export function readOutbox(path: string): OutboxRead {
  if (pathKind(path) !== "file") return { entries: [], skipped: 0, tooLarge: false };
  if (Deno.lstatSync(path).size > OUTBOX_MAX_BYTES) {
    return { entries: [], skipped: 0, tooLarge: true };
  }
  const entries: OutboxEntry[] = [];
  let skipped = 0;
  for (const line of Deno.readTextFileSync(path).split("\n")) {
    if (!line.trim()) continue;
    const entry = outboxEntry(line);
    if (entry) entries.push(entry);
    else skipped++;
  }
  return { entries, skipped, tooLarge: false };
}

function outboxEntry(line: string): OutboxEntry | null {
  try {
    const value = JSON.parse(line);
    const fine = value !== null && typeof value === "object" &&
      (value.channel === "daemon" || value.channel === "command") &&
      typeof value.event?.id === "string" && parseTimestamp(value.queued) !== null &&
      parseTimestamp(value.next) !== null && Number.isSafeInteger(value.attempts) &&
      (value.last_error === null || typeof value.last_error === "string");
    return fine ? value as OutboxEntry : null;
  } catch {
    return null;
  }
}

/**
 * Whether anything in the outbox is to be done now: an entry due for a try, one to drop, or a
 * line that is not an entry. Read without loading the channels, so a tick whose waiting entries
 * are all held back (the daemon gone for hours) stays cheap.
 */
export function outboxDue(path: string, now: number): boolean {
  const { entries, skipped, tooLarge } = readOutbox(path);
  if (tooLarge || skipped > 0 || entries.length > OUTBOX_MAX_ENTRIES) return true;
  return entries.some((entry) =>
    parseTimestamp(entry.next)! <= now || now - parseTimestamp(entry.queued)! > OUTBOX_MAX_AGE_MS
  );
}

/** Replaces the outbox with `entries`, atomically (empty when there are none). */
export function rewriteOutbox(path: string, entries: OutboxEntry[]): void {
  const text = entries.map((entry) => `${JSON.stringify(entry)}\n`).join("");
  atomicWrite(path, new TextEncoder().encode(text));
}

/**
 * Whether anything may wait in the outbox: one `lstat`, false for an empty file. The first tick
 * creates the empty file (0600, never through a link); anything but a file is for the flush to
 * report.
 */
export function outboxWaiting(path: string): boolean {
  try {
    const info = Deno.lstatSync(path);
    return !info.isFile || info.size > 0;
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
    try {
      createNewFile(path).close();
    } catch (failure) {
      // No ~/.teleclaude yet: nothing waits in it either.
      if (!(failure instanceof Deno.errors.NotFound)) throw failure;
    }
    return false;
  }
}

/**
 * Splits entries into those kept and those dropped: older than a week, or past the most kept
 * (the oldest first).
 */
export function pruneOutbox(
  entries: OutboxEntry[],
  now: number,
): { kept: OutboxEntry[]; dropped: { entry: OutboxEntry; reason: string }[] } {
  const dropped: { entry: OutboxEntry; reason: string }[] = [];
  let kept = entries.filter((entry) => {
    const young = now - parseTimestamp(entry.queued)! <= OUTBOX_MAX_AGE_MS;
    if (!young) dropped.push({ entry, reason: "undelivered for 7 days" });
    return young;
  });
  if (kept.length > OUTBOX_MAX_ENTRIES) {
    const excess = kept.slice(0, kept.length - OUTBOX_MAX_ENTRIES);
    for (const entry of excess) dropped.push({ entry, reason: "more than 1000 undelivered" });
    kept = kept.slice(-OUTBOX_MAX_ENTRIES);
  }
  return { kept, dropped };
}
