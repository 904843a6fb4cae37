/**
 * What is told and when: the rule (`runEvent`) on its own, the repeat over a faked clock through
 * the real tick (`runDueJobs`, an injected executor, a stand-in daemon on a real socket), and the
 * outbox's bounds.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { runDueJobs } from "../../lib/cli/tick.ts";
import {
  type Config,
  DEFAULT_NOTIFY,
  DEFAULT_SCRIPT_RETRY,
  type Job,
  type NotifySettings,
} from "../../lib/config/job.ts";
import type { Logger } from "../../lib/log.ts";
import { runEvent, type Streak } from "../../lib/notify/events.ts";
import { runnerPaths } from "../../lib/paths.ts";
import { type JobResult, jobResult } from "../../lib/process/result.ts";
import {
  type OutboxEntry,
  outboxWaiting,
  pruneOutbox,
  queueEntries,
  readOutbox,
  rewriteOutbox,
} from "../../lib/store/outbox.ts";
import { startFakeDaemon } from "../helpers/daemon.ts";
import { makeSandbox, type Sandbox } from "../helpers/sandbox.ts";

const job = (notify: Job["notify"] = null): Job => ({
  name: "nightly",
  type: "script",
  command: ["/bin/false"],
  discovered: false,
  schedule: { kind: "every", minutes: 10 },
  timeoutSeconds: 60,
  idleTimeoutSeconds: 0,
  maxLogBytes: null,
  computers: null,
  notify,
  enabled: true,
  jitterMinutes: 0,
  retry: { ...DEFAULT_SCRIPT_RETRY },
});

const NOW = Date.parse("2026-11-26T12:00:00Z");
const SETTINGS: NotifySettings = { ...DEFAULT_NOTIFY, desktop: false };
const facts = (now = NOW) => ({
  startedIso: new Date(now).toISOString(),
  finishedIso: new Date(now + 1000).toISOString(),
  logPath: "/logs/nightly/1.log",
  host: () => "mini",
  config: "/cfg/teleclaude.yml",
  now,
  deferredUntil: null,
});
const failed = jobResult({ outcome: "timed_out", error: "timed out after 60s" });
const succeeded = jobResult({ outcome: "success" });
const fresh: Streak = { failures: 0, notified: null };

Deno.test("runEvent(): a failure once per streak, a recovery, success only when asked", () => {
  const first = runEvent(job(), fresh, failed, 1, facts(), SETTINGS);
  assert.equal(first.event?.event, "job.failed");
  assert.equal(first.event?.summary, "nightly timed out: timed out after 60s");
  assert.deepEqual(first.notified, { at: new Date(NOW).toISOString(), failures: 1 });
  const again = runEvent(
    job(),
    { failures: 1, notified: first.notified! },
    failed,
    2,
    facts(NOW + 600_000),
    SETTINGS,
  );
  assert.equal(again.event, null);
  const recovered = runEvent(
    job(),
    { failures: 2, notified: first.notified! },
    succeeded,
    0,
    facts(),
    SETTINGS,
  );
  assert.equal(recovered.event?.event, "job.recovered");
  assert.equal(runEvent(job(), fresh, succeeded, 0, facts(), SETTINGS).event, null);
  const loud = job({ on: ["failure", "recovery", "success"], repeatMs: null });
  assert.equal(
    runEvent(loud, fresh, succeeded, 0, facts(), SETTINGS).event?.event,
    "job.succeeded",
  );
  assert.equal(runEvent(job(false), fresh, failed, 1, facts(), SETTINGS).event, null);
  const quiet = job({ on: ["recovery"], repeatMs: null });
  assert.equal(runEvent(quiet, fresh, failed, 1, facts(), SETTINGS).event, null);
});

Deno.test("runEvent(): a usage limit is a deferral, not a failure", () => {
  const limited = jobResult({ outcome: "usage_limit", error: "You've hit your limit" });
  const told = runEvent(job(), fresh, limited, 0, {
    ...facts(),
    deferredUntil: "2026-11-26T15:00:00.000Z",
  }, SETTINGS);
  assert.equal(told.event?.event, "job.deferred");
  assert.equal(told.event?.until, "2026-11-26T15:00:00.000Z");
  assert.equal(told.notified, undefined);
});

/**
 * The real tick in this process over one job whose every run comes to `outcome()`, forced, with
 * a clock the test moves: what the notification rule does over hours, in milliseconds.
 */
function tickOf(
  sandbox: Sandbox,
  notify: NotifySettings,
  outcome: () => JobResult,
  clock: () => number,
): () => Promise<unknown> {
  const config: Config = {
    file: sandbox.config,
    displayName: "teleclaude.yml",
    dir: sandbox.project,
    jobs: [job()],
    agents: {},
    cron: { notify, metricsFile: null },
    warnings: [],
  };
  return () =>
    runDueJobs({
      config,
      paths: runnerPaths(sandbox.home),
      force: true,
      only: null,
      timeZone: "UTC",
      computer: () => "mini",
      socketPath: sandbox.socket,
      graceMs: 100,
      log: quietLog(),
      stop: new AbortController().signal,
      execute: () => Promise.resolve(outcome()),
      clock,
    });
}

