/**
 * Points the real agent CLIs at the stand-in model server from inside a test sandbox: the
 * environment variables and the user config files each CLI needs to talk only to 127.0.0.1,
 * quietly (no telemetry, update checks or error reports) and fast (few retries, short timeouts),
 * and a teleclaude.yml that names the pinned binaries. Every setting here was checked against
 * the pinned CLIs (README.md in this folder says how to re-check after a bump).
 */

import { join } from "node:path";
import type { AgentName } from "../../lib/config/job.ts";
import {
  type CliResult,
  type Sandbox,
  spawnCli,
  writeConfig,
  writeFile,
} from "../helpers/sandbox.ts";
import { findOnPath, nodeDirectory } from "./install.ts";
import type { ApiName, ModelServer, RecordedRequest } from "./stand_in/server.ts";

/** The API each agent speaks. */
export const API_OF: Readonly<Record<AgentName, ApiName>> = {
  claude: "anthropic",
  codex: "openai",
  gemini: "gemini",
};

/** A stdio MCP server declared to an agent; `marker` gets a line each time it starts. */
export interface McpServer {
  name: string;
  command: string;
  args: string[];
  marker: string;
}

/** How to prepare an agent beyond the defaults. */
export interface AgentOptions {
  /** claude only: a subscriber's OAuth token instead of an API key (needed for usage limits). */
  subscriber?: boolean;
  /** Declared where each agent reads them: claude's project `.mcp.json`, others' user config. */
  mcpServers?: McpServer[];
  /** How hard the CLI tries by itself before it gives up; by default briefly (see `Patience`). */
  patience?: Patience;
  /**
   * Where the CLI is pointed instead of the stand-in: `unreachableUrl()`, a service that cannot
   * be reached.
   */
  baseUrl?: string;
}

/**
 * The CLI's own retrying, in each CLI's settings. By default claude retries 2 times and waits 3 s
 * for an answer, codex retries once (requests and streams) and waits 3 s on a silent stream,
 * gemini tries twice; a scenario that must outlast the CLI's patience, or must not, sets it.
 */
export interface Patience {
  /**
   * Retries after the first try: claude `CLAUDE_CODE_MAX_RETRIES`, codex `request_max_retries`
   * and `stream_max_retries`, gemini `general.maxAttempts` minus one (each waits 5 s or more).
   */
  retries: number;
  /**
   * How long one try waits: claude `API_TIMEOUT_MS`, codex `stream_idle_timeout_ms`. gemini has
   * no such setting with an API key: it waits 60 s for headers, 300 s on a silent stream.
   */
  tryTimeoutMs?: number;
}

const DEFAULT_PATIENCE: Record<AgentName, Required<Patience>> = {
  claude: { retries: 2, tryTimeoutMs: 3000 },
  codex: { retries: 1, tryTimeoutMs: 3000 },
  gemini: { retries: 1, tryTimeoutMs: 60_000 }, // the wait is gemini's own, not a setting
};

/** The key every CLI sends; the stand-in accepts anything. */
const STAND_IN_KEY = "stand-in-key-0123456789";

/**
 * Writes what `agent` needs into the sandbox (its user config in `sandbox.home`, `.mcp.json` in
 * the project) and returns the variables to add to the runner's environment, which passes them
 * on to the agent: the stand-in's address and key, quiet and fast settings, `node` on PATH and a
 * TMPDIR inside the sandbox (claude and gemini leave temp files behind).
 */
