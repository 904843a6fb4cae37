/**
 * How each agent CLI is invoked: the binary name, the flags of each mode, the model for each
 * thinking mode and how the prompt is passed. Pure data and pure functions, so the flags of every
 * agent are one-line tests; resolving the binary on disk is the only function that reads files.
 *
 * Two modes:
 * - job mode (`runAgentJob` in `run/execute.ts`, used by the runner): the agent keeps every tool
 *   and MCP server, runs without permission prompts and streams machine-readable events into the
 *   run log.
 * - one-shot (`runOnce` in `one_shot.ts`, a library function): the Python original's
 *   "lobotomized" mode: no tools, no MCP servers, one JSON answer.
 */

import { join } from "./posix_path.ts";
import { isExecutableFile } from "./subprocess.ts";
import type { AgentName, AgentOverride, ThinkingMode } from "./config/job.ts";

/**
 * The CLI versions this runner was verified with, end to end (tests/agents/versions.json pins the
 * same, and a test keeps the two equal). `--doctor` flags an older CLI: a flag the runner passes
 * may not exist there.
 */
export const VERIFIED_VERSIONS: Readonly<Record<AgentName, string>> = {
  claude: "2.1.332",
  codex: "0.169.0",
  gemini: "0.61.0",
};

/** The npm package of each CLI, for the doctor's fix line. */
export const AGENT_PACKAGES: Readonly<Record<AgentName, string>> = {
  claude: "@anthropic-ai/claude-code",
  codex: "@openai/codex",
  gemini: "@google/gemini-cli",
};

/**
 * Default model per agent and thinking mode; `null` means the agent has no such mode. Each is a
 * model the pinned CLI knows (tests/agents/ checks it, so a stale default shows when a pin moves):
 * claude's aliases; codex's own default, `gpt-6.1-sol`, at four reasoning efforts (0.169.0 no
 * longer lists `gpt-5.3-codex` and warns about it); gemini's pro model by the name it really calls
 * (0.61.0 quietly sends `gemini-3-pro-preview` to `gemini-3.1-pro-preview`).
 */
export const DEFAULT_MODELS: Record<AgentName, Record<ThinkingMode, string | null>> = {
  claude: { fast: "haiku", med: "sonnet", slow: "opus", deep: null },
  codex: { fast: "gpt-6.1-sol", med: "gpt-6.1-sol", slow: "gpt-6.1-sol", deep: "gpt-6.1-sol" },
  gemini: {
    fast: "gemini-2.5-flash-lite",
    med: "gemini-3-flash-preview",
    slow: "gemini-3.1-pro-preview",
    deep: null,
  },
};

/** Codex takes one model and a reasoning effort per thinking mode. */
export const CODEX_REASONING_EFFORT: Record<ThinkingMode, string> = {
  fast: "low",
  med: "medium",
  slow: "high",
  deep: "xhigh",
};

/** The executable each agent installs under. */
export const AGENT_BINARIES: Record<AgentName, string> = {
  claude: "claude",
  codex: "codex",
  gemini: "gemini",
};

const LAUNCHER_APPS: Record<AgentName, string> = {
  claude: "ClaudeLauncher",
  codex: "CodexLauncher",
  gemini: "GeminiLauncher",
};

/** A command line ready to spawn. `stdin` is the text to write to the child, or null to close it. */
export interface Invocation {
  command: string;
  args: string[];
  stdin: string | null;
  /** Added to the environment the agent gets. */
  env?: Record<string, string>;
}

/** What a job invocation needs to know beyond the binary. */
export interface InvocationRequest {
  agent: AgentName;
  thinkingMode: ThinkingMode;
  prompt: string;
  override?: AgentOverride | undefined;
  maxTurns?: number | null;
  maxBudgetUsd?: number | null;
  /**
   * Gemini has no turn-cap flag: a system settings file with `model.maxSessionTurns` (written by
   * the caller, which knows the file system) caps it, named by GEMINI_CLI_SYSTEM_SETTINGS_PATH.
   */
  geminiSettingsPath?: string | null;
}

/** What a one-shot invocation needs beyond the job's request. */
export interface OneShotRequest extends InvocationRequest {
  /** Codex MCP servers the user's or project's config declares (each is switched off). */
  codexMcpServers?: string[];
  /** A gemini policy file that denies every tool (written by the caller). */
  geminiDenyPolicy?: string;
}

/** The model for an agent and thinking mode, override first; null when the agent has none. */
export function modelFor(
  agent: AgentName,
  mode: ThinkingMode,
  override?: AgentOverride,
): string | null {
  return override?.models?.[mode] ?? DEFAULT_MODELS[agent][mode];
}

