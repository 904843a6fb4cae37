/**
 * One-shot mode (`runOnce`, lib/one_shot.ts) with the real CLIs: it returns the answer text (or
 * the agent's own error), and what the CLI sent the model offers no tools and no MCP tools, read
 * from the request bodies the stand-in recorded. Each agent is also given the marker MCP server,
 * declared where it reads MCP servers (job mode starts it: smoke_test.ts); one-shot never does.
 *
 * `runOnce` takes PATH and HOME from its process, so it runs in a process of its own
 * (one_shot_driver.ts) with the sandbox's environment; this process's own stays untouched.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import type { AgentName } from "../../lib/config/job.ts";
import type { OneShotAnswer, OneShotRequest } from "../../lib/one_shot.ts";
import { makeSandbox } from "../helpers/sandbox.ts";
import {
  agentEnvironment,
  API_OF,
  describeRequests,
  mcpServerStarts,
  offersMcpServer,
  writeMarkerMcpServer,
} from "./harness.ts";
import { installAgents } from "./install.ts";
import { realAgentsMissing } from "./scenario.ts";
import { type RecordedRequest, startModelServer } from "./stand_in/server.ts";

const ignore = await realAgentsMissing("real-agent one-shot tests");

const DRIVER = new URL("./one_shot_driver.ts", import.meta.url).pathname;

/** What one `runOnce` came to. */
interface OneShotRun {
  answer: OneShotAnswer | null;
  error: { message: string; outcome: string } | null;
  modelCalls: RecordedRequest[];
  mcpStarts: number;
  /** Whether any model call offered the marker server's tool (job mode does: smoke_test.ts). */
  mcpOffered: boolean;
}

/** Asks `agent` once, with the stand-in playing `scenario`, through one_shot_driver.ts. */
async function askOnce(agent: AgentName, scenario: string, model?: string): Promise<OneShotRun> {
  const agents = await installAgents();
  if (agents.kind !== "installed") throw new Error("askOnce needs the installed agents");
  await using sandbox = await makeSandbox();
  await using server = startModelServer({ scenario });
  const mcp = await writeMarkerMcpServer(sandbox, "marker");
  const env = await agentEnvironment(sandbox, server, agent, { mcpServers: [mcp] });
  const request: OneShotRequest = {
    agent,
    thinkingMode: "fast",
    prompt: 'Answer with one JSON object: {"answer": "..."}',
    cwd: sandbox.project,
    logPath: join(sandbox.dir, "one-shot.log"),
    override: { binary: agents.binaries[agent], ...(model ? { models: { fast: model } } : {}) },
    timeoutMs: 60_000,
  };
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-all", "--quiet", DRIVER, JSON.stringify(request)],
    env: { ...sandbox.env, ...env },
    clearEnv: true,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const stdout = new TextDecoder().decode(output.stdout);
  // deno-lint-ignore no-console -- the exchange is what a reader of a failure needs
  console.log(`${agent} one-shot ${model ?? ""}\n${describeRequests(server)}\n${stdout}`);
  assert.equal(output.code, 0, new TextDecoder().decode(output.stderr));
  const reply = JSON.parse(stdout) as Pick<OneShotRun, "answer" | "error">;
  return {
    answer: reply.answer ?? null,
    error: reply.error ?? null,
    modelCalls: server.modelRequests(API_OF[agent]),
    mcpStarts: await mcpServerStarts(mcp),
    mcpOffered: server.modelRequests(API_OF[agent]).some((call) => offersMcpServer(call, mcp)),
  };
}

type Body = Record<string, unknown>;

/** The names of the top-level tools in a Responses API body. */
function toolNames(body: Body): string[] {
  return ((body.tools ?? []) as { name?: string; type?: string }[]).map((t) => t.name ?? t.type!);
}

/** Codex's code-mode tools, offered as an `additional_tools` input item: namespace → names. */
function additionalTools(body: Body): Record<string, string[]> {
  const items = (body.input ?? []) as { type?: string; tools?: { name: string; tools?: [] }[] }[];
  return Object.fromEntries(
    items.filter((item) => item.type === "additional_tools").flatMap((item) => item.tools ?? [])
      .map((tool) => [tool.name, (tool.tools ?? []).map((t: { name: string }) => t.name)]),
  );
}

Deno.test({
  name: "claude one-shot answers, offering the model no tools; the project's MCP server stays off",
  ignore,
  async fn() {
    const run = await askOnce("claude", "plain_text");
    assert.equal(run.error, null);
    assert.equal(run.answer?.text, "All done.");
    assert.equal(run.modelCalls.length, 1);
    const body = run.modelCalls[0]!.body as Body;
    assert.deepEqual(body.tools ?? [], [], "no tools in the request");
    assert.ok(!run.mcpOffered, "no MCP tool");
    assert.equal(run.mcpStarts, 0, "the .mcp.json server was not started");
  },
});

Deno.test({
  name: "gemini one-shot answers, declaring no function to the model; its MCP server stays off",
  ignore,
  async fn() {
    const run = await askOnce("gemini", "text");
    assert.equal(run.error, null);
    assert.equal(run.answer?.text, '{"answer":"ok"}');
    assert.ok(run.modelCalls.length >= 1);
    for (const call of run.modelCalls) {
      const tools = ((call.body as Body).tools ?? []) as { functionDeclarations?: unknown[] }[];
      const declared = tools.flatMap((tool) => tool.functionDeclarations ?? []);
      assert.deepEqual(declared, [], "no function declarations");
    }
    assert.ok(!run.mcpOffered, "no MCP tool");
    assert.equal(run.mcpStarts, 0, "the settings.json server was not started");
  },
});

Deno.test({
  name: "codex one-shot answers; what it offers depends on the model, never an MCP tool",
  ignore,
  async fn(t) {
    // What each kind of model is offered by codex 0.169.0 under the one-shot flags. Code mode
    // (gpt-5.6*, gpt-6*, the default gpt-6.1-sol) keeps `exec` and `wait` (and its sub-agent
    // tools) whatever is switched off; gpt-5.5 keeps apply_patch (refused by the read-only
    // sandbox); a model codex has no metadata for gets nothing.
    const cases: [string | undefined, string[], Record<string, string[]>][] = [
      ["gpt-5.2", [], {}],
      ["gpt-5.5", ["apply_patch"], {}],
      [undefined, [], {
        functions: ["exec", "wait"],
        collaboration: [
          "followup_task",
          "interrupt_agent",
          "list_agents",
          "send_message",
          "spawn_agent",
          "wait_agent",
        ],
      }],
    ];
    for (const [model, tools, codeMode] of cases) {
      await t.step(model ?? "the default model", async () => {
        const run = await askOnce("codex", "text_only", model);
        assert.equal(run.error, null);
        assert.equal(run.answer?.text, "ANSWER: 42");
        assert.equal(run.modelCalls.length, 1);
        const body = run.modelCalls[0]!.body as Body;
        assert.deepEqual(toolNames(body), tools);
        assert.deepEqual(additionalTools(body), codeMode);
        assert.ok(!run.mcpOffered, "no MCP tool");
        assert.equal(run.mcpStarts, 0, "the config.toml server was not started");
      });
    }
  },
});

Deno.test({
  name: "a one-shot the API refuses throws the agent's own words, with the outcome auth",
  ignore,
  async fn() {
    const run = await askOnce("codex", "auth");
    assert.equal(run.answer, null);
    assert.equal(run.error?.outcome, "auth");
    assert.match(run.error?.message ?? "", /401 Unauthorized: Incorrect API key provided/);
  },
});
