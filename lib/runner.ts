/**
 * The tick's decision: with the lock held, read the state, pick the due jobs in config order.
 * Running them (and settling runs a dead runner left behind) is `job_loop.ts`, imported only when
 * there is something to do, so the idle tick loads as little as it can (docs/benchmarks.md).
 */

import type { Config, Job } from "./config.ts";
import type { JobContext, JobResult } from "./execute.ts";
import type { Logger } from "./log.ts";
import type { RunnerPaths } from "./paths.ts";
import { isDue } from "./schedule.ts";
import { type CronState, lastRunOf, loadStateForRun } from "./state.ts";

/** Runs one job; `executeJob` from `execute.ts` unless a test passes its own. */
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
  /** Called once, before the first job starts (main installs its signal listeners then). */
  onJobsDue?: () => void;
}

/** How the run went. */
export interface RunSummary {
  ran: number;
  failed: number;
  /** The signal that stopped the run, if one did. */
  interruptedBy: string | null;
}

/** Runs every due job (or the forced ones) once. The caller holds the runner lock. */
export async function runDueJobs(options: RunnerOptions): Promise<RunSummary> {
  const { config, paths, log } = options;
  const clock = options.clock ?? Date.now;
  const read = await loadStateForRun(paths.state, new Date(clock()));
  if (read.kind === "corrupt") {
    log.error("state_corrupt", {
      path: paths.state,
      reason: read.reason,
      moved_to: read.movedTo,
      recovered_from: read.recoveredFrom === "backup"
        ? `${paths.state}.bak`
        : "nothing (starting empty)",
    });
  }
  const state = read.state;
  if (Object.values(state.jobs).some((entry) => entry.running)) {
    const { settleInterruptedRuns } = await import("./job_loop.ts");
    await settleInterruptedRuns(state, options);
  }
  const now = clock();
  const due = config.jobs.filter((job) => isSelected(job, state, now, options));
  if (due.length === 0) return { ran: 0, failed: 0, interruptedBy: null };
  const { runJobs } = await import("./job_loop.ts");
  return await runJobs(due, state, options);
}

/** Whether a job is to run now: due (or forced), and the one asked for when one is. */
export function isSelected(
  job: Job,
  state: CronState,
  now: number,
  options: RunnerOptions,
): boolean {
  if (options.only !== null && job.name !== options.only) return false;
  // A job discovered in jobs/ with no config entry runs only when forced by name.
  if (job.schedule.kind === "unscheduled") return options.force && options.only === job.name;
  return options.force || isDue(job.schedule, lastRunOf(state, job.name), now, options.timeZone);
}
