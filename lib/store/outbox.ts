/**
 * `~/.teleclaude/cron_outbox.jsonl`: notifications not yet delivered, one JSON line each, oldest
 * first. An event is queued before it is sent (a runner killed mid-delivery sends it on the next
 * tick; the daemon drops a second copy of an escalation) and the file is rewritten, atomically,
 * with what is still undelivered. It is kept, empty, when nothing waits: the idle tick pays one
 * `lstat` for it, and a missing file would cost a thrown NotFound on every tick.
 *
 * Beside it, `~/.teleclaude/cron_told.json`: what became of each job's latest failure told, on
 * each channel (delivered, or dropped and why), so `--list` says "told" only for what was.
 */

import { appendLine, atomicWrite, createNewFile, pathKind } from "./fs.ts";
import { nameMap, parseTimestamp } from "./state.ts";

/** The channels that keep what they could not deliver (a desktop notice is not worth a retry). */
export type QueuedChannel = "daemon" | "command";

/** One undelivered notification for one channel. */
export interface OutboxEntry {
  channel: QueuedChannel;
  /** The event as its channel sends it; `id` says which event it is. */
  event: { id: string; [field: string]: unknown };
  queued: string;
  attempts: number;
  /** Not tried again before this instant (a refusal that a retry in five minutes won't fix). */
  next: string;
  last_error: string | null;
  /** Whether a failed try may have reached the receiver (it took the event, then hung). */
  reached?: boolean;
}

/** Entries held longer than this are dropped: a week-old "it failed" helps nobody. */
export const OUTBOX_MAX_AGE_MS = 7 * 24 * 3600_000;
/** The most entries kept; the oldest go first. Collapsing (`notify/queue.ts`) stays far below. */
export const OUTBOX_MAX_ENTRIES = 1000;
/** The longest an entry is ever held back: a `next` further ahead is a clock moved back. */
export const OUTBOX_MAX_HOLD_MS = 3600_000;
/** A file larger than this is not ours to read whole (1,000 entries of 16 KiB take 16 MiB). */
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
      value.event !== null && typeof value.event === "object" && !Array.isArray(value.event) &&
      typeof value.event.id === "string" && parseTimestamp(value.queued) !== null &&
      parseTimestamp(value.next) !== null && Number.isSafeInteger(value.attempts) &&
      (value.last_error === null || typeof value.last_error === "string") &&
      (value.reached === undefined || typeof value.reached === "boolean");
    return fine ? value as OutboxEntry : null;
  } catch {
    return null;
  }
}

/**
 * Whether anything in the outbox is to be done now: an entry due for a try, one to drop, one
 * stamped by a clock since moved back, or a line that is not an entry. Read without loading the
 * channels, so a tick whose waiting entries are all held back (the daemon gone for hours) stays
 * cheap.
 */
export function outboxDue(path: string, now: number): boolean {
  const { entries, skipped, tooLarge } = readOutbox(path);
  if (tooLarge || skipped > 0 || entries.length > OUTBOX_MAX_ENTRIES) return true;
  return entries.some((entry) => {
    const queued = parseTimestamp(entry.queued)!;
    const next = parseTimestamp(entry.next)!;
    return next <= now || next > now + OUTBOX_MAX_HOLD_MS || queued > now ||
      now - queued > OUTBOX_MAX_AGE_MS;
  });
}

/** Replaces the outbox with `entries`, atomically (empty when there are none). */
export function rewriteOutbox(path: string, entries: OutboxEntry[]): void {
  const text = entries.map((entry) => `${JSON.stringify(entry)}\n`).join("");
  atomicWrite(path, new TextEncoder().encode(text));
}

/**
 * Whether anything waits in a file kept empty when nothing does (the outbox, the config problem
 * told): one `lstat`, false for an empty file. The first tick creates the empty file (0600,
 * never through a link); anything but a file is for the reader to report.
 */
