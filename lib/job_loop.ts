/**
 * Running the selected jobs of a tick one at a time: a log file per run, the running record before
 * waiting, the result, the history line and the state saved after each job; usage-limit back-off;
 * and settling runs a runner that died left marked as running. The executor is an option, so this
 * loop is tested without spawning anything; by default it is `executeJob`.
 */

import type { Job } from "./config.ts";
import { executeJob, type JobContext, type JobResult, jobResult } from "./execute.ts";
import { describeSchedule, describeSpan } from "./format.ts";
import { appendHistory } from "./history.ts";
import { usageBackoffMs } from "./outcome.ts";
import { ensurePrivateDir } from "./paths.ts";
import { join } from "./posix_path.ts";
import type { JobExecutor, RunnerOptions, RunSummary } from "./runner.ts";
import { localTime } from "./schedule.ts";
import { type CronState, type JobState, lastRunOf, parseTimestamp, saveState } from "./state.ts";

/** Run logs kept per job. */
export const LOGS_KEPT = 20;
/** Lines of a failed job's output copied into the runner's own log. */
const TAIL_LINES = 20;

/** Runs `due` (already selected, in config order) one at a time and records each outcome. */
export async function runJobs(
  due: Job[],
  state: CronState,
  options: RunnerOptions,
): Promise<RunSummary> {
  const clock = options.clock ?? Date.now;
  const now = clock();
  for (const job of due) {
    const lastRun = lastRunOf(state, job.name);
    options.log.info("job_due", {
      job: job.name,
      schedule: describeSchedule(job.schedule),
      last_run: lastRun === null ? "never" : `${describeSpan(now - lastRun)} ago`,
      forced: options.force || undefined,
    });
  }
  options.onJobsDue?.();
  const execute = options.execute ?? executeJob;
  const summary: RunSummary = { ran: 0, failed: 0, interruptedBy: null };
  for (const job of due) {
    if (options.stop.aborted) break;
    // Checked per job, not up front: a usage limit hit by one job holds back the next ones.
    if (deferred(job, state, clock(), options)) continue;
    const result = await runOne(job, state, execute, options, clock);
    summary.ran++;
    if (result.outcome !== "success") summary.failed++;
  }
  if (options.stop.aborted) summary.interruptedBy = String(options.stop.reason);
  return summary;
}

/** Whether a usage limit holds this job's agent back (unless forced); logs it when so. */
function deferred(job: Job, state: CronState, now: number, options: RunnerOptions): boolean {
  if (options.force || job.type !== "agent") return false;
  const until = parseTimestamp(state.agent_backoff?.[job.agent]?.until);
  if (until === null || until <= now) return false;
  options.log.info("job_deferred", {
    job: job.name,
    agent: job.agent,
    until: new Date(until).toISOString(),
    reason: "usage limit",
  });
  return true;
}

async function runOne(
  job: Job,
  state: CronState,
  execute: JobExecutor,
  options: RunnerOptions,
  clock: () => number,
): Promise<JobResult> {
  const { paths, log } = options;
  const started = clock();
  const startedIso = new Date(started).toISOString();
  const logPath = await newRunLog(paths.logs, job.name, started, options.timeZone);
  log.info("job_started", { job: job.name, type: job.type, log: logPath });
  const context: JobContext = {
    config: options.config,
    logPath,
    reportsDir: paths.reports,
    socketPath: options.socketPath,
    graceMs: options.graceMs,
    home: paths.home,
    timeZone: options.timeZone,
    stop: options.stop,
    debug: (message, fields = {}) => log.debug("debug", { message, ...fields }),
    // Recorded before waiting on the job, so a runner that dies mid-job is found out next time.
    onStart: async (pgid) => {
      const entry = entryOf(state, job.name);
      entry.running = { started: startedIso, pgid, runner_pid: Deno.pid, log_path: logPath };
      await saveState(paths.state, state);
    },
  };
  let result: JobResult;
  try {
    result = await execute(job, context);
  } catch (error) {
    // A bug or an unexpected I/O error in one job must not take the others down with it.
    result = jobResult({
      error: `runner error: ${error instanceof Error ? error.message : String(error)}`,
      durationMs: clock() - started,
    });
    log.error("job_error", {
      job: job.name,
      error: error instanceof Error ? error.stack : String(error),
    });
  }
  recordResult(state, job, startedIso, logPath, result, clock());
  await saveState(paths.state, state);
  await appendHistory(paths.history, {
    job: job.name,
    type: job.type,
    ...(job.type === "agent" ? { agent: job.agent } : {}),
    started: startedIso,
    finished: new Date(clock()).toISOString(),
    duration_ms: result.durationMs,
    status: result.outcome,
    exit_code: result.exitCode,
    error: result.error,
    log_path: logPath,
    ...(job.type === "agent" ? { report_path: result.reportPath } : {}),
    ...(Object.keys(result.usage).length ? { usage: result.usage as Record<string, number> } : {}),
  });
  const fields = {
    job: job.name,
    status: result.outcome,
    duration_ms: result.durationMs,
    exit_code: result.exitCode ?? undefined,
    ...result.details,
    error: result.error ?? undefined,
    message: result.message ?? undefined,
    items: result.itemsProcessed ?? undefined,
    log: logPath,
  };
  if (result.outcome === "success") {
    log.info("job_finished", fields);
  } else {
    log.error("job_finished", fields);
    for (const line of result.outputTail.trimEnd().split("\n").slice(-TAIL_LINES)) {
      if (line) log.raw(`  ${job.name} | ${line}`);
    }
  }
  await pruneRunLogs(join(paths.logs, job.name), LOGS_KEPT);
  return result;
}

