/**
 * Running the selected jobs of a tick one at a time: a log file per run, the running record before
 * waiting, the result, the history line and the state saved after each job. The executor is an
 * option, so this loop is tested without spawning anything; by default it is `executeJob`.
 * Loaded only when a job is due (docs/benchmarks.md, "Idle tick").
 */

import { type Config, DEFAULT_MAX_LOG_BYTES, type Job } from "../config/job.ts";
import type { Logger } from "../log.ts";
import type { RunnerPaths } from "../paths.ts";
import { join } from "../posix_path.ts";
import { describeSchedule, describeSpan } from "../schedule.ts";
import { attemptOf } from "../select.ts";
import { StoreError } from "../errors.ts";
import { isDiskFull, openForAppend, pathKind, storeFailure, writeAllSync } from "../store/fs.ts";
import { appendHistory } from "../store/history.ts";
import { type CronState, entryOf, jobEntry, lastRunOf, saveState } from "../store/state.ts";
import { executeJob, type JobContext } from "./execute.ts";
import { isHeldBack } from "./hold.ts";
import { announce, contextFor, queueEvent } from "../notify/notify.ts";
import {
  type CronEvent,
  runEvent,
  type RunFacts,
  type Streak,
  streakOf,
} from "../notify/events.ts";
import { historyEntry, MAX_DEFERRAL_MS, recordResult } from "./record.ts";
import { type Attempt, attemptAfter, attemptFacts, inSeries } from "./retry.ts";
import { type JobResult, jobResult } from "../process/result.ts";
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
  /** This computer's name, asked only when a pinned job is due (`computer.ts`). */
  computer: () => string;
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
  // Before the first job: a state that cannot be written now would leave every job of this tick
  // unrecorded, to run again in five minutes. saveOrFree ends the tick when that is so.
  saveOrFree(options.paths.state, state, null, options.log);
  for (const job of due) {
    if (options.stop.aborted) break;
    // Checked per job, not up front: a usage limit hit by one job, or the cost it adds to its
    // agent's budget, holds back the next ones.
    if (await isHeldBack(job, state, options, clock)) continue;
    const attempt = attemptOf(job, state, clock(), options);
    const result = await runOne(job, state, options, clock, attempt);
    summary.ran++;
    if (result.outcome !== "success") summary.failed++;
  }
  if (options.stop.aborted) summary.interruptedBy = String(options.stop.reason);
  return summary;
}

function logDue(due: Job[], state: CronState, now: number, options: RunnerOptions): void {
  for (const job of due) {
    const lastRun = lastRunOf(state, job.name);
    const attempt = attemptOf(job, state, now, options);
    options.log.info("job_due", {
      job: job.name,
      schedule: describeSchedule(job.schedule),
      last_run: lastRun === null ? "never" : `${describeSpan(now - lastRun)} ago`,
      forced: options.force || undefined,
      retry: attempt > 1 ? `${attempt} of ${job.retry.attempts}` : undefined,
    });
  }
}

async function runOne(
  job: Job,
  state: CronState,
  options: RunnerOptions,
  clock: () => number,
  attempt: number,
): Promise<JobResult> {
  const { paths, log } = options;
  const started = clock();
  const startedIso = new Date(started).toISOString();
  let logPath: string;
  try {
    logPath = newRunLog(paths.logs, paths.root, job.name, started);
  } catch (error) {
    // No log, no run: the job is recorded as not started, and the loop goes on.
    const failure = storeFailure(join(paths.logs, job.name), error);
    if (!(failure instanceof StoreError)) throw failure;
    const result = jobResult({ error: `not started: its run log ${failure.message}` });
    await recordRun(job, state, { startedIso, attempt }, null, result, options, clock);
    return result;
  }
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
  await recordRun(job, state, { startedIso, attempt }, logPath, result, options, clock);
  return result;
}

/**
 * Records a finished run. The state must be written (`saveOrFree`), or nothing further may run;
 * the history line and the pruning of old logs are worth a warning when they fail, no more.
 */
