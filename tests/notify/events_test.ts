/**
 * What is told and when: the rule (`runEvent`) on its own, each incident's escalation ids, what
 * the daemon is sent for each event (`daemonEnvelopes`), events bounded and checked; then the
 * repeat over a faked clock through the real tick (`runDueJobs`, an injected executor, the
 * stand-in daemon on a real socket).
 */

import assert from "node:assert/strict";
import {
  type Config,
  DEFAULT_NOTIFY,
  type Job,
  type NotifySettings,
} from "../../lib/config/job.ts";
import { daemonEnvelopes } from "../../lib/notify/envelopes.ts";
import {
  boundEvent,
  budgetEvent,
  type CronEvent,
  eventFromOutbox,
  MAX_EVENT_BYTES,
  runEvent,
  type Streak,
  testEvent,
} from "../../lib/notify/events.ts";
import { type JobResult, jobResult, MAX_ERROR_CHARS } from "../../lib/process/result.ts";
import type { BudgetHold } from "../../lib/spend.ts";
import { parseState } from "../../lib/store/state.ts";
import { type Person, startFakeDaemon } from "../helpers/daemon.ts";
import { quietLog, scriptJob, tickIn } from "../helpers/notify.ts";
import { makeSandbox, type Sandbox } from "../helpers/sandbox.ts";

const job = (notify: Job["notify"] = null): Job => scriptJob("nightly", notify);

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
const fresh: Streak = { failures: 0, firstFailure: null, notified: null };
const streak = (failures: number, told?: ReturnType<typeof runEvent>["notified"]): Streak => ({
  failures,
  firstFailure: new Date(NOW).toISOString(),
  notified: told ?? null,
});

Deno.test("runEvent(): a failure once per streak, a recovery, success only when asked", () => {
  const first = runEvent(job(), fresh, failed, streak(1), facts(), SETTINGS);
  assert.equal(first.event?.event, "job.failed");
  assert.equal(first.event?.summary, "nightly timed out: timed out after 60s");
  assert.deepEqual(first.notified, {
    at: new Date(NOW).toISOString(),
    failures: 1,
    told: 1,
    escalation_id: "cron/mini/nightly/2026-11-26T12:00:00.000Z",
  });
  const again = runEvent(
    job(),
    streak(1, first.notified),
    failed,
    streak(2, first.notified),
    facts(NOW + 600_000),
    SETTINGS,
  );
  assert.equal(again.event, null);
  const recovered = runEvent(
    job(),
    streak(2, first.notified),
    succeeded,
    fresh,
    facts(),
    SETTINGS,
  );
  assert.equal(recovered.event?.event, "job.recovered");
  assert.equal(runEvent(job(), fresh, succeeded, fresh, facts(), SETTINGS).event, null);
  const loud = job({ on: ["failure", "recovery", "success"], repeatMs: null });
  assert.equal(
    runEvent(loud, fresh, succeeded, fresh, facts(), SETTINGS).event?.event,
    "job.succeeded",
  );
  assert.equal(runEvent(job(false), fresh, failed, streak(1), facts(), SETTINGS).event, null);
  const quiet = job({ on: ["recovery"], repeatMs: null });
  assert.equal(runEvent(quiet, fresh, failed, streak(1), facts(), SETTINGS).event, null);
});

Deno.test("a streak is one incident: its reminder supersedes, its recovery resolves the last told", () => {
  const day = 24 * 3600_000;
  const first = runEvent(job(), fresh, failed, streak(1), facts(), SETTINGS);
  const incident = "cron/mini/nightly/2026-11-26T12:00:00.000Z";
  assert.equal(first.event?.escalation_id, incident);
  assert.equal(first.event?.supersedes, null);
  const reminder = runEvent(
    job(),
    streak(5, first.notified),
    failed,
    streak(6, first.notified),
    facts(NOW + day),
    SETTINGS,
  );
  // The same id again would be dropped by the daemon's dedup: the reminder has one of its own.
  assert.equal(reminder.event?.escalation_id, `${incident}#2`);
  assert.equal(reminder.event?.supersedes, incident);
  assert.equal(reminder.event?.failures, 6);
  assert.deepEqual(reminder.notified, {
    at: new Date(NOW + day).toISOString(),
    failures: 6,
    told: 2,
    escalation_id: `${incident}#2`,
  });
  const recovered = runEvent(
    job(),
    streak(6, reminder.notified),
    succeeded,
    fresh,
    facts(NOW + day + 60_000),
    SETTINGS,
  );
  assert.equal(recovered.event?.escalation_id, `${incident}#2`);
  // A streak of a state from before escalations had ids: nothing for the daemon to resolve.
  const older = runEvent(
    job(),
    { ...streak(3), notified: { at: new Date(NOW).toISOString(), failures: 1 } },
    succeeded,
    fresh,
    facts(),
    SETTINGS,
  );
  assert.equal(older.event?.escalation_id, null);
  assert.deepEqual(daemonEnvelopes(older.event!), []);
});

