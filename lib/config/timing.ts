/**
 * When a job runs besides its schedule: its jitter (its own `jitter:` or the runner's
 * `cron.jitter`, always less than its period) and its `retry:` policy. Validated like every other
 * field: located problems, exit 2.
 */

import { z } from "zod";
import { describeMinutes, describeSchedule, periodMinutes } from "../schedule.ts";
import {
  ASKED_SCRIPT_RETRY,
  DEFAULT_AGENT_RETRY,
  DEFAULT_SCRIPT_RETRY,
  durationMinutes,
  MAX_BACKOFF_MINUTES,
  MAX_RETRY_ATTEMPTS,
  RETRYABLE_OUTCOMES,
  type RetryPolicy,
  type Schedule,
} from "./job.ts";
import { describe, type Findings, zodProblems } from "./locator.ts";

const retrySchema = z.strictObject({
  attempts: z.int().min(1).max(MAX_RETRY_ATTEMPTS).optional(),
  backoff: z.string().optional(),
  on: z.array(z.enum(RETRYABLE_OUTCOMES)).optional(),
  tell: z.enum(["first", "last"]).optional(),
});
/** Outcomes that no retry can help: each defers, waits for a person, or is the job's own limit. */
const NEVER_RETRIED: Record<string, string> = {
  usage_limit: "a usage limit defers the agent's jobs until its reset instead",
  auth: "no retry helps until a person logs in or fixes the key",
  untrusted: "no retry helps until a person trusts the folder",
  budget: "the job reached its own max_budget_usd",
  max_turns: "the job reached its own max_turns",
  interrupted: "an interrupted run counts as run (the runner stopped, or died, during it)",
  success: "a success is not retried",
};

/**
 * The job's jitter in minutes: its own `jitter:`, else the runner's `cron.jitter`; it must be less
 * than the job's period, or a jittered run would reach the next. Undefined (and a problem) when
 * wrong.
 */
export function jobJitter(
  raw: string | number | undefined,
  schedule: Schedule,
  cronJitter: number,
  path: string[],
  found: Findings,
): number | undefined {
  const own = raw === undefined ? null : jitterOf(raw, [...path, "jitter"], found);
  if (own === undefined) return undefined;
  const jitter = own ?? cronJitter;
  const period = periodMinutes(schedule);
  if (period === null) return 0;
  if (jitter < period) return jitter;
  const between = `${describeSchedule(schedule)}: ${describeMinutes(period)} between runs`;
  found.problems.push(
    own === null
      ? found.here.keyProblem(
        path,
        `cron.jitter ${describeMinutes(jitter)} is not less than this job's period (${between}): ` +
          "give the job a jitter of its own (jitter: 0 for none)",
      )
      : found.here.problem(
        [...path, "jitter"],
        `${describe(raw)} is not less than the job's period (${between}): a jittered run would ` +
          "reach the next one",
      ),
  );
  return undefined;
}

/** A jitter in minutes (a duration, or 0 for none); undefined (and a problem) when wrong. */
export function jitterOf(
  raw: string | number,
  path: string[],
  found: Findings,
): number | undefined {
  if (raw === 0 || /^0[mhd]?$/.test(String(raw).trim())) return 0;
  const minutes = typeof raw === "string" ? durationMinutes(raw) : null;
  if (minutes !== null) return minutes;
  found.problems.push(
    found.here.problem(path, `${describe(raw)} is not a duration (use 10m, 2h, or 0 for none)`),
  );
  return undefined;
}

/**
 * What is wrong with `retry.on`, said at its place (true when something is): an outcome that is
 * never retried, or one a job of this type never ends in (a script is never `unavailable`: that
 * is an agent's word for its model service failing). The rest of its shape is zod's to check.
 */
function onProblem(
  on: unknown,
  type: "agent" | "script",
  path: string[],
  found: Findings,
): boolean {
  if (!Array.isArray(on)) return false;
  const at = (index: number, message: string) => {
    found.problems.push(found.here.problem([...path, String(index)], message));
    return true;
  };
  for (const [index, outcome] of on.entries()) {
    if (typeof outcome !== "string") continue;
    if (Object.hasOwn(NEVER_RETRIED, outcome)) {
      return at(
        index,
        `${outcome} is never retried: ${NEVER_RETRIED[outcome]} (retry.on takes ` +
          `${RETRYABLE_OUTCOMES.join(", ")})`,
      );
    }
    if (type === "script" && outcome === "unavailable") {
      return at(
        index,
        "a script job is never unavailable (that is an agent's word for its model service " +
          "failing): retry it on failed, timed_out or idle",
      );
    }
  }
  return false;
}

/**
 * `retry:`: absent, the job type's default (agent jobs retry, scripts do not); false, none; true
 * or a mapping, the retries its type asks for (`DEFAULT_AGENT_RETRY`, `ASKED_SCRIPT_RETRY`: a
 * script is retried on failed, timed_out and idle) with the mapping's fields over them.
 * Undefined (and a problem) when wrong.
 */
export function parseRetry(
  raw: unknown,
  type: "agent" | "script",
  path: string[],
  found: Findings,
): RetryPolicy | undefined {
  const asked = type === "agent" ? DEFAULT_AGENT_RETRY : ASKED_SCRIPT_RETRY;
  if (raw === undefined) {
    return { ...(type === "agent" ? DEFAULT_AGENT_RETRY : DEFAULT_SCRIPT_RETRY) };
  }
  if (raw === true) return { ...asked, on: [...asked.on] };
  if (raw === false) return { ...DEFAULT_SCRIPT_RETRY };
  if (onProblem((raw as { on?: unknown } | null)?.on, type, [...path, "on"], found)) {
    return undefined;
  }
  const result = retrySchema.safeParse(raw);
  if (!result.success) {
    found.problems.push(...zodProblems(
      result.error,
      path,
      raw,
      found.here,
      () => ["attempts", "backoff", "on", "tell"],
    ));
    return undefined;
  }
  const { attempts, backoff, on: outcomes, tell } = result.data;
  const backoffMinutes = backoff === undefined
    ? DEFAULT_AGENT_RETRY.backoffMinutes
    : durationMinutes(backoff);
  if (backoffMinutes === null || backoffMinutes > MAX_BACKOFF_MINUTES) {
    found.problems.push(found.here.problem(
      [...path, "backoff"],
      `${describe(backoff)} is not a duration from 1m to 1d (use e.g. 10m or 1h)`,
    ));
    return undefined;
  }
  return {
    attempts: attempts ?? asked.attempts,
    backoffMinutes,
    on: outcomes ? [...new Set(outcomes)] : [...asked.on],
    tell: tell ?? asked.tell,
  };
}
