/**
 * The spend guard through the real tick (`cli/tick.ts` `runDueJobs`, `run/loop.ts`, `run/hold.ts`,
 * `run/record.ts`) with an injected executor and a clock the test moves, telling through the
 * stand-in daemon on a real socket: a budget lets runs start until it is reached, holds the rest
 * back until local midnight in a zone with summer time, tells a person once per period, and
 * gives way to `--force`.
 */

import assert from "node:assert/strict";
import { runDueJobs } from "../../lib/cli/tick.ts";
import {
  type AgentJob,
  type Budget,
  type Config,
  DEFAULT_NOTIFY,
  type Job,
} from "../../lib/config/job.ts";
import { runnerPaths } from "../../lib/paths.ts";
import { jobResult } from "../../lib/process/result.ts";
import type { RunnerOptions } from "../../lib/run/loop.ts";
import { readHistory } from "../../lib/store/history.ts";
import { readState } from "../../lib/store/state.ts";
import { type Person, startFakeDaemon } from "../helpers/daemon.ts";
import { agentJob, scriptJob } from "../helpers/jobs.ts";
import { outboxLines, recordingLog } from "../helpers/notify.ts";
import { makeSandbox, type Sandbox } from "../helpers/sandbox.ts";

const ZONE = "Europe/Amsterdam";
/**
 * 09:00 in Amsterdam on the day the clocks go back (25 October 2026, 03:00 CEST → 02:00 CET): a
 * day of 25 hours, whose midnight is 23:00 UTC, an hour after a day counted as 24 hours from the
 * last midnight (22:00 UTC) would end, and an hour before UTC's.
 */
const MORNING = Date.parse("2026-10-25T08:00:00Z");
const LOCAL_MIDNIGHT = Date.parse("2026-10-25T23:00:00Z");
const MINUTE = 60_000;

const ADMIN: Person = { name: "Ops", email: "ops@example.com", role: "admin", chats: ["telegram"] };

const claudeJob = (name: string): AgentJob => agentJob(name, { kind: "every", minutes: 10 });

function budgetConfig(sandbox: Sandbox, jobs: Job[], budget: Budget): Config {
  return {
    file: sandbox.config,
    displayName: "teleclaude.yml",
    dir: sandbox.project,
    jobs,
    agents: {},
    cron: {
      notify: { ...DEFAULT_NOTIFY, desktop: false },
      metricsFile: null,
      budget: { claude: budget },
    },
    warnings: [],
  };
}

const DAILY_3: Budget = { dailyUsd: 3, monthlyUsd: null, dailyTokens: null, monthlyTokens: null };

/** A runner over `config` whose every run costs $2 (and 1,000 tokens), at the test's clock. */
function runner(sandbox: Sandbox, config: Config, clock: () => number) {
  const started: string[] = [];
  const log = recordingLog();
  const tick = (overrides: Partial<RunnerOptions> = {}) =>
    runDueJobs({
      config,
      paths: runnerPaths(sandbox.home),
      force: false,
      only: null,
      timeZone: ZONE,
      computer: () => "mini",
      socketPath: sandbox.socket,
      graceMs: 100,
      log,
      stop: new AbortController().signal,
      clock,
      execute: (job) => {
        started.push(job.name);
        return Promise.resolve(jobResult({
          outcome: "success",
          exitCode: 0,
          usage: { cost_usd: 2, input_tokens: 900, output_tokens: 100 },
        }));
      },
      ...overrides,
    });
  const deferrals = () =>
    log.lines.filter(([event]) => event === "job_deferred").map(([, fields]) => fields);
  return { tick, started, deferrals };
}

/** The escalation ids of the budget events waiting in the outbox (no daemon listens). */
async function budgetEvents(sandbox: Sandbox): Promise<string[]> {
  return (await outboxLines(sandbox))
    .map((line) => line.event as { event: string; escalation_id: string })
    .filter((event) => event.event === "budget.reached")
    .map((event) => event.escalation_id);
}

