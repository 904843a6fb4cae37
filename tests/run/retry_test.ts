/**
 * Retries, pause and the first slot of a new job, through the tick (cli/tick.ts selecting,
 * run/loop.ts running and recording) under an injected clock and an injected executor: ticks
 * every five minutes, nothing spawned, what is told read back from the real outbox.
 */

import assert from "node:assert/strict";
import { runDueJobs } from "../../lib/cli/tick.ts";
import {
  type AgentJob,
  DEFAULT_AGENT_RETRY,
  DEFAULT_NOTIFY,
  type Job,
  type RetryPolicy,
  type Schedule,
} from "../../lib/config/job.ts";
import { runnerPaths } from "../../lib/paths.ts";
import type { RunnerOptions } from "../../lib/run/loop.ts";
import { retryDelayMs } from "../../lib/run/retry.ts";
import { jitterOffset } from "../../lib/schedule.ts";
import { type JobResult, jobResult } from "../../lib/process/result.ts";
import type { Outcome } from "../../lib/store/state.ts";
import { readHistory } from "../../lib/store/history.ts";
import { readOutbox } from "../../lib/store/outbox.ts";
import { readState, saveState } from "../../lib/store/state.ts";
import { agentJob as jobOf, testConfig } from "../helpers/jobs.ts";
import { makeSandbox } from "../helpers/sandbox.ts";

const MIN = 60_000;
const at = (iso: string) => Date.parse(iso);

function agentJob(
  name: string,
  schedule: Schedule,
  retry: Partial<RetryPolicy> = {},
  more: Partial<AgentJob> = {},
): AgentJob {
  return jobOf(name, schedule, { retry: { ...DEFAULT_AGENT_RETRY, ...retry }, ...more });
}

const quiet = { info() {}, warn() {}, error() {}, debug() {}, raw() {} };

/**
 * A runner whose ticks come every five minutes (three seconds past the mark) on an injected
 * clock; each run takes a minute and ends with the next outcome of `outcomes` (success after).
 */
function runner(home: string, jobs: Job[], outcomes: Outcome[] = [], computer = "mini") {
  let now = 0;
  const runs: { job: string; at: number }[] = [];
  // The daemon channel on, its socket absent: what is told waits in the outbox, to be read.
  const config = testConfig(home, jobs, { ...DEFAULT_NOTIFY, desktop: false });
  const execute = (job: Job): Promise<JobResult> => {
    runs.push({ job: job.name, at: now });
    now += MIN;
    const outcome = outcomes.shift() ?? "success";
    return Promise.resolve(
      jobResult({ outcome, error: outcome === "success" ? null : `${outcome} (529 Overloaded)` }),
    );
  };
  const options = (force = false, only: string | null = null): RunnerOptions => ({
    config,
    paths: runnerPaths(home),
    force,
    only,
    timeZone: "UTC",
    computer: () => computer,
    socketPath: `${home}/no-daemon.sock`,
    graceMs: 100,
    log: quiet,
    stop: new AbortController().signal,
    execute,
    clock: () => now,
  });
  return {
    runs,
    /** Ticks every five minutes from `from` up to `to`. */
    async ticks(from: number, to: number) {
      for (let tick = from; tick < to; tick += 5 * MIN) {
        now = Math.max(now, tick + 3000);
        await runDueJobs(options());
      }
    },
    /** `--force --job NAME`, or a plain `--force` when `name` is null. */
    async forced(name: string | null, when: number) {
      now = when;
      await runDueJobs(options(true, name));
    },
    /** A state in which each of `names` last succeeded at `when`. */
    ranAt(names: string[], when: number) {
      const entry = { last_run: new Date(when).toISOString(), last_status: "success" as const };
      saveState(runnerPaths(home).state, {
        jobs: Object.fromEntries(names.map((name) => [name, { ...entry, last_error: null }])),
      });
    },
    state: () => readState(runnerPaths(home).state).state,
    told: () =>
      readOutbox(runnerPaths(home).outbox).entries.filter((entry) => entry.channel === "daemon")
        .map((entry) => `${entry.event.event} ${entry.event.outcome}`),
  };
}

const iso = (instants: number[]) => instants.map((instant) => new Date(instant).toISOString());
const nightly = agentJob("nightly", { kind: "at", times: ["03:00"], weekdays: null });

Deno.test("retryDelayMs() doubles the backoff per attempt up to an hour, or the backoff itself", () => {
  const policy = { ...DEFAULT_AGENT_RETRY, attempts: 10 };
  assert.deepEqual([1, 2, 3, 4, 5].map((n) => retryDelayMs(policy, n) / MIN), [10, 20, 40, 60, 60]);
  const slow = { ...policy, backoffMinutes: 90 };
  assert.deepEqual([1, 2].map((n) => retryDelayMs(slow, n) / MIN), [90, 90]);
});

