import assert from "node:assert/strict";
import { join } from "node:path";
import {
  agentBinaryCandidates,
  jobInvocation,
  jobPrompt,
  modelFor,
  oneShotInvocation,
  resolveAgentBinary,
  specDocPath,
} from "../lib/agents.ts";
import { OneShotError, runOnce } from "../lib/one_shot.ts";
import { makeSandbox, writeFile } from "./helpers/sandbox.ts";

const request = { thinkingMode: "fast" as const, prompt: "do it" };

Deno.test("job mode keeps every tool and MCP server; one-shot mode removes them", async (t) => {
  await t.step("claude", () => {
    const job = jobInvocation("/bin/claude", { ...request, agent: "claude" });
    assert.ok(!job.args.includes("--tools"));
    assert.ok(!job.args.some((arg) => arg.includes("enabledMcpjsonServers")));
    assert.ok(job.args.includes("--dangerously-skip-permissions"));
    assert.ok(job.args.includes("--no-session-persistence"));
    assert.ok(job.args.includes("--no-chrome"));
    assert.equal(job.stdin, "do it");
    const once = oneShotInvocation("/bin/claude", { ...request, agent: "claude" });
    assert.deepEqual(
      once.args.slice(once.args.indexOf("--tools"), once.args.indexOf("--tools") + 2),
      ["--tools", ""],
    );
    assert.ok(once.args.includes(JSON.stringify({ enabledMcpjsonServers: [] })));
    assert.ok(!once.args.includes("--dangerously-skip-permissions"));
    assert.deepEqual(once.args.slice(-4), ["--output-format", "json", "--model", "haiku"]);
  });
  await t.step("codex never puts the prompt after -p (its --profile)", () => {
    for (const invocation of [jobInvocation, oneShotInvocation]) {
      const codex = invocation("/bin/codex", { ...request, agent: "codex" });
      assert.equal(codex.args[0], "exec");
      assert.ok(!codex.args.includes("-p"));
      assert.equal(codex.args.at(-1), "-");
      assert.equal(codex.stdin, "do it");
    }
    assert.ok(
      jobInvocation("/bin/codex", { ...request, agent: "codex" }).args.includes(
        "--dangerously-bypass-approvals-and-sandbox",
      ),
    );
    assert.ok(
      oneShotInvocation("/bin/codex", { ...request, agent: "codex" }).args.includes("read-only"),
    );
  });
  await t.step("gemini gets the prompt as one argv element and yolo only in job mode", () => {
    const job = jobInvocation("/bin/gemini", { ...request, agent: "gemini" });
    assert.deepEqual(job.args.slice(-2), ["-p", "do it"]);
    assert.ok(job.args.includes("yolo"));
    assert.equal(job.stdin, null);
    assert.ok(
      !oneShotInvocation("/bin/gemini", { ...request, agent: "gemini" }).args.includes("yolo"),
    );
  });
});

Deno.test("thinking modes map to each agent's models, overrides first", () => {
  assert.deepEqual(["fast", "med", "slow"].map((mode) => modelFor("claude", mode as "fast")), [
    "haiku",
    "sonnet",
    "opus",
  ]);
  assert.equal(modelFor("claude", "deep"), null);
  assert.equal(modelFor("gemini", "fast"), "gemini-2.5-flash-lite");
  assert.equal(
    modelFor("claude", "med", { models: { med: "claude-sonnet-9" } }),
    "claude-sonnet-9",
  );
  const efforts = (["fast", "med", "slow", "deep"] as const).map((mode) =>
    jobInvocation("codex", { agent: "codex", thinkingMode: mode, prompt: "" }).args.find((arg) =>
      arg.startsWith("model_reasoning_effort")
    )
  );
  assert.deepEqual(
    efforts,
    ["low", "medium", "high", "xhigh"].map((effort) => `model_reasoning_effort=${effort}`),
  );
  const capped = jobInvocation("claude", {
    agent: "claude",
    thinkingMode: "fast",
    prompt: "",
    maxTurns: 40,
    maxBudgetUsd: 2.5,
  });
  assert.deepEqual(capped.args.slice(-4), ["--max-turns", "40", "--max-budget-usd", "2.5"]);
});

