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

/** Default model per agent and thinking mode; `null` means the agent has no such mode. */
export const DEFAULT_MODELS: Record<AgentName, Record<ThinkingMode, string | null>> = {
  claude: { fast: "haiku", med: "sonnet", slow: "opus", deep: null },
  codex: {
    fast: "gpt-5.3-codex",
    med: "gpt-5.3-codex",
    slow: "gpt-5.3-codex",
    deep: "gpt-5.3-codex",
  },
  gemini: {
    fast: "gemini-2.5-flash-lite",
    med: "gemini-3-flash-preview",
    slow: "gemini-3-pro-preview",
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
}

/** What a job invocation needs to know beyond the binary. */
export interface InvocationRequest {
  agent: AgentName;
  thinkingMode: ThinkingMode;
  prompt: string;
  override?: AgentOverride | undefined;
  maxTurns?: number | null;
  maxBudgetUsd?: number | null;
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
 * `enabledMcpjsonServers`.
 */
export function jobInvocation(binary: string, request: InvocationRequest): Invocation {
  const model = requireModel(request);
  switch (request.agent) {
    case "claude": {
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
    case "codex":
      return {
        command: binary,
        args: [
          "exec",
          "--dangerously-bypass-approvals-and-sandbox",
          "--skip-git-repo-check",
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
    case "gemini": {
      // gemini appends -p to whatever arrives on stdin, so stdin stays closed and the prompt is
      // one argv element (it is short: a pointer to the spec doc).
      // max_turns and max_budget_usd have no gemini or codex flag: only claude gets them.
      const args = ["--approval-mode", "yolo", "--output-format", "stream-json", "-m", model];
      return { command: binary, args: [...args, "-p", request.prompt], stdin: null };
    }
  }
}

/**
 * The one-shot command line: no tools, no MCP servers, one JSON answer on stdout.
 */
export function oneShotInvocation(binary: string, request: InvocationRequest): Invocation {
  const model = requireModel(request);
  switch (request.agent) {
    case "claude":
      return {
        command: binary,
        args: [
          "-p",
          "--tools",
          "",
          "--settings",
          JSON.stringify({ enabledMcpjsonServers: [] }),
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
      return {
        command: binary,
        args: [
          "exec",
          "--sandbox",
          "read-only",
          "--skip-git-repo-check",
          "--json",
          "-m",
          model,
          "-c",
          `model_reasoning_effort=${CODEX_REASONING_EFFORT[request.thinkingMode]}`,
          "-c",
          "mcp_servers={}",
          "-",
        ],
        stdin: request.prompt,
      };
    case "gemini":
      return {
        command: binary,
        args: [
          "--approval-mode",
          "default",
          "--allowed-mcp-server-names",
          "",
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
