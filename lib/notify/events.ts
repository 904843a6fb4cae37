/**
 * What is worth telling a person, decided from a job's run and what was told before: a failure
 * (once per streak, then once per `repeat` with the count so far), the first success after
 * failures, an agent held back by a usage limit, a config that will not load; a success only when
 * asked. Pure functions: the runner records the run, asks here, then delivers (`notify.ts`).
 */

import type { Job, NotifyOn, NotifySettings } from "../config/job.ts";
import type { JobResult } from "../process/result.ts";
import type { JobState, Notified } from "../store/state.ts";

export const EVENT_KINDS = [
  "job.failed",
  "job.recovered",
  "job.deferred",
  "job.succeeded",
  "config.invalid",
  "test",
] as const;
export type EventKind = typeof EVENT_KINDS[number];

/** One notification, as every channel gets it (the command's stdin, the daemon's payload). */
export interface CronEvent {
  event: EventKind;
  /** The idempotency key: `<job>@<run start>`, so a retried delivery can be told apart. */
  id: string;
  /** One line for a person: what happened, in the agent's own words where it said any. */
  summary: string;
  job: string | null;
  outcome: string | null;
  error: string | null;
  started: string | null;
  finished: string | null;
  duration_ms: number | null;
  /** Failures in a row, this one included. */
  failures: number | null;
  log_path: string | null;
  /** The last lines of the run's output. */
  log_tail: string | null;
  agent: string | null;
  role: string | null;
  turns: number | null;
  cost_usd: number | null;
  /** For `job.deferred`: when the agent may run again. */
  until: string | null;
  /** The computer the runner ran on. */
  host: string;
  config: string;
  at: string;
}

/** What a job's run is told with, besides the run itself. */
export interface RunFacts {
  startedIso: string;
  finishedIso: string;
  logPath: string | null;
  /** The computer's name, asked only when there is something to tell. */
  host: () => string;
  config: string;
  now: number;
  /** For a usage limit: when the agent may run again. */
  deferredUntil: string | null;
  /** Where the run stands among its job's retries (`run/retry.ts`); absent: a lone run. */
  attempt?: AttemptFacts;
}

/** A run among its job's retries: what decides whether its failure, or success, is told. */
export interface AttemptFacts {
  /** It failed, another attempt follows, and the job hears only of the last (`retry.tell`). */
  holdFailure: boolean;
  /** A retry was scheduled when it started: the failure before it may not have been told. */
  retryPending: boolean;
}

/** The job's streak before this run: failures in a row, and the last notification of it. */
export interface Streak {
  failures: number;
  notified: Notified | null;
}

/**
 * The streak of `entry` (before the run is recorded). A state written before `failures` was kept
 * counts a failed last run as one, so its next success is still a recovery.
 */
export function streakOf(entry: JobState | undefined): Streak {
  const failures = entry?.failures ?? (entry?.last_status === "failed" ? 1 : 0);
  return { failures, notified: entry?.notified ?? null };
}

/** The settings one job is told under: its own `notify:` over the runner's. */
export function jobSettings(
  job: Job,
  settings: NotifySettings,
): { on: NotifyOn[]; repeatMs: number } | null {
  if (job.notify === false) return null;
  return {
    on: job.notify?.on ?? settings.on,
    repeatMs: job.notify?.repeatMs ?? settings.repeatMs,
  };
}

/**
 * The event this run is told as, if any, and the notification record the job keeps after it
 * (undefined: leave it as it is). A failure is told once per streak, then again once `repeat`
 * has passed since it was last told.
 */
export function runEvent(
  job: Job,
  before: Streak,
  result: JobResult,
  failures: number,
  facts: RunFacts,
  settings: NotifySettings,
): { event: CronEvent | null; notified?: Notified } {
  const wants = jobSettings(job, settings);
  if (wants === null) return { event: null };
  const kind = eventKind(result, before, wants.on, facts.attempt);
  if (kind === null) return { event: null };
  // A failed attempt that will be tried again is told once the last attempt failed.
  if (kind === "job.failed" && facts.attempt?.holdFailure) return { event: null };
  if (kind !== "job.failed") return { event: describeRun(kind, job, result, failures, facts) };
  const lastTold = before.notified ? Date.parse(before.notified.at) : null;
  if (lastTold !== null && facts.now - lastTold < wants.repeatMs) return { event: null };
  return {
    event: describeRun(kind, job, result, failures, facts),
    notified: { at: new Date(facts.now).toISOString(), failures },
  };
}

