/**
 * Recording what happened: a finished run into the state (and its agent's usage-limit back-off),
 * its history line, and the runs a dead runner left marked as running.
 */

import type { Config, Job } from "../config/job.ts";
import type { Logger } from "../log.ts";
import type { RunnerPaths } from "../paths.ts";
import { appendHistory, type HistoryEntry } from "../store/history.ts";
import { type CronState, type JobState, saveState } from "../store/state.ts";
import { groupAlive, isJobGroup, stopGroup } from "./process_group.ts";
import type { JobResult } from "./result.ts";

/** A job's entry in the state, created empty the first time. */
export function entryOf(state: CronState, name: string): JobState {
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

/**
 * The write side of usage-limit deferral (`select.ts` reads it): a usage limit holds the agent
 * back until the reset it stated, or backs off; a success lifts it.
 */
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

/** Exponential back-off for a usage limit with no stated reset: 15 min doubling to 4 h. */
export function usageBackoffMs(attempt: number): number {
  return Math.min(15 * 60_000 * 2 ** Math.max(0, attempt - 1), 4 * 3600_000);
}

/** The history line of a finished run. */
export function historyEntry(
  job: Job,
  startedIso: string,
  finishedIso: string,
  logPath: string,
  result: JobResult,
): HistoryEntry {
  return {
    job: job.name,
    type: job.type,
    ...(job.type === "agent" ? { agent: job.agent } : {}),
    started: startedIso,
    finished: finishedIso,
    duration_ms: result.durationMs,
    status: result.outcome,
    exit_code: result.exitCode,
    error: result.error,
    log_path: logPath,
    ...(job.type === "agent" ? { report_path: result.reportPath } : {}),
    ...(Object.keys(result.usage).length ? { usage: result.usage as Record<string, number> } : {}),
  };
}

/** What settling needs from the runner. */
export interface SettleContext {
  config: Config;
  paths: RunnerPaths;
  log: Logger;
  graceMs: number;
}

/**
 * Settles runs that a runner which died (crash, `kill -9`, power loss) left marked as running:
 * each is recorded as interrupted, counting as the job's last run so a job that takes the runner
 * down is not retried every five minutes; a process group of it still alive is stopped.
 * The state is saved when anything changed.
 */
export async function settleInterruptedRuns(
  state: CronState,
  context: SettleContext,
): Promise<void> {
  const stale = Object.entries(state.jobs).filter(([, entry]) => entry.running);
  if (stale.length === 0) return;
  for (const [name, entry] of stale) {
    const running = entry.running!;
    let stopped = false;
    if (
      await groupAlive(running.pgid) && await isJobGroup(running.pgid, Date.parse(running.started))
    ) {
      await stopGroup(running.pgid, context.graceMs);
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
    context.log.error("job_interrupted", { job: name, started: running.started, error });
    await appendHistory(context.paths.history, {
      job: name,
      type: context.config.jobs.find((job) => job.name === name)?.type ?? "script",
      started: running.started,
      finished: new Date().toISOString(),
      duration_ms: Date.now() - Date.parse(running.started),
      status: "interrupted",
      exit_code: null,
      error,
      log_path: running.log_path ?? null,
    });
  }
  await saveState(context.paths.state, state);
}