Deno.test("an unavailable model service is retried at failure + backoff, doubling, and stops at N attempts", async () => {
  await using sandbox = await makeSandbox();
  const run = runner(sandbox.home, [nightly], ["unavailable", "unavailable", "unavailable"]);
  run.ranAt(["nightly"], at("2026-11-25T03:00:00Z"));
  await run.ticks(at("2026-11-26T02:00:00Z"), at("2026-11-26T05:00:00Z"));
  // 03:00 fails at 03:01: due 03:11, run by the 03:15 tick; fails 03:16, due 03:36, run at 03:40.
  assert.deepEqual(iso(run.runs.map((one) => one.at)), [
    "2026-11-26T03:00:03.000Z",
    "2026-11-26T03:15:03.000Z",
    "2026-11-26T03:40:03.000Z",
  ]);
  const entry = run.state().jobs.nightly!;
  assert.equal(entry.retry, undefined);
  assert.equal(entry.failures, 3);
  assert.equal(entry.retries, 2);
  // Told once, when the last attempt failed.
  assert.deepEqual(run.told(), ["job.failed unavailable"]);
  const history = (await readHistory(runnerPaths(sandbox.home).history, { limit: 10 })).entries;
  assert.deepEqual(
    history.slice(0, 3).reverse().map((line) => [line.attempt, line.attempts, line.retry_at]),
    [
      [1, 3, "2026-11-26T03:11:03.000Z"],
      [2, 3, "2026-11-26T03:36:03.000Z"],
      [3, 3, undefined],
    ],
  );
});

Deno.test("a retry that succeeds is told as nothing: nobody heard of the failure", async () => {
  await using sandbox = await makeSandbox();
  const run = runner(sandbox.home, [nightly], ["unavailable"]);
  run.ranAt(["nightly"], at("2026-11-25T03:00:00Z"));
  await run.ticks(at("2026-11-26T02:55:00Z"), at("2026-11-26T04:00:00Z"));
  const entry = run.state().jobs.nightly!;
  assert.deepEqual([entry.outcome, entry.failures, entry.retries, entry.retry], [
    "success",
    0,
    1,
    undefined,
  ]);
  assert.deepEqual(run.told(), []);
});

Deno.test("retry.tell: first tells the first failed attempt, and then the recovery", async () => {
  await using sandbox = await makeSandbox();
  const job = agentJob("nightly", nightly.schedule, { tell: "first" });
  const run = runner(sandbox.home, [job], ["unavailable"]);
  run.ranAt(["nightly"], at("2026-11-25T03:00:00Z"));
  await run.ticks(at("2026-11-26T02:55:00Z"), at("2026-11-26T04:00:00Z"));
  assert.deepEqual(run.told(), ["job.failed unavailable", "job.recovered success"]);
});

Deno.test("a retry never runs once the job's next regular slot has come", async () => {
  await using sandbox = await makeSandbox();
  const job = agentJob("twice", { kind: "at", times: ["03:00", "03:30"], weekdays: null }, {
    backoffMinutes: 20,
    attempts: 5,
  });
  const run = runner(sandbox.home, [job], ["unavailable", "unavailable", "unavailable"]);
  run.ranAt(["twice"], at("2026-11-25T03:30:00Z"));
  await run.ticks(at("2026-11-26T02:55:00Z"), at("2026-11-26T04:30:00Z"));
  // 03:00 fails at 03:01: retry at 03:21 (before 03:30). It fails at 03:26: 40 min on would pass
  // 03:30, so no retry: the 03:30 slot runs as a first attempt, and its retry follows at 03:51.
  assert.deepEqual(iso(run.runs.map((one) => one.at)), [
    "2026-11-26T03:00:03.000Z",
    "2026-11-26T03:25:03.000Z",
    "2026-11-26T03:30:03.000Z",
    "2026-11-26T03:55:03.000Z",
  ]);
  const history = (await readHistory(runnerPaths(sandbox.home).history, { limit: 4 })).entries;
  assert.deepEqual(history.reverse().map((line) => line.attempt), [1, 2, 1, 2]);
});