export async function agentEnvironment(
  sandbox: Sandbox,
  server: ModelServer,
  agent: AgentName,
  options: AgentOptions = {},
): Promise<Record<string, string>> {
  const tmp = join(sandbox.dir, "tmp");
  await Deno.mkdir(tmp, { recursive: true });
  const common = { TMPDIR: tmp, PATH: withNodeOnPath(sandbox.env.PATH ?? "/usr/bin:/bin") };
  const mcpServers = options.mcpServers ?? [];
  const patience = { ...DEFAULT_PATIENCE[agent], ...options.patience };
  const url = options.baseUrl ?? server.url;
  switch (agent) {
    case "claude":
      if (mcpServers.length) {
        await writeFile(join(sandbox.project, ".mcp.json"), JSON.stringify(mcpJson(mcpServers)));
      }
      return {
        ...common,
        ...claudeEnvironment(url, options.subscriber ?? false, patience),
      };
    case "codex":
      await writeFile(
        join(sandbox.home, ".codex/config.toml"),
        codexConfig(url, mcpServers, patience),
      );
      return { ...common, STANDIN_API_KEY: STAND_IN_KEY };
    case "gemini":
      await writeFile(
        join(sandbox.home, ".gemini/settings.json"),
        JSON.stringify(geminiSettings(mcpServers, patience), null, 2),
      );
      return { ...common, GOOGLE_GEMINI_BASE_URL: url, GEMINI_API_KEY: STAND_IN_KEY };
  }
}

/**
 * claude is configured by environment alone. Without the four quiet switches it probes
 * `HEAD /api/hello` and looks up five hosts; without the retry and timeout bounds a dead API
 * keeps it silent for 600 s per attempt, 11 attempts.
 */
export function claudeEnvironment(
  baseUrl: string,
  subscriber: boolean,
  patience: Required<Patience> = DEFAULT_PATIENCE.claude,
): Record<string, string> {
  return {
    ANTHROPIC_BASE_URL: baseUrl,
    // Only a subscriber (OAuth) gets claude's usage-limit wording; an API key gets "API Error".
    ...(subscriber
      ? { CLAUDE_CODE_OAUTH_TOKEN: `sk-ant-oat01-${STAND_IN_KEY}` }
      : { ANTHROPIC_API_KEY: `sk-ant-api03-${STAND_IN_KEY}` }),
    DISABLE_TELEMETRY: "1",
    CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: "1",
    DISABLE_AUTOUPDATER: "1",
    DISABLE_ERROR_REPORTING: "1",
    CLAUDE_CODE_MAX_RETRIES: String(patience.retries),
    API_TIMEOUT_MS: String(patience.tryTimeoutMs),
    // The lowest value claude accepts; its default is 300 s.
    CLAUDE_BYTE_STREAM_IDLE_TIMEOUT_MS: "10000",
    // The tests run as root, where claude refuses --dangerously-skip-permissions without it.
    // Tests only: the product never sets it.
    IS_SANDBOX: "1",
  };
}

/**
 * `~/.codex/config.toml`: a custom provider, because codex ignores OPENAI_BASE_URL, and one that
 * never tries a WebSocket first. Retries are cut from 4 and 5 to 1 each, the stream idle timeout
 * from 300 s to 3 s, unless `patience` says otherwise.
 */
export function codexConfig(
  baseUrl: string,
  mcpServers: McpServer[] = [],
  patience: Required<Patience> = DEFAULT_PATIENCE.codex,
): string {
  const lines = [
    `model_provider = "standin"`,
    `check_for_update_on_startup = false`,
    ``,
    `[analytics]`,
    `enabled = false`,
    ``,
    `[model_providers.standin]`,
    `name = "Stand-in"`,
    `base_url = ${JSON.stringify(`${baseUrl}/v1`)}`,
    `wire_api = "responses"`,
    `env_key = "STANDIN_API_KEY"`,
    `request_max_retries = ${patience.retries}`,
    `stream_max_retries = ${patience.retries}`,
    `stream_idle_timeout_ms = ${patience.tryTimeoutMs}`,
    ``,
    // Otherwise a refused connection (a stand-in already stopped) is retried forever.
    `[features]`,
    `unbounded_connection_retries = false`,
  ];
  for (const server of mcpServers) {
    // JSON strings are valid TOML basic strings.
    lines.push(
      ``,
      `[mcp_servers.${server.name}]`,
      `command = ${JSON.stringify(server.command)}`,
      `args = ${JSON.stringify(server.args)}`,
    );
  }
  return lines.join("\n") + "\n";
}

