/**
 * Recording what happened: a finished run into the state (its agent's usage-limit back-off, and
 * what it spent in its agent's tally), its history line, and the runs a dead runner left marked as
 * running. The record step that calls these in a tick's order is `finish.ts`; the one for a dead
 * runner's runs is `settle.ts`.
 */

import type { AgentJob, Config, Job } from "../config/job.ts";
import type { Logger } from "../log.ts";
import {
  type CronState,
  entryOf,
  type HistoryEntry,
  type JobState,
  nameMap,
  type SpendTally,
} from "../store/state.ts";
import { periodsAt, type RunSpend, spendOf } from "../spend.ts";
import {
  groupAlive,
  isJobGroup,
  isSignallableGroup,
  processGroupOf,
  stopGroup,
} from "../process/process_group.ts";
import { type CronEvent, runEvent, streakOf } from "../notify/events.ts";
import { type JobResult, jobResult } from "../process/result.ts";
import { type Attempt, inSeries, LONE_ATTEMPT } from "./retry.ts";

/**
 * Writes a finished run into the state (in memory): what every run records, then the transition
 * its outcome makes (`completeRun`, `failRun`), what it spent in its job's own count, then what it
 * does to its agent (`recordAgentEffects`: the usage-limit back-off, the agent's spend tally of
 * the day and month of `now` in `timeZone`).
 */
export function recordResult(
  state: CronState,
  job: Job,
  startedIso: string,
  logPath: string | null,
  result: JobResult,
  now: number,
  attempt: Attempt,
  timeZone: string,
): void {
  const entry = entryOf(state, job.name);
  delete entry.running;
  delete entry.first_seen;
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
  const runs = entry.runs ??= {};
  runs[result.outcome] = (runs[result.outcome] ?? 0) + 1;
  if (attempt.number > 1) entry.retries = (entry.retries ?? 0) + 1;
  if (result.outcome === "success") completeRun(entry, startedIso);
  else failRun(entry, result, startedIso, attempt);
  if (job.type === "agent") {
    entry.report_path = result.reportPath;
    if (Object.keys(result.usage).length) entry.usage = usageOf(result);
    tallyJobSpend(entry, job, spendOf(result.usage));
  }
  recordAgentEffects(state, job, result, now, timeZone);
}

/**
 * What a finished run does to its agent, outside its job's entry: the usage-limit back-off and
 * the agent's spend tally. Lanes of one agent share these, so the record step applies them to the
 * live state as it saves (`finish.ts`), never from a copy made before an await.
 */
export function recordAgentEffects(
  state: CronState,
  job: Job,
  result: JobResult,
  now: number,
  timeZone: string,
): void {
  if (job.type !== "agent") return;
  updateBackoff(state, job.agent, result, now);
  tallyAgentSpend(state, job, spendOf(result.usage), now, timeZone);
}

/**
 * The write side of the spend guard (`spend.ts` reads it): what a run spent is added to its
 * agent's tally of the day and the month it ended in (a tally of an earlier period starts over).
 * Whatever the outcome: a failed run's cost is spent too.
 */
function tallyAgentSpend(
  state: CronState,
  job: AgentJob,
  spend: RunSpend | null,
  now: number,
  timeZone: string,
): void {
  if (spend === null) return;
  const usd = spend.usd ?? 0;
  const tokens = spend.tokens ?? 0;
  const periods = periodsAt(now, timeZone);
  const tally = (state.spend ??= nameMap())[job.agent] ??= {};
  const add = (kept: SpendTally | undefined, of: string): SpendTally =>
    kept?.of === of
      ? { of, usd: sumUsd(kept.usd, usd), tokens: kept.tokens + tokens }
      : { of, usd, tokens };
  tally.day = add(tally.day, periods.day);
  tally.month = add(tally.month, periods.month);
}