Deno.test("no retry for an outcome no retry helps, nor for one retry.on leaves out", async (t) => {
  for (
    const outcome of ["auth", "untrusted", "budget", "max_turns", "usage_limit", "failed"] as const
  ) {
    await t.step(outcome, async () => {
      await using sandbox = await makeSandbox();
      const run = runner(sandbox.home, [nightly], [outcome]);
      run.ranAt(["nightly"], at("2026-11-25T03:00:00Z"));
      await run.ticks(at("2026-11-26T02:55:00Z"), at("2026-11-26T06:00:00Z"));
      assert.equal(run.runs.length, 1);
      assert.equal(run.state().jobs.nightly!.retry, undefined);
      if (outcome !== "usage_limit") assert.deepEqual(run.told(), [`job.failed ${outcome}`]);
    });
  }
  await t.step("on: [failed] retries a failure, and a hung (idle) run by default", async () => {
    await using sandbox = await makeSandbox();
    const job = agentJob("nightly", nightly.schedule, { on: ["failed"] });
    const run = runner(sandbox.home, [job, agentJob("hung", nightly.schedule)], [
      "failed",
      "idle",
    ]);
    run.ranAt(["nightly", "hung"], at("2026-11-25T03:00:00Z"));
    await run.ticks(at("2026-11-26T02:55:00Z"), at("2026-11-26T04:00:00Z"));
    assert.deepEqual(run.runs.map((one) => one.job), ["nightly", "hung", "nightly", "hung"]);
  });
});

Deno.test("a forced run is not retried: the person who forced it sees how it ended", async () => {
  await using sandbox = await makeSandbox();
  const run = runner(sandbox.home, [nightly], ["unavailable"]);
  await run.forced("nightly", at("2026-11-26T10:00:00Z"));
  assert.equal(run.state().jobs.nightly!.retry, undefined);
  assert.deepEqual(run.told(), ["job.failed unavailable"]);
  // It is no attempt of a series: its history line says none.
  const [line] = (await readHistory(runnerPaths(sandbox.home).history, { limit: 1 })).entries;
  assert.deepEqual([line!.status, line!.attempt, line!.retry_at], [
    "unavailable",
    undefined,
    undefined,
  ]);
});

Deno.test("a paused job never runs on a tick; --force --job runs it", async () => {
  await using sandbox = await makeSandbox();
  const paused = agentJob("paused", { kind: "every", minutes: 10 }, {}, { enabled: false });
  const run = runner(sandbox.home, [paused, agentJob("active", { kind: "every", minutes: 10 })]);
  await run.ticks(at("2026-11-26T00:00:00Z"), at("2026-11-26T02:00:00Z"));
  assert.ok(run.runs.length >= 10);
  assert.ok(run.runs.every((one) => one.job === "active"));
  assert.equal(run.state().jobs.paused, undefined);
  await run.forced("paused", at("2026-11-26T02:00:00Z"));
  assert.equal(run.runs.at(-1)!.job, "paused");
  // A plain --force does not: only naming it does.
  run.runs.length = 0;
  await run.forced(null, at("2026-11-26T02:05:00Z"));
  assert.deepEqual(run.runs.map((one) => one.job), ["active"]);
});

Deno.test("a new clock-time job waits for its first slot; a new every job runs at once", async () => {
  await using sandbox = await makeSandbox();
  const daily = agentJob("daily", { kind: "daily", hour: 4 });
  const run = runner(sandbox.home, [daily, agentJob("poll", { kind: "every", minutes: 60 })]);
  await run.ticks(at("2026-11-26T21:30:00Z"), at("2026-11-27T05:00:00Z"));
  const daily_runs = run.runs.filter((one) => one.job === "daily").map((one) => one.at);
  assert.deepEqual(iso(daily_runs), ["2026-11-27T04:00:03.000Z"]);
  assert.equal(run.runs[0]!.job, "poll");
  assert.equal(run.runs[0]!.at, at("2026-11-26T21:30:03Z"));
  // Until then the state knew when the runner first saw it; the run replaced that.
  assert.equal(run.state().jobs.daily!.first_seen, undefined);
});

Deno.test("a jittered job runs at its computer's offset, the same every day, and differently elsewhere", async () => {
  const job = agentJob("nightly", { kind: "daily", hour: 3 }, {}, { jitterMinutes: 120 });
  const times = new Map<string, Set<string>>();
  for (const computer of ["mini", "studio", "laptop", "nas"]) {
    await using sandbox = await makeSandbox();
    const run = runner(sandbox.home, [job], [], computer);
    run.ranAt(["nightly"], at("2026-11-20T06:00:00Z"));
    await run.ticks(at("2026-11-21T00:00:00Z"), at("2026-11-25T00:00:00Z"));
    assert.equal(run.runs.length, 4, computer);
    const offset = jitterOffset("nightly", computer, 120)!;
    const due = Math.ceil((3 * 60 + offset) / 5) * 5;
    for (const one of run.runs) {
      const minutes = new Date(one.at).getUTCHours() * 60 + new Date(one.at).getUTCMinutes();
      assert.equal(minutes, due, `${computer}: ${new Date(one.at).toISOString()}`);
    }
    times.set(computer, new Set(run.runs.map((one) => new Date(one.at).toISOString().slice(11))));
  }
  assert.ok([...times.values()].every((set) => set.size === 1));
  assert.ok(new Set([...times.values()].map((set) => [...set][0])).size >= 2);
});
