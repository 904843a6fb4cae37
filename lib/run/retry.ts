/**
 * The retry rule: which failed attempts are tried again, and when. A failure does not sleep and
 * try again: it writes when the next attempt is due (`record.ts` `failRun`), and a later tick
 * runs it (`select.ts` `dueBy`), so the lock is never held waiting (graphile/worker's `failJob`
 * writes the next `run_at` the same way). A retry never runs once the job's next regular run has
 * come: that run takes its place.
 */

import { type Job, MAX_DOUBLED_BACKOFF_MINUTES, type RetryPolicy } from "../config/job.ts";
import type { AttemptFacts } from "../notify/events.ts";
import type { JobResult } from "../process/result.ts";
import { nextDue } from "../schedule.ts";
import { offsetOf, type Timing } from "../select.ts";

/** The attempt that follows a failed one: its number (2 for the first retry) and when it is due. */
export interface NextAttempt {
  attempt: number;
  at: number;
}

/** Where a finished run stands among its job's attempts. */
export interface Attempt {
  /** 1 for a run its schedule or a person started, 2… for its retries. */
  number: number;
  /** How many attempts the job's `retry:` allows. */
  of: number;
  /** The attempt scheduled after this one, if any. */
  next: NextAttempt | null;
}

/** A run with no retry after it: what a run a dead runner left is recorded as. */
export const LONE_ATTEMPT: Readonly<Attempt> = { number: 1, of: 1, next: null };

/**
 * How long after attempt `failed` failed the next one is due: the backoff, doubled for each
 * attempt since the first, up to an hour (or up to the backoff itself, when that is longer).
 */
export function retryDelayMs(policy: RetryPolicy, failed: number): number {
  const cap = Math.max(policy.backoffMinutes, MAX_DOUBLED_BACKOFF_MINUTES);
  return Math.min(policy.backoffMinutes * 2 ** (failed - 1), cap) * 60_000;
}

/**
 * What attempt `number` of `job`, started at `started` and ended at `finished` with `result`,
 * leaves: the next attempt, unless the outcome is not one `retry.on` names, this was the last
 * attempt, a person forced the run (they see how it ended; a cluster's pod keeps no state for a
 * retry to wait in), or the retry would come no earlier than the job's next regular run.
 */
export function attemptAfter(
  job: Job,
  number: number,
  result: JobResult,
  run: { started: number; finished: number; forced: boolean },
  timing: Timing,
): Attempt {
  const of = job.retry.attempts;
  const retried = (job.retry.on as readonly string[]).includes(result.outcome);
  // A forced run stands alone: it is no attempt of a series, and none follows it.
  if (run.forced) return { ...LONE_ATTEMPT };
  if (!retried || number >= of) return { number, of, next: null };
  const at = run.finished + retryDelayMs(job.retry, number);
  const offset = offsetOf(job, timing.computer);
  const regular = nextDue(job.schedule, run.started, run.finished, timing.timeZone, offset);
  if (regular !== null && at >= regular) return { number, of, next: null };
  return { number, of, next: { attempt: number + 1, at } };
}

/** Whether a run is one of a series of attempts: a retry, or a failure a retry follows. */
export function inSeries(attempt: Attempt): boolean {
  return attempt.number > 1 || attempt.next !== null;
}

/**
 * What a run is told with about its attempts (`notify/events.ts` `AttemptFacts`): whether its
 * failure is held back from a person (another attempt follows, and the job asks to hear only of
 * the last, as by default), and whether a retry was pending when it started.
 */
export function attemptFacts(job: Job, attempt: Attempt, retryPending: boolean): AttemptFacts {
  return { holdFailure: attempt.next !== null && job.retry.tell === "last", retryPending };
}