/**
 * `~/.gemini/settings.json`: API-key auth, nothing sent anywhere else, two attempts instead of
 * ten (each failed attempt waits 5 s or more) unless `patience` says otherwise.
 */
export function geminiSettings(
  mcpServers: McpServer[] = [],
  patience: Required<Patience> = DEFAULT_PATIENCE.gemini,
): Record<string, unknown> {
  return {
    security: { auth: { selectedType: "gemini-api-key" } },
    privacy: { usageStatisticsEnabled: false },
    telemetry: { enabled: false },
    general: {
      enableAutoUpdate: false,
      enableAutoUpdateNotification: false,
      maxAttempts: patience.retries + 1,
    },
    ide: { enabled: false },
    ...(mcpServers.length ? mcpJson(mcpServers) : {}),
  };
}

function mcpJson(servers: McpServer[]): { mcpServers: Record<string, unknown> } {
  return {
    mcpServers: Object.fromEntries(
      servers.map((server) => [server.name, { command: server.command, args: server.args }]),
    ),
  };
}

function withNodeOnPath(path: string): string {
  const dir = nodeDirectory();
  return dir && !path.split(":").includes(dir) ? `${path}:${dir}` : path;
}

/**
 * Writes teleclaude.yml (the given `jobs:` YAML plus an `agents:` block naming each installed
 * binary, so the runner finds the pinned CLIs whatever PATH says) and the spec docs `specs`.
 */
export async function writeAgentConfig(
  sandbox: Sandbox,
  jobsYaml: string,
  binaries: Record<AgentName, string>,
  specs: string[] = [],
): Promise<void> {
  const agents = Object.entries(binaries)
    .map(([agent, binary]) => `  ${agent}:\n    binary: ${JSON.stringify(binary)}\n`)
    .join("");
  await writeConfig(sandbox, `${jobsYaml.trimEnd()}\nagents:\n${agents}`, specs);
}

/** Replaces a job's spec doc with `text`. */
export async function writeSpecDoc(sandbox: Sandbox, spec: string, text: string): Promise<void> {
  const name = `${spec.replaceAll("_", "-")}.md`;
  await writeFile(join(sandbox.project, "docs/project/spec/jobs", name), text);
}

const MARKER_MCP_SERVER =
  `// A stdio MCP server with one tool, ping. Appends a line to the marker file (argv[2]) when it
// starts, so a test can tell whether the agent launched it at all.
const fs = require("fs");
const marker = process.argv[2];
fs.appendFileSync(marker, "started pid=" + process.pid + "\\n");
const send = (message) => process.stdout.write(JSON.stringify(message) + "\\n");
const RESULTS = {
  "tools/list": {
    tools: [{ name: "ping", description: "Answers pong.", inputSchema: { type: "object" } }],
  },
  "tools/call": { content: [{ type: "text", text: "pong" }] },
};
let buffer = "";
process.stdin.on("data", (chunk) => {
  buffer += chunk;
  let newline;
  while ((newline = buffer.indexOf("\\n")) >= 0) {
    const line = buffer.slice(0, newline).trim();
    buffer = buffer.slice(newline + 1);
    if (line) answer(JSON.parse(line));
  }
});
function answer(message) {
  if (message.id === undefined) return; // a notification
  const result = message.method === "initialize"
    ? {
      protocolVersion: message.params?.protocolVersion ?? "2025-06-18",
      capabilities: { tools: {} },
      serverInfo: { name: "marker", version: "1.0.0" },
    }
    : RESULTS[message.method];
  send(result
    ? { jsonrpc: "2.0", id: message.id, result }
    : { jsonrpc: "2.0", id: message.id, error: { code: -32601, message: "no " + message.method } });
}
`;