function requireModel(request: InvocationRequest): string {
  const model = modelFor(request.agent, request.thinkingMode, request.override);
  if (model === null) {
    // Config validation rejects this combination, so reaching here is a programming error.
    throw new Error(`${request.agent} has no model for thinking mode ${request.thinkingMode}`);
  }
  return model;
}

/**
 * The job-mode command line: full tools and MCP servers, no permission prompts, no session
 * saved, a machine-readable event stream on stdout. Never `--tools ""`, never an empty
 * `enabledMcpjsonServers`. Each flag was checked against the pinned CLI (tests/agents/).
 */
export function jobInvocation(binary: string, request: InvocationRequest): Invocation {
  const model = requireModel(request);
  switch (request.agent) {
    case "claude":
      return claudeJob(binary, model, request);
    case "codex":
      return {
        command: binary,
        args: [
          "exec",
          "--dangerously-bypass-approvals-and-sandbox",
          "--skip-git-repo-check",
          // No session files: jobs are stateless between runs.
          "--ephemeral",
          // Without a network codex would retry forever ("waiting for network"): fail instead.
          "--disable",
          "unbounded_connection_retries",
          "--json",
          "-m",
          model,
          "-c",
          `model_reasoning_effort=${CODEX_REASONING_EFFORT[request.thinkingMode]}`,
          // For codex `-p` is --profile; `-` as the prompt argument reads it from stdin.
          "-",
        ],
        stdin: request.prompt,
      };
    case "gemini":
      return geminiJob(binary, model, request);
  }
}

function claudeJob(binary: string, model: string, request: InvocationRequest): Invocation {
  const args = [
    "-p",
    "--dangerously-skip-permissions",
    "--no-session-persistence",
    "--no-chrome",
    "--output-format",
    "stream-json",
    "--verbose",
    "--model",
    model,
  ];
  if (request.maxTurns) args.push("--max-turns", String(request.maxTurns));
  if (request.maxBudgetUsd) args.push("--max-budget-usd", String(request.maxBudgetUsd));
  // With -p and no prompt argument, claude reads the prompt from stdin.
  return { command: binary, args, stdin: request.prompt };
}

/**
 * gemini appends -p to whatever arrives on stdin, so stdin stays closed and the prompt is one argv
 * element (it is short: a pointer to the spec doc). `--skip-trust`: a folder nobody trusted
 * interactively is otherwise refused (exit 55) before anything runs.
 */
function geminiJob(binary: string, model: string, request: InvocationRequest): Invocation {
  const args = ["--skip-trust", "--approval-mode", "yolo", "--output-format", "stream-json"];
  const env = request.maxTurns && request.geminiSettingsPath
    ? { GEMINI_CLI_SYSTEM_SETTINGS_PATH: request.geminiSettingsPath }
    : undefined;
  return {
    command: binary,
    args: [...args, "-m", model, "-p", request.prompt],
    stdin: null,
    ...(env ? { env } : {}),
  };
}

/**
 * The one-shot command line: no tools, no MCP servers, one answer. Claude: `--tools ""` and
 * `--strict-mcp-config` (which alone keeps the project's `.mcp.json` servers from starting).
 * Codex: every tool it lets a caller switch off, and every MCP server the configs declare. Gemini:
 * a deny-all policy (no tool in the request) and an allowed-MCP list naming no server.
 */
export function oneShotInvocation(binary: string, request: OneShotRequest): Invocation {
  const model = requireModel(request);
  switch (request.agent) {
    case "claude":
      return {
        command: binary,
        args: [
          "-p",
          "--tools",
          "",
          "--strict-mcp-config",
          "--no-session-persistence",
          "--no-chrome",
          "--output-format",
          "json",
          "--model",
          model,
        ],
        stdin: request.prompt,
      };
    case "codex":
      return codexOneShot(binary, model, request);
    case "gemini":
      return {
        command: binary,
        args: [
          "--skip-trust",
          "--approval-mode",
          "default",
          "--allowed-mcp-server-names",
          NO_MCP_SERVER,
          ...(request.geminiDenyPolicy ? ["--policy", request.geminiDenyPolicy] : []),
          "--output-format",
          "json",
          "-m",
          model,
          "-p",
          request.prompt,
        ],
        stdin: null,
      };
  }
}

/** A server name no config uses: "allow only this one" means none (an empty name is refused). */
export const NO_MCP_SERVER = "teleclaude-no-mcp-server";

