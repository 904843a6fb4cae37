/**
 * Running one job to a `JobResult`: script jobs run their program, agent jobs resolve the agent
 * binary, check the daemon for the role and spawn the CLI. Both go through `runProcess`. Every
 * failure of a single job (missing binary, missing spec, spawn error) is that job's result; the
 * runner goes on to the next job.
 */

import {
  type Invocation,
  jobInvocation,
  jobPrompt,
  resolveAgentBinary,
  specDocPath,
} from "../agents.ts";
import {
  type AgentJob,
  type Config,
  DEFAULT_MAX_LOG_BYTES,
  type Job,
  type ScriptJob,
} from "../config/job.ts";
import { checkDaemonHealth, resolveRole } from "../daemon.ts";
import { join } from "../posix_path.ts";
import { describeFsError } from "../regular_file.ts";
import { StoreError } from "../errors.ts";
import { storeFailure } from "../store/fs.ts";
import { writeGeminiTurnCap } from "./gemini_settings.ts";
import { scriptPath, specDocProblem } from "./preflight.ts";
import { agentReader, agentVerdict, idleVerdict } from "./outcome/classify.ts";
import type { AgentReader } from "./outcome/facts.ts";
import { scriptVerdict } from "./outcome/script.ts";
import { abnormalEnd, type JobResult, jobResult } from "../process/result.ts";
import { runProcess, type SpawnRequest, type SpawnResult } from "../process/spawn.ts";

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
  /** Records the run as in flight; throws when it cannot (the job is then stopped). */
  onStart: (pid: number) => void | Promise<void>;
  /** Debug lines (daemon absent and the like). */
  debug: (message: string, fields?: Record<string, string>) => void;
}

/** Runs any job. */
export function executeJob(job: Job, context: JobContext): Promise<JobResult> {
  return job.type === "script" ? runScriptJob(job, context) : runAgentJob(job, context);
}

/** The spawn request of a job: its program in the config's directory, under its limits. */
function spawnRequest(
  job: Job,
  context: JobContext,
  invocation: Invocation,
  env: Record<string, string>,
): SpawnRequest {
  return {
    command: invocation.command,
    args: invocation.args,
    cwd: context.config.dir,
    // PWD as a shell would set it: the runner's own is the directory launchd started it in.
    env: { ...env, TELECLAUDE_JOB_NAME: job.name, PWD: context.config.dir },
    stdin: invocation.stdin,
    logPath: context.logPath,
    maxLogBytes: job.maxLogBytes ?? DEFAULT_MAX_LOG_BYTES,
    timeoutMs: job.timeoutSeconds * 1000,
    graceMs: context.graceMs,
    idleTimeoutMs: job.idleTimeoutSeconds * 1000,
    stop: context.stop,
    onStart: context.onStart,
  };
}

/** Runs a script job: its program directly (no shell) in the config's directory. */
async function runScriptJob(job: ScriptJob, context: JobContext): Promise<JobResult> {
  const [program, ...args] = job.command as [string, ...string[]];
  const command = scriptPath(program, context.config.dir);
  const result = await runProcess(
    spawnRequest(job, context, { command, args, stdin: null }, {}),
  );
  const abnormal = abnormalEnd(result);
  if (abnormal) return jobResult(abnormal);
  const code = (result as Extract<SpawnResult, { kind: "exited" }>).code;
  const verdict = scriptVerdict(code, result.stdoutTail);
  return jobResult({
    outcome: verdict.success ? "success" : "failed",
    exitCode: code,
    error: verdict.error,
    durationMs: result.durationMs,
    message: verdict.message,
    itemsProcessed: verdict.itemsProcessed,
    outputTail: result.outputTail,
    logProblem: result.logProblem,
  });
}

/**
 * Runs an agent job as a plain subprocess with every tool and MCP server. The role is the job's
 * when the daemon answers its health check, and admin otherwise.
 */
export async function runAgentJob(job: AgentJob, context: JobContext): Promise<JobResult> {
  const details: Record<string, string> = { agent: job.agent };
  const prepared = await prepareAgentJob(job, context);
  if (typeof prepared === "string") return jobResult({ error: prepared, details });
  details.role = prepared.role;
  const startedAt = Date.now();
  // The events are read as they stream: a final result far past any tail (a 100 KB answer) is
  // still read, and only the agent's progress keeps the idle watchdog at bay.
  const reader = agentReader(job.agent, Date.now, context.timeZone);
  const guard = turnGuard(job, reader, context.stop);
  const env = { ...prepared.invocation.env, TELECLAUDE_JOB_ROLE: prepared.role };
  const result = await runProcess({
    ...spawnRequest(job, context, prepared.invocation, env),
    stop: guard.stop,
    onStdoutLine: guard.line,
  });
  const reports = await findRunReport(join(context.reportsDir, job.name, "runs"), startedAt);
  const reportPath = reports.path;
  if (reports.problem) details.report_problem = reports.problem;
  const { retries, retryCount } = reader.facts;
  if (retryCount > 0) details.retries = `${retryCount} (last: ${retries.at(-1)})`;
  const abnormal = abnormalEnd(result);
  if (abnormal) {
    return jobResult({
      ...abnormal,
      ...(result.kind === "idle"
        ? idleVerdict(job.agent, reader.facts, result.outputTail, abnormal.error!)
        : null),
      ...guard.capEnd(),
      details,
      reportPath,
      usage: reader.facts.usage,
    });
  }
  const code = (result as Extract<SpawnResult, { kind: "exited" }>).code;
  const verdict = agentVerdict(
    job.agent,
    code,
    reader.facts,
    result.stderrTail,
    { binary: prepared.invocation.command, stdoutTail: result.stdoutTail },
  );
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
    logProblem: result.logProblem,
  });
}