/** What a run spent, added to its job's own count per agent (the metrics' counters). */
function tallyJobSpend(entry: JobState, job: AgentJob, spend: RunSpend | null): void {
  if (spend === null) return;
  const spent = (entry.spent ??= nameMap())[job.agent] ??= { usd: 0, tokens: 0 };
  spent.usd = sumUsd(spent.usd, spend.usd ?? 0);
  spent.tokens += spend.tokens ?? 0;
}

/** Dollars added, to a billionth: 0.1 + 0.2 is kept as 0.3, so a ceiling compares as written. */
function sumUsd(a: number, b: number): number {
  return Math.round((a + b) * 1e9) / 1e9;
}

/** A success: the streak of failures ends, and any retry with it. */
function completeRun(entry: JobState, startedIso: string): void {
  entry.last_success = startedIso;
  entry.failures = 0;
  delete entry.notified;
  delete entry.first_failure;
  delete entry.retry;
}

/**
 * A failure: it counts in the streak (a usage limit does not: not the job's fault), the streak's
 * first failure names its incident (`notify/events.ts`), and it writes when its next attempt is
 * due, when `run/retry.ts` gave it one; a later tick runs that.
 */
function failRun(
  entry: JobState,
  result: JobResult,
  startedIso: string,
  attempt: Attempt,
): void {
  if (result.outcome !== "usage_limit") {
    // The streak's incident is named by its first failure (a state from before: from here).
    if (!entry.failures || entry.first_failure === undefined) entry.first_failure = startedIso;
    entry.failures = (entry.failures ?? 0) + 1;
  }
  if (attempt.next === null) delete entry.retry;
  else entry.retry = { attempt: attempt.next.attempt, at: new Date(attempt.next.at).toISOString() };
}

/**
 * The write side of usage-limit deferral (`select.ts` reads it): a usage limit holds the agent
 * back until the reset it stated, or backs off; a success lifts it.
 */
function updateBackoff(state: CronState, agent: string, result: JobResult, now: number): void {
  const backoff = state.agent_backoff ??= nameMap();
  if (result.outcome === "usage_limit") {
    const attempts = (backoff[agent]?.attempts ?? 0) + 1;
    const until = result.resetsAt !== null && result.resetsAt > now
      ? Math.min(result.resetsAt, now + MAX_DEFERRAL_MS)
      : now + usageBackoffMs(attempts);
    backoff[agent] = { until: new Date(until).toISOString(), attempts };
  } else if (result.outcome === "success") {
    delete backoff[agent];
  }
  if (Object.keys(backoff).length === 0) delete state.agent_backoff;
}

/**
 * The longest a stated reset may hold an agent back. No real limit resets later than a week;
 * a stated reset of 2286 is a bug (or an attack), and trusting it would silence the agent for good.
 */
export const MAX_DEFERRAL_MS = 7 * 24 * 3600_000;

/** Exponential back-off for a usage limit with no stated reset: 15 min doubling to 4 h. */
export function usageBackoffMs(attempt: number): number {
  return Math.min(15 * 60_000 * 2 ** Math.max(0, attempt - 1), 4 * 3600_000);
}

/** The history line of a finished run; one of a series of attempts is marked as such. */
export function historyEntry(
  job: Job,
  startedIso: string,
  finishedIso: string,
  logPath: string | null,
  result: JobResult,
  attempt: Attempt = LONE_ATTEMPT,
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
    ...(Object.keys(result.usage).length ? { usage: usageOf(result) } : {}),
    ...(inSeries(attempt) ? { attempt: attempt.number, attempts: attempt.of } : {}),
    ...(attempt.next ? { retry_at: new Date(attempt.next.at).toISOString() } : {}),
  };
}

/** The usage figures as the state and history keep them. */
function usageOf(result: JobResult): Record<string, number> {
  return Object.fromEntries(
    Object.entries(result.usage).filter(([, value]) => typeof value === "number"),
  ) as Record<string, number>;
}

/** What settling needs from the runner. */
export interface SettleContext {
  config: Config;
  log: Logger;
  graceMs: number;
  /** This computer's name, for what is told. */
  computer: () => string;
  /** The runner's zone: the day and month a run's spend counts in. */
  timeZone: string;
}

