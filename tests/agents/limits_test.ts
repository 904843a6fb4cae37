/**
 * Limits, as the real CLIs report them. A usage limit of the account (claude's 5-hour and weekly
 * windows, codex's plan limit, gemini's spent quota) is recorded as `usage_limit` in the agent's
 * own words and holds every job of that agent back until the reset the service stated, so the
 * second job of the same agent in the same run never starts. A per-minute limit the CLI retried
 * and still hit defers nothing: it is `unavailable`, which a retry minutes later gets past.
 */

import assert from "node:assert/strict";
import type { AgentName } from "../../lib/config/job.ts";
import type { RecordedRequest } from "./stand_in/server.ts";
import {
  agentSaid,
  logField,
  realAgentsMissing,
  runScenario,
  type ScenarioRun,
} from "./scenario.ts";

const ignore = await realAgentsMissing("real-agent limit tests");

/** The earliest and latest instant (epoch ms) the deferral may end at. */
type Window = [number, number];

interface UsageLimit {
  agent: AgentName;
  scenario: string;
  what: string;
  /** The runner's and the agent's time zone: resets are worded in it. */
  tz: string;
  /** The agent's words, as recorded. */
  words: RegExp;
  /** When the deferral must end, from what the stand-in answered the first job. */
  until: (answer: RecordedRequest, run: ScenarioRun) => Window;
}

/** claude reads the reset from the API's header (epoch seconds) and says it to the second. */
const claudeReset = (answer: RecordedRequest): Window => {
  const reset = Number(answer.answer?.headers["anthropic-ratelimit-unified-reset"]) * 1000;
  return [reset, reset];
};

/** gemini passes on "Please retry in <n>s." from the API, counted from when the API said it. */
const geminiWait = (answer: RecordedRequest): Window => {
  const body = answer.answer?.body as { error: { message: string } };
  const seconds = Number(/Please retry in (\d+)s\./.exec(body.error.message)?.[1]);
  const stated = answer.answer!.at + seconds * 1000;
  // Read a moment after the API said it (gemini prints its result, the runner reads the line).
  return [stated, stated + 1500];
};

const USAGE_LIMITS: UsageLimit[] = [
  {
    agent: "claude",
    scenario: "usage_limit_5h",
    what: "a subscriber's 5-hour limit",
    tz: "UTC",
    words: /^You've hit your 5-hour limit · resets \d{1,2}(:\d\d)?[ap]m \(UTC\)$/,
    until: claudeReset,
  },
  {
    agent: "claude",
    scenario: "usage_limit_weekly",
    what: "a subscriber's weekly limit",
    tz: "Europe/Berlin",
    words: /^You've hit your weekly limit · resets \w{3} \d{1,2}, .*\(Europe\/Berlin\)$/,
    until: claudeReset,
  },
  {
    agent: "codex",
    scenario: "usage_limit",
    what: "the plan's usage limit",
    tz: "America/New_York",
    words: /^You’ve hit your usage limit\. .* try again at \d{1,2}:\d\d [AP]M\.$/,
    // codex words `resets_at` as a local clock minute; the runner waits till that minute is over.
    until: (answer) => {
      const resetsAt = (answer.answer?.body as { error: { resets_at: number } }).error.resets_at;
      const minuteOver = (Math.floor(resetsAt / 60) + 1) * 60_000;
      return [minuteOver, minuteOver];
    },
  },
  {
    agent: "gemini",
    scenario: "quota_retry_long",
    what: "a quota the API says lifts in an hour",
    tz: "UTC",
    words: /You exceeded your current quota[\s\S]*Please retry in 3600s\./,
    until: geminiWait,
  },
  {
    agent: "gemini",
    scenario: "quota_daily",
    what: "the daily quota",
    tz: "UTC",
    words: /^\[API Error: You have exhausted your daily quota on this model\.\]/,
    // gemini drops the API's retry delay for a daily quota and states no reset: the runner backs
    // off for 15 minutes (doubling on each further limit) from when it recorded the run.
    until: (_answer, run) => {
      const finished = Date.parse(run.history.at(-1)!.finished);
      return [finished + 15 * 60_000 - 1000, finished + 15 * 60_000];
    },
  },
];

/** Two jobs of `agent`, both due (never run), in config order. */
function twoJobs(agent: AgentName): string {
  const job = `{ job: x, agent: ${agent}, when: { every: 5m }, timeout: 60, idle_timeout: 30 }`;
  return `jobs:\n  first: ${job}\n  second: ${job}\n`;
}

for (const limit of USAGE_LIMITS) {
  const { agent, scenario } = limit;
  Deno.test({
    name: `${agent} hitting ${limit.what} defers its next job until the stated reset`,
    ignore,
    async fn() {
      const run = await runScenario({
        agent,
        scenario,
        jobs: twoJobs(agent),
        // A plain tick, not --force: forcing would ignore the deferral.
        args: [],
        tz: limit.tz,
        // claude words a usage limit only for a subscriber (an API key gets "API Error: 429").
        agentOptions: { subscriber: agent === "claude" },
      });
      const first = run.state.jobs.first!;
      assert.equal(first.outcome, "usage_limit", String(first.last_error));
      assert.match(String(first.last_error), limit.words);
      assert.ok(agentSaid(run.runLogs.first!, String(first.last_error)), "the agent's own words");
      assert.equal(run.modelCalls.length, 1, "the first job asked once; the second never ran");
      assert.equal(run.modelCalls[0]!.status, 429);
      assert.equal(run.state.jobs.second, undefined, "the second job was not started");
      assert.equal(logField(run.runnerLog, "job_deferred", "job"), "second");

      const backoff = (run.state.agent_backoff as Record<string, { until: string }>)[agent]!;
      assert.equal(logField(run.runnerLog, "job_deferred", "until"), backoff.until);
      const [earliest, latest] = limit.until(run.modelCalls[0]!, run);
      const until = Date.parse(backoff.until);
      assert.ok(
        until >= earliest && until <= latest,
        `deferred until ${backoff.until}, stated ${new Date(earliest).toISOString()}` +
          (latest > earliest ? ` to ${new Date(latest).toISOString()}` : ""),
      );
    },
  });
}

interface RateLimit {
  agent: AgentName;
  scenario: string;
  words: RegExp;
}

const RATE_LIMITS: RateLimit[] = [
  // A 429 without the subscription's headers: the server's limit, which claude says is not yours.
  { agent: "claude", scenario: "server_throttle", words: /\(not your usage limit\)/ },
  {
    agent: "codex",
    scenario: "rate_limit_always",
    words: /exceeded retry limit, last status: 429/,
  },
  // gemini exits 173 (HTTP 429) here as for a spent quota; its words say the wait was 2 s.
  { agent: "gemini", scenario: "rate_limit_persistent", words: /Please retry in 2s\./ },
];

for (const { agent, scenario, words } of RATE_LIMITS) {
  Deno.test({
    name: `${agent} still rate-limited after its retries: unavailable, deferring nothing`,
    ignore,
    async fn() {
      const run = await runScenario({ agent, scenario, agentOptions: { subscriber: true } });
      assert.ok(run.modelCalls.length >= 2, "the CLI retried");
      assert.ok(run.modelCalls.every((call) => call.status === 429));
      const entry = run.state.jobs.x!;
      assert.equal(entry.outcome, "unavailable", String(entry.last_error));
      assert.match(String(entry.last_error), words);
      assert.ok(agentSaid(run.runLogs.x!, String(entry.last_error)), "the agent's own words");
      assert.equal(run.state.agent_backoff, undefined, "nothing is deferred");
    },
  });
}
