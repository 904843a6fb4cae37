/**
 * Which jobs run this tick: the selection rule in one place. A job runs when it is due by its
 * schedule, a retry of a failed attempt is due (`run/retry.ts` writes them), or a person forced
 * it; it is the one asked for (when one is), it is not paused (unless forced by name), it runs on
 * this computer (unless forced by name), and neither a usage limit nor a budget reached holds its
 * agent back (unless forced).
 * Pure functions of the jobs, the state and the time: the tick, the job loop, `--list` and
 * `--dry-run` all ask here.
 */

import { runsOn, shortName } from "./computer.ts";
import type { AgentName, Budget, Job } from "./config/job.ts";
import { isClockTime, isDue, jitterOffset, nextDue } from "./schedule.ts";
import { type BudgetHold, budgetHold } from "./spend.ts";
import {
  CLOCK_SKEW_MS,
  type CronState,
  entryOf,
  jobEntry,
  type JobState,
  lastRunOf,
  parseTimestamp,
} from "./store/state.ts";

/** What the person (or launchd) asked for. */
export interface Selection {
  /** Ignore schedules (and deferrals: usage limits, budgets). */
  force: boolean;
  /** Only this job. */
  only: string | null;
  timeZone: string;
  /**
   * This computer's name, asked only when a job pinned to computers is due or a job has a jitter
   * (`computer.ts` remembers it an hour).
   */
  computer: () => string;
}

/** Where a job's schedule is read: the zone, and the computer its jitter offset is of. */
export type Timing = Pick<Selection, "timeZone" | "computer">;

/** Why a job runs now: its schedule came round, a retry of it is due, or a person forced it. */
export type DueBy = "schedule" | "retry" | "forced";

/**
 * Why a job is to run now, or null when it is not: due (or forced), and the one asked for when
 * one is. Deferral (a usage limit, a budget) is asked separately (`deferralOf`), job by job as
 * the loop reaches it, because a limit one job hits, or the cost it adds, holds back the next ones.
 */
export function dueBy(job: Job, state: CronState, now: number, selection: Selection): DueBy | null {
  if (selection.only !== null && job.name !== selection.only) return null;
  const byName = selection.force && selection.only === job.name;
  // A job discovered in jobs/ with no config entry, or paused, runs only when forced by name.
  if (job.schedule.kind === "unscheduled" || !job.enabled) return byName ? "forced" : null;
  const why = selection.force ? "forced" : dueNow(job, state, now, selection);
  // A job pinned to other computers runs here only when a person names it: `--force --job`.
  if (why === null) return null;
  return byName || job.computers === null || runsOn(job, selection.computer()) ? why : null;
}

/** The jobs selected to run now, in config order. */
export function selectJobs(
  jobs: Job[],
  state: CronState,
  now: number,
  selection: Selection,
): Job[] {
  return jobs.filter((job) => dueBy(job, state, now, selection) !== null);
}

/** By its schedule or by a due retry, whichever holds now (a slot that came wins). */
function dueNow(job: Job, state: CronState, now: number, timing: Timing): DueBy | null {
  const from = scheduleFrom(job, state, now).at;
  if (isDue(job.schedule, from, now, timing.timeZone, offsetOf(job, timing.computer))) {
    return "schedule";
  }
  const retry = pendingRetry(job, jobEntry(state, job.name));
  return retry !== null && retry.at <= now ? "retry" : null;
}

/**
 * Which attempt a run of this job starting now is: a due retry's number; 1 for a run its
 * schedule or a person started (a forced run begins afresh).
 */
export function attemptOf(job: Job, state: CronState, now: number, selection: Selection): number {
  if (dueBy(job, state, now, selection) !== "retry") return 1;
  return pendingRetry(job, jobEntry(state, job.name))!.attempt;
}

/**
 * A job's scheduled retry: its attempt's number and when it is due; null when none is, or when
 * the job's `retry:` as the config says now no longer allows it (fewer attempts, the outcome no
 * longer retried, retries turned off): a retry written under an older config does not outlive it.
 */
export function pendingRetry(
  job: Job,
  entry: JobState | undefined,
): { attempt: number; at: number } | null {
  const at = parseTimestamp(entry?.retry?.at);
  if (at === null) return null;
  const attempt = entry!.retry!.attempt;
  const outcome = entry!.outcome ?? "failed";
  if (attempt > job.retry.attempts || !job.retry.on.includes(outcome as never)) return null;
  return { attempt, at };
}