Deno.test("daemonEnvelopes(): each event in the daemon's catalog, with no idempotency_key of its own", () => {
  const first = runEvent(job(), fresh, failed, streak(1), facts(), SETTINGS).event!;
  const [escalation, ...rest] = daemonEnvelopes(first);
  assert.deepEqual(rest, []);
  assert.deepEqual({ ...escalation, payload: undefined }, {
    event: "notification.escalation",
    source: "teleclaude-cron",
    level: 3,
    domain: "cron",
    entity: "nightly",
    description: first.summary,
    payload: undefined,
  });
  assert.deepEqual(escalation!.payload, {
    ...first,
    escalation_id: first.escalation_id,
    reason: first.summary,
  });
  const reminder = { ...first, escalation_id: "x#2", supersedes: "x" };
  assert.deepEqual(
    daemonEnvelopes(reminder).map((e) => [e.event, e.level, e.payload.escalation_id]),
    [["notification.escalation", 3, "x#2"], ["notification.resolution", 2, "x"]],
  );
  const limited = runEvent(
    job(),
    fresh,
    jobResult({ outcome: "usage_limit", error: "You've hit your limit" }),
    fresh,
    { ...facts(), deferredUntil: "2026-11-26T15:00:00.000Z" },
    SETTINGS,
  ).event!;
  // Nothing to act on: listed at level 1 (no chat) and closed at once.
  assert.deepEqual(
    daemonEnvelopes(limited).map((e) => [e.event, e.level, e.payload.escalation_id]),
    [
      ["notification.escalation", 1, "cron/mini/nightly/deferred/2026-11-26T12:00:00.000Z"],
      ["notification.resolution", 2, "cron/mini/nightly/deferred/2026-11-26T12:00:00.000Z"],
    ],
  );
  const test = testEvent("/cfg/teleclaude.yml", "mini", NOW);
  assert.deepEqual(daemonEnvelopes(test).map((e) => [e.event, e.level, e.entity]), [
    ["notification.escalation", 3, "test"],
  ]);
});

const HOLD: BudgetHold = {
  agent: "codex",
  period: "day",
  of: "2026-11-26",
  unit: "tokens",
  ceiling: 2_000_000,
  spent: 2_004_936,
  until: Date.parse("2026-11-27T00:00:00Z"),
};
const budgetFacts = {
  job: "digest",
  host: () => "mini",
  config: "/cfg/t.yml",
  now: NOW,
  timeZone: "UTC",
};

Deno.test("budgetEvent(): an agent's budget reached, once per period, about the agent and no job", () => {
  const event = budgetEvent(HOLD, undefined, budgetFacts, SETTINGS)!;
  assert.equal(event.event, "budget.reached");
  assert.equal(event.job, null);
  assert.equal(event.agent, "codex");
  assert.equal(event.until, "2026-11-27T00:00:00.000Z");
  assert.equal(event.cost_usd, null);
  assert.equal(event.escalation_id, "cron/mini/budget/codex/2026-11-26");
  assert.equal(
    event.summary,
    "codex reached its daily budget of 2,000,000 tokens (2,004,936 tokens spent today): its " +
      "jobs wait until 2026-11-27 00:00 (digest held back)",
  );
  // Told already this period, or not asked for: nothing; a month's telling is not a day's.
  assert.equal(budgetEvent(HOLD, { day: "2026-11-26" }, budgetFacts, SETTINGS), null);
  assert.notEqual(
    budgetEvent(HOLD, { day: "2026-11-25", month: "2026-11" }, budgetFacts, SETTINGS),
    null,
  );
  assert.equal(budgetEvent(HOLD, undefined, budgetFacts, { ...SETTINGS, on: ["failure"] }), null);
  // Read back from the outbox as it was queued.
  assert.deepEqual(eventFromOutbox(JSON.parse(JSON.stringify(event))), event);
});

Deno.test("daemonEnvelopes(): a budget reached reaches a chat (level 2) and is closed at once", () => {
  const event = budgetEvent(
    { ...HOLD, agent: "claude", unit: "usd", ceiling: 3, spent: 4 },
    undefined,
    budgetFacts,
    SETTINGS,
  )!;
  assert.equal(event.cost_usd, 4);
  assert.deepEqual(
    daemonEnvelopes(event).map((e) => [e.event, e.level, e.entity, e.payload.escalation_id]),
    [
      ["notification.escalation", 2, "budget/claude", "cron/mini/budget/claude/2026-11-26"],
      ["notification.resolution", 2, "budget/claude", "cron/mini/budget/claude/2026-11-26"],
    ],
  );
});

