/**
 * Agent jobs end to end: fake agent CLIs on PATH, a stand-in daemon on a Unix socket, main.ts as
 * a real process under the production permission flags.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { readRecord, realSuccess, writeFakeAgent } from "./helpers/fake_agent.ts";
import { startFakeDaemon } from "./helpers/daemon.ts";
import {
  makeSandbox,
  readStateFile,
  ROOT,
  runCli,
  type Sandbox,
  writeConfig,
  writeFile,
} from "./helpers/sandbox.ts";

const THREE_AGENTS = `jobs:
  claude_job: { job: claude_spec, agent: claude, thinking_mode: med, role: member, when: { every: 1h } }
  codex_job: { job: codex_spec, agent: codex, thinking_mode: deep, role: member, when: { every: 1h } }
  gemini_job: { job: gemini_spec, agent: gemini, thinking_mode: slow, when: { every: 1h } }
`;

async function threeAgents(sandbox: Sandbox): Promise<void> {
  await writeConfig(sandbox, THREE_AGENTS, ["claude_spec", "codex_spec", "gemini_spec"]);
  for (const agent of ["claude", "codex", "gemini"]) {
    await writeFakeAgent(sandbox.bin, agent, { kind: "exit", code: 0 });
  }
}

Deno.test("three agent jobs run through their CLIs with job-mode flags, without a daemon, as admin", async () => {
  await using sandbox = await makeSandbox();
  await threeAgents(sandbox);
  const result = await runCli(sandbox, []);
  assert.equal(result.code, 0, result.stdout + result.stderr);

  const claude = await readRecord(sandbox.records, "claude", "args") as string[];
  assert.deepEqual(claude, [
    "-p",
    "--dangerously-skip-permissions",
    "--no-session-persistence",
    "--no-chrome",
    "--output-format",
    "stream-json",
    "--verbose",
    "--model",
    "sonnet",
  ]);
  assert.ok(!claude.includes("--tools"));
  assert.equal(
    await readRecord(sandbox.records, "claude", "stdin"),
    "You are running the claude_job job. Read @docs/project/spec/jobs/claude-spec.md for your full instructions.",
  );
  const codex = await readRecord(sandbox.records, "codex", "args") as string[];
  assert.deepEqual(codex, [
    "exec",
    "--dangerously-bypass-approvals-and-sandbox",
    "--skip-git-repo-check",
    "--ephemeral",
    "--disable",
    "unbounded_connection_retries",
    "--json",
    "-m",
    "gpt-6.1-sol",
    "-c",
    "model_reasoning_effort=xhigh",
    "-",
  ]);
  assert.match(
    await readRecord(sandbox.records, "codex", "stdin") as string,
    /Read @docs\/project\/spec\/jobs\/codex-spec\.md/,
  );
  const gemini = await readRecord(sandbox.records, "gemini", "args") as string[];
  assert.deepEqual(gemini.slice(0, 7), [
    "--skip-trust",
    "--approval-mode",
    "yolo",
    "--output-format",
    "stream-json",
    "-m",
    "gemini-3.1-pro-preview",
  ]);
  assert.deepEqual(gemini.slice(7), [
    "-p",
    "You are running the gemini_job job. Read @docs/project/spec/jobs/gemini-spec.md for your full instructions.",
  ]);
  assert.equal(await readRecord(sandbox.records, "gemini", "stdin"), "");

  for (const agent of ["claude", "codex", "gemini"]) {
    // No daemon: admin, silently, whatever the config says.
    assert.equal(await readRecord(sandbox.records, agent, "role"), "admin", agent);
    assert.equal(await readRecord(sandbox.records, agent, "cwd"), sandbox.project, agent);
  }
  assert.doesNotMatch(result.stdout + result.stderr, /daemon/);
  const state = await readStateFile(sandbox);
  for (const job of ["claude_job", "codex_job", "gemini_job"]) {
    assert.equal(state.jobs[job]?.last_status, "success", job);
  }
});

Deno.test("the role comes from the config when the daemon answers its health check", async () => {
  await using sandbox = await makeSandbox();
  await threeAgents(sandbox);
  await using daemon = startFakeDaemon(sandbox.socket, "healthy");
  const result = await runCli(sandbox, []);
  assert.equal(result.code, 0, result.stderr);
  assert.equal(await readRecord(sandbox.records, "claude", "role"), "member");
  assert.equal(await readRecord(sandbox.records, "codex", "role"), "member");
  assert.equal(await readRecord(sandbox.records, "gemini", "role"), "admin"); // no role configured
  assert.deepEqual(daemon.requests, [
    "GET /health HTTP/1.1",
    "GET /health HTTP/1.1",
    "GET /health HTTP/1.1",
  ]);
});

Deno.test("a daemon that errors or hangs means admin, within about a second", async (t) => {
  for (const mode of ["error", "hang"] as const) {
    await t.step(mode, async () => {
      await using sandbox = await makeSandbox();
      await writeConfig(sandbox, "jobs:\n  j: { job: j, role: member, when: { every: 1d } }\n", [
        "j",
      ]);
      await writeFakeAgent(sandbox.bin, "claude", { kind: "exit", code: 0 });
      await using _daemon = startFakeDaemon(sandbox.socket, mode);
      const result = await runCli(sandbox, ["--debug"]);
      assert.equal(result.code, 0, result.stderr);
      assert.equal(await readRecord(sandbox.records, "claude", "role"), "admin");
      assert.match(
        result.stdout,
        mode === "hang"
          ? /level=debug .*role admin" .*reason="no answer within 1000 ms"/
          : /level=debug .*role admin" .*reason="status 500"/,
      );
      // The health check is the whole gap between the job starting and its agent being spawned:
      // bounded by its one second, by the runner's own clock.
      const at = (event: string) =>
        Date.parse(new RegExp(`ts=(\\S+) level=\\w+ event=${event}`).exec(result.stdout)![1]!);
      const waited = at("debug") - at("job_started");
      assert.ok(waited < (mode === "hang" ? 1500 : 500), `waited ${waited} ms`);
      if (mode === "hang") assert.ok(waited >= 1000, `waited ${waited} ms`);
    });
  }
});

Deno.test("one agent job failing (missing binary, missing spec, exit code) does not stop the next", async () => {
  await using sandbox = await makeSandbox();
  await writeConfig(
    sandbox,
    `agents:
  codex: { binary: ${join(sandbox.dir, "no-such-codex")} }
jobs:
  no_binary: { job: spec, agent: codex, when: { every: 1d } }
  no_spec: { job: missing_spec, when: { every: 1d } }
  fails: { job: spec, agent: gemini, when: { every: 1d } }
  works: { job: spec, when: { every: 1d } }
`,
    ["spec"],
  );
  await writeFakeAgent(sandbox.bin, "gemini", { kind: "exit", code: 7 });
  await writeFakeAgent(sandbox.bin, "claude", { kind: "exit", code: 0 });
  const result = await runCli(sandbox, []);
  assert.equal(result.code, 1);
  const state = await readStateFile(sandbox);
  assert.match(
    state.jobs.no_binary?.last_error as string,
    /agents\.codex\.binary \S+no-such-codex is not an executable file/,
  );
  assert.equal(
    state.jobs.no_spec?.last_error,
    `spec doc not found: ${join(sandbox.project, "docs/project/spec/jobs/missing-spec.md")}`,
  );
  assert.equal(state.jobs.fails?.last_error, "gemini exited with code 7");
  assert.equal(state.jobs.fails?.exit_code, 7);
  assert.equal(state.jobs.works?.last_status, "success");
  assert.equal(await readRecord(sandbox.records, "gemini", "role"), "admin");
});

const STREAMS = new URL("./testdata/streams/", import.meta.url);
const realOutput = (agent: string, name: string) =>
  Deno.readTextFile(new URL(`${agent}/${name}/stdout`, STREAMS));

/**
 * Claude's real usage-limit output (captured at 09:50 UTC, resetting at 11:50:01) moved to reset
 * at `resetsAt`: the epoch fields and the words, as claude would print them then.
 */
