/**
 * The runner end to end with the real agent CLIs at their pinned versions, against the stand-in
 * model server: `main.ts --force --job x` under the production permission flags, one agent job
 * whose stand-in model writes report.md with a shell tool call and then answers "All done.".
 *
 * When the CLIs cannot be installed (no npm, no registry) every test here is ignored and the
 * reason is printed.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import type { AgentName } from "../../lib/config/job.ts";
import { makeSandbox, readStateFile, type Sandbox } from "../helpers/sandbox.ts";
import {
  agentEnvironment,
  API_OF,
  type BoundedCliResult,
  describeRequests,
  mcpServerStarts,
  offersMcpServer,
  requestMentions,
  runCliBounded,
  writeAgentConfig,
  writeMarkerMcpServer,
  writeSpecDoc,
} from "./harness.ts";
import { installAgents } from "./install.ts";
import { type ModelServer, type RecordedRequest, startModelServer } from "./stand_in/server.ts";

const agents = await installAgents();
if (agents.kind === "skipped") {
  // deno-lint-ignore no-console -- a skipped suite must say why where the test output shows it
  console.warn(`real-agent smoke tests skipped: ${agents.reason}`);
}
const ignore = agents.kind === "skipped";

/** The runner's deadline; the job's own timeout (60 s) ends a stuck agent before it. */
const RUN_DEADLINE_MS = 90_000;

/** What one smoke run left behind. */
interface SmokeRun {
  result: BoundedCliResult;
  modelCalls: RecordedRequest[];
  /** The first line of the spec doc: unique, so finding it in a request proves it was sent. */
  specMarker: string;
  report: string | null;
  /** How often the marker MCP server, declared where the agent reads it, was started. */
  mcpStarts: number;
  /** Whether the first model call offered the marker server's tool. */
  mcpOffered: boolean;
}

/** Runs job `x` on `agent` with the stand-in playing `success_tool`, and prints what happened. */
async function smokeRun(
  sandbox: Sandbox,
  server: ModelServer,
  agent: AgentName,
): Promise<SmokeRun> {
  if (agents.kind !== "installed") throw new Error("smokeRun needs installed agents");
  const yaml = `jobs:\n  x: { job: x, agent: ${agent}, timeout: 60, idle_timeout: 30 }\n`;
  await writeAgentConfig(sandbox, yaml, agents.binaries, ["x"]);
  const specMarker = `SPEC-MARKER-${crypto.randomUUID()}`;
  await writeSpecDoc(sandbox, "x", `${specMarker}: write report.md containing the word done.\n`);
  const mcp = await writeMarkerMcpServer(sandbox, "marker");
  const env = await agentEnvironment(sandbox, server, agent, { mcpServers: [mcp] });
  const result = await runCliBounded(sandbox, ["--force", "--job", "x"], env, RUN_DEADLINE_MS);
  const report = await Deno.readTextFile(join(sandbox.project, "report.md")).catch((error) => {
    if (error instanceof Deno.errors.NotFound) return null;
    throw error;
  });
  const modelCalls = server.modelRequests(API_OF[agent]);
  const run = {
    result,
    modelCalls,
    specMarker,
    report,
    mcpStarts: await mcpServerStarts(mcp),
    mcpOffered: modelCalls[0] !== undefined && offersMcpServer(modelCalls[0], mcp),
  };
  printRun(`${agent} ${agents.versions[agent]}`, run, server);
  return run;
}

/** What the runner and the stand-in saw, printed with the test (deno shows it on failure too). */
function printRun(agent: string, run: SmokeRun, server: ModelServer): void {
  const { result } = run;
  const summary = [
    `${agent}: runner exit ${result.code} in ${result.durationMs} ms`,
    result.timedOut ? "deadline passed" : null,
    `report.md ${run.report === null ? "absent" : "written"}`,
    `MCP server started ${run.mcpStarts}x`,
  ].filter(Boolean).join(", ");
  // deno-lint-ignore no-console -- the recorded exchange is what a reader of a failure needs
  console.log(
    `${summary}\n${
      describeRequests(server)
    }\n--- runner output ---\n${result.stdout}${result.stderr}`,
  );
}

async function lastRun(sandbox: Sandbox): Promise<Record<string, unknown>> {
  const entry = (await readStateFile(sandbox)).jobs.x;
  assert.ok(entry, "the run was recorded");
  return entry;
}

