/**
 * `runOnce`: one question to an agent in the Python original's "lobotomized" mode: no tools, no
 * MCP servers, one answer. A library function for other TeleClaude components, exported as
 * `@teleclaude/cron/one-shot` (deno.json); the runner itself uses job mode (`runAgentJob`).
 */

import {
  GEMINI_DENY_ALL_POLICY,
  oneShotInvocation,
  type OneShotRequest as Invocable,
  resolveAgentBinary,
} from "./agents.ts";
import {
  type AgentName,
  type AgentOverride,
  DEFAULT_MAX_LOG_BYTES,
  type ThinkingMode,
} from "./config/job.ts";
import { join } from "./posix_path.ts";
import { agentReader, agentVerdict, lastWords } from "./run/outcome/classify.ts";
import {
  type AgentFacts,
  eventOf,
  MAX_ANSWER_CHARS,
  objectAt,
  type RunUsage,
  textOf,
} from "./run/outcome/facts.ts";
import { abnormalEnd } from "./process/result.ts";
import { runProcess } from "./process/spawn.ts";
import { LOCAL_TIME_ZONE } from "./time_zone.ts";
import type { Outcome } from "./store/state.ts";

/** What to ask and where. */
export interface OneShotRequest {
  agent: AgentName;
  thinkingMode: ThinkingMode;
  prompt: string;
  cwd: string;
  /** Where the raw output is written. */
  logPath: string;
  override?: AgentOverride;
  timeoutMs?: number;
}

/** The agent's answer. */
export interface OneShotAnswer {
  text: string;
  usage: RunUsage;
}

/** Why a one-shot question got no answer: the agent's own words, and what kind of failure. */
export class OneShotError extends Error {
  override name = "OneShotError";

  constructor(message: string, readonly outcome: Outcome | "not-started") {
    super(message);
  }
}

/** Asks once and returns the agent's answer; throws `OneShotError` with its words otherwise. */
export async function runOnce(request: OneShotRequest): Promise<OneShotAnswer> {
  const binary = resolveAgentBinary(request.agent, request.override, {
    path: Deno.env.get("PATH") ?? "",
    home: Deno.env.get("HOME") ?? "",
    os: Deno.build.os,
  });
  if (!binary.found) {
    throw new OneShotError(
      `${binary.reason}; looked in: ${binary.searched.join(", ")}`,
      "not-started",
    );
  }
  const scratch = await Deno.makeTempDir({ prefix: "teleclaude-one-shot-" });
  try {
    const invocable = await prepare(request, scratch);
    return await ask(request, oneShotInvocation(binary.path, invocable));
  } finally {
    await Deno.remove(scratch, { recursive: true }).catch(() => {});
  }
}

/** What each agent needs written or read first: gemini's deny-all policy, codex's MCP servers. */
async function prepare(request: OneShotRequest, scratch: string): Promise<Invocable> {
  const invocable: Invocable = { ...request };
  if (request.agent === "gemini") {
    invocable.geminiDenyPolicy = join(scratch, "deny-all.toml");
    await Deno.writeTextFile(invocable.geminiDenyPolicy, GEMINI_DENY_ALL_POLICY);
  }
  if (request.agent === "codex") invocable.codexMcpServers = await codexMcpServers(request.cwd);
  return invocable;
}

/** MCP servers declared in codex's user config and in the project's, by name. */
async function codexMcpServers(cwd: string): Promise<string[]> {
  const home = Deno.env.get("CODEX_HOME") || join(Deno.env.get("HOME") ?? "", ".codex");
  const names = new Set<string>();
  for (const file of [join(home, "config.toml"), join(cwd, ".codex", "config.toml")]) {
    const text = await Deno.readTextFile(file).catch(() => "");
    for (const match of text.matchAll(/^\s*\[mcp_servers\.([A-Za-z0-9_-]+)\]/gm)) {
      names.add(match[1]!);
    }
  }
  return [...names];
}

async function ask(
  request: OneShotRequest,
  invocation: ReturnType<typeof oneShotInvocation>,
): Promise<OneShotAnswer> {
  const reader = agentReader(request.agent, Date.now, LOCAL_TIME_ZONE);
  const result = await runProcess({
    command: invocation.command,
    args: invocation.args,
    cwd: request.cwd,
    env: invocation.env ?? {},
    stdin: invocation.stdin,
    logPath: request.logPath,
    maxLogBytes: DEFAULT_MAX_LOG_BYTES,
    timeoutMs: request.timeoutMs ?? 120_000,
    graceMs: 2000,
    idleTimeoutMs: 0,
    onStdoutLine: (line) => reader.line(line),
    // Gemini's json answer is one object printed over many lines: kept whole (as long as an
    // answer may be: a longer one is no answer) and read at the end.
    ...(request.agent === "gemini" ? { stdoutTailBytes: MAX_ANSWER_CHARS } : {}),
  });
  // Timed out, killed, could not start: said as a job's run says it (its outcome and words).
  const abnormal = abnormalEnd(result);
  if (abnormal || result.kind !== "exited") {
    throw new OneShotError(
      `${request.agent} one-shot ${abnormal?.error ?? result.kind} (output in ${request.logPath})`,
      abnormal?.outcome ?? "failed",
    );
  }
  const facts = request.agent === "gemini"
    ? geminiFacts(result.stdoutTail, result.stderrTail, reader.facts)
    : reader.facts;
  const verdict = agentVerdict(request.agent, result.code, facts, result.stderrTail, {
    binary: invocation.command,
    stdoutTail: result.stdoutTail,
  });
  if (verdict.outcome !== "success" || facts.answer === null) {
    const words = verdict.error ?? `${request.agent} one-shot gave no answer`;
    throw new OneShotError(`${words} (output in ${request.logPath})`, verdict.outcome);
  }
  return { text: facts.answer, usage: facts.usage };
}

/**
 * Gemini's one-shot facts: its answer is `response` of the object on stdout; a failure is an
 * `error` there, or (stdout empty) the object it prints last on stderr (`lastWords`).
 */
function geminiFacts(stdout: string, stderr: string, facts: AgentFacts): AgentFacts {
  const answer = eventOf(stdout);
  const error = objectAt(answer, "error");
  const failed = answer === null || answer.error !== undefined;
  return {
    ...facts,
    answer: textOf(answer?.response),
    finished: !failed,
    failed,
    error: failed ? textOf(error?.message) ?? lastWords(stderr) : null,
  };
}