async function usageLimitResettingAt(resetsAt: number): Promise<string> {
  const captured = await realOutput("claude", "usage_limit_5h");
  const clock = new Date(resetsAt).toISOString().slice(11, 16);
  const [hour, minute] = clock.split(":").map(Number) as [number, number];
  const words = `${hour % 12 || 12}:${String(minute).padStart(2, "0")}${hour < 12 ? "am" : "pm"}`;
  return captured.replaceAll('"resetsAt":1795693801', `"resetsAt":${resetsAt / 1000}`)
    .replaceAll("resets 11:50am (UTC)", `resets ${words} (UTC)`);
}

Deno.test("a usage limit defers every job of that agent until the stated reset", async () => {
  await using sandbox = await makeSandbox();
  await writeConfig(
    sandbox,
    "jobs:\n  first: { job: s, when: { every: 5m } }\n  second: { job: s, when: { every: 5m } }\n  other: { job: s, agent: gemini, when: { every: 5m } }\n",
    ["s"],
  );
  const resetsAt = Math.ceil(Date.now() / 60_000) * 60_000 + 3 * 3_600_000;
  const limited = await usageLimitResettingAt(resetsAt);
  await writeFakeAgent(sandbox.bin, "claude", { kind: "exit", code: 1, stdout: limited.trim() });
  await writeFakeAgent(sandbox.bin, "gemini", { kind: "exit", code: 0 });
  const first = await runCli(sandbox, []);
  assert.equal(first.code, 1);
  const state = await readStateFile(sandbox);
  assert.equal(state.jobs.first?.outcome, "usage_limit");
  assert.match(state.jobs.first?.last_error as string, /^You've hit your 5-hour limit · resets /);
  // The second claude job was not started after the first hit the limit.
  assert.equal(state.jobs.second, undefined);
  assert.equal(state.jobs.other?.last_status, "success");
  const until = (state.agent_backoff as Record<string, { until: string }>).claude!.until;
  assert.equal(Date.parse(until), resetsAt);

  await Deno.remove(join(sandbox.records, "claude.args"));
  const later = await runCli(sandbox, ["--force", "--job", "other"]);
  assert.equal(later.code, 0);
  const plain = await runCli(sandbox, []);
  // "first" ran moments ago; "second" is due but held back.
  assert.match(
    plain.stdout,
    /event=job_deferred job=second agent=claude until=\S+ reason="usage limit"/,
  );
  // Held back with nothing to tell: said by the tick itself, the job loop never loaded for it.
  assert.doesNotMatch(plain.stdout, /event=job_due/);
  assert.equal(await readRecord(sandbox.records, "claude", "args"), null);
  const list = await runCli(sandbox, ["--list"]);
  const local = new Date(resetsAt).toISOString().slice(0, 16).replace("T", " ");
  assert.ok(
    list.stdout.includes(`usage limit; deferred until ${local}`),
    `--list shows the reset:\n${list.stdout}`,
  );
});

Deno.test("structured outcomes from real output: errors, max turns and usage are kept", async () => {
  await using sandbox = await makeSandbox();
  await writeConfig(sandbox, "jobs:\n  j: { job: s, max_turns: 40, when: { every: 1d } }\n", ["s"]);
  const cases: [string, number, string][] = [
    ["overloaded", 1, "unavailable"],
    ["max_turns", 1, "max_turns"],
    ["budget", 1, "budget"],
    ["success_tool", 0, "success"],
  ];
  for (const [capture, code, outcome] of cases) {
    const text = await realOutput("claude", capture);
    await writeFakeAgent(sandbox.bin, "claude", { kind: "exit", code, stdout: text.trim() });
    await runCli(sandbox, ["--force"]);
    const entry = (await readStateFile(sandbox)).jobs.j!;
    assert.equal(entry.outcome, outcome, capture);
  }
  const entry = (await readStateFile(sandbox)).jobs.j!;
  assert.deepEqual(entry.usage, {
    turns: 2,
    cost_usd: 0.00004,
    input_tokens: 200,
    output_tokens: 40,
  });
  assert.deepEqual((await readRecord(sandbox.records, "claude", "args") as string[]).slice(-2), [
    "--max-turns",
    "40",
  ]);
});

/** Jobs c, o and g: one for each agent (claude, codex, gemini), spec s. */
const JOB_PER_AGENT =
  "jobs:\n  c: { job: s, agent: claude, when: { every: 1d } }\n  o: { job: s, agent: codex, when: { every: 1d } }\n  g: { job: s, agent: gemini, when: { every: 1d } }\n";

Deno.test("an overloaded or unreachable service, as each real CLI says it, is unavailable", async () => {
  await using sandbox = await makeSandbox();
  await writeConfig(sandbox, JOB_PER_AGENT, ["s"]);
  // What each printed after its retries against the stand-in, and the code it exited with.
  const fakes: [string, string, number, string][] = [
    ["claude", "unreachable", 1, "c"],
    ["codex", "server_error", 1, "o"],
    ["gemini", "overloaded", 247, "g"], // HTTP 503 mod 256
  ];
  for (const [agent, capture, code] of fakes) {
    const stdout = (await realOutput(agent, capture)).trim();
    await writeFakeAgent(sandbox.bin, agent, { kind: "exit", code, stdout });
  }
  const result = await runCli(sandbox, []);
  assert.equal(result.code, 1);
  const state = await readStateFile(sandbox);
  for (const [agent, , code, job] of fakes) {
    assert.equal(
      state.jobs[job]?.outcome,
      "unavailable",
      `${agent}: ${state.jobs[job]?.last_error}`,
    );
    assert.equal(state.jobs[job]?.exit_code, code);
  }
  assert.match(String(state.jobs.c?.last_error), /^API Error: Connection refused/);
  assert.match(String(state.jobs.o?.last_error), /^We’re currently experiencing high demand/);
  assert.equal(
    state.jobs.g?.last_error,
    "[API Error: The model is overloaded. Please try again later.]",
  );
  assert.equal(state.agent_backoff, undefined, "an outage defers nothing");
  assert.match(result.stdout + result.stderr, /event=job_finished job=g status=unavailable /);
});

Deno.test("a program named like the agent that prints none of its events is named, not 'cut'", async () => {
  await using sandbox = await makeSandbox();
  await writeConfig(sandbox, JOB_PER_AGENT, ["s"]);
  // A claude that is some other program: it greets, ignores its arguments and exits 0.
  await writeFile(
    join(sandbox.bin, "claude"),
    "#!/bin/sh\ncat > /dev/null\necho 'Hello from claude 0.1, the friendly chat bot'\necho 'Bye'\n",
    true,
  );
  await writeFile(join(sandbox.bin, "codex"), "#!/bin/sh\necho 'codex: try --help' >&2\n", true);
  await writeFile(join(sandbox.bin, "gemini"), "#!/bin/sh\nexit 0\n", true);
  await runCli(sandbox, []);
  const jobs = (await readStateFile(sandbox)).jobs;
  const errors = Object.fromEntries(Object.entries(jobs).map(([job, e]) => [job, e.last_error]));
  assert.deepEqual(errors, {
    c: `${join(sandbox.bin, "claude")} printed no JSON event, only text ` +
      `("Hello from claude 0.1, the friendly chat bot"); it exited 0: is it Claude Code?`,
    o: `${join(sandbox.bin, "codex")} printed nothing on stdout and on stderr: ` +
      "codex: try --help; it exited 0: is it Codex CLI?",
    g: `${join(sandbox.bin, "gemini")} printed nothing on stdout; it exited 0: is it Gemini CLI?`,
  });
});

Deno.test("the run report an agent job writes is recorded; a run without one is flagged", async () => {
  await using sandbox = await makeSandbox();
  await writeConfig(
    sandbox,
    "jobs:\n  reporter: { job: s, when: { every: 1d } }\n  silent: { job: s, when: { every: 1d } }\n",
    ["s"],
  );
  const writer = `#!/bin/sh
cat > /dev/null
if [ "$TELECLAUDE_JOB_NAME" = reporter ]; then
  mkdir -p "$HOME/.teleclaude/jobs/reporter/runs"
  echo "# report" > "$HOME/.teleclaude/jobs/reporter/runs/261126-070000.md"
fi
cat <<'EOF'
${await realSuccess("claude")}
EOF
`;
  await Deno.writeTextFile(join(sandbox.bin, "claude"), writer, { mode: 0o755 });
  const result = await runCli(sandbox, []);
  assert.equal(result.code, 0, result.stderr);
  const state = await readStateFile(sandbox);
  assert.equal(
    state.jobs.reporter?.report_path,
    join(sandbox.home, ".teleclaude/jobs/reporter/runs/261126-070000.md"),
  );
  assert.equal(state.jobs.silent?.report_path, null);
  const list = await runCli(sandbox, ["--list"]);
  assert.match(list.stdout, /silent\s+agent:claude .*no report/);
  assert.doesNotMatch(list.stdout, /reporter .*no report/);
});

Deno.test("deno task cron works with TELECLAUDE_API_SOCKET pointing anywhere", async () => {
  await using sandbox = await makeSandbox();
  await writeConfig(sandbox, "jobs:\n  j: { job: j, role: member, when: { every: 1d } }\n", ["j"]);
  await writeFakeAgent(sandbox.bin, "claude", { kind: "exit", code: 0 });
  await using _daemon = startFakeDaemon(sandbox.socket, "healthy");
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["task", "--quiet", "cron", "--config", sandbox.config],
    cwd: ROOT,
    env: sandbox.env,
    clearEnv: true,
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.equal(output.code, 0, new TextDecoder().decode(output.stderr));
  // The task's permission flags name this socket, so the health check reached the daemon.
  assert.equal(await readRecord(sandbox.records, "claude", "role"), "member");
});

Deno.test("a usage limit after a told failure leaves --list saying the failure was told", async () => {
  await using sandbox = await makeSandbox();
  await writeConfig(
    sandbox,
    "cron:\n  notify: { desktop: false }\njobs:\n  j: { job: s, when: { every: 1d }, retry: false }\n",
    ["s"],
  );
  await using daemon = startFakeDaemon(sandbox.socket, "healthy");
  await writeFakeAgent(sandbox.bin, "claude", { kind: "exit", code: 1 });
  assert.equal((await runCli(sandbox, [])).code, 1);
  const limited = await usageLimitResettingAt(Date.now() + 3600_000);
  await writeFakeAgent(sandbox.bin, "claude", { kind: "exit", code: 1, stdout: limited });
  await runCli(sandbox, ["--force"]);
  await daemon.settled();
  const kinds = daemon.events.map((event) => (event.envelope.payload as { event: string }).event);
  assert.deepEqual([...new Set(kinds)], ["job.failed", "job.deferred"], "both were told");
  const list = await runCli(sandbox, ["--list"]);
  assert.match(list.stdout, /j .*(?<!not )told \d\d:\d\d \(1st failure\)/);
});