/**
 * What the live CLI reported is what the spend guard counted: its tokens in and out (and claude
 * its cost), in the job's totals and its agent's tally of the day.
 */
async function assertSpendAsReported(sandbox: Sandbox, agent: string): Promise<void> {
  const state = await readStateFile(sandbox);
  const usage = state.jobs.x!.usage as Record<string, number>;
  const tokens = usage.input_tokens! + usage.output_tokens!;
  assert.ok(tokens > 0, `${agent} reported tokens: ${JSON.stringify(usage)}`);
  const usd = agent === "claude" ? usage.cost_usd! : 0;
  if (agent === "claude") assert.ok(usd > 0, `claude reported a cost: ${JSON.stringify(usage)}`);
  const spent = state.jobs.x!.spent as Record<string, unknown>;
  assert.deepEqual(spent, { [agent]: { usd, tokens } });
  const tally = (state.spend as Record<string, { day: { usd: number; tokens: number } }>)[agent]!;
  assert.deepEqual([tally.day.usd, tally.day.tokens], [usd, tokens]);
}

Deno.test({
  name: "claude runs job x against the stand-in: spec doc inlined, report.md written",
  ignore,
  async fn() {
    await using sandbox = await makeSandbox();
    await using server = startModelServer({ scenario: "success_tool" });
    const run = await smokeRun(sandbox, server, "claude");
    assert.equal(run.result.code, 0, run.result.stdout + run.result.stderr);
    // A tool call, then the answer after its result.
    assert.equal(run.modelCalls.length, 2);
    // claude inlines the prompt's @file into the first request itself.
    assert.ok(
      requestMentions(run.modelCalls[0]!, run.specMarker),
      "the spec doc reached the model",
    );
    assert.equal(run.report?.trim(), "done");
    assert.equal((await lastRun(sandbox)).last_status, "success");
    await assertSpendAsReported(sandbox, "claude");
    assert.ok(run.mcpStarts >= 1, "job mode starts the declared MCP server");
    assert.ok(run.mcpOffered, "and offers its tool to the model");
  },
});

Deno.test({
  name: "codex runs job x against the stand-in: the prompt names the spec doc, report.md written",
  ignore,
  async fn() {
    await using sandbox = await makeSandbox();
    await using server = startModelServer({ scenario: "success_tool" });
    const run = await smokeRun(sandbox, server, "codex");
    assert.equal(run.result.code, 0, run.result.stdout + run.result.stderr);
    assert.equal(run.modelCalls.length, 2);
    // codex exec does not inline @file mentions: the model must read the doc with a tool.
    const first = run.modelCalls[0]!;
    assert.ok(requestMentions(first, "Read @docs/project/spec/jobs/x.md"), "the prompt names it");
    assert.ok(!requestMentions(first, run.specMarker));
    assert.equal(run.report?.trim(), "done");
    assert.equal((await lastRun(sandbox)).last_status, "success");
    await assertSpendAsReported(sandbox, "codex");
    assert.ok(run.mcpStarts >= 1, "job mode starts the declared MCP server");
    assert.ok(run.mcpOffered, "and offers its tool to the model");
  },
});

Deno.test({
  name: "gemini runs job x against the stand-in: spec doc inlined, report.md written",
  ignore,
  async fn() {
    await using sandbox = await makeSandbox();
    await using server = startModelServer({ scenario: "success_tool" });
    const run = await smokeRun(sandbox, server, "gemini");
    // Without --skip-trust in the job argv gemini refuses a folder nobody trusted interactively
    // (exit 55) before any model request.
    assert.equal(
      run.result.code,
      0,
      `exit 55 in the log means the job argv lacks --skip-trust\n${run.result.stdout}`,
    );
    assert.equal(run.modelCalls.length, 2);
    // gemini inlines the prompt's @file into the first request itself.
    assert.ok(
      requestMentions(run.modelCalls[0]!, run.specMarker),
      "the spec doc reached the model",
    );
    assert.equal(run.report?.trim(), "done");
    assert.equal((await lastRun(sandbox)).last_status, "success");
    await assertSpendAsReported(sandbox, "gemini");
    assert.ok(run.mcpStarts >= 1, "job mode starts the declared MCP server");
    assert.ok(run.mcpOffered, "and offers its tool to the model");
  },
});