/** A job's jitter offset on this computer in minutes (`jitterOffset`); null when it has none. */
export function offsetOf(job: Job, computer: () => string): number | null {
  if (job.jitterMinutes <= 0) return null;
  return jitterOffset(job.name, shortName(computer()), job.jitterMinutes);
}

/**
 * When the job next comes round by its schedule alone, jitter included (now when it is due);
 * null for an unscheduled job.
 */
export function nextScheduled(
  job: Job,
  state: CronState,
  now: number,
  timing: Timing,
): number | null {
  const from = scheduleFrom(job, state, now).at;
  return nextDue(job.schedule, from, now, timing.timeZone, offsetOf(job, timing.computer));
}

/** Why an agent's jobs wait, and until when; a budget's hold says which ceiling. */
export type Deferral =
  | { reason: "usage limit"; until: number }
  | { reason: "budget"; until: number; budget: BudgetHold };

/** The budgets and the zone their days and months are counted in. */
export interface Holds {
  budget: Partial<Record<AgentName, Budget>>;
  timeZone: string;
}

/**
 * What holds this job's agent back now, if anything: a usage limit until its reset, or a budget
 * reached until its period ends (`spend.ts`); when both do, the one that holds longer. A person's
 * `--force` is the caller's to honour.
 */
export function deferralOf(
  job: Job,
  state: CronState,
  now: number,
  holds: Holds,
): Deferral | null {
  if (job.type !== "agent") return null;
  const limit = parseTimestamp(state.agent_backoff?.[job.agent]?.until);
  const budget = budgetHold(job.agent, holds.budget[job.agent], state, now, holds.timeZone);
  if (budget !== null && (limit === null || limit <= budget.until)) {
    return { reason: "budget", until: budget.until, budget };
  }
  return limit !== null && limit > now ? { reason: "usage limit", until: limit } : null;
}

/**
 * What holds a due job back with nothing left to do about it: a usage limit, or a budget reached
 * whose period was told already (or that is not told at all); null when nothing does, or when
 * the hold is still to be told. A tick leaves such jobs out of the job loop (it only logs them),
 * so a limit that holds for hours, or a budget for weeks, costs a tick no more than an idle one.
 */
export function heldQuietly(
  job: Job,
  state: CronState,
  now: number,
  holds: Holds & { tells: boolean },
): Deferral | null {
  const deferral = deferralOf(job, state, now, holds);
  if (deferral === null) return null;
  if (deferral.reason === "usage limit" || !holds.tells) return deferral;
  const { agent, period, of } = deferral.budget;
  return state.spend?.[agent]?.told?.[period] === of ? deferral : null;
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

/**
 * The instant a job's schedule counts from (`isDue`'s `lastRun`): its last run, as
 * `lastRunAsOf` sees it; for a clock-time job that never ran, when the runner first saw it
 * (`noteNewJobs`), or now for a job no tick has seen yet, so that it waits for its next slot.
 */
function scheduleFrom(
  job: Job,
  state: CronState,
  now: number,
): { at: number | null; future: boolean } {
  const last = lastRunAsOf(state, job.name, now);
  if (last.at !== null || !isClockTime(job.schedule)) return last;
  const seen = parseTimestamp(jobEntry(state, job.name)?.first_seen);
  return { at: seen === null ? now : Math.min(seen, now), future: false };
}

/**
 * Notes when the runner first saw each clock-time job that has neither run nor been seen: it
 * waits for its first slot from then, as a cron job does, rather than running at once. Returns
 * the names it noted (the tick then saves the state).
 */
export function noteNewJobs(jobs: Job[], state: CronState, now: number): string[] {
  const noted: string[] = [];
  for (const job of jobs) {
    if (!job.enabled || !isClockTime(job.schedule)) continue;
    const entry = jobEntry(state, job.name);
    if (entry !== undefined && (entry.last_run !== null || entry.first_seen !== undefined)) {
      continue;
    }
    entryOf(state, job.name).first_seen = new Date(now).toISOString();
    noted.push(job.name);
  }
  return noted;
}
