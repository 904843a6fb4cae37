/**
 * `runOnce`: one question to an agent in the Python original's "lobotomized" mode: no tools, no
 * MCP servers, one JSON answer. A library function for other TeleClaude components, exported as
 * `@teleclaude/cron/one-shot` (deno.json); the runner itself uses job mode (`runAgentJob`).
 */

import { join } from "./posix_path.ts";
import { oneShotInvocation, resolveAgentBinary } from "./agents.ts";
import {
  type AgentName,
  type AgentOverride,
  DEFAULT_MAX_LOG_BYTES,
  type ThinkingMode,
} from "./config/job.ts";
import { parseEvents } from "./run/outcome/classify.ts";
import { runProcess } from "./run/spawn.ts";

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

/** Why a one-shot question got no answer. */
export class OneShotError extends Error {
  override name = "OneShotError";
}

/**
 * Asks once and returns the last JSON object the agent printed (claude's and gemini's `json`
 * output is one object; codex prints JSON lines and the last is its final event).
 */
export async function runOnce(request: OneShotRequest): Promise<Record<string, unknown>> {
  const binary = resolveAgentBinary(request.agent, request.override, {
    path: Deno.env.get("PATH") ?? "",
    home: Deno.env.get("HOME") ?? "",
    os: Deno.build.os,
  });
  if (!binary.found) {
    throw new OneShotError(`${binary.reason}; looked in: ${binary.searched.join(", ")}`);
  }
  const invocation = oneShotInvocation(binary.path, request);
  const result = await runProcess({
    command: invocation.command,
    args: invocation.args,
    cwd: request.cwd,
    env: {},
    stdin: invocation.stdin,
    logPath: request.logPath,
    maxLogBytes: DEFAULT_MAX_LOG_BYTES,
    timeoutMs: request.timeoutMs ?? 120_000,
    graceMs: 2000,
    idleTimeoutMs: 0,
  });
  if (result.kind !== "exited" || result.code !== 0) {
    const why = result.kind === "exited" ? `exited with code ${result.code}` : result.kind;
    throw new OneShotError(`${request.agent} one-shot ${why}; output in ${request.logPath}`);
  }
  // A pretty-printed single object spans lines: try the whole output first.
  try {
    const whole: unknown = JSON.parse(result.stdoutTail);
    if (whole !== null && typeof whole === "object" && !Array.isArray(whole)) {
      return whole as Record<string, unknown>;
    }
  } catch {
    // JSON lines, handled below.
  }
  const last = parseEvents(result.stdoutTail).at(-1);
  if (!last) {
    throw new OneShotError(
      `${request.agent} one-shot printed no JSON; output in ${join(request.logPath)}`,
    );
  }
  return last;
}