Deno.test("jobPrompt() points at the spec doc, with _ turned into -", () => {
  assert.equal(specDocPath("next_prepare_draft"), "docs/project/spec/jobs/next-prepare-draft.md");
  assert.equal(
    jobPrompt("nightly", "next_prepare_draft"),
    "You are running the nightly job. Read @docs/project/spec/jobs/next-prepare-draft.md for your full instructions.",
  );
});

Deno.test("resolveAgentBinary() looks at the launcher app, PATH, then the usual places", async () => {
  await using sandbox = await makeSandbox();
  const environment = {
    path: `${sandbox.bin}:/nonexistent`,
    home: sandbox.home,
    os: "darwin" as const,
  };
  const places = agentBinaryCandidates("claude", environment);
  assert.deepEqual(places.slice(0, 3), [
    join(sandbox.home, "Applications/ClaudeLauncher.app/Contents/MacOS/claude-launcher"),
    join(sandbox.bin, "claude"),
    "/nonexistent/claude",
  ]);
  assert.deepEqual(places.slice(3), [
    join(sandbox.home, ".local/bin/claude"),
    join(sandbox.home, ".claude/local/claude"),
    "/opt/homebrew/bin/claude",
    "/usr/local/bin/claude",
    join(sandbox.home, ".npm-global/bin/claude"),
    join(sandbox.home, ".bun/bin/claude"),
  ]);
  const isolated = { ...environment, installDirs: [join(sandbox.home, ".local/bin")] };
  const missing = resolveAgentBinary("claude", undefined, isolated);
  assert.ok(!missing.found && missing.searched.length === 4);
  await writeFile(join(sandbox.home, ".local/bin/claude"), "#!/bin/sh\n", true);
  assert.deepEqual(resolveAgentBinary("claude", undefined, isolated), {
    found: true,
    path: join(sandbox.home, ".local/bin/claude"),
  });
  await writeFile(
    join(sandbox.home, "Applications/ClaudeLauncher.app/Contents/MacOS/claude-launcher"),
    "#!/bin/sh\n",
    true,
  );
  assert.deepEqual(
    resolveAgentBinary("claude", undefined, isolated),
    {
      found: true,
      path: join(sandbox.home, "Applications/ClaudeLauncher.app/Contents/MacOS/claude-launcher"),
    },
  );
  // Linux has no launcher apps.
  assert.deepEqual(resolveAgentBinary("claude", undefined, { ...isolated, os: "linux" }), {
    found: true,
    path: join(sandbox.home, ".local/bin/claude"),
  });
});

Deno.test("an explicit binary override that does not exist fails; it never falls through", async () => {
  await using sandbox = await makeSandbox();
  await writeFile(join(sandbox.bin, "claude"), "#!/bin/sh\n", true);
  const result = resolveAgentBinary("claude", { binary: join(sandbox.dir, "gone") }, {
    path: sandbox.bin,
    home: sandbox.home,
    os: "linux",
    installDirs: [],
  });
  assert.ok(!result.found);
  assert.match(result.reason, /agents\.claude\.binary \S+gone is not an executable file/);
});

Deno.test("runOnce() returns the agent's JSON answer and reports a failure clearly", async () => {
  await using sandbox = await makeSandbox();
  const claude = join(sandbox.bin, "claude");
  await writeFile(
    claude,
    `#!/bin/sh\nprintf '%s\\n' "$@" > "${sandbox.records}/args"\ncat > /dev/null\necho '{"type":"result","result":"42"}'\n`,
    true,
  );
  const answer = await runOnce({
    agent: "claude",
    thinkingMode: "fast",
    prompt: "six times seven?",
    cwd: sandbox.project,
    logPath: join(sandbox.dir, "once.log"),
    override: { binary: claude },
  });
  assert.deepEqual(answer, { type: "result", result: "42" });
  assert.match(await Deno.readTextFile(join(sandbox.records, "args")), /^--tools\n\n/m);
  await writeFile(claude, "#!/bin/sh\nexit 2\n", true);
  await assert.rejects(
    runOnce({
      agent: "claude",
      thinkingMode: "fast",
      prompt: "?",
      cwd: sandbox.project,
      logPath: join(sandbox.dir, "2.log"),
      override: { binary: claude },
    }),
    (error: Error) => error instanceof OneShotError && /exited with code 2/.test(error.message),
  );
});
