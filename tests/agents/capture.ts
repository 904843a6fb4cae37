/**
 * Captures what a pinned agent CLI prints in one situation, for tests/testdata/streams/: the CLI
 * runs with its job-mode argv (lib/agents.ts) in a fresh sandbox, pointed at the stand-in playing
 * a scenario (or at a port nothing listens on), and its stdout, stderr and exit code are saved as
 * they came, with the time and zone of the capture. The stand-in's requests are printed with
 * their times: how long the CLI retried before it gave up.
 *
 *   deno run --allow-all tests/agents/capture.ts AGENT SCENARIO [NAME] [options]
 *     --outage STATUS[xN]   the stand-in answers STATUS to the first N model calls (all without N)
 *     --unreachable         point the CLI at a closed port instead of the stand-in
 *     --retries N           the CLI's own retries (harness.ts `Patience`; by default the harness's)
 *     --cli-defaults        the CLI's own retries and timeouts, as a user has them (for timing)
 *     --tz ZONE             TZ of the CLI (default UTC)
 *     --dry                 print, save nothing
 */

import { join } from "node:path";
import { parseArgs } from "node:util";
import { jobInvocation, jobPrompt } from "../../lib/agents.ts";
import { AGENT_NAMES, type AgentName } from "../../lib/config/job.ts";
import { makeSandbox } from "../helpers/sandbox.ts";
import { agentEnvironment, describeRequests, writeSpecDoc } from "./harness.ts";
import { installAgents } from "./install.ts";
import {
  type Outage,
  OUTAGE_STATUSES,
  type OutageStatus,
  startModelServer,
  unreachableUrl,
} from "./stand_in/server.ts";

const STREAMS = new URL("../testdata/streams/", import.meta.url);
const DEADLINE_MS = 10 * 60_000;

const { positionals, values } = parseArgs({
  allowPositionals: true,
  options: {
    outage: { type: "string" },
    unreachable: { type: "boolean", default: false },
    retries: { type: "string" },
    "cli-defaults": { type: "boolean", default: false },
    tz: { type: "string", default: "UTC" },
    dry: { type: "boolean", default: false },
  },
});
const [agentArg, scenario, name = scenario] = positionals;
if (!AGENT_NAMES.includes(agentArg as AgentName) || !scenario) {
  throw new Error("usage: capture.ts AGENT SCENARIO [NAME] [--outage 529x2] [--unreachable]");
}
const agent = agentArg as AgentName;

function outageOf(text: string | undefined): Outage | undefined {
  if (text === undefined) return undefined;
  const match = /^(\d{3})(?:x(\d+))?$/.exec(text);
  const status = Number(match?.[1]) as OutageStatus;
  if (!match || !OUTAGE_STATUSES.includes(status)) throw new Error(`--outage ${text}?`);
  return match[2] ? { status, calls: Number(match[2]) } : { status };
}

/** Takes the harness's patience settings out again: the CLI retries as it does for a user. */
async function withCliDefaults(
  agent: AgentName,
  env: Record<string, string>,
  home: string,
): Promise<void> {
  const unset = async (file: string, setting: RegExp) => {
    const path = join(home, file);
    const text = await Deno.readTextFile(path);
    await Deno.writeTextFile(path, text.split("\n").filter((l) => !setting.test(l)).join("\n"));
  };
  switch (agent) {
    case "claude":
      for (const name of ["CLAUDE_CODE_MAX_RETRIES", "API_TIMEOUT_MS"]) delete env[name];
      delete env.CLAUDE_BYTE_STREAM_IDLE_TIMEOUT_MS;
      return;
    case "codex":
      return await unset(".codex/config.toml", /^(request|stream)_max_retries|^stream_idle/);
    case "gemini": {
      const path = join(home, ".gemini/settings.json");
      const settings = JSON.parse(await Deno.readTextFile(path));
      delete settings.general.maxAttempts;
      return await Deno.writeTextFile(path, JSON.stringify(settings, null, 2));
    }
  }
}

const agents = await installAgents();
if (agents.kind !== "installed") throw new Error(agents.reason);
await using sandbox = await makeSandbox({ tz: values.tz });
const outage = outageOf(values.outage);
await using server = startModelServer({ scenario, ...(outage ? { outage } : {}) });
await writeSpecDoc(sandbox, "x", "Write report.md containing the word done.\n");
const env = await agentEnvironment(sandbox, server, agent, {
  ...(values.unreachable ? { baseUrl: unreachableUrl() } : {}),
  ...(values.retries ? { patience: { retries: Number(values.retries) } } : {}),
});
if (values["cli-defaults"]) await withCliDefaults(agent, env, sandbox.home);
const invocation = jobInvocation(agents.binaries[agent], {
  agent,
  thinkingMode: "fast",
  prompt: jobPrompt("x", "x"),
});

const started = performance.now();
const child = new Deno.Command(invocation.command, {
  args: invocation.args,
  cwd: sandbox.project,
  env: {
    ...sandbox.env,
    ...env,
    ...invocation.env,
    TELECLAUDE_JOB_NAME: "x",
    TELECLAUDE_JOB_ROLE: "admin",
    PWD: sandbox.project,
  },
  clearEnv: true,
  stdin: invocation.stdin === null ? "null" : "piped",
  stdout: "piped",
  stderr: "piped",
}).spawn();
if (invocation.stdin !== null) {
  const writer = child.stdin.getWriter();
  await writer.write(new TextEncoder().encode(invocation.stdin));
  await writer.close();
}
const deadline = setTimeout(() => child.kill("SIGKILL"), DEADLINE_MS);
const output = await child.output();
clearTimeout(deadline);
const elapsed = Math.round(performance.now() - started);
const capturedAt = new Date().toISOString().replace(/\.\d+Z$/, "Z");

const dir = new URL(`${agent}/${name}/`, STREAMS);
const summary = `${agent} ${scenario}${values.outage ? ` outage ${values.outage}` : ""}` +
  `${values.unreachable ? " unreachable" : ""}: exit ${output.code} after ${elapsed} ms`;
// deno-lint-ignore no-console -- a tool for people: what the CLI did is its output
console.log(`${summary}\n${describeRequests(server)}\n${new TextDecoder().decode(output.stderr)}`);
if (!values.dry) {
  await Deno.mkdir(dir, { recursive: true });
  await Deno.writeFile(new URL("stdout", dir), output.stdout);
  if (output.stderr.length) await Deno.writeFile(new URL("stderr", dir), output.stderr);
  await Deno.writeTextFile(
    new URL("capture.json", dir),
    `{ "exit_code": ${output.code}, "captured_at": "${capturedAt}", "time_zone": "${values.tz}" }\n`,
  );
  // deno-lint-ignore no-console -- see above
  console.log(`saved in ${join(dir.pathname)}`);
}