function entryOf(state: CronState, name: string): JobState {
  return state.jobs[name] ??= { last_run: null, last_status: "never", last_error: null };
}

/** Writes a finished run into the state (in memory). */
export function recordResult(
  state: CronState,
  job: Job,
  startedIso: string,
  logPath: string | null,
  result: JobResult,
  now: number,
): void {
  const entry = entryOf(state, job.name);
  delete entry.running;
  Object.assign(entry, {
    last_run: startedIso,
    last_status: result.outcome === "success" ? "success" : "failed",
    last_error: result.error,
    outcome: result.outcome,
    duration_ms: result.durationMs,
    exit_code: result.exitCode,
    log_path: logPath,
    message: result.message,
    items_processed: result.itemsProcessed,
  });
  if (job.type === "agent") {
    entry.report_path = result.reportPath;
    if (Object.keys(result.usage).length) entry.usage = result.usage;
    updateBackoff(state, job.agent, result, now);
  }
}

function updateBackoff(state: CronState, agent: string, result: JobResult, now: number): void {
  const backoff = state.agent_backoff ??= {};
  if (result.outcome === "usage_limit") {
    const attempts = (backoff[agent]?.attempts ?? 0) + 1;
    const until = result.resetsAt !== null && result.resetsAt > now
      ? result.resetsAt
      : now + usageBackoffMs(attempts);
    backoff[agent] = { until: new Date(until).toISOString(), attempts };
  } else if (result.outcome === "success") {
    delete backoff[agent];
  }
  if (Object.keys(backoff).length === 0) delete state.agent_backoff;
}

/**
 * Settles runs that a runner which died (crash, `kill -9`, power loss) left marked as running:
 * each is recorded as interrupted, counting as the job's last run so a job that takes the runner
 * down is not retried every five minutes; a process group of it still alive is stopped.
 * The state is saved when anything changed.
 */
export async function settleInterruptedRuns(
  state: CronState,
  options: RunnerOptions,
): Promise<void> {
  const stale = Object.entries(state.jobs).filter(([, entry]) => entry.running);
  if (stale.length === 0) return;
  const { groupAlive, isJobGroup, stopGroup } = await import("./spawn.ts");
  for (const [name, entry] of stale) {
    const running = entry.running!;
    let stopped = false;
    if (
      await groupAlive(running.pgid) && await isJobGroup(running.pgid, Date.parse(running.started))
    ) {
      await stopGroup(running.pgid, options.graceMs);
      stopped = true;
    }
    const error = `interrupted: the runner (pid ${running.runner_pid}) stopped during the run${
      stopped ? `; its leftover processes (group ${running.pgid}) were stopped` : ""
    }`;
    delete entry.running;
    Object.assign(entry, {
      last_run: running.started,
      last_status: "failed",
      last_error: error,
      outcome: "interrupted",
      log_path: running.log_path ?? entry.log_path ?? null,
    });
    options.log.error("job_interrupted", { job: name, started: running.started, error });
    await appendHistory(options.paths.history, {
      job: name,
      type: options.config.jobs.find((job) => job.name === name)?.type ?? "script",
      started: running.started,
      finished: new Date().toISOString(),
      duration_ms: Date.now() - Date.parse(running.started),
      status: "interrupted",
      exit_code: null,
      error,
      log_path: running.log_path ?? null,
    });
  }
  await saveState(options.paths.state, state);
}

/** A fresh log file path for a run: `<logs>/<job>/<YYMMDD-HHMMSS>.log`, unique. */
export async function newRunLog(
  logsDir: string,
  job: string,
  started: number,
  timeZone: string,
): Promise<string> {
  const dir = join(logsDir, job);
  await ensurePrivateDir(dir);
  const local = localTime(started, timeZone);
  const pad = (value: number) => String(value).padStart(2, "0");
  const stamp = `${pad(local.year % 100)}${pad(local.month)}${pad(local.day)}-${pad(local.hour)}${
    pad(local.minute)
  }${pad(local.second)}`;
  for (let suffix = 1;; suffix++) {
    const path = join(dir, suffix === 1 ? `${stamp}.log` : `${stamp}-${suffix}.log`);
    try {
      const file = await Deno.open(path, { write: true, createNew: true, mode: 0o600 });
      file.close();
      return path;
    } catch (error) {
      if (!(error instanceof Deno.errors.AlreadyExists)) throw error;
    }
  }
}

/**
 * A job's run logs, oldest first. Names are `YYMMDD-HHMMSS.log`, then `-2`, `-3` … for runs that
 * started in the same second (so plain string order would put `-2` before its first run).
 */
export async function listRunLogs(dir: string): Promise<string[]> {
  const names: string[] = [];
  try {
    for await (const entry of Deno.readDir(dir)) {
      if (entry.isFile && entry.name.endsWith(".log")) names.push(entry.name);
    }
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
  const key = (name: string) => {
    const [date = "", time = "", suffix = "1"] = name.slice(0, -".log".length).split("-");
    return [`${date}-${time}`, Number(suffix)] as const;
  };
  return names.sort((a, b) => {
    const [stampA, countA] = key(a);
    const [stampB, countB] = key(b);
    return stampA < stampB ? -1 : stampA > stampB ? 1 : countA - countB;
  });
}

/** Keeps the newest `keep` run logs of a job. */
export async function pruneRunLogs(dir: string, keep: number): Promise<void> {
  const names = await listRunLogs(dir);
  for (const name of names.slice(0, Math.max(0, names.length - keep))) {
    await Deno.remove(join(dir, name));
  }
}
