/**
 * Running one job to a `JobResult`: script jobs run their program, agent jobs resolve the agent
 * binary, check the daemon for the role and spawn the CLI. Both go through `runProcess`. Every
 * failure of a single job (missing binary, missing spec, spawn error) is that job's result; the
 * runner goes on to the next job. Imported by the runner only when a job is due.
 */

import { isAbsolute, join, resolve } from "./posix_path.ts";
import { jobInvocation, jobPrompt, resolveAgentBinary, specDocPath } from "./agents.ts";
import type { AgentJob, Config, Job, ScriptJob } from "./config.ts";
import { checkDaemonHealth, resolveRole } from "./daemon.ts";
import { agentVerdict, type RunUsage } from "./outcome.ts";
import { runProcess, type SpawnResult } from "./spawn.ts";
import type { Outcome } from "./state.ts";

/** What one run of one job came to. */
export interface JobResult {
  outcome: Outcome;
  exitCode: number | null;
  /** Why it failed, for the state file and the log; null on success. */
  error: string | null;
  durationMs: number;
  /** A script's JSON result message, if it printed one. */
  message: string | null;
  itemsProcessed: number | null;
  /** The last lines of output, copied into the runner's log on failure. */
  outputTail: string;
  usage: RunUsage;
  /** For a usage limit: when the agent said it resets (epoch ms). */
  resetsAt: number | null;
  /** The run report an agent job wrote, if any. */
  reportPath: string | null;
  /** Extra facts for the log line (agent, role). */
  details: Record<string, string>;
}

/** Everything a job needs from the runner. */
export interface JobContext {
  config: Config;
  logPath: string;
  /** Where agent jobs write run reports: `<root>/<job>/runs/`. */
  reportsDir: string;
  socketPath: string;
  graceMs: number;
  home: string;
  timeZone: string;
  stop: AbortSignal;
  onStart: (pid: number) => Promise<void>;
  /** Debug lines (daemon absent and the like). */
  debug: (message: string, fields?: Record<string, string>) => void;
}

/** Runs any job. */
export function executeJob(job: Job, context: JobContext): Promise<JobResult> {
  return job.type === "script" ? runScriptJob(job, context) : runAgentJob(job, context);
}

/** A result with every field at its empty value but those given (a failure unless said). */
export function jobResult(overrides: Partial<JobResult>): JobResult {
  return {
    outcome: "failed",
    exitCode: null,
    error: null,
    durationMs: 0,
    message: null,
    itemsProcessed: null,
    outputTail: "",
    usage: {},
    resetsAt: null,
    reportPath: null,
    details: {},
    ...overrides,
  };
}

/** Maps the ends of a process that are not plain exits; null for `exited`. */
function abnormalEnd(result: SpawnResult): Partial<JobResult> | null {
  const common = { durationMs: result.durationMs, outputTail: result.outputTail };
  switch (result.kind) {
    case "exited":
      return null;
    case "timed-out":
      return {
        ...common,
        outcome: "timed_out",
        error: `timed out after ${result.afterMs / 1000}s`,
      };
    case "idle":
      return { ...common, outcome: "idle", error: `idle for ${result.afterMs / 1000}s` };
    case "interrupted":
      return { ...common, outcome: "interrupted", error: `interrupted by ${result.signal}` };
    case "signalled":
      return { ...common, outcome: "failed", error: `killed by ${result.signal}` };
    case "spawn-failed":
      return { ...common, outcome: "failed", error: `could not start: ${result.error}` };
  }
}

/**
 * Runs a script job: its program directly (no shell) in the config's directory. Exit 0 is
 * success; a last stdout line that is a JSON object with `success` (the seed's JobResult) decides
 * instead, and its message and item count are kept.
 */
export async function runScriptJob(job: ScriptJob, context: JobContext): Promise<JobResult> {
  const [program, ...args] = job.command as [string, ...string[]];
  const result = await runProcess({
    command: scriptPath(program, context.config.dir),
    args,
    cwd: context.config.dir,
    env: { TELECLAUDE_JOB_NAME: job.name },
    stdin: null,
    logPath: context.logPath,
    timeoutMs: job.timeoutSeconds * 1000,
    graceMs: context.graceMs,
    idleTimeoutMs: job.idleTimeoutSeconds * 1000,
    stop: context.stop,
    onStart: context.onStart,
  });
  const abnormal = abnormalEnd(result);
  if (abnormal) return jobResult(abnormal);
  const code = (result as Extract<SpawnResult, { kind: "exited" }>).code;
  const reported = scriptReport(result.stdoutTail);
  const success = reported ? reported.success && code === 0 : code === 0;
  let error: string | null = null;
  if (!success) {
    error = code !== 0 ? `exited with code ${code}` : "reported success: false";
    if (reported?.errors.length) error += `: ${reported.errors.join("; ")}`;
    else if (reported?.message) error += `: ${reported.message}`;
  }
  return jobResult({
    outcome: success ? "success" : "failed",
    exitCode: code,
    error,
    durationMs: result.durationMs,
    message: reported?.message ?? null,
    itemsProcessed: reported?.itemsProcessed ?? null,
    outputTail: result.outputTail,
  });
}