async function recordRun(
  job: Job,
  state: CronState,
  run: { startedIso: string; attempt: number },
  logPath: string | null,
  result: JobResult,
  options: RunnerOptions,
  clock: () => number,
): Promise<void> {
  const { paths, log } = options;
  const { startedIso } = run;
  const now = clock();
  if (result.resetsAt !== null && result.resetsAt > now + MAX_DEFERRAL_MS) {
    log.warn("usage_reset_capped", {
      job: job.name,
      stated: new Date(result.resetsAt).toISOString(),
      used: new Date(now + MAX_DEFERRAL_MS).toISOString(),
      reason: "a stated reset more than 7 days ahead is not believed",
    });
  }
  const before = streakOf(jobEntry(state, job.name));
  const retryPending = jobEntry(state, job.name)?.retry !== undefined;
  const times = { started: Date.parse(startedIso), finished: now, forced: options.force };
  const attempt = attemptAfter(job, run.attempt, result, times, options);
  recordResult(state, job, startedIso, logPath, result, now, attempt, options.timeZone);
  const finishedIso = new Date(clock()).toISOString();
  const told = tellRun(
    job,
    before,
    state,
    result,
    { startedIso, finishedIso, logPath, now, attempt: attemptFacts(job, attempt, retryPending) },
    options,
  );
  // Queued before the state says it was told: a runner killed in between tells it twice, not never.
  const context = told ? contextFor(options, clock) : null;
  const queued = told ? await queueEvent(told, context!) : false;
  saveOrFree(paths.state, state, logPath, log);
  await bestEffort(
    log,
    "history_not_written",
    paths.history,
    () =>
      appendHistory(
        paths.history,
        historyEntry(job, startedIso, finishedIso, logPath, result, attempt),
      ),
  );
  logFinished(job, logPath, result, attempt, log);
  if (told) await announce(told, context!, queued);
  const maxLog = job.maxLogBytes ?? DEFAULT_MAX_LOG_BYTES;
  const dir = join(paths.logs, job.name);
  await bestEffort(log, "logs_not_pruned", dir, () => pruneRunLogs(dir, LOGS_KEPT, 10 * maxLog));
}

/**
 * The event this run is told as, if any (`notify/events.ts`); the job's notification record is
 * updated in the state with it.
 */
function tellRun(
  job: Job,
  before: Streak,
  state: CronState,
  result: JobResult,
  run: Pick<RunFacts, "startedIso" | "finishedIso" | "logPath" | "now" | "attempt">,
  options: RunnerOptions,
): CronEvent | null {
  const entry = entryOf(state, job.name);
  const told = runEvent(job, before, result, streakOf(entry), {
    ...run,
    host: options.computer,
    config: options.config.file,
    deferredUntil: job.type === "agent" ? state.agent_backoff?.[job.agent]?.until ?? null : null,
  }, options.config.cron.notify);
  if (told.notified) entry.notified = told.notified;
  return told.event;
}

/** Runs `write`; a failure of the store is a warning in the runner's log, not an end. */
async function bestEffort(
  log: Logger,
  event: string,
  path: string,
  write: () => unknown,
): Promise<void> {
  try {
    await write();
  } catch (error) {
    const failure = storeFailure(path, error);
    if (!(failure instanceof StoreError)) throw failure;
    log.warn(event, { path, error: failure.message });
  }
}

/**
 * Saves the state; when the disk is full, first frees what this run wrote (its log, cut to its
 * first 64 KiB) and tries once more. When even that fails nothing can be recorded, and a job that
 * cannot be recorded would run again every five minutes: the `StoreError` ends the tick (exit 1),
 * and the next tick recovers by itself once there is space.
 */
export function saveOrFree(
  path: string,
  state: CronState,
  logPath: string | null,
  log: Logger,
): void {
  for (let attempt = 1;; attempt++) {
    try {
      saveState(path, state);
      return;
    } catch (error) {
      if (!isDiskFull(error)) throw storeFailure(path, error);
      if (attempt > 1 || logPath === null) {
        throw new StoreError(
          path,
          `cannot be written: the disk is full (${(error as Error).message}); job outcomes ` +
            `cannot be recorded, so no job starts until there is space`,
          1,
        );
      }
      truncateRunLog(logPath, log);
    }
  }
}

/** Frees the disk a run's log took: keeps its first 64 KiB and says where it was cut. */
function truncateRunLog(logPath: string, log: Logger): void {
  const keep = 64 * 1024;
  try {
    if (pathKind(logPath) !== "file" || Deno.lstatSync(logPath).size <= keep) return;
    Deno.truncateSync(logPath, keep);
    log.warn("run_log_truncated", { log: logPath, kept_bytes: keep, reason: "the disk is full" });
    const file = openForAppend(logPath);
    try {
      writeAllSync(file, new TextEncoder().encode("\n[… cut here: the disk was full …]\n"));
    } finally {
      file.close();
    }
  } catch (error) {
    if (error instanceof Deno.errors.NotCapable) throw error;
    // Nothing more to free: the caller's second save says what happened.
  }
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
    onStart: (pgid) => {
      const entry = entryOf(state, job.name);
      entry.running = { started: startedIso, pgid, runner_pid: Deno.pid, log_path: logPath };
      saveOrFree(paths.state, state, null, log);
    },
  };
}

function logFinished(
  job: Job,
  logPath: string | null,
  result: JobResult,
  attempt: Attempt,
  log: Logger,
): void {
  const fields = {
    job: job.name,
    status: result.outcome,
    duration_ms: result.durationMs,
    exit_code: result.exitCode ?? undefined,
    ...result.details,
    error: result.error ?? undefined,
    message: result.message ?? undefined,
    items: result.itemsProcessed ?? undefined,
    log: logPath ?? undefined,
    log_problem: result.logProblem ?? undefined,
    attempt: inSeries(attempt) ? `${attempt.number} of ${attempt.of}` : undefined,
    retry_at: attempt.next ? new Date(attempt.next.at).toISOString() : undefined,
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