/**
 * Settles runs that a runner which died (crash, `kill -9`, power loss) left marked as running:
 * each is recorded as interrupted, counting as the job's last run so a job that takes the runner
 * down is not retried every five minutes; a process group of it still alive is stopped, when the
 * record's group is one the runner could have started and is still that job's. Each run's
 * history line is left pending in its entry (`history_pending`). Returns the settled jobs and
 * what is to be told of them; the caller queues that, saves the state, then appends the lines
 * (`settle.ts`). Between the runs' records it awaits their leftovers' stopping: it runs before
 * any job of the tick starts, the state's only writer then.
 */
export async function settleInterruptedRuns(
  state: CronState,
  context: SettleContext,
): Promise<{ jobs: string[]; events: CronEvent[] }> {
  const stale = Object.entries(state.jobs).filter(([, entry]) => entry.running);
  const ownGroup = stale.length ? await processGroupOf(Deno.pid) : null;
  const events: CronEvent[] = [];
  for (const [name, entry] of stale) {
    const event = await settleOne(state, name, entry, ownGroup, context);
    if (event) events.push(event);
  }
  return { jobs: stale.map(([name]) => name), events };
}

/** One run a dead runner left: its leftovers stopped, recorded as interrupted, its history line. */
async function settleOne(
  state: CronState,
  name: string,
  entry: JobState,
  ownGroup: number | null,
  context: SettleContext,
): Promise<CronEvent | null> {
  const running = entry.running!;
  const leftover = await stopLeftover(running, ownGroup, context.graceMs);
  const now = Date.now();
  const error =
    `interrupted: the runner (pid ${running.runner_pid}) stopped during the run${leftover}`;
  context.log.error("job_interrupted", { job: name, started: running.started, error });
  const job = context.config.jobs.find((job) => job.name === name);
  if (job === undefined) {
    closeRemovedJob(entry, running.started, error);
    return null;
  }
  const result = jobResult({
    outcome: "interrupted",
    error,
    durationMs: Math.max(0, now - Date.parse(running.started)),
  });
  const logPath = running.log_path ?? entry.log_path ?? null;
  const before = streakOf(entry);
  recordResult(state, job, running.started, logPath, result, now, LONE_ATTEMPT, context.timeZone);
  const finishedIso = new Date(now).toISOString();
  const told = runEvent(job, before, result, streakOf(entry), {
    startedIso: running.started,
    finishedIso,
    logPath,
    host: context.computer,
    config: context.config.file,
    now,
    deferredUntil: null,
  }, context.config.cron.notify);
  if (told.notified) entry.notified = told.notified;
  entry.history_pending = historyEntry(job, running.started, finishedIso, logPath, result);
  return told.event;
}

/** A run of a job no longer in the config: its record is closed, and nobody is told of it. */
function closeRemovedJob(entry: JobState, started: string, error: string): void {
  delete entry.running;
  Object.assign(entry, {
    last_run: started,
    last_status: "failed",
    last_error: error,
    outcome: "interrupted",
  });
}

/**
 * Stops what is left of an interrupted run's process group; says what became of it. A record is
 * data from disk: a group of 0 or 1, or the runner's own, is never signalled (kill(-1) would end
 * every process of the user), and neither is a live group that is no longer the job's.
 */
async function stopLeftover(
  running: { pgid: number; started: string },
  ownGroup: number | null,
  graceMs: number,
): Promise<string> {
  const { pgid } = running;
  if (!isSignallableGroup(pgid) || pgid === Deno.pid || pgid === ownGroup) {
    return `; its record named process group ${pgid}, which is not a job's: nothing was signalled`;
  }
  if (!(await groupAlive(pgid))) return "";
  if (!(await isJobGroup(pgid, Date.parse(running.started)))) {
    return `; process group ${pgid} now belongs to something else: left alone`;
  }
  await stopGroup(pgid, graceMs);
  return `; its leftover processes (group ${pgid}) were stopped`;
}