/** A script path: absolute as given, else relative to the config's directory, else from PATH. */
export function scriptPath(program: string, configDir: string): string {
  if (isAbsolute(program)) return program;
  if (program.includes("/")) return resolve(configDir, program);
  try {
    Deno.statSync(join(configDir, program));
    return join(configDir, program);
  } catch {
    return program;
  }
}

/** The seed's JobResult, when a script's last stdout line is one. */
export function scriptReport(
  stdoutTail: string,
):
  | { success: boolean; message: string | null; itemsProcessed: number | null; errors: string[] }
  | null {
  const last = stdoutTail.trimEnd().split("\n").at(-1)?.trim() ?? "";
  if (!last.startsWith("{")) return null;
  try {
    const value = JSON.parse(last) as Record<string, unknown>;
    if (typeof value.success !== "boolean") return null;
    return {
      success: value.success,
      message: typeof value.message === "string" ? value.message : null,
      itemsProcessed: typeof value.items_processed === "number" ? value.items_processed : null,
      errors: Array.isArray(value.errors) ? value.errors.map(String) : [],
    };
  } catch {
    return null;
  }
}

/**
 * Runs an agent job as a plain subprocess with every tool and MCP server. The role is the job's
 * when the daemon answers its health check, and admin otherwise.
 */
export async function runAgentJob(job: AgentJob, context: JobContext): Promise<JobResult> {
  const details: Record<string, string> = { agent: job.agent };
  const spec = join(context.config.dir, specDocPath(job.spec));
  try {
    Deno.statSync(spec);
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
    return jobResult({ error: `spec doc not found: ${spec}`, details });
  }
  const override = context.config.agents[job.agent];
  const binary = resolveAgentBinary(job.agent, override, {
    path: Deno.env.get("PATH") ?? "",
    home: context.home,
    os: Deno.build.os,
  });
  if (!binary.found) {
    return jobResult({
      error: `${binary.reason}; looked in: ${binary.searched.join(", ")}`,
      details,
    });
  }
  const health = await checkDaemonHealth(context.socketPath);
  if (!health.healthy) {
    context.debug("daemon not available: role admin", { job: job.name, reason: health.reason });
  }
  const role = resolveRole(job.role, health);
  details.role = role;
  const invocation = jobInvocation(binary.path, {
    agent: job.agent,
    thinkingMode: job.thinkingMode,
    prompt: jobPrompt(job.name, job.spec),
    override,
    maxTurns: job.maxTurns,
    maxBudgetUsd: job.maxBudgetUsd,
  });
  const startedAt = Date.now();
  const result = await runProcess({
    command: invocation.command,
    args: invocation.args,
    cwd: context.config.dir,
    env: { TELECLAUDE_JOB_ROLE: role, TELECLAUDE_JOB_NAME: job.name },
    stdin: invocation.stdin,
    logPath: context.logPath,
    timeoutMs: job.timeoutSeconds * 1000,
    graceMs: context.graceMs,
    idleTimeoutMs: job.idleTimeoutSeconds * 1000,
    stop: context.stop,
    onStart: context.onStart,
  });
  const reportPath = await findRunReport(join(context.reportsDir, job.name, "runs"), startedAt);
  const abnormal = abnormalEnd(result);
  if (abnormal) return jobResult({ ...abnormal, details, reportPath });
  const code = (result as Extract<SpawnResult, { kind: "exited" }>).code;
  const verdict = agentVerdict(job.agent, code, result.stdoutTail, Date.now(), context.timeZone);
  return jobResult({
    outcome: verdict.outcome,
    exitCode: code,
    error: verdict.error,
    durationMs: result.durationMs,
    outputTail: result.outputTail,
    usage: verdict.usage,
    resetsAt: verdict.resetsAt,
    reportPath,
    details,
  });
}

/** The newest run report written since `since`, per the agent-job procedure; null if none. */
export async function findRunReport(dir: string, since: number): Promise<string | null> {
  let newest: { path: string; mtime: number } | null = null;
  try {
    for await (const entry of Deno.readDir(dir)) {
      if (!entry.isFile || !entry.name.endsWith(".md")) continue;
      const path = join(dir, entry.name);
      const mtime = (await Deno.stat(path)).mtime?.getTime() ?? 0;
      // File systems with one-second mtimes would hide a report written in the first second.
      if (mtime >= since - 1000 && (!newest || mtime > newest.mtime)) newest = { path, mtime };
    }
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return null;
    throw error;
  }
  return newest?.path ?? null;
}
