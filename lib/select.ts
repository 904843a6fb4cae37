/**
 * Which jobs run this tick: the selection rule in one place. A job runs when it is due by its
 * schedule (or forced), it is the one asked for (when one is), it runs on this computer (unless
 * forced by name), and no usage limit holds its agent back (unless forced). Pure functions of the jobs, the state and the time: the tick, the
 * job loop, `--list` and `--dry-run` all ask here.
 */

import { runsOn } from "./computer.ts";
import type { Job } from "./config/job.ts";
import { isDue } from "./schedule.ts";
import { CLOCK_SKEW_MS, type CronState, lastRunOf, parseTimestamp } from "./store/state.ts";

/** What the person (or launchd) asked for. */
export interface Selection {
  /** Ignore schedules and usage-limit deferrals. */
  force: boolean;
  /** Only this job. */
  only: string | null;
  timeZone: string;
  /** This computer's name, asked only when a job pinned to computers is due (`computer.ts`). */
  computer: () => string;
}

/**
 * Whether a job is to run now by its schedule: due (or forced), and the one asked for when one
 * is. Usage-limit deferral is asked separately (`deferredUntil`), job by job as the loop reaches
 * it, because a limit one job hits holds back the next ones.
 */
export function isSelected(job: Job, state: CronState, now: number, selection: Selection): boolean {
  if (selection.only !== null && job.name !== selection.only) return false;
  const byName = selection.force && selection.only === job.name;
  // A job discovered in jobs/ with no config entry runs only when forced by name.
  if (job.schedule.kind === "unscheduled") return byName;
  const due = selection.force ||
    isDue(job.schedule, lastRunOf(state, job.name), now, selection.timeZone);
  // A job pinned to other computers runs here only when a person names it: `--force --job`.
  return due && (byName || job.computers === null || runsOn(job, selection.computer()));
}

/** The jobs selected to run now, in config order. */
export function selectJobs(
  jobs: Job[],
  state: CronState,
  now: number,
  selection: Selection,
): Job[] {
  return jobs.filter((job) => isSelected(job, state, now, selection));
}

/** When a usage limit holds this job's agent back, the instant it may run again; else null. */
export function deferredUntil(job: Job, state: CronState, now: number): number | null {
  if (job.type !== "agent") return null;
  const until = parseTimestamp(state.agent_backoff?.[job.agent]?.until);
  return until !== null && until > now ? until : null;
}

/**
 * A job's last run as the schedule should see it: a run recorded in the future (the clock or the
 * zone was moved back since) counts as now, so the job waits one interval, not until then. The
 * tick repairs such records (`settleFutureRuns`); the views, which write nothing, ask here.
 */
export function lastRunAsOf(
  state: CronState,
  job: string,
  now: number,
): { at: number | null; future: boolean } {
  const at = lastRunOf(state, job);
  if (at !== null && at > now + CLOCK_SKEW_MS) return { at: now, future: true };
  return { at, future: false };
}