/**
 * Writes the marker MCP server (a node script) into the sandbox and returns how to declare it;
 * pass it in `AgentOptions.mcpServers`. `name` must be a plain identifier (`[a-z0-9_]`).
 */
export async function writeMarkerMcpServer(sandbox: Sandbox, name: string): Promise<McpServer> {
  if (!/^[a-z0-9_]+$/.test(name)) throw new Error(`not a plain MCP server name: ${name}`);
  const node = findOnPath("node");
  if (!node) throw new Error("node is not on PATH");
  const script = join(sandbox.dir, "mcp", `${name}.cjs`);
  const marker = join(sandbox.dir, "mcp", `${name}.started`);
  await writeFile(script, MARKER_MCP_SERVER);
  return { name, command: node, args: [script, marker], marker };
}

/** How many times the marker MCP server was started. */
export async function mcpServerStarts(server: McpServer): Promise<number> {
  try {
    return (await Deno.readTextFile(server.marker)).split("\n").filter(Boolean).length;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return 0;
    throw error;
  }
}

/**
 * Whether a request offers the model a tool of `server`: named after the server (claude's
 * `mcp__marker__ping`, codex's `mcp__marker` namespace, both also listed in text as deferred
 * tools; gemini's `mcp_marker_ping` declaration) or described as the marker's `ping` is.
 */
export function offersMcpServer(request: RecordedRequest, server: McpServer): boolean {
  const body = JSON.stringify(request.body);
  return new RegExp(`mcp_{1,2}${server.name}(?:_|\\b)`).test(body) ||
    body.includes("Answers pong.");
}

/** Whether a recorded request's body contains `text` (JSON-escaped the way the body was sent). */
export function requestMentions(request: RecordedRequest, text: string): boolean {
  const body = typeof request.body === "string" ? request.body : JSON.stringify(request.body);
  return body.includes(JSON.stringify(text).slice(1, -1));
}

/** One line per recorded request, for a test's output: when, API, method, path, status. */
export function describeRequests(server: ModelServer): string {
  return server.requests.map((r) =>
    `${String(r.atMs).padStart(6)} ms ${r.api ?? "-"} ${r.method} ${r.path}${r.query} -> ${
      r.status ?? "pending"
    }${r.modelCall ? ` (call ${r.callIndex})` : " (side)"}`
  ).join("\n");
}

/** A finished runner: what `runCli` gives, plus how long it took and whether it was stopped. */
export interface BoundedCliResult extends CliResult {
  durationMs: number;
  /** The deadline passed: the runner got SIGTERM (and SIGKILL after 15 s more). */
  timedOut: boolean;
}

/**
 * `runCli` (main.ts under the production permission flags, with `--config`) with a deadline: a
 * real agent that never ends must not hang the test. SIGTERM lets the runner stop the job's
 * process group and record the run, as it would under launchd.
 */
export async function runCliBounded(
  sandbox: Sandbox,
  args: string[],
  extraEnv: Record<string, string>,
  timeoutMs: number,
): Promise<BoundedCliResult> {
  const started = performance.now();
  const child = await spawnCli(sandbox, ["--config", sandbox.config, ...args], extraEnv);
  let timedOut = false;
  const signal = (name: Deno.Signal) => {
    try {
      child.kill(name);
    } catch (error) {
      // It exited between the deadline and the signal.
      if (!(error instanceof TypeError)) throw error;
    }
  };
  const term = setTimeout(() => {
    timedOut = true;
    signal("SIGTERM");
  }, timeoutMs);
  const kill = setTimeout(() => signal("SIGKILL"), timeoutMs + 15_000);
  try {
    const output = await child.output();
    const decode = (bytes: Uint8Array) => new TextDecoder().decode(bytes);
    return {
      code: output.code,
      stdout: decode(output.stdout),
      stderr: decode(output.stderr),
      durationMs: Math.round(performance.now() - started),
      timedOut,
    };
  } finally {
    clearTimeout(term);
    clearTimeout(kill);
  }
}
