/**
 * What waits in the outbox, collapsed per channel and job (or config): a storm of failures while
 * a channel is down becomes a handful of entries per job, each still saying what happened, and
 * nothing undelivered is dropped to make room. Only entries the receiver cannot have acted on
 * are folded (never tried, or every try failed before reaching it); the daemon's dedup takes
 * care of any second copy of the others.
 *
 * - A reminder takes the place of the telling it supersedes (it says more: the count so far).
 * - A second copy of a telling (the same escalation, queued again by a runner that died before
 *   saving its state) is folded into the first.
 * - A deferral or a success is folded into the next one of its kind.
 * - A failure and its recovery, both waiting, are folded into the next such pair: "it failed and
 *   recovered, N times" is what the person can use.
 */

import type { OutboxEntry } from "../store/outbox.ts";
import type { CronEvent } from "./events.ts";

/** The entries kept, in their order, and how many were folded into others. */
export function collapseQueue(entries: OutboxEntry[]): { kept: OutboxEntry[]; folded: number } {
  const groups = new Map<string, OutboxEntry[]>();
  for (const entry of entries) {
    const key = `${entry.channel}\0${eventOf(entry).job ?? "config"}`;
    groups.set(key, [...(groups.get(key) ?? []), entry]);
  }
  const kept = new Set<OutboxEntry>();
  for (const group of groups.values()) {
    for (const entry of collapseGroup(group)) kept.add(entry);
  }
  return { kept: entries.filter((entry) => kept.has(entry)), folded: entries.length - kept.size };
}

function eventOf(entry: OutboxEntry): CronEvent {
  return entry.event as unknown as CronEvent;
}

const TELLINGS = new Set(["job.failed", "config.invalid"]);
const RESOLUTIONS = new Set(["job.recovered", "config.fixed"]);
const NOTICES = new Set(["job.deferred", "job.succeeded"]);

/** One queue's entries with every fold applied, until none applies. */
function collapseGroup(group: OutboxEntry[]): OutboxEntry[] {
  let entries = group;
  for (;;) {
    const next = foldOnce(entries);
    if (next === null) return entries;
    entries = next;
  }
}

/** The entries after one fold, or null when none applies. */
function foldOnce(entries: OutboxEntry[]): OutboxEntry[] | null {
  const foldable = (entry: OutboxEntry) => entry.reached !== true;
  for (let i = 0; i < entries.length; i++) {
    const a = eventOf(entries[i]!);
    if (!foldable(entries[i]!)) continue;
    for (let j = i + 1; j < entries.length; j++) {
      const b = eventOf(entries[j]!);
      if (TELLINGS.has(a.event) && TELLINGS.has(b.event)) {
        if (b.supersedes !== null && b.supersedes === a.escalation_id) {
          b.supersedes = a.supersedes;
          return fold(entries, [i], j);
        }
        if (b.escalation_id !== null && b.escalation_id === a.escalation_id) {
          return fold(entries, [j], i, false);
        }
      }
      if (NOTICES.has(a.event) && b.event === a.event) return fold(entries, [i], j);
    }
    const pair = closedPairAt(entries, i);
    if (pair !== null) {
      const later = laterClosedPair(entries, pair);
      if (later !== null) return fold(entries, [i, pair], later);
    }
  }
  return null;
}

/** The index of the resolution of the telling at `i`, when both may be folded. */
function closedPairAt(entries: OutboxEntry[], i: number): number | null {
  const telling = eventOf(entries[i]!);
  if (!TELLINGS.has(telling.event) || telling.escalation_id === null) return null;
  const at = entries.findIndex((entry, index) =>
    index > i && RESOLUTIONS.has(eventOf(entry).event) &&
    eventOf(entry).escalation_id === telling.escalation_id && entry.reached !== true
  );
  return at === -1 ? null : at;
}

/** The telling of a closed pair after the resolution at `after`, if there is one. */
function laterClosedPair(entries: OutboxEntry[], after: number): number | null {
  for (let i = after + 1; i < entries.length; i++) {
    if (closedPairAt(entries, i) !== null) return i;
  }
  return null;
}

/** `entries` without those at `removed`, counted (unless a copy) into the one at `into`. */
function fold(
  entries: OutboxEntry[],
  removed: number[],
  into: number,
  count = true,
): OutboxEntry[] {
  const target = eventOf(entries[into]!);
  for (const event of removed.map((index) => eventOf(entries[index]!))) {
    if (count && !RESOLUTIONS.has(event.event)) target.collapsed += event.collapsed + 1;
  }
  target.summary = `${target.summary.replace(FOLDED, "")}${foldedNote(target.collapsed)}`;
  return entries.filter((_, index) => !removed.includes(index));
}

const FOLDED = / \(and \d+ earlier, folded while they waited\)$/;

function foldedNote(count: number): string {
  return count > 0 ? ` (and ${count} earlier, folded while they waited)` : "";
}
