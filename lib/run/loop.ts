/**
 * Running the selected jobs of a tick one at a time: a log file per run, the running record before
 * waiting, the result, the history line and the state saved after each job. The executor is an
 * option, so this loop is tested without spawning anything; by default it is `executeJob`.
 * Loaded only when a job is due (docs/benchmarks.md, "Idle tick").
 */

import type { Config, Job } from "../config/job.ts";
import type { Logger } from "../log.ts";
import type { RunnerPaths } from "../paths.ts";
import { join } from "../posix_path.ts";
import { describeSchedule, describeSpan } from "../schedule.ts";
import { deferredUntil } from "../select.ts";
import { appendHistory } from "../store/history.ts";
import { type CronState, lastRunOf, saveState } from "../store/state.ts";
import { executeJob, type JobContext } from "./execute.ts";
import { entryOf, historyEntry, recordResult } from "./record.ts";
import { type JobResult, jobResult } from "./result.ts";
import { LOGS_KEPT, newRunLog, pruneRunLogs } from "./run_logs.ts";

/** Runs one job; `executeJob` unless a test passes its own. */
export type JobExecutor = (job: Job, context: JobContext) => Promise<JobResult>;

/** What the loop needs. */
export interface RunnerOptions {
  config: Config;
  paths: RunnerPaths;
  /** Ignore schedules (and usage-limit deferrals). */
  force: boolean;
  /** Run only this job. */
  only: string | null;
  timeZone: string;
  socketPath: string;
  /** Time between SIGTERM and SIGKILL when a job is stopped. */
  graceMs: number;
  log: Logger;
  /** Aborted (with the signal's name) when the runner is asked to stop. */
  stop: AbortSignal;
  execute?: JobExecutor;
  clock?: () => number;
  /** Called once, before the first job starts (the tick installs its signal listeners then). */
  onJobsDue?: () => void;
}

/** How the run went. */
export interface RunSummary {
  ran: number;
  failed: number;
  /** The signal that stopped the run, if one did. */
  interruptedBy: string | null;
}

/** Lines of a failed job's output copied into the runner's own log. */
const TAIL_LINES = 20;

/** Runs `due` (already selected, in config order) one at a time and records each outcome. */
export async function runJobs(
  due: Job[],
  state: CronState,
  options: RunnerOptions,
): Promise<RunSummary> {
  const clock = options.clock ?? Date.now;
  logDue(due, state, clock(), options);
  options.onJobsDue?.();
  const summary: RunSummary = { ran: 0, failed: 0, interruptedBy: null };
  for (const job of due) {
    if (options.stop.aborted) break;
    // Checked per job, not up front: a usage limit hit by one job holds back the next ones.
    if (isDeferred(job, state, clock(), options)) continue;
    const result = await runOne(job, state, options, clock);
    summary.ran++;
    if (result.outcome !== "success") summary.failed++;
  }
  if (options.stop.aborted) summary.interruptedBy = String(options.stop.reason);
  return summary;
}

function logDue(due: Job[], state: CronState, now: number, options: RunnerOptions): void {
  for (const job of due) {
    const lastRun = lastRunOf(state, job.name);
    options.log.info("job_due", {
      job: job.name,
      schedule: describeSchedule(job.schedule),
      last_run: lastRun === null ? "never" : `${describeSpan(now - lastRun)} ago`,
      forced: options.force || undefined,
    });
  }
}

/** Whether a usage limit holds this job's agent back (unless forced); logs it when so. */
function isDeferred(job: Job, state: CronState, now: number, options: RunnerOptions): boolean {
  if (options.force || job.type !== "agent") return false;
  const until = deferredUntil(job, state, now);
  if (until === null) return false;
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
  options: RunnerOptions,
  clock: () => number,
): Promise<JobResult> {
  const { paths, log } = options;
  const started = clock();
  const startedIso = new Date(started).toISOString();
  const logPath = await newRunLog(paths.logs, job.name, started, options.timeZone);
  log.info("job_started", { job: job.name, type: job.type, log: logPath });
  const context = jobContext(job, state, options, startedIso, logPath);
  let result: JobResult;
  try {
    result = await (options.execute ?? executeJob)(job, context);
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
  await appendHistory(
    paths.history,
    historyEntry(job, startedIso, new Date(clock()).toISOString(), logPath, result),
  );
  logFinished(job, logPath, result, log);
  await pruneRunLogs(join(paths.logs, job.name), LOGS_KEPT);
  return result;
}

function jobContext(
  job: Job,
  state: CronState,
  options: RunnerOptions,
  startedIso: string,
  logPath: string,
): JobContext {
  const { paths, log } = options;
  return {
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
}

function logFinished(job: Job, logPath: string, result: JobResult, log: Logger): void {
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
    return;
  }
  log.error("job_finished", fields);
  for (const line of result.outputTail.trimEnd().split("\n").slice(-TAIL_LINES)) {
    if (line) log.raw(`  ${job.name} | ${line}`);
  }
}
