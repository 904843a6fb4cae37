/**
 * A model service that is overloaded, failing or cannot be reached, with the real CLIs: once the
 * CLI gives up retrying, the run is `unavailable` (a later retry helps), in the agent's own
 * words, and nothing is deferred: it is not the account's usage limit. The CLIs retry little
 * here (`Patience`): how long they retry by default is in tests/agents/README.md.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import type { AgentName } from "../../lib/config/job.ts";
import type { Patience } from "./harness.ts";
import type { Outage } from "./stand_in/server.ts";
import { agentSaid, logField, realAgentsMissing, runScenario } from "./scenario.ts";

const ignore = await realAgentsMissing("real-agent unavailable tests");

interface Outcome {
  agent: AgentName;
  what: string;
  /** What the stand-in answers; absent: the CLI is pointed at a port nothing listens on. */
  outage?: Outage;
  patience: Patience;
  words: RegExp;
}

const UNAVAILABLE: Outcome[] = [
  {
    agent: "claude",
    what: "an overloaded API (529)",
    outage: { status: 529 },
    patience: { retries: 1 },
    words: /^API Error: 529 Overloaded\. This is a server-side issue/,
  },
  {
    agent: "codex",
    what: "an overloaded API (503)",
    outage: { status: 503 },
    patience: { retries: 1 },
    words: /^unexpected status 503 Service Unavailable: .*The server is overloaded/,
  },
  {
    // gemini waits 5 s before a retry (not configurable): it tries once here. It exits 247.
    agent: "gemini",
    what: "an overloaded API (503)",
    outage: { status: 503 },
    patience: { retries: 0 },
    words: /^\[API Error: The model is overloaded\. Please try again later\.\]$/,
  },
  {
    agent: "claude",
    what: "a closed port",
    patience: { retries: 0 },
    words: /^API Error: Connection refused/,
  },
  { agent: "codex", what: "a closed port", patience: { retries: 0 }, words: /^Connection failed/ },
  {
    agent: "gemini",
    what: "a closed port",
    patience: { retries: 0 },
    words: /^\[API Error: exception TypeError: fetch failed/,
  },
];

for (const { agent, what, outage, patience, words } of UNAVAILABLE) {
  Deno.test({
    name: `${agent} giving up on ${what} is unavailable, in its own words, deferring nothing`,
    ignore,
    async fn() {
      const run = await runScenario({
        agent,
        scenario: "success_tool",
        ...(outage ? { outage } : { unreachable: true }),
        agentOptions: { patience },
      });
      const entry = run.state.jobs.x!;
      assert.equal(entry.outcome, "unavailable", String(entry.last_error));
      assert.match(String(entry.last_error), words);
      assert.ok(agentSaid(run.runLogs.x!, String(entry.last_error)), "the agent's own words");
      assert.equal(run.history.at(-1)?.status, "unavailable");
      assert.equal(run.state.agent_backoff, undefined, "nothing is deferred");
      if (outage) {
        assert.ok(run.modelCalls.length >= 1, "the CLI reached the stand-in");
        assert.ok(run.modelCalls.every((call) => call.status === outage.status));
      } else {
        assert.equal(run.modelCalls.length, 0, "nothing reached the stand-in");
      }
    },
  });
}

Deno.test({
  name: "claude overloaded for its first three calls: unavailable, then a success when run again",
  ignore,
  async fn() {
    // One try and one retry per run: the first run meets two 529s and gives up, the second meets
    // the third 529, retries, and gets through.
    const run = await runScenario({
      agent: "claude",
      scenario: "success_tool",
      outage: { status: 529, calls: 3 },
      agentOptions: { patience: { retries: 1 } },
      then: [["--force", "--job", "x"]],
      read: ["report.md"],
    });
    assert.deepEqual(
      run.history.map((entry) => [entry.status, entry.error !== null]),
      [["unavailable", true], ["success", false]],
    );
    assert.deepEqual(run.modelCalls.map((call) => call.status), [529, 529, 529, 200, 200]);
    assert.equal(run.files["report.md"]?.trim(), "done", "the second run did the work");
    assert.match(logField(run.runnerLog, "job_finished", "retries") ?? "", /overloaded \(529\)/);
  },
});

Deno.test({
  name: "gemini still retrying an overloaded API when the idle watchdog stops it is unavailable",
  ignore,
  async fn() {
    // gemini retries after 5 s, then 10 s, ..., and says so on stderr only: no progress reaches
    // the watchdog, which stops it, but the service kept saying it was overloaded all along.
    const run = await runScenario({
      agent: "gemini",
      scenario: "success_tool",
      outage: { status: 503 },
      job: "timeout: 60, idle_timeout: 12",
      agentOptions: { patience: { retries: 9 } },
    });
    const entry = run.state.jobs.x!;
    assert.equal(entry.outcome, "unavailable", String(entry.last_error));
    assert.match(
      String(entry.last_error),
      /^idle for 12s while gemini retried: Attempt \d+ failed with status 503\. Retrying with backoff\.\.\.$/,
    );
    assert.ok(run.modelCalls.length >= 2, "gemini retried before it was stopped");
    const duration = entry.duration_ms as number;
    assert.ok(duration >= 12_000 && duration < 60_000, `${duration}`);
  },
});

Deno.test({
  name:
    "claude overloaded on a scheduled run is retried by a later tick, succeeds, and nobody is told",
  ignore,
  async fn() {
    // The first tick's run meets two 529s (one try, one retry of claude's own) and gives up:
    // unavailable, and a retry is written for a minute later. Time passes between ticks the way
    // it would (the retry's due time moved into the past, as a faked clock would have it), and
    // the next plain tick, not a forced one, runs the second attempt, which gets through.
    const run = await runScenario({
      agent: "claude",
      scenario: "success_tool",
      outage: { status: 529, calls: 2 },
      agentOptions: { patience: { retries: 1 } },
      job: "timeout: 60, idle_timeout: 30, when: { every: 1d }, " +
        "retry: { attempts: 3, backoff: 1m }",
      args: [],
      then: [[]],
      beforeThen: async (sandbox) => {
        const path = join(sandbox.home, ".teleclaude/cron_state.json");
        const state = JSON.parse(await Deno.readTextFile(path));
        const retry = state.jobs.x.retry as { attempt: number; at: string };
        assert.equal(retry.attempt, 2, "the first attempt's failure wrote the second");
        assert.ok(Date.parse(retry.at) > Date.now(), "due later, not slept on");
        state.jobs.x.retry = { ...retry, at: new Date(Date.now() - 1000).toISOString() };
        await Deno.writeTextFile(path, JSON.stringify(state));
      },
      daemon: "healthy",
      read: ["report.md"],
    });
    assert.deepEqual(
      run.history.map((entry) => [entry.status, entry.attempt ?? null]),
      [["unavailable", 1], ["success", 2]],
    );
    assert.deepEqual(run.modelCalls.map((call) => call.status), [529, 529, 200, 200]);
    assert.equal(run.files["report.md"]?.trim(), "done", "the retry did the work");
    const entry = run.state.jobs.x!;
    assert.equal(entry.outcome, "success");
    assert.equal(entry.retry, undefined);
    // A failed attempt another followed is not told, and its success is no recovery.
    assert.deepEqual(run.daemonRequests.filter((line) => line.startsWith("POST")), []);
  },
});