function quietLog(): Logger {
  const nothing = () => {};
  return { info: nothing, warn: nothing, error: nothing, debug: nothing, raw: nothing };
}

Deno.test("three failures in a row are told once, then once a `repeat` later, with the count", async () => {
  await using sandbox = await makeSandbox();
  await using daemon = startFakeDaemon(sandbox.socket, "healthy");
  let now = NOW;
  const tick = tickOf(sandbox, { ...SETTINGS, repeatMs: 24 * 3600_000 }, () => failed, () => now);
  for (const minutes of [0, 10, 20, 24 * 60 - 1]) {
    now = NOW + minutes * 60_000;
    await tick();
  }
  assert.equal(daemon.events.length, 1);
  now = NOW + 24 * 3600_000 + 60_000;
  await tick();
  const told = daemon.events.map((event) => event.envelope.payload as { failures: number });
  assert.deepEqual(told.map((event) => event.failures), [1, 5]);
  assert.match(String(daemon.events[1]!.envelope.description), /\(5 failures in a row\)$/);
});

Deno.test("a recovery never overtakes its failure: a channel's queue keeps its order", async () => {
  await using sandbox = await makeSandbox();
  let now = NOW;
  let outcome = failed;
  const tick = tickOf(sandbox, SETTINGS, () => outcome, () => now);
  // The daemon is down for three ticks: the failure is tried three times, then held 10 minutes.
  for (const minutes of [0, 5, 10]) {
    now = NOW + minutes * 60_000;
    await tick();
  }
  await using daemon = startFakeDaemon(sandbox.socket, "healthy");
  now = NOW + 15 * 60_000;
  outcome = succeeded;
  await tick();
  assert.equal(daemon.events.length, 0, "the recovery waits behind the held failure");
  now = NOW + 21 * 60_000;
  await tick();
  assert.deepEqual(daemon.events.map((event) => event.envelope.event), [
    "cron.job.failed",
    "cron.job.recovered",
  ]);
});

const entry = (queued: number, id = String(queued)): OutboxEntry => ({
  channel: "daemon",
  event: { id, event: "job.failed" },
  queued: new Date(queued).toISOString(),
  attempts: 1,
  next: new Date(queued).toISOString(),
  last_error: "daemon: No such file or directory",
});

Deno.test("the outbox drops what is a week old or past 1,000 entries, oldest first", () => {
  const week = 7 * 24 * 3600_000;
  const old = pruneOutbox([entry(NOW - week - 1), entry(NOW - week + 1)], NOW);
  assert.deepEqual(old.kept.map((kept) => kept.event.id), [String(NOW - week + 1)]);
  assert.deepEqual(old.dropped.map((drop) => drop.reason), ["undelivered for 7 days"]);
  const many = Array.from({ length: 1003 }, (_, i) => entry(NOW - 1003 + i, `e${i}`));
  const capped = pruneOutbox(many, NOW);
  assert.equal(capped.kept.length, 1000);
  assert.deepEqual(capped.dropped.map((drop) => drop.entry.event.id), ["e0", "e1", "e2"]);
});

Deno.test("the outbox survives a torn line, is kept empty, and costs an idle tick one lstat", async () => {
  await using sandbox = await makeSandbox();
  const path = join(sandbox.home, "outbox.jsonl");
  await queueEntries(path, [entry(NOW, "a")]);
  await Deno.writeTextFile(path, '{"channel": "daemon", "event": {"id"', { append: true });
  await queueEntries(path, [entry(NOW, "b")]);
  const read = readOutbox(path);
  assert.deepEqual(read.entries.map((kept) => kept.event.id), ["a", "b"]);
  assert.equal(read.skipped, 1);
  assert.equal((await Deno.stat(path)).mode! & 0o777, 0o600);
  rewriteOutbox(path, [read.entries[1]!]);
  assert.deepEqual(readOutbox(path).entries.map((kept) => kept.event.id), ["b"]);
  assert.equal(outboxWaiting(path), true);
  rewriteOutbox(path, []);
  assert.equal((await Deno.lstat(path)).size, 0);
  assert.equal(outboxWaiting(path), false);
  // The first tick makes the empty file, 0600; where there is no ~/.teleclaude, nothing waits.
  const fresh = join(sandbox.home, "fresh.jsonl");
  assert.equal(outboxWaiting(fresh), false);
  assert.equal((await Deno.lstat(fresh)).mode! & 0o777, 0o600);
  assert.equal(outboxWaiting(join(sandbox.home, "missing", "outbox.jsonl")), false);
});