Deno.test("runEvent(): a usage limit is a deferral, not a failure", () => {
  const limited = jobResult({ outcome: "usage_limit", error: "You've hit your limit" });
  const told = runEvent(job(), fresh, limited, fresh, {
    ...facts(),
    deferredUntil: "2026-11-26T15:00:00.000Z",
  }, SETTINGS);
  assert.equal(told.event?.event, "job.deferred");
  assert.equal(told.event?.until, "2026-11-26T15:00:00.000Z");
  assert.equal(told.notified, undefined);
});

Deno.test("a script's own message is in what is told, beside its errors", () => {
  const reported = jobResult({
    outcome: "failed",
    exitCode: 0,
    error: "reported success: false: feed a: timeout; feed b: HTTP 500",
    message: "2 of 10 feeds failed",
  });
  const told = runEvent(job(), fresh, reported, streak(1), facts(), SETTINGS).event!;
  assert.equal(
    told.summary,
    "nightly failed: 2 of 10 feeds failed (reported success: false: feed a: timeout; feed b: HTTP 500)",
  );
  assert.equal(told.message, "2 of 10 feeds failed");
  // A message that is the error already is not said twice.
  const alone = jobResult({ error: "reported success: false: disk full", message: "disk full" });
  assert.equal(
    runEvent(job(), fresh, alone, streak(1), facts(), SETTINGS).event!.summary,
    "nightly failed: reported success: false: disk full",
  );
});

Deno.test("an error of any size is bounded in the result, the event and its JSON", () => {
  // A NUL is 1 character and 6 bytes of JSON: the worst case for an entry's size.
  const huge = `${"\u0000".repeat(30_000)}${"é".repeat(30_000)}`;
  const result = jobResult({
    error: `reported success: false: ${huge}`,
    message: huge,
    outputTail: `${"\u0001".repeat(70_000)}\n`.repeat(3),
  });
  assert.ok(result.error!.length <= MAX_ERROR_CHARS, String(result.error!.length));
  assert.match(result.error!, /\[… \d+ characters cut …\]/);
  const event = runEvent(job(), fresh, result, streak(1), facts(), SETTINGS).event!;
  const bytes = new TextEncoder().encode(JSON.stringify(event)).length;
  assert.ok(bytes <= MAX_EVENT_BYTES, `${bytes} bytes`);
  assert.ok(event.error!.startsWith("reported success: false: \u0000"));
  const tooBig = boundEvent({ ...event, error: "x".repeat(40_000), log_tail: null });
  assert.ok(JSON.stringify(tooBig).length <= MAX_EVENT_BYTES);
});

Deno.test("eventFromOutbox(): a field of the wrong type is a problem, an older event is fine", () => {
  const event = runEvent(job(), fresh, failed, streak(1), facts(), SETTINGS).event!;
  const raw = JSON.parse(JSON.stringify(event)) as Record<string, unknown>;
  assert.deepEqual(eventFromOutbox(raw), event);
  assert.equal(eventFromOutbox({ ...raw, error: 123 }), "error: not a string or null");
  assert.equal(eventFromOutbox({ ...raw, failures: "3" }), "failures: not a number or null");
  assert.equal(eventFromOutbox({ ...raw, event: "job.exploded" }), "event: not a kind");
  // Written by a runner before escalations: those fields are missing, and mean none.
  const { escalation_id: _, supersedes: __, message: ___, collapsed: ____, ...older } = raw;
  const read = eventFromOutbox(older) as CronEvent;
  assert.equal(read.escalation_id, null);
  assert.equal(read.collapsed, 0);
  // Its failure still reaches a person, under an id of its own.
  assert.equal(daemonEnvelopes(read)[0]!.payload.escalation_id, incidentOf(read));
});

function incidentOf(event: CronEvent): string {
  return `cron/${event.host}/${event.job}/${event.started}`;
}

Deno.test("the streak's first failure and its telling are checked like every state field", () => {
  const { state, problems } = parseState(JSON.stringify({
    jobs: {
      a: { last_run: null, last_status: "never", last_error: null, first_failure: "soon" },
      b: {
        last_run: null,
        last_status: "failed",
        last_error: null,
        notified: { at: "2026-11-26T12:00:00Z", failures: 1, told: -1 },
      },
      c: {
        last_run: null,
        last_status: "failed",
        last_error: null,
        first_failure: "2026-11-26T12:00:00Z",
        notified: { at: "2026-11-26T12:00:00Z", failures: 1, told: 2, escalation_id: "x#2" },
      },
    },
  }));
  assert.deepEqual(problems, [
    'jobs.a.first_failure: "soon" is not a timestamp: dropped',
    'jobs.b.notified: {"at":"2026-11-26T12:00:00Z","failures":1,"told":-1} is not a notification record: dropped',
  ]);
  assert.equal(state.jobs.c!.notified!.escalation_id, "x#2");
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
    cron: { notify, metricsFile: null, budget: {} },
    warnings: [],
  };
  return () =>
    tickIn(sandbox, config, { log: quietLog(), execute: () => Promise.resolve(outcome()), clock });
}

