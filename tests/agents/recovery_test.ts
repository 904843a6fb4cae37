/**
 * Trouble the real CLI retries by itself and gets past: overload (HTTP 529/503) and a per-minute
 * rate limit (429). The job still does its work, the run is recorded as a success, and no usage
 * limit holds the agent back.
 */

import assert from "node:assert/strict";
import type { AgentName } from "../../lib/config/job.ts";
import { logField, realAgentsMissing, runScenario } from "./scenario.ts";

const ignore = await realAgentsMissing("real-agent recovery tests");

interface Recovery {
  agent: AgentName;
  scenario: "transient_then_success" | "transient_once" | "rate_limit_minute";
  /** What the stand-in answered before the CLI got through. */
  refusals: number[];
  /** The retry the runner noted from the agent's events; null where the agent prints none. */
  noted: RegExp | null;
}

const RECOVERIES: Recovery[] = [
  { agent: "claude", scenario: "transient_then_success", refusals: [529, 529], noted: /\(529\)/ },
  { agent: "claude", scenario: "rate_limit_minute", refusals: [429], noted: /\(429\)/ },
  // codex retries a failed request silently, then reports the stream retry it makes after it.
  { agent: "codex", scenario: "transient_then_success", refusals: [503, 503], noted: /503/ },
  { agent: "codex", scenario: "rate_limit_minute", refusals: [429], noted: /429/ },
  // gemini reports its retries on stderr only, so the runner has nothing to note. It waits 5 s,
  // then 10 s, before a retry (not configurable): one refusal keeps the test short.
  { agent: "gemini", scenario: "transient_once", refusals: [503], noted: null },
  { agent: "gemini", scenario: "rate_limit_minute", refusals: [429], noted: null },
];

for (const recovery of RECOVERIES) {
  const { agent, scenario, refusals } = recovery;
  const what = scenario === "rate_limit_minute" ? "a per-minute rate limit" : "overload";
  Deno.test({
    name: `${agent} gets past ${what} (${refusals.join(", ")}) by itself: a success, no deferral`,
    ignore,
    async fn() {
      const run = await runScenario({
        agent,
        scenario,
        read: ["report.md"],
      });
      const statuses = run.modelCalls.map((call) => call.status);
      assert.deepEqual(statuses.slice(0, refusals.length), refusals, "refused first");
      assert.ok(statuses.slice(refusals.length).every((status) => status === 200));
      assert.equal(run.files["report.md"]?.trim(), "done", "the tool ran after the retries");
      const entry = run.state.jobs.x!;
      assert.equal(entry.outcome, "success", String(entry.last_error));
      assert.equal(entry.last_error, null);
      assert.equal(run.state.agent_backoff, undefined, "nothing is deferred");
      assert.equal(run.history.at(-1)?.status, "success");
      const noted = logField(run.runnerLog, "job_finished", "retries");
      if (recovery.noted) assert.match(noted ?? "", recovery.noted);
      else assert.equal(noted, null);
    },
  });
}
