import assert from "node:assert/strict";
import { join } from "node:path";
import {
  AGENT_PACKAGES,
  agentBinaryCandidates,
  jobInvocation,
  jobPrompt,
  modelFor,
  oneShotInvocation,
  resolveAgentBinary,
  specDocPath,
  VERIFIED_VERSIONS,
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
    // No --mcp-config with --strict-mcp-config: no MCP server at all, the project's included.
    assert.ok(once.args.includes("--strict-mcp-config"));
    assert.ok(!once.args.includes("--mcp-config"));
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
    const once = oneShotInvocation("/bin/codex", {
      ...request,
      agent: "codex",
      codexMcpServers: ["docs", "linear"],
    });
    assert.ok(once.args.includes("read-only"));
    for (const name of ["docs", "linear"]) {
      assert.ok(once.args.includes(`mcp_servers.${name}.enabled=false`), name);
    }
    for (const feature of ["shell_tool", "multi_agent", "view_image"]) {
      assert.equal(once.args[once.args.indexOf(feature) - 1], "--disable", feature);
    }
  });
  await t.step("gemini gets the prompt as one argv element and yolo only in job mode", () => {
    const job = jobInvocation("/bin/gemini", { ...request, agent: "gemini" });
    assert.deepEqual(job.args.slice(-2), ["-p", "do it"]);
    assert.ok(job.args.includes("yolo"));
    assert.equal(job.stdin, null);
    const once = oneShotInvocation("/bin/gemini", {
      ...request,
      agent: "gemini",
      geminiDenyPolicy: "/tmp/deny.toml",
    });
    assert.ok(!once.args.includes("yolo"));
    assert.deepEqual(once.args.slice(0, 8), [
      "--skip-trust",
      "--approval-mode",
      "default",
      "--allowed-mcp-server-names",
      "teleclaude-no-mcp-server",
      "--policy",
      "/tmp/deny.toml",
      "--output-format",
    ]);
    // A turn cap reaches gemini through a settings file, the only place it reads one.
    const capped = jobInvocation("/bin/gemini", {
      ...request,
      agent: "gemini",
      maxTurns: 3,
      geminiSettingsPath: "/tmp/settings.json",
    });
    assert.deepEqual(capped.env, { GEMINI_CLI_SYSTEM_SETTINGS_PATH: "/tmp/settings.json" });
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

const realOutput = (agent: string, name: string) =>
  Deno.readTextFileSync(new URL(`./testdata/streams/${agent}/${name}/stdout`, import.meta.url));

Deno.test("runOnce() returns the agent's answer and names a failure and its kind", async () => {
  await using sandbox = await makeSandbox();
  const claude = join(sandbox.bin, "claude");
  const replaying = (output: string, code: number) =>
    writeFile(
      claude,
      `#!/bin/sh\nprintf '%s\\n' "$@" > "${sandbox.records}/args"\ncat > /dev/null\ncat <<'EOF'\n${output.trimEnd()}\nEOF\nexit ${code}\n`,
      true,
    );
  const ask = (log: string) =>
    runOnce({
      agent: "claude",
      thinkingMode: "fast",
      prompt: "six times seven?",
      cwd: sandbox.project,
      logPath: join(sandbox.dir, log),
      override: { binary: claude },
    });
  await replaying(realOutput("claude", "oneshot"), 0);
  const answer = await ask("once.log");
  assert.deepEqual(answer, {
    text: "All done.",
    usage: { turns: 1, cost_usd: 0.00002, input_tokens: 100, output_tokens: 20 },
  });
  assert.match(await Deno.readTextFile(join(sandbox.records, "args")), /^--tools\n\n/m);
  await replaying(realOutput("claude", "oneshot_usage_limit_5h"), 1);
  await assert.rejects(
    ask("2.log"),
    (error: Error) =>
      error instanceof OneShotError && error.outcome === "usage_limit" &&
      /^You've hit your 5-hour limit · resets 11:40am \(UTC\) \(output in \S+2\.log\)$/.test(
        error.message,
      ),
  );
  await writeFile(claude, "#!/bin/sh\nexit 2\n", true);
  await assert.rejects(
    ask("3.log"),
    (error: Error) =>
      error instanceof OneShotError && error.outcome === "failed" &&
      /exited with code 2/.test(error.message),
  );
});

Deno.test("the versions the doctor calls verified are the versions the real-agent suite pins", async () => {
  const pins = JSON.parse(
    await Deno.readTextFile(new URL("./agents/versions.json", import.meta.url)),
  ) as Record<string, { package: string; version: string }>;
  for (const agent of ["claude", "codex", "gemini"] as const) {
    assert.equal(VERIFIED_VERSIONS[agent], pins[agent]!.version, agent);
    assert.equal(AGENT_PACKAGES[agent], pins[agent]!.package, agent);
  }
});