/** The deny-all gemini policy `oneShotInvocation` points at (the caller writes it). */
export const GEMINI_DENY_ALL_POLICY =
  '[[rule]]\ntoolName = "*"\ndecision = "deny"\npriority = 999\n';

function codexOneShot(binary: string, model: string, request: OneShotRequest): Invocation {
  // Bare TOML keys only: codex splits `-c` keys on dots (the configs' names are bare in practice).
  const off = (request.codexMcpServers ?? []).filter((name) => /^[A-Za-z0-9_-]+$/.test(name))
    .flatMap((name) => ["-c", `mcp_servers.${name}.enabled=false`]);
  return {
    command: binary,
    args: [
      "exec",
      "--ephemeral",
      "--sandbox",
      "read-only",
      "--skip-git-repo-check",
      "--json",
      "-m",
      model,
      "-c",
      `model_reasoning_effort=${CODEX_REASONING_EFFORT[request.thinkingMode]}`,
      // `-c mcp_servers={}` merges and removes nothing: each server is switched off by name.
      ...off,
      "-c",
      'web_search="disabled"',
      "-c",
      "tools.experimental_request_user_input.enabled=false",
      ...["shell_tool", "multi_agent", "goals", "view_image", "sleep_tool"].flatMap((feature) => [
        "--disable",
        feature,
      ]),
      "-",
    ],
    stdin: request.prompt,
  };
}

/** The prompt of an agent job: a pointer to its spec doc, relative to the config's directory. */
export function jobPrompt(jobName: string, spec: string): string {
  return `You are running the ${jobName} job. Read @${
    specDocPath(spec)
  } for your full instructions.`;
}

/** The spec doc of a job, relative to the config's directory (`_` becomes `-`). */
export function specDocPath(spec: string): string {
  return `docs/project/spec/jobs/${spec.replaceAll("_", "-")}.md`;
}

/** Where to look for an agent binary, and what was found. */
export type BinaryResolution =
  | { found: true; path: string }
  | { found: false; searched: string[]; reason: string };

/** The environment binary resolution depends on; the service environment differs from a shell's. */
export interface SearchEnvironment {
  path: string;
  home: string;
  os: typeof Deno.build.os;
  /** The usual install places, after PATH; `standardInstallDirs(home)` unless a test says. */
  installDirs?: string[];
}

/** Where agent CLIs are usually installed, for when PATH (launchd's is tiny) does not say. */
export function standardInstallDirs(home: string): string[] {
  return [
    join(home, ".local", "bin"),
    join(home, ".claude", "local"),
    "/opt/homebrew/bin",
    "/usr/local/bin",
    join(home, ".npm-global", "bin"),
    join(home, ".bun", "bin"),
  ];
}

/**
 * Finds an agent's executable. launchd starts jobs with PATH=/usr/bin:/bin:/usr/sbin:/sbin, so
 * PATH alone finds nothing for most users. Order: the `agents.<name>.binary` override (which
 * never falls through: a wrong override is an error to fix, not a hint); the TeleClaude launcher
 * app on macOS; PATH; the usual install places.
 */
export function resolveAgentBinary(
  agent: AgentName,
  override: AgentOverride | undefined,
  environment: SearchEnvironment,
): BinaryResolution {
  if (override?.binary) {
    return isExecutableFile(override.binary) ? { found: true, path: override.binary } : {
      found: false,
      searched: [override.binary],
      reason: `agents.${agent}.binary ${override.binary} is not an executable file`,
    };
  }
  const candidates = agentBinaryCandidates(agent, environment);
  const path = candidates.find(isExecutableFile);
  if (path) return { found: true, path };
  return {
    found: false,
    searched: candidates,
    reason: `${agent} CLI not found (set agents.${agent}.binary in the config to its full path)`,
  };
}

/** Every place `resolveAgentBinary` looks, in order, without duplicates. */
export function agentBinaryCandidates(agent: AgentName, environment: SearchEnvironment): string[] {
  const name = AGENT_BINARIES[agent];
  const { home } = environment;
  const places: string[] = [];
  if (environment.os === "darwin") {
    const app = LAUNCHER_APPS[agent];
    places.push(join(home, "Applications", `${app}.app`, "Contents", "MacOS", `${name}-launcher`));
  }
  for (const dir of environment.path.split(":")) {
    if (dir) places.push(join(dir, name));
  }
  for (const dir of environment.installDirs ?? standardInstallDirs(home)) {
    places.push(join(dir, name));
  }
  return [...new Set(places)];
}
