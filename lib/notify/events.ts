/**
 * What is worth telling a person, decided from a job's run and what was told before: a failure
 * (once per streak, then once per `repeat` with the count so far), the first success after
 * failures, an agent held back by a usage limit, an agent's budget reached (once per period), a
 * config that will not load and its fix; a success only when asked. Each failure streak (and each stretch of a broken config) is one
 * incident with an id of its own, so its reminders and its recovery can be told as the same
 * problem. Pure functions: the runner records the run, asks here, then delivers (`notify.ts`).
 */

import type { Job, NotifyOn, NotifySettings } from "../config/job.ts";
import { boundText, type JobResult, OUTPUT_TAIL_LINES } from "../process/result.ts";
import { formatLocal } from "../schedule.ts";
import { type BudgetHold, describeAmount, describeCeiling } from "../spend.ts";
import type { AgentSpend, JobState, Notified } from "../store/state.ts";

export const EVENT_KINDS = [
  "job.failed",
  "job.recovered",
  "job.deferred",
  "budget.reached",
  "job.succeeded",
  "config.invalid",
  "config.fixed",
  "test",
] as const;
export type EventKind = typeof EVENT_KINDS[number];

/** One notification, as every channel gets it (the command's stdin, the daemon's payload). */
export interface CronEvent {
  event: EventKind;
  /** `<job>@<run start>` (`config@…`, `test@…`): which event a log line or an outbox entry is. */
  id: string;
  /** One line for a person: what happened, in the agent's (or the script's) own words. */
  summary: string;
  job: string | null;
  outcome: string | null;
  error: string | null;
  /** A script's own message (its result line's `message`). */
  message: string | null;
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
  /** For `job.deferred` and `budget.reached`: when the agent may run again. */
  until: string | null;
  /** The computer the runner ran on. */
  host: string;
  config: string;
  at: string;
  /**
   * The problem this event is about, as the daemon knows it: the escalation a failure (or a
   * broken config) is told as, the one a recovery (or the fix) resolves; null when there is none.
   */
  escalation_id: string | null;
  /** A reminder's: the escalation of the same incident it takes the place of. */
  supersedes: string | null;
  /** How many earlier events were folded into this one while they waited (`queue.ts`). */
  collapsed: number;
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

/** A job's failure streak: failures in a row, when it began, and its last notification. */
export interface Streak {
  failures: number;
  /** When the streak's first failed run started (null: no streak, or a state from before). */
  firstFailure: string | null;
  notified: Notified | null;
}

/**
 * The streak of `entry`. A state written before `failures` was kept counts a failed last run as
 * one, so its next success is still a recovery.
 */
export function streakOf(entry: JobState | undefined): Streak {
  const failures = entry?.failures ?? (entry?.last_status === "failed" ? 1 : 0);
  return {
    failures,
    firstFailure: entry?.first_failure ?? null,
    notified: entry?.notified ?? null,
  };
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
 * The id of an incident: this computer, what failed (a job, or `config`) and when the incident
 * began. Stable for the incident, different for the next: the daemon drops an escalation whose
 * id it has seen, resolved or not, for good.
 */
export function incidentId(host: string, subject: string, since: string): string {
  return `cron/${host}/${subject}/${since}`;
}

/**
 * The escalation of an incident's `told`-th telling: the first has the incident's id, each
 * reminder an id of its own (a repeated id would be dropped as a duplicate and reach nobody).
 */
export function escalationId(incident: string, told: number): string {
  return told <= 1 ? incident : `${incident}#${told}`;
}

/** How many times the streak of `notified` has been told (a record from before: once). */
function timesTold(notified: Notified | null): number {
  return notified === null ? 0 : notified.told ?? 1;
}

/**
 * The event this run is told as, if any, and the notification record the job keeps after it
 * (undefined: leave it as it is). `before` is the streak before the run was recorded, `after`
 * the streak with it.
 */
export function runEvent(
  job: Job,
  before: Streak,
  result: JobResult,
  after: Streak,
  facts: RunFacts,
  settings: NotifySettings,
): { event: CronEvent | null; notified?: Notified } {
  const wants = jobSettings(job, settings);
  if (wants === null) return { event: null };
  const kind = eventKind(result, before, wants.on, facts.attempt);
  if (kind === null) return { event: null };
  if (kind === "job.failed") {
    if (!failureIsNews(before, facts, wants.repeatMs)) return { event: null };
    return failureEvent(job, before, result, after, facts);
  }
  const host = facts.host();
  const event = describeRun(kind, job, result, after.failures, facts, host);
  event.escalation_id = kind === "job.recovered"
    ? before.notified?.escalation_id ?? null
    : incidentId(host, job.name, `${kind.slice(4)}/${facts.startedIso}`);
  return { event };
}

/**
 * Whether a failure is news now: not told yet in this streak, or last told `repeat` ago; and
 * never a failed attempt that will be tried again (`retry`): that is told once its last attempt
 * failed, unless the job asks to hear of the first (`retry.tell: first`).
 */
function failureIsNews(before: Streak, facts: RunFacts, repeatMs: number): boolean {
  if (facts.attempt?.holdFailure) return false;
  const lastTold = before.notified ? Date.parse(before.notified.at) : null;
  return lastTold === null || facts.now - lastTold >= repeatMs;
}

/** A failure told: the incident's next escalation, superseding the last one told. */
function failureEvent(
  job: Job,
  before: Streak,
  result: JobResult,
  after: Streak,
  facts: RunFacts,
): { event: CronEvent; notified: Notified } {
  const host = facts.host();
  const told = timesTold(before.notified) + 1;
  const incident = incidentId(host, job.name, after.firstFailure ?? facts.startedIso);
  const escalation = escalationId(incident, told);
  const event = describeRun("job.failed", job, result, after.failures, facts, host);
  event.escalation_id = escalation;
  event.supersedes = before.notified?.escalation_id ?? null;
  return {
    event,
    notified: {
      at: new Date(facts.now).toISOString(),
      failures: after.failures,
      told,
      escalation_id: escalation,
    },
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
const TAIL_LINES = OUTPUT_TAIL_LINES;
const TAIL_CHARS = 4000;

function describeRun(
  kind: EventKind,
  job: Job,
  result: JobResult,
  failures: number,
  facts: RunFacts,
  host: string,
): CronEvent {
  const tail = result.outputTail.trimEnd().split("\n").slice(-TAIL_LINES).join("\n");
  return boundEvent({
    ...blankEvent(kind, `${job.name}@${facts.startedIso}`, host, facts.config, facts.now),
    summary: summaryOf(kind, job.name, result, failures, facts.deferredUntil),
    job: job.name,
    outcome: result.outcome,
    error: result.error === null ? null : boundText(result.error),
    message: result.message === null ? null : boundText(result.message),
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
  });
}

/** An event with nothing but its kind, id and where it comes from. */
function blankEvent(
  kind: EventKind,
  id: string,
  host: string,
  config: string,
  now: number,
): CronEvent {
  return {
    event: kind,
    id,
    summary: "",
    job: null,
    outcome: null,
    error: null,
    message: null,
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
    at: new Date(now).toISOString(),
    escalation_id: null,
    supersedes: null,
    collapsed: 0,
  };
}

/** The most of a summary's reason: one line a phone's notification shows. */
const SUMMARY_REASON_CHARS = 300;

function firstLine(text: string | null): string {
  return (text ?? "").split("\n")[0]!.trim();
}

function summaryOf(
  kind: EventKind,
  job: string,
  result: JobResult,
  failures: number,
  until: string | null,
): string {
  const error = firstLine(result.error);
  const message = firstLine(result.message);
  // A script's own message says what it was doing; its error list (or exit code) why it failed.
  const reason = message && !error.includes(message) ? `${message} (${error})` : error;
  const why = reason ? `: ${reason.slice(0, SUMMARY_REASON_CHARS)}` : "";
  switch (kind) {
    case "job.failed":
      return `${job} ${result.outcome.replace("_", " ")}${why}` +
        (failures > 1 ? ` (${failures} failures in a row)` : "");
    case "job.recovered":
      return `${job} succeeded again`;
    case "job.deferred":
      return `${job} hit a usage limit${why}; its agent waits until ${until ?? "later"}`;
    default:
      return `${job} succeeded${message ? `: ${message.slice(0, SUMMARY_REASON_CHARS)}` : ""}`;
  }
}

/** What telling a budget reached needs besides the hold. */
export interface BudgetFacts {
  /** The job the budget held back as it was about to start. */
  job: string;
  /** The computer's name, asked only when there is something to tell. */
  host: () => string;
  config: string;
  now: number;
  /** The runner's zone, for the time the agent's jobs wait until. */
  timeZone: string;
}

/**
 * The event of an agent's budget reached, told once per period: null when this period's was told
 * already (`told`, from the agent's tally) or `cron.notify.on` has no `deferred`. It is about the
 * agent, not a job (`job` null): the job's own notification record and `notify:` are not its.
 * One incident per agent and period, `cron/<computer>/budget/<agent>/<day or month>`.
 */
export function budgetEvent(
  hold: BudgetHold,
  told: AgentSpend["told"],
  facts: BudgetFacts,
  settings: NotifySettings,
): CronEvent | null {
  if (told?.[hold.period] === hold.of || !settings.on.includes("deferred")) return null;
  const spent = `${describeAmount(hold.unit, hold.spent)} spent ${
    hold.period === "day" ? "today" : "this month"
  }`;
  const until = formatLocal(hold.until, facts.timeZone);
  const host = facts.host();
  const id = `budget/${hold.agent}@${hold.of}`;
  return boundEvent({
    ...blankEvent("budget.reached", id, host, facts.config, facts.now),
    summary: `${hold.agent} reached its ${describeCeiling(hold)} (${spent}): its jobs wait ` +
      `until ${until} (${facts.job} held back)`,
    agent: hold.agent,
    cost_usd: hold.unit === "usd" ? hold.spent : null,
    until: new Date(hold.until).toISOString(),
    escalation_id: incidentId(host, `budget/${hold.agent}`, hold.of),
  });
}

/** The most a config problem's message keeps (2,000 located errors are not read by anyone). */
export const MAX_CONFIG_MESSAGE_CHARS = 4000;

/** The event of a config that will not load (nothing runs until it is fixed), as escalated. */
export function configEvent(
  message: string,
  config: string,
  host: string,
  now: number,
  escalation: { escalation_id: string; supersedes: string | null },
): CronEvent {
  const at = new Date(now).toISOString();
  return boundEvent({
    ...blankEvent("config.invalid", `config@${at}`, host, config, now),
    summary: `${config} does not load, so no job runs: ` +
      firstLine(message).slice(0, SUMMARY_REASON_CHARS),
    error: boundText(message, MAX_CONFIG_MESSAGE_CHARS),
    ...escalation,
  });
}

/** The event of the first tick whose config loads after a broken one was told. */
export function configFixedEvent(
  config: string,
  host: string,
  now: number,
  escalationId: string | null,
): CronEvent {
  const at = new Date(now).toISOString();
  return {
    ...blankEvent("config.fixed", `config@${at}`, host, config, now),
    summary: `${config} loads again: jobs run`,
    escalation_id: escalationId,
  };
}

/** A test event (`--notify-test`): proves each channel reaches a person. */
export function testEvent(config: string, host: string, now: number): CronEvent {
  const at = new Date(now).toISOString();
  return {
    ...blankEvent("test", `test@${at}`, host, config, now),
    summary: `a test notification from teleclaude-cron on ${host}`,
    escalation_id: incidentId(host, "test", at),
  };
}

/**
 * The most bytes one event takes as JSON: the outbox holds at most 1,000 entries, and its
 * reader refuses a file over 32 MiB, so no storm the runner writes can reach that.
 */
export const MAX_EVENT_BYTES = 16 * 1024;

/** `event` within `MAX_EVENT_BYTES` as JSON: its output's tail, then its error, shortened. */
export function boundEvent(event: CronEvent): CronEvent {
  const size = () => new TextEncoder().encode(JSON.stringify(event)).length;
  while (size() > MAX_EVENT_BYTES) {
    if (event.log_tail) event.log_tail = shorten(event.log_tail);
    else if (event.error) event.error = shorten(event.error);
    else if (event.message) event.message = shorten(event.message);
    else break;
  }
  return event;
}

function shorten(text: string): string | null {
  return text.length < 80 ? null : boundText(text, Math.floor(text.length / 2));
}

const TEXT_FIELDS = [
  "job",
  "outcome",
  "error",
  "message",
  "started",
  "finished",
  "log_path",
  "log_tail",
  "agent",
  "role",
  "until",
  "escalation_id",
  "supersedes",
] as const;
const NUMBER_FIELDS = ["duration_ms", "failures", "turns", "cost_usd"] as const;
const REQUIRED_TEXT = ["id", "summary", "host", "config", "at"] as const;
/** Fields a runner before escalations did not write: absent means none. */
const LATER_FIELDS = new Set(["message", "escalation_id", "supersedes"]);

/**
 * An event read back from the outbox, checked field by field: the event, or what is wrong with
 * it. Fields later runners added may be missing (an outbox written before them); a field of the
 * wrong type (`"error": 123`) is a problem, never a TypeError in a channel.
 */
export function eventFromOutbox(value: Record<string, unknown>): CronEvent | string {
  if (!(EVENT_KINDS as readonly unknown[]).includes(value.event)) return "event: not a kind";
  for (const field of REQUIRED_TEXT) {
    if (typeof value[field] !== "string") return `${field}: not a string`;
  }
  for (const field of TEXT_FIELDS) {
    const text = value[field];
    if (text === undefined && LATER_FIELDS.has(field)) continue;
    if (text !== null && typeof text !== "string") return `${field}: not a string or null`;
  }
  for (const field of NUMBER_FIELDS) {
    const number = value[field];
    if (number !== null && !Number.isFinite(number)) return `${field}: not a number or null`;
  }
  const collapsed = value.collapsed ?? 0;
  if (!Number.isSafeInteger(collapsed) || (collapsed as number) < 0) {
    return "collapsed: not a count";
  }
  return {
    ...value,
    message: value.message ?? null,
    escalation_id: value.escalation_id ?? null,
    supersedes: value.supersedes ?? null,
    collapsed,
  } as unknown as CronEvent;
}
