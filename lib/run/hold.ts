/**
 * A due job before it starts, as both schedulers (`loop.ts` in turn, `lanes.ts` at once) see it:
 * the runner's line saying why it is due, and whether it is held back, asked once per job just
 * before it would start, so that a limit one run hits holds back the runs not yet started. Held
 * back today: by a usage limit of its agent (`select.ts` `deferredUntil`, written by `record.ts`).
 * A forced run is never held back.
 */

import type { Job } from "../config/job.ts";
import type { Logger } from "../log.ts";
import { describeSchedule, describeSpan } from "../schedule.ts";
import { attemptOf, deferredUntil, type Selection } from "../select.ts";
import { type CronState, lastRunOf } from "../store/state.ts";

/** The runner's line for each job found due: why, and since when it last ran. */
export function logDue(
  due: Job[],
  state: CronState,
  now: number,
  options: Selection & { log: Logger },
): void {
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

/** Why a job may not start yet, and until when. */
export interface Hold {
  until: number;
  reason: string;
}

/** What holds `job` back at `now`, or null when nothing does (or the run is forced). */
export function heldBack(
  job: Job,
  state: CronState,
  now: number,
  options: { force: boolean },
): Hold | null {
  if (options.force || job.type !== "agent") return null;
  const until = deferredUntil(job, state, now);
  return until === null ? null : { until, reason: "usage limit" };
}

/**
 * Whether `job` is held back at `now`; says so in the runner's log (once per job while it is in
 * `said`, when given: the lane runner asks again at every wake).
 */
export function isHeldBack(
  job: Job,
  state: CronState,
  now: number,
  options: { force: boolean; log: Logger },
  said?: Set<string>,
): boolean {
  const hold = heldBack(job, state, now, options);
  if (hold === null) return false;
  if (said?.has(job.name)) return true;
  said?.add(job.name);
  options.log.info("job_deferred", {
    job: job.name,
    agent: job.type === "agent" ? job.agent : undefined,
    until: new Date(hold.until).toISOString(),
    reason: hold.reason,
  });
  return true;
}