const ADMIN: Person = { name: "Ops", email: "ops@example.com", role: "admin", chats: ["telegram"] };

Deno.test("a failing job is escalated once, reminded after `repeat` (reaching the admin again), resolved by its recovery", async () => {
  await using sandbox = await makeSandbox();
  await using daemon = startFakeDaemon(sandbox.socket, "healthy", { people: [ADMIN] });
  let now = NOW;
  let outcome = failed;
  const tick = tickOf(sandbox, { ...SETTINGS, repeatMs: 24 * 3600_000 }, () => outcome, () => now);
  for (const minutes of [0, 10, 20, 24 * 60 - 1]) {
    now = NOW + minutes * 60_000;
    await tick();
  }
  await daemon.settled();
  assert.equal(daemon.notifications.length, 1);
  assert.equal(daemon.chats.length, 1);
  now = NOW + 24 * 3600_000 + 60_000;
  await tick();
  await daemon.settled();
  const [first, reminder] = daemon.notifications;
  assert.equal(daemon.payloadOf(reminder!).failures, 5);
  assert.match(reminder!.description, /\(5 failures in a row\)$/);
  assert.deepEqual(daemon.chats.map((chat) => chat.notification), [first!.id, reminder!.id]);
  // The first is closed as superseded by the reminder: one open notification per problem.
  assert.equal(first!.agent_status, "resolved");
  assert.equal(
    JSON.parse(first!.resolution!).superseded_by,
    daemon.payloadOf(reminder!).escalation_id,
  );
  assert.equal(reminder!.agent_status, "none");
  now += 10 * 60_000;
  outcome = succeeded;
  await tick();
  await daemon.settled();
  assert.equal(reminder!.agent_status, "resolved");
  assert.equal(daemon.chats.length, 2, "a resolution reaches no chat");
  assert.deepEqual(daemon.events.map((event) => event.effect), [
    "created",
    "created",
    "resolved",
    "resolved",
  ]);
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
  await daemon.settled();
  assert.deepEqual(daemon.events.map((event) => [event.envelope.event, event.effect]), [
    ["notification.escalation", "created"],
    ["notification.resolution", "resolved"],
  ]);
});

Deno.test("every event the runner sends makes something at the daemon: nothing is accepted and dropped", async () => {
  await using sandbox = await makeSandbox();
  await using daemon = startFakeDaemon(sandbox.socket, "healthy", { people: [ADMIN] });
  let now = NOW;
  let outcome = succeeded;
  const loud: NotifySettings = {
    ...SETTINGS,
    on: ["failure", "recovery", "deferred", "success"],
    repeatMs: 3600_000,
  };
  const tick = tickOf(sandbox, loud, () => outcome, () => now);
  const limited = jobResult({ outcome: "usage_limit", error: "You've hit your limit" });
  // A success, a failure, its reminder, a usage limit in the streak, the recovery.
  for (
    const [minutes, result] of [[0, succeeded], [10, failed], [75, failed], [80, limited], [
      85,
      succeeded,
    ]] as const
  ) {
    now = NOW + minutes * 60_000;
    outcome = result;
    await tick();
  }
  await daemon.settled();
  assert.deepEqual(
    daemon.events.map((event) => [
      (event.envelope.payload as { event: string }).event,
      event.envelope.event,
      event.status,
      event.effect,
    ]),
    [
      ["job.succeeded", "notification.escalation", 200, "created"],
      ["job.succeeded", "notification.resolution", 200, "resolved"],
      ["job.failed", "notification.escalation", 200, "created"],
      ["job.failed", "notification.escalation", 200, "created"],
      ["job.failed", "notification.resolution", 200, "resolved"],
      ["job.deferred", "notification.escalation", 200, "created"],
      ["job.deferred", "notification.resolution", 200, "resolved"],
      ["job.recovered", "notification.resolution", 200, "resolved"],
    ],
  );
  // Only the failure and its reminder were for a person to act on: they reached the chat.
  assert.deepEqual(daemon.chats.map((chat) => daemon.notifications[chat.notification - 1]!.level), [
    3,
    3,
  ]);
  assert.ok(daemon.notifications.every((row) => row.agent_status === "resolved"));
});
