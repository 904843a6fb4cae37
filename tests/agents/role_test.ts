/**
 * The Python original's manual end-to-end check, with the real CLIs: an agent job runs as `admin`
 * while the TeleClaude daemon is down and as its configured role once the daemon answers its
 * health check, and the agent's own shell tool sees that role in TELECLAUDE_JOB_ROLE. And the
 * agent really reads its spec doc: codex, which does not inline the prompt's @file the way claude
 * and gemini do (smoke_test.ts), reads it with its shell and the text reaches the model.
 */

import assert from "node:assert/strict";
import type { AgentName } from "../../lib/config/job.ts";
import type { DaemonMode } from "../helpers/daemon.ts";
import { requestMentions } from "./harness.ts";
import { logField, realAgentsMissing, runScenario, type ScenarioRun } from "./scenario.ts";

const ignore = await realAgentsMissing("real-agent role tests");

interface RoleProbe {
  agent: AgentName;
  /** A stand-in scenario in which the agent's shell tool reports TELECLAUDE_JOB_ROLE. */
  scenario: string;
  read: string[];
  /** Whether what the tool reported says `role`. */
  saw: (run: ScenarioRun, role: string) => boolean;
}

const PROBES: RoleProbe[] = [
  {
    agent: "claude",
    scenario: "env_role", // echo "$TELECLAUDE_JOB_ROLE" > role.txt
    read: ["role.txt"],
    saw: (run, role) => run.files["role.txt"] === `${role}\n`,
  },
  {
    agent: "codex",
    scenario: "env_probe", // env | grep '^TELECLAUDE_', its output sent back to the model
    read: [],
    // In code mode the shell's output comes back inside a JSON text, escaped twice.
    saw: (run, role) =>
      run.modelCalls.length === 2 &&
      new RegExp(`TELECLAUDE_JOB_ROLE=${role}(?![\\w-])`).test(
        JSON.stringify(run.modelCalls[1]!.body),
      ),
  },
  {
    agent: "gemini",
    scenario: "env_probe", // printf "role=%s name=%s ..." > report.md
    read: ["report.md"],
    saw: (run, role) => run.files["report.md"]?.startsWith(`role=${role} name=x `) ?? false,
  },
];

for (const probe of PROBES) {
  const { agent, scenario, read } = probe;
  Deno.test({
    name: `${agent} runs as admin with the daemon down and as its role with the daemon up`,
    ignore,
    async fn(t) {
      const cases: [string, DaemonMode | undefined, string][] = [
        ["daemon down", undefined, "admin"],
        ["daemon up", "healthy", "member"],
      ];
      for (const [what, daemon, role] of cases) {
        await t.step(`${what}: ${role}`, async () => {
          const run = await runScenario({
            agent,
            scenario,
            job: "timeout: 60, idle_timeout: 30, role: member",
            read,
            ...(daemon ? { daemon } : {}),
          });
          assert.equal(run.state.jobs.x?.outcome, "success", String(run.state.jobs.x?.last_error));
          assert.equal(logField(run.runnerLog, "job_finished", "role"), role);
          assert.ok(probe.saw(run, role), `the agent's tool saw TELECLAUDE_JOB_ROLE=${role}`);
          assert.deepEqual(run.daemonRequests, daemon ? ["GET /health HTTP/1.1"] : []);
        });
      }
    },
  });
}

Deno.test({
  name: "codex reads its spec doc with its shell: the text reaches the model, report.md is written",
  ignore,
  async fn() {
    const marker = `SPEC-MARKER-${crypto.randomUUID()}`;
    const run = await runScenario({
      agent: "codex",
      scenario: "spec_echo", // cat the prompt's @file and write report.md, then quote it
      spec: `${marker}: write report.md containing the word done.\n`,
      read: ["report.md"],
    });
    assert.equal(run.state.jobs.x?.outcome, "success", String(run.state.jobs.x?.last_error));
    assert.equal(run.modelCalls.length, 2);
    assert.ok(!requestMentions(run.modelCalls[0]!, marker), "not inlined into the prompt");
    assert.ok(requestMentions(run.modelCalls[1]!, marker), "read by the tool, sent to the model");
    assert.equal(run.files["report.md"], "done\n");
    assert.equal(run.history.at(-1)?.status, "success");
  },
});