export function waitingIn(path: string): boolean {
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
 * Entries as the runner has held them: one stamped in the future (by a clock since moved back,
 * or a runner under faketime) counts from now, and a hold further ahead than any the runner sets
 * ends now. An entry thus ages by the time it has been held, not by its stamp, and never blocks
 * its channel until a clock catches up. True when an entry changed.
 */
export function settleFutureEntries(entries: OutboxEntry[], now: number): boolean {
  let changed = false;
  const nowIso = new Date(now).toISOString();
  for (const entry of entries) {
    if (parseTimestamp(entry.queued)! > now) {
      entry.queued = nowIso;
      changed = true;
    }
    if (parseTimestamp(entry.next)! > now + OUTBOX_MAX_HOLD_MS) {
      entry.next = nowIso;
      changed = true;
    }
  }
  return changed;
}

/**
 * Splits entries into those kept and those dropped: held for a week, or past the most kept (the
 * oldest first).
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

/** What became of one event on one channel. */
export interface Receipt {
  /** The job it is about, or `config`. */
  subject: string;
  /** The event's id and when it was decided (its `at`, the job's `notified.at`). */
  id: string;
  /** What kind of event (`job.failed`, …). */
  kind: string;
  at: string;
  channel: QueuedChannel | "desktop";
  delivered: boolean;
  /** When it was delivered or dropped. */
  when: string;
  /** Why it was dropped. */
  reason?: string;
}

/** Per subject, the latest event's receipts by channel. */
export type Receipts = Record<
  string,
  { id: string; at: string; channels: Record<string, Receipt> }
>;

/** The most subjects kept (jobs removed from the config leave theirs behind). */
const MAX_RECEIPT_SUBJECTS = 1000;

/** Reads the receipts; none when the file is missing or is not ours. */
function readReceipts(path: string): Receipts {
  if (pathKind(path) !== "file") return nameMap();
  try {
    const value = JSON.parse(Deno.readTextFileSync(path));
    return value !== null && typeof value === "object" ? nameMap(Object.entries(value)) : nameMap();
  } catch {
    return nameMap();
  }
}

/**
 * Records what became of events, each subject keeping its latest event only. Informational (no
 * fsync): a lost receipt makes `--list` say less, never more.
 */
export function recordReceipts(path: string, receipts: Receipt[]): void {
  if (receipts.length === 0) return;
  const all = readReceipts(path);
  for (const receipt of receipts) {
    const known = all[receipt.subject];
    if (known && known.at > receipt.at) continue;
    const kept = known?.id === receipt.id
      ? known
      : { id: receipt.id, at: receipt.at, channels: {} };
    kept.channels[receipt.channel] = receipt;
    all[receipt.subject] = kept;
  }
  const subjects = Object.entries(all).sort(([, a], [, b]) => (a.at < b.at ? 1 : -1));
  const text = JSON.stringify(Object.fromEntries(subjects.slice(0, MAX_RECEIPT_SUBJECTS)));
  atomicWrite(path, new TextEncoder().encode(text), { sync: false });
}

/** What a person was told of an event decided at `at` for `subject`, as far as is known. */
export type Telling = "told" | "queued" | "not told";

/** `told` when a channel delivered it, `queued` while one still holds it, else `not told`. */
function tellingOf(
  subject: string,
  at: string,
  outbox: OutboxEntry[],
  receipts: Receipts,
): Telling {
  const receipt = receipts[subject];
  if (receipt?.at === at && Object.values(receipt.channels).some((r) => r.delivered)) {
    return "told";
  }
  const waits = outbox.some((entry) =>
    (entry.event.job ?? "config") === subject && entry.event.at === at
  );
  return waits ? "queued" : "not told";
}

/** What became of each subject's notifications, read once from the outbox and the receipts. */
export function tellingLookup(outboxPath: string, receiptsPath: string): (
  subject: string,
  at: string,
) => Telling {
  let outbox: OutboxEntry[] = [];
  try {
    outbox = readOutbox(outboxPath).entries;
  } catch {
    // An outbox the runner cannot read: nothing is known to wait.
  }
  const receipts = readReceipts(receiptsPath);
  return (subject, at) => tellingOf(subject, at, outbox, receipts);
}
