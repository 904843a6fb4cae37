/** The tick's work (cli/tick.ts selecting, run/loop.ts running) with an injected executor: nothing is spawned here. */

import assert from "node:assert/strict";
import { runDueJobs } from "../../lib/cli/tick.ts";
import type { Job } from "../../lib/config/job.ts";
import type { Logger } from "../../lib/log.ts";
import { runnerPaths } from "../../lib/paths.ts";
import type { JobContext } from "../../lib/run/execute.ts";
import type { RunnerOptions } from "../../lib/run/loop.ts";
import { type JobResult, jobResult } from "../../lib/process/result.ts";
import { readHistory } from "../../lib/store/history.ts";
import { readState, saveState } from "../../lib/store/state.ts";
import { scriptJob, testConfig } from "../helpers/jobs.ts";
import { makeSandbox } from "../helpers/sandbox.ts";

const every = (name: string, minutes = 10): Job => scriptJob(name, { kind: "every", minutes });

const result = (overrides: Partial<JobResult> = {}) =>
  jobResult({ outcome: "success", exitCode: 0, ...overrides });

function recordingLog(): Logger & { lines: string[] } {
  const lines: string[] = [];
  const add = (level: string) => (event: string, fields: Record<string, unknown> = {}) =>
    lines.push(`${level} ${event} ${JSON.stringify(fields)}`);
  return {
    lines,
    info: add("info"),
    warn: add("warn"),
    error: add("error"),
    debug: add("debug"),
    raw: (line) => lines.push(line),
  };
}

function options(
  home: string,
  jobs: Job[],
  overrides: Partial<RunnerOptions> = {},
): RunnerOptions {
  return {
    config: testConfig(home, jobs),
    paths: runnerPaths(home),
    force: false,
    only: null,
    timeZone: "UTC",
    computer: () => "this-computer",
    socketPath: `${home}/api.sock`,
    graceMs: 100,
    log: recordingLog(),
    stop: new AbortController().signal,
    ...overrides,
  };
}

Deno.test("runDueJobs() runs due jobs in config order and saves the state after each", async () => {
  await using sandbox = await makeSandbox();
  const paths = runnerPaths(sandbox.home);
  const now = Date.parse("2026-11-26T10:00:00Z");
  saveState(paths.state, {
    jobs: {
      fresh: {
        last_run: new Date(now - 60_000).toISOString(),
        last_status: "success",
        last_error: null,
      },
    },
  });
  const seen: string[] = [];
  const execute = async (job: Job, context: JobContext) => {
    await context.onStart(4242);
    // The running record is on disk before the runner waits, and earlier jobs are saved.
    const onDisk = readState(paths.state).state.jobs;
    assert.equal(onDisk[job.name]?.running?.pgid, 4242);
    seen.push(
      `${job.name} saw ${Object.keys(onDisk).filter((name) => onDisk[name]?.outcome).join(",")}`,
    );
    return result(
      job.name === "second" ? { outcome: "failed", exitCode: 2, error: "exited with code 2" } : {},
    );
  };
  const summary = await runDueJobs(
    options(sandbox.home, [every("first"), every("fresh"), every("second"), every("third")], {
      execute,
      clock: () => now,
    }),
  );
  assert.deepEqual(seen, ["first saw ", "second saw first", "third saw first,second"]);
  assert.deepEqual(summary, { ran: 3, failed: 1, interruptedBy: null });
  const state = readState(paths.state).state;
  assert.equal(state.jobs.second?.last_error, "exited with code 2");
  assert.equal(state.jobs.third?.running, undefined);
  assert.equal(state.jobs.first?.last_run, new Date(now).toISOString());
  const history = (await readHistory(paths.history, { limit: 10 })).entries;
  assert.deepEqual(history.map((entry) => `${entry.job}:${entry.status}`), [
    "third:success",
    "second:failed",
    "first:success",
  ]);
});

Deno.test("runDueJobs() records a job whose executor throws and goes on to the next", async () => {
  await using sandbox = await makeSandbox();
  const execute = (job: Job) =>
    job.name === "broken" ? Promise.reject(new Error("boom")) : Promise.resolve(result());
  const log = recordingLog();
  const summary = await runDueJobs(
    options(sandbox.home, [every("broken"), every("fine")], { execute, log }),
  );
  assert.deepEqual(summary, { ran: 2, failed: 1, interruptedBy: null });
  const state = readState(runnerPaths(sandbox.home).state).state;
  assert.equal(state.jobs.broken?.last_error, "runner error: boom");
  assert.equal(state.jobs.fine?.last_status, "success");
  assert.ok(log.lines.some((line) => line.startsWith("error job_error") && line.includes("boom")));
});

Deno.test("runDueJobs() starts no further job once asked to stop", async () => {
  await using sandbox = await makeSandbox();
  const controller = new AbortController();
  const execute = (job: Job) => {
    if (job.name === "first") controller.abort("SIGTERM");
    return Promise.resolve(result());
  };
  const summary = await runDueJobs(
    options(sandbox.home, [every("first"), every("second")], {
      execute,
      stop: controller.signal,
    }),
  );
  assert.deepEqual(summary, { ran: 1, failed: 0, interruptedBy: "SIGTERM" });
  assert.equal(readState(runnerPaths(sandbox.home).state).state.jobs.second, undefined);
});

Deno.test("runDueJobs() backs an agent off exponentially after a usage limit with no stated reset", async () => {
  await using sandbox = await makeSandbox();
  const agentJob: Job = {
    ...every("agentic", 5),
    type: "agent",
    spec: "s",
    agent: "codex",
    thinkingMode: "fast",
    role: "admin",
    maxTurns: null,
    maxBudgetUsd: null,
  };
  let now = Date.parse("2026-11-26T10:00:00Z");
  const limited = () => Promise.resolve(result({ outcome: "usage_limit", error: "rate limited" }));
  const base = { execute: limited, clock: () => now, force: true };
  await runDueJobs(options(sandbox.home, [agentJob], base));
  const paths = runnerPaths(sandbox.home);
  assert.deepEqual({ ...readState(paths.state).state.agent_backoff }, {
    codex: { until: "2026-11-26T10:15:00.000Z", attempts: 1 },
  });
  now += 16 * 60_000;
  await runDueJobs(options(sandbox.home, [agentJob], base));
  assert.deepEqual(readState(paths.state).state.agent_backoff?.codex?.attempts, 2);
  assert.equal(
    readState(paths.state).state.agent_backoff?.codex?.until,
    new Date(now + 30 * 60_000).toISOString(),
  );
  // Not forced and still deferred: the job is not started.
  let started = false;
  const watch = () => {
    started = true;
    return Promise.resolve(result());
  };
  await runDueJobs(
    options(sandbox.home, [agentJob], { execute: watch, clock: () => now + 10 * 60_000 }),
  );
  assert.equal(started, false);
  // A success clears the back-off.
  await runDueJobs(
    options(sandbox.home, [agentJob], { execute: watch, clock: () => now + 31 * 60_000 }),
  );
  assert.equal(started, true);
  assert.equal(readState(paths.state).state.agent_backoff, undefined);
});