Deno.test("a budget of $3 a day with runs of $2 starts two runs, defers the third until local midnight, and tells once", async (t) => {
  await using sandbox = await makeSandbox();
  await using daemon = startFakeDaemon(sandbox.socket, "healthy", { people: [ADMIN] });
  let now = MORNING;
  const config = budgetConfig(sandbox, ["a", "b", "c"].map(claudeJob), DAILY_3);
  const { tick, started, deferrals } = runner(sandbox, config, () => now);
  const paths = runnerPaths(sandbox.home);

  await t.step("the second run starts below the ceiling and its cost counts in full", async () => {
    const summary = await tick();
    assert.deepEqual(started, ["a", "b"]);
    assert.deepEqual(summary, { ran: 2, failed: 0, interruptedBy: null });
    const state = readState(paths.state).state;
    assert.deepEqual({ ...state.spend?.claude?.day }, { of: "2026-10-25", usd: 4, tokens: 2000 });
    assert.deepEqual({ ...state.spend?.claude?.month }, { of: "2026-10", usd: 4, tokens: 2000 });
    assert.equal(state.jobs.b?.outcome, "success");
    assert.deepEqual({ ...state.jobs.b?.spent }, { claude: { usd: 2, tokens: 1000 } });
  });

  await t.step("the third is held back with reason budget, until the zone's midnight", () => {
    assert.deepEqual(deferrals(), [{
      job: "c",
      agent: "claude",
      until: new Date(LOCAL_MIDNIGHT).toISOString(),
      reason: "budget",
      period: "2026-10-25",
      ceiling: 3,
      spent: 4,
      unit: "usd",
    }]);
  });

  await t.step(
    "a person is told once: one escalation that reached the chat, resolved",
    async () => {
      await daemon.settled();
      assert.deepEqual(
        daemon.events.map((event) => [event.envelope.event, event.envelope.level, event.effect]),
        [["notification.escalation", 2, "created"], ["notification.resolution", 2, "resolved"]],
      );
      assert.equal(daemon.chats.length, 1);
      const payload = daemon.payloadOf(daemon.notifications[0]!);
      assert.equal(payload.event, "budget.reached");
      assert.equal(payload.escalation_id, "cron/mini/budget/claude/2026-10-25");
      assert.equal(daemon.notifications[0]!.entity, "budget/claude");
      assert.match(
        daemon.notifications[0]!.description,
        /^claude reached its daily budget of \$3\.00 \(\$4\.00 spent today\): its jobs wait until 2026-10-26 00:00 \(c held back\)$/,
      );
      assert.deepEqual({ ...readState(paths.state).state.spend?.claude?.told }, {
        day: "2026-10-25",
      });
    },
  );

  await t.step("held through the 25th hour of the day, told no more", async () => {
    for (const at of [MORNING + 30 * MINUTE, LOCAL_MIDNIGHT - 60 * MINUTE, LOCAL_MIDNIGHT - 1]) {
      now = at;
      await tick();
    }
    assert.deepEqual(started, ["a", "b"]);
    assert.equal(deferrals().length, 1 + 3 * 3);
    await daemon.settled();
    assert.equal(daemon.events.length, 2);
  });

  await t.step("lifted at local midnight: the new day counts from nothing", async () => {
    now = LOCAL_MIDNIGHT;
    await tick();
    assert.deepEqual(started, ["a", "b", "a", "b"]);
    const state = readState(paths.state).state;
    assert.deepEqual({ ...state.spend?.claude?.day }, { of: "2026-10-26", usd: 4, tokens: 2000 });
    assert.deepEqual({ ...state.spend?.claude?.month }, { of: "2026-10", usd: 8, tokens: 4000 });
    // The new day's budget reached is told again: once for this day.
    await daemon.settled();
    assert.equal(daemon.chats.length, 2);
    assert.equal(
      daemon.payloadOf(daemon.notifications[1]!).escalation_id,
      "cron/mini/budget/claude/2026-10-26",
    );
  });

  await t.step("--force still runs, and what the forced run spent counts", async () => {
    now = LOCAL_MIDNIGHT + 5 * MINUTE;
    await tick({ force: true, only: "c" });
    assert.deepEqual(started.slice(4), ["c"]);
    const state = readState(paths.state).state;
    assert.equal(state.spend?.claude?.day?.usd, 6);
    assert.deepEqual({ ...state.jobs.c?.spent }, { claude: { usd: 2, tokens: 1000 } });
    const history = (await readHistory(paths.history, { job: "c", limit: 5 })).entries;
    assert.deepEqual(history.map((entry) => entry.usage?.cost_usd), [2]);
  });
});

