/** Collapsing what waits (`collapseQueue`): each fold on its own, and what is never folded. */

import assert from "node:assert/strict";
import type { CronEvent, EventKind } from "../../lib/notify/events.ts";
import { collapseQueue } from "../../lib/notify/queue.ts";
import type { OutboxEntry, QueuedChannel } from "../../lib/store/outbox.ts";
import { entryOf, eventOf } from "../helpers/notify.ts";

let clock = Date.parse("2026-11-26T12:00:00Z");

function waiting(
  kind: EventKind,
  fields: Partial<CronEvent> = {},
  entry: Partial<OutboxEntry> & { channel?: QueuedChannel } = {},
): OutboxEntry {
  const job = kind.startsWith("config") ? null : "nightly";
  return entryOf(eventOf(kind, job, clock += 60_000, { escalation_id: null, ...fields }), entry);
}

const ids = (entries: OutboxEntry[]) =>
  entries.map((entry) => `${entry.event.event} ${entry.event.escalation_id}`);

Deno.test("collapseQueue(): a reminder takes the place of the telling it supersedes", () => {
  const first = waiting("job.failed", { escalation_id: "e" });
  const second = waiting("job.failed", { escalation_id: "e#2", supersedes: "e" });
  const third = waiting("job.failed", { escalation_id: "e#3", supersedes: "e#2", failures: 9 });
  const { kept, folded } = collapseQueue([first, second, third]);
  assert.deepEqual(ids(kept), ["job.failed e#3"]);
  assert.equal(folded, 2);
  const event = kept[0]!.event as unknown as CronEvent;
  // Nothing reached the daemon before it: it supersedes nothing.
  assert.equal(event.supersedes, null);
  assert.equal(event.collapsed, 2);
  assert.equal(event.summary, "nightly job.failed (and 2 earlier, folded while they waited)");
});

Deno.test("collapseQueue(): what may have reached its receiver is never folded", () => {
  const tried = waiting("job.failed", { escalation_id: "e" }, { attempts: 1, reached: true });
  const reminder = waiting("job.failed", { escalation_id: "e#2", supersedes: "e" });
  const { kept } = collapseQueue([tried, reminder]);
  assert.deepEqual(ids(kept), ["job.failed e", "job.failed e#2"]);
  assert.equal((kept[1]!.event as unknown as CronEvent).supersedes, "e");
  // Tried, but no byte of it reached anyone (no daemon listened): foldable.
  const unreached = waiting("job.failed", { escalation_id: "f" }, { attempts: 3, reached: false });
  const next = waiting("job.failed", { escalation_id: "f#2", supersedes: "f" });
  assert.deepEqual(ids(collapseQueue([unreached, next]).kept), ["job.failed f#2"]);
});

Deno.test("collapseQueue(): a second copy of a telling is folded into the first, uncounted", () => {
  const queued = waiting("job.failed", { escalation_id: "e", outcome: "failed" });
  const settled = waiting("job.failed", { escalation_id: "e", outcome: "interrupted" });
  const { kept } = collapseQueue([queued, settled]);
  assert.deepEqual(kept, [queued]);
  assert.equal((kept[0]!.event as unknown as CronEvent).collapsed, 0);
});

Deno.test("collapseQueue(): deferrals and successes fold into the next of their kind", () => {
  const entries = [
    waiting("job.succeeded", { escalation_id: "s1" }),
    waiting("job.deferred", { escalation_id: "d1" }),
    waiting("job.succeeded", { escalation_id: "s2" }),
    waiting("job.deferred", { escalation_id: "d2" }),
    waiting("job.succeeded", { escalation_id: "s3" }),
  ];
  assert.deepEqual(ids(collapseQueue(entries).kept), [
    "job.deferred d2",
    "job.succeeded s3",
  ]);
});

Deno.test("collapseQueue(): failed-and-recovered pairs fold into the last pair; an open one stays", () => {
  const entries = [
    waiting("job.failed", { escalation_id: "a" }),
    waiting("job.recovered", { escalation_id: "a" }),
    waiting("job.failed", { escalation_id: "b" }),
    waiting("job.recovered", { escalation_id: "b" }),
    waiting("job.failed", { escalation_id: "c" }),
    waiting("job.recovered", { escalation_id: "c" }),
    waiting("job.failed", { escalation_id: "d" }),
  ];
  const { kept } = collapseQueue(entries);
  assert.deepEqual(ids(kept), ["job.failed c", "job.recovered c", "job.failed d"]);
  assert.equal((kept[0]!.event as unknown as CronEvent).collapsed, 2);
});

Deno.test("collapseQueue(): each channel and each job is a queue of its own", () => {
  const daemon = waiting("job.failed", { escalation_id: "e" });
  const command = waiting("job.failed", { escalation_id: "e#2", supersedes: "e" }, {
    channel: "command",
  });
  const other = waiting("job.failed", { escalation_id: "o#2", supersedes: "e", job: "other" });
  const config = waiting("config.invalid", { escalation_id: "c" });
  const fixed = waiting("config.fixed", { escalation_id: "c" });
  const broken = waiting("config.invalid", { escalation_id: "k" });
  const fixedAgain = waiting("config.fixed", { escalation_id: "k" });
  const { kept } = collapseQueue([daemon, command, other, config, fixed, broken, fixedAgain]);
  assert.deepEqual(ids(kept), [
    "job.failed e",
    "job.failed e#2",
    "job.failed o#2",
    "config.invalid k",
    "config.fixed k",
  ]);
});