/**
 * The stream reader of an agent job, and the stop signal of its run. Gemini reads its own turn cap
 * (`writeGeminiTurnCap`) only from a file root owns in folders only root may write (0.61.0 skips
 * any other with a "Security Warning" on stderr), so the runner counts gemini's turns as well and
 * stops it once a turn past the cap begins. Claude and codex stop themselves.
 */
function turnGuard(job: AgentJob, reader: AgentReader, stop: AbortSignal) {
  const cap = job.agent === "gemini" ? job.maxTurns : null;
  const past = new AbortController();
  return {
    stop: cap ? AbortSignal.any([stop, past.signal]) : stop,
    line(line: string): boolean {
      const progress = reader.line(line);
      if (cap && (reader.facts.usage.turns ?? 0) > cap) past.abort("max_turns");
      return progress;
    },
    /** How the run ended when the runner stopped it at the cap; null when it did not. */
    capEnd(): Partial<JobResult> | null {
      if (!past.signal.aborted || stop.aborted) return null;
      const error = `stopped by the runner as gemini began turn ${cap! + 1} (max_turns: ${cap})`;
      return { outcome: "max_turns", error };
    },
  };
}

/** The command line and role of an agent job; why it cannot run, as text, when it cannot. */
async function prepareAgentJob(
  job: AgentJob,
  context: JobContext,
): Promise<{ invocation: Invocation; role: string } | string> {
  const missing = specDocProblem(join(context.config.dir, specDocPath(job.spec)));
  if (missing) return missing;
  const override = context.config.agents[job.agent];
  const binary = resolveAgentBinary(job.agent, override, {
    path: Deno.env.get("PATH") ?? "",
    home: context.home,
    os: Deno.build.os,
  });
  if (!binary.found) return `${binary.reason}; looked in: ${binary.searched.join(", ")}`;
  const health = await checkDaemonHealth(context.socketPath);
  if (!health.healthy) {
    context.debug("daemon not available: role admin", { job: job.name, reason: health.reason });
  }
  const turnCap = job.agent === "gemini" && job.maxTurns
    ? await geminiTurnCap(context.home, job.name, job.maxTurns)
    : null;
  if (turnCap?.problem) return `not started: ${turnCap.problem}`;
  const invocation = jobInvocation(binary.path, {
    agent: job.agent,
    thinkingMode: job.thinkingMode,
    prompt: jobPrompt(job.name, job.spec),
    override,
    maxTurns: job.maxTurns,
    maxBudgetUsd: job.maxBudgetUsd,
    geminiSettingsPath: turnCap?.path ?? null,
  });
  return { invocation, role: resolveRole(job.role, health) };
}

/**
 * Gemini's turn cap written for this run (`writeGeminiTurnCap`), or why it could not be: a path of
 * the runner's own that is not what it must be is the user's to fix, and the job does not start.
 */
async function geminiTurnCap(
  home: string,
  job: string,
  maxTurns: number,
): Promise<{ path: string | null; problem?: never } | { path?: never; problem: string }> {
  const root = join(home, ".teleclaude");
  try {
    return await writeGeminiTurnCap(root, job, maxTurns);
  } catch (error) {
    const failure = storeFailure(join(root, "agents"), error);
    if (failure instanceof StoreError) return { problem: failure.message };
    throw failure;
  }
}

/** The run reports an agent job wrote: the newest since a time, or why none could be looked for. */
interface RunReports {
  path: string | null;
  /** Why the reports folder could not be read (a file where it belongs); null when it could. */
  problem: string | null;
}

/** The newest run report written since `since`, per the agent-job procedure; null if none. */
async function findRunReport(dir: string, since: number): Promise<RunReports> {
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
    if (error instanceof Deno.errors.NotFound) return { path: null, problem: null };
    // The agent's work is done whatever this folder is: its run keeps its outcome.
    const words = error instanceof Deno.errors.NotADirectory
      ? "not a folder (a file is where the run reports belong)"
      : describeFsError(error);
    return { path: newest?.path ?? null, problem: `${dir}: ${words}` };
  }
  return { path: newest?.path ?? null, problem: null };
}
