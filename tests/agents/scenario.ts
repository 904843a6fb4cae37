/**
 * One runner invocation against the stand-in, start to finish, for the behaviour tests: a fresh
 * sandbox and stand-in, jobs of one agent in teleclaude.yml, `main.ts` under the production
 * permission flags with the agent's environment, and everything the run left behind read back
 * (state, history, run logs, files the agent wrote, the requests the stand-in received) before the
 * sandbox is removed. What happened is printed with the test, so a failure shows the exchange.
 */

import { join } from "node:path";
import type { AgentName } from "../../lib/config/job.ts";
import type { HistoryEntry } from "../../lib/store/history.ts";
import { type DaemonMode, startFakeDaemon } from "../helpers/daemon.ts";
import { makeSandbox, readStateFile, type Sandbox } from "../helpers/sandbox.ts";
import {
  agentEnvironment,
  type AgentOptions,
  API_OF,
  type BoundedCliResult,
  describeRequests,
  runCliBounded,
  writeAgentConfig,
  writeSpecDoc,
} from "./harness.ts";
import { installAgents } from "./install.ts";
import {
  type Outage,
  type RecordedRequest,
  startModelServer,
  unreachableUrl,
} from "./stand_in/server.ts";

/** Whether the real CLIs are here; when not, prints why, once per test file, for `ignore`. */
export async function realAgentsMissing(suite: string): Promise<boolean> {
  const agents = await installAgents();
  if (agents.kind === "installed") return false;
  // deno-lint-ignore no-console -- a skipped suite must say why where the test output shows it
  console.warn(`${suite} skipped: ${agents.reason}`);
  return true;
}

/** What to run. */
export interface Scenario {
  agent: AgentName;
  /** What the stand-in plays (stand_in/anthropic.ts, openai.ts, gemini.ts list them). */
  scenario: string;
  /** The model service down before the scenario plays (stand_in/server.ts `Outage`). */
  outage?: Outage;
  /** The agent pointed at a port nothing listens on: the service cannot be reached. */
  unreachable?: boolean;
  /** Fields of job `x` beyond its agent and spec, as YAML flow (`max_turns: 1`); or `jobs`. */
  job?: string;
  /** The whole `jobs:` block instead of job `x`: every job's spec is `x`. */
  jobs?: string;
  /** The runner's arguments after `--config`; by default `--force --job x`. */
  args?: string[];
  /**
   * More runner invocations after the first, each with its own arguments, against the same
   * sandbox and stand-in (whose outage and call counts carry on): a job run again later.
   */
  then?: string[][];
  /** Called before each invocation of `then`, with the sandbox (time passing, say). */
  beforeThen?: (sandbox: Sandbox) => Promise<void>;
  /** The text of spec doc `x`. */
  spec?: string;
  agentOptions?: AgentOptions;
  /** TZ of the runner and the agent; by default UTC. */
  tz?: string;
  /** A daemon stand-in on the sandbox's socket, answering the health check so. */
  daemon?: DaemonMode;
  /** Files in the project directory to read back (report.md, role.txt). */
  read?: string[];
  /** When the runner gets SIGTERM; by default 90 s (every job's own timeout is shorter). */
  deadlineMs?: number;
}

/** What a run left behind. */
export interface ScenarioRun {
  /** The last invocation's. */
  result: BoundedCliResult;
  /** Every invocation's, in order (one unless `then` asked for more). */
  results: BoundedCliResult[];
  /** The runner's log lines (stdout and stderr). */
  runnerLog: string;
  state: Awaited<ReturnType<typeof readStateFile>>;
  history: HistoryEntry[];
  /** Each job's run log (the agent's own output), by job name. */
  runLogs: Record<string, string>;
  files: Record<string, string | null>;
  /** The model calls the agent's API received, in order. */
  modelCalls: RecordedRequest[];
  /** Health checks the daemon stand-in received. */
  daemonRequests: string[];
}

/** The job `x` a scenario runs unless it names its own jobs. */
const DEFAULT_JOB = "timeout: 60, idle_timeout: 30";

