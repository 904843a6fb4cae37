/**
 * A hung model API, with the real CLIs: the idle watchdog stops the job once the agent has made
 * no progress for `idle_timeout`, although the CLI keeps printing retry notices (which are not
 * progress) and would itself wait far longer. The job's `timeout` is much larger, so an `idle`
 * outcome says which limit ended it. The API here never answers, or goes silent mid-stream: an
 * API that answers every try with an outage keeps the agent waiting too, and is `unavailable`.
 */

import assert from "node:assert/strict";
import type { AgentName } from "../../lib/config/job.ts";
import type { Patience } from "./harness.ts";
import { realAgentsMissing, runScenario } from "./scenario.ts";

const ignore = await realAgentsMissing("real-agent idle tests");

const IDLE_SECONDS = 12;
const TIMEOUT_SECONDS = 60;

interface Hang {
  agent: AgentName;
  scenario: string;
  what: string;
  /** Long enough that the CLI would not give up before the watchdog trips. */
  patience?: Patience;
  /** A retry notice the CLI prints while it waits; counted in the run log. */
  notice: RegExp;
  /** How many notices must appear: the CLI was visibly alive when it was stopped. */
  notices: number;
}

const HANGS: Hang[] = [
  {
    // Each try times out after 2 s and claude prints an api_retry event before the next; with 10
    // retries it would keep at it for over a minute.
    agent: "claude",
    scenario: "hang",
    what: "an API that never answers",
    patience: { retries: 10, tryTimeoutMs: 2000 },
    notice: /"subtype":"api_retry"/g,
    notices: 2,
  },
  {
    // A stream that stalls after its first event: codex drops it after 2 s of silence and prints
    // "Reconnecting... n/10" each time.
    agent: "codex",
    scenario: "stall",
    what: "a stream that stalls",
    patience: { retries: 10, tryTimeoutMs: 2000 },
    notice: /"message":"Reconnecting\.\.\. \d+\/10/g,
    notices: 2,
  },
  {
    // gemini waits 60 s for headers before its first retry (not configurable with an API key),
    // so it prints no notice within the idle timeout here. (Retrying an API that answers 503,
    // it is stopped the same way but recorded unavailable: unavailable_test.ts.)
    agent: "gemini",
    scenario: "hang",
    what: "an API that never answers",
    notice: /Attempt \d+ failed/g,
    notices: 0,
  },
];

for (const hang of HANGS) {
  const { agent, scenario } = hang;
  Deno.test({
    name: `${agent} waiting on ${hang.what} is stopped by the idle watchdog, not the timeout`,
    ignore,
    async fn() {
      const run = await runScenario({
        agent,
        scenario,
        job: `timeout: ${TIMEOUT_SECONDS}, idle_timeout: ${IDLE_SECONDS}`,
        ...(hang.patience ? { agentOptions: { patience: hang.patience } } : {}),
      });
      const entry = run.state.jobs.x!;
      assert.equal(entry.outcome, "idle", String(entry.last_error));
      assert.equal(entry.last_error, `idle for ${IDLE_SECONDS}s`);
      const duration = entry.duration_ms as number;
      assert.ok(
        duration >= IDLE_SECONDS * 1000 && duration < TIMEOUT_SECONDS * 1000,
        `${duration}`,
      );
      assert.ok(run.modelCalls.length >= 1, "the CLI reached the stand-in");
      const notices = run.runLogs.x!.match(hang.notice)?.length ?? 0;
      assert.ok(notices >= hang.notices, `${notices} retry notices in the run log`);
      if (hang.notices > 0) {
        // The CLI was still trying, with a notice for each failed try, inside the last idle
        // window: its output alone does not hold the watchdog off; only progress does.
        const stopped = Date.parse(run.history.at(-1)!.finished);
        const lastTry = run.modelCalls.at(-1)!.receivedAt;
        assert.ok(run.modelCalls.length >= 2, "the CLI retried");
        assert.ok(
          stopped - lastTry < IDLE_SECONDS * 1000,
          `last try ${stopped - lastTry} ms before`,
        );
      }
      assert.equal(run.state.agent_backoff, undefined);
    },
  });
}