function eventKind(
  result: JobResult,
  before: Streak,
  on: NotifyOn[],
  attempt: AttemptFacts | undefined,
): EventKind | null {
  if (result.outcome === "success") {
    // A success after failed attempts nobody was told of is no recovery.
    const untold = attempt?.retryPending === true && before.notified === null;
    if (before.failures > 0 && !untold) return on.includes("recovery") ? "job.recovered" : null;
    return on.includes("success") ? "job.succeeded" : null;
  }
  if (result.outcome === "usage_limit") return on.includes("deferred") ? "job.deferred" : null;
  return on.includes("failure") ? "job.failed" : null;
}

/** The lines of a run's output an event carries; enough to see what went wrong. */
const TAIL_LINES = 20;
const TAIL_CHARS = 4000;

function describeRun(
  kind: EventKind,
  job: Job,
  result: JobResult,
  failures: number,
  facts: RunFacts,
): CronEvent {
  const tail = result.outputTail.trimEnd().split("\n").slice(-TAIL_LINES).join("\n");
  return {
    event: kind,
    id: `${job.name}@${facts.startedIso}`,
    summary: summaryOf(kind, job.name, result, failures, facts.deferredUntil),
    job: job.name,
    outcome: result.outcome,
    error: result.error,
    started: facts.startedIso,
    finished: facts.finishedIso,
    duration_ms: result.durationMs,
    failures: kind === "job.failed" ? failures : null,
    log_path: facts.logPath,
    log_tail: tail ? tail.slice(-TAIL_CHARS) : null,
    agent: job.type === "agent" ? job.agent : null,
    role: result.details.role ?? null,
    turns: result.usage.turns ?? null,
    cost_usd: result.usage.cost_usd ?? null,
    until: kind === "job.deferred" ? facts.deferredUntil : null,
    host: facts.host(),
    config: facts.config,
    at: new Date(facts.now).toISOString(),
  };
}

function summaryOf(
  kind: EventKind,
  job: string,
  result: JobResult,
  failures: number,
  until: string | null,
): string {
  const why = result.error ? `: ${result.error.split("\n")[0]!.slice(0, 300)}` : "";
  switch (kind) {
    case "job.failed":
      return `${job} ${result.outcome.replace("_", " ")}${why}` +
        (failures > 1 ? ` (${failures} failures in a row)` : "");
    case "job.recovered":
      return `${job} succeeded again`;
    case "job.deferred":
      return `${job} hit a usage limit${why}; its agent waits until ${until ?? "later"}`;
    default:
      return `${job} succeeded`;
  }
}

/** The event of a config that will not load: nothing runs until it is fixed. */
export function configEvent(
  message: string,
  config: string,
  host: string,
  now: number,
): CronEvent {
  const at = new Date(now).toISOString();
  return {
    event: "config.invalid",
    id: `config@${at}`,
    summary: `${config} does not load, so no job runs: ${message.split("\n")[0]!.slice(0, 300)}`,
    job: null,
    outcome: null,
    error: message,
    started: null,
    finished: null,
    duration_ms: null,
    failures: null,
    log_path: null,
    log_tail: null,
    agent: null,
    role: null,
    turns: null,
    cost_usd: null,
    until: null,
    host,
    config,
    at,
  };
}

/** A test event (`--notify-test`): proves each channel reaches a person. */
export function testEvent(config: string, host: string, now: number): CronEvent {
  return {
    ...configEvent("", config, host, now),
    event: "test",
    id: `test@${new Date(now).toISOString()}`,
    summary: `a test notification from teleclaude-cron on ${host}`,
    error: null,
  };
}