/** Runs `scenario` to its end and returns what it left behind. */
export async function runScenario(scenario: Scenario): Promise<ScenarioRun> {
  const agents = await installAgents();
  if (agents.kind !== "installed") throw new Error("runScenario needs the installed agents");
  const { agent } = scenario;
  await using sandbox = await makeSandbox({ tz: scenario.tz ?? "UTC" });
  await using server = startModelServer({
    scenario: scenario.scenario,
    ...(scenario.outage ? { outage: scenario.outage } : {}),
  });
  await using daemon = scenario.daemon ? startFakeDaemon(sandbox.socket, scenario.daemon) : null;
  const jobs = scenario.jobs ??
    `jobs:\n  x: { job: x, agent: ${agent}, ${scenario.job ?? DEFAULT_JOB} }\n`;
  await writeAgentConfig(sandbox, jobs, agents.binaries, ["x"]);
  await writeSpecDoc(sandbox, "x", scenario.spec ?? "Write report.md containing the word done.\n");
  const env = await agentEnvironment(sandbox, server, agent, {
    ...scenario.agentOptions,
    ...(scenario.unreachable ? { baseUrl: unreachableUrl() } : {}),
  });
  const results: BoundedCliResult[] = [];
  for (const args of [scenario.args ?? ["--force", "--job", "x"], ...scenario.then ?? []]) {
    if (results.length > 0) await scenario.beforeThen?.(sandbox);
    results.push(await runCliBounded(sandbox, args, env, scenario.deadlineMs ?? 90_000));
  }
  const result = results.at(-1)!;
  printRun(scenario, results, describeRequests(server));
  const state = await readStateFile(sandbox);
  return {
    result,
    results,
    runnerLog: results.map((run) => run.stdout + run.stderr).join(""),
    state,
    history: await readHistory(sandbox),
    runLogs: await readRunLogs(state),
    files: await readProjectFiles(sandbox, scenario.read ?? []),
    modelCalls: server.modelRequests(API_OF[agent]),
    daemonRequests: daemon?.requests ?? [],
  };
}

async function readHistory(sandbox: Sandbox): Promise<HistoryEntry[]> {
  const text = await readOrNull(join(sandbox.home, ".teleclaude/cron_history.jsonl"));
  return (text ?? "").split("\n").filter(Boolean).map((line) => JSON.parse(line));
}

async function readRunLogs(state: ScenarioRun["state"]): Promise<Record<string, string>> {
  const logs: Record<string, string> = {};
  for (const [job, entry] of Object.entries(state.jobs)) {
    const path = entry.log_path;
    if (typeof path === "string") logs[job] = await readOrNull(path) ?? "";
  }
  return logs;
}

async function readProjectFiles(
  sandbox: Sandbox,
  names: string[],
): Promise<Record<string, string | null>> {
  const files: Record<string, string | null> = {};
  for (const name of names) files[name] = await readOrNull(join(sandbox.project, name));
  return files;
}

async function readOrNull(path: string): Promise<string | null> {
  try {
    return await Deno.readTextFile(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return null;
    throw error;
  }
}

/** What the runner and the stand-in saw, printed with the test (deno shows it on failure too). */
function printRun(scenario: Scenario, results: BoundedCliResult[], requests: string): void {
  const ends = results.map((result) =>
    `runner exit ${result.code} in ${result.durationMs} ms${
      result.timedOut ? ", deadline passed" : ""
    }`
  );
  const summary = `${scenario.agent} ${scenario.scenario}: ${ends.join("; then ")}`;
  // Only the runner's own lines: a failed job's output tail repeats the run log.
  const runnerLines = results.flatMap((result) =>
    (result.stdout + result.stderr).split("\n").filter((line) => line.startsWith("ts="))
  );
  // deno-lint-ignore no-console -- the recorded exchange is what a reader of a failure needs
  console.log(`${summary}\n${requests}\n--- runner log ---\n${runnerLines.join("\n")}`);
}

/** The value of `field` in the runner's first `event` line (logfmt, quoted or bare); or null. */
export function logField(runnerLog: string, event: string, field: string): string | null {
  const line = runnerLog.split("\n").find((l) => l.includes(` event=${event} `));
  if (!line) return null;
  const match = new RegExp(` ${field}=("(?:[^"\\\\]|\\\\.)*"|\\S+)`).exec(line);
  if (!match) return null;
  return match[1]!.startsWith('"') ? JSON.parse(match[1]!) : match[1]!;
}

/** Whether the agent printed `text` in its run log, as itself or JSON-escaped inside an event. */
export function agentSaid(runLog: string, text: string): boolean {
  return runLog.includes(text) || runLog.includes(JSON.stringify(text).slice(1, -1));
}