Deno.test("a monthly ceiling holds the agent back until the first of the next month, told once for the month", async () => {
  await using sandbox = await makeSandbox();
  let now = Date.parse("2026-03-30T10:00:00Z");
  const monthly: Budget = { ...DAILY_3, dailyUsd: null, monthlyUsd: 2 };
  const config = budgetConfig(sandbox, ["a", "b"].map(claudeJob), monthly);
  const { tick, started, deferrals } = runner(sandbox, config, () => now);
  await tick();
  // Midnight of 1 April in Amsterdam, in summer time since 29 March: 31 March 22:00 UTC.
  assert.deepEqual(started, ["a"]);
  assert.equal(deferrals()[0]?.until, "2026-03-31T22:00:00.000Z");
  now = Date.parse("2026-03-31T12:00:00Z");
  await tick();
  assert.deepEqual(started, ["a"], "a new day does not lift a month's ceiling");
  const state = readState(runnerPaths(sandbox.home).state).state;
  assert.deepEqual({ ...state.spend?.claude?.told }, { month: "2026-03" });
  assert.deepEqual(await budgetEvents(sandbox), ["cron/mini/budget/claude/2026-03"]);
  now = Date.parse("2026-03-31T22:00:00Z");
  await tick();
  assert.deepEqual(started, ["a", "a"], "lifted on the first: one run, then held again");
  assert.deepEqual(await budgetEvents(sandbox), [
    "cron/mini/budget/claude/2026-03",
    "cron/mini/budget/claude/2026-04",
  ]);
});

Deno.test("a budget reached is not told when cron.notify.on has no deferred, and a script job is never held", async () => {
  await using sandbox = await makeSandbox();
  const now = MORNING;
  const config = budgetConfig(sandbox, [claudeJob("a"), claudeJob("b"), scriptJob("s")], {
    ...DAILY_3,
    dailyUsd: 1,
  });
  config.cron.notify.on = ["failure", "recovery"];
  const { tick, started } = runner(sandbox, config, () => now);
  await tick();
  assert.deepEqual(started, ["a", "s"]);
  assert.deepEqual(await budgetEvents(sandbox), []);
  assert.equal(readState(runnerPaths(sandbox.home).state).state.spend?.claude?.told, undefined);
});

Deno.test("in lanes a budget lets the runs below it start, holds the rest, and is told once", async () => {
  await using sandbox = await makeSandbox();
  await using daemon = startFakeDaemon(sandbox.socket, "healthy", { people: [ADMIN] });
  const base = budgetConfig(sandbox, ["a", "b", "c", "d"].map(claudeJob), DAILY_3);
  // Two lanes for claude: a and b start together at nothing spent, and their $4 holds c and d.
  const config: Config = {
    ...base,
    agents: { claude: { concurrency: 2 } },
    cron: { ...base.cron, concurrency: 3 },
  };
  const { tick, started, deferrals } = runner(sandbox, config, () => MORNING);
  const summary = await tick();
  assert.deepEqual(started.toSorted(), ["a", "b"]);
  assert.deepEqual(summary, { ran: 2, failed: 0, interruptedBy: null });
  assert.deepEqual(deferrals().map((fields) => [fields.job, fields.reason]), [
    ["c", "budget"],
    ["d", "budget"],
  ]);
  await daemon.settled();
  // Told once, however many jobs it holds and however many wakes of the lanes asked.
  assert.deepEqual(
    daemon.events.map((event) => [event.envelope.event, event.effect]),
    [["notification.escalation", "created"], ["notification.resolution", "resolved"]],
  );
  const state = readState(runnerPaths(sandbox.home).state).state;
  assert.deepEqual({ ...state.spend?.claude?.told }, { day: "2026-10-25" });
  assert.deepEqual({ ...state.spend?.claude?.day }, { of: "2026-10-25", usd: 4, tokens: 2000 });
});
