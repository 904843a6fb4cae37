/**
 * The record step: a run that ended becomes its job's last run. In order: the state transition
 * (`record.ts` `recordResult`: the outcome, the streak, the retry) and the run's history line
 * (`history_pending`) and what is told of it (`notify/events.ts`, with the job's `notified`) are
 * made on a draft; the event is queued in the outbox; the draft is committed, with the run's
 * effects on its agent (the usage-limit back-off) applied to the live state, in one atomic save;
 * the history line is appended. The draft is what lets the queueing come
 * first without an await between a change of the shared state and its save (`state_writer.ts`):
 * a runner killed after the queueing tells the run twice (the daemon drops the second), never
 * not at all; a runner killed after the save leaves the history line to the next tick.
 */

import type { Config, Job } from "../config/job.ts";
import type { Logger } from "../log.ts";
import { type CronEvent, runEvent, type RunFacts, streakOf } from "../notify/events.ts";
import { type JobResult, OUTPUT_TAIL_LINES } from "../process/result.ts";
import {
  type CronState,
  entryOf,
  jobEntry,
  type JobState,
  nameMap,
  setEntry,
} from "../store/state.ts";
import type { Runner } from "./options.ts";
import { historyEntry, MAX_DEFERRAL_MS, recordAgentEffects, recordResult } from "./record.ts";
import { type Attempt, attemptAfter, attemptFacts, inSeries } from "./retry.ts";
import type { RunStart } from "./start.ts";

/** A run that ended, as the record step is given it. */
export interface EndedRun extends RunStart {
  job: Job;
  /** The config the run started under. */
  config: Config;
  /** Which attempt of its job's series this run was (1 unless a retry). */
  attempt: number;
}

/**
 * What the tell step is handed: the event to tell (if any), whether the outbox took it, and the
 * job's notification record from before (what `untell` puts back).
 */
export interface Recorded {
  event: CronEvent | null;
  queued: boolean;
  notifiedBefore: JobState["notified"];
}

/** The most of one line of a failed job's output the runner's log copies. */
const MAX_TAIL_LINE_CHARS = 500;

/** A line of output as the runner's log copies it: its start, and how much was cut. */
function boundedLine(line: string): string {
  if (line.length <= MAX_TAIL_LINE_CHARS) return line;
  return `${line.slice(0, MAX_TAIL_LINE_CHARS)}[… ${
    line.length - MAX_TAIL_LINE_CHARS
  } characters cut …]`;
}

/** Lines of a failed job's output copied into the runner's own log: as many as an event holds. */
const TAIL_LINES = OUTPUT_TAIL_LINES;

/**
 * Records an ended run. The state must be saved (`StateWriter.commit`), or nothing further may
 * run; the history line is worth a warning when it cannot be written, no more (it stays pending).
 */
export async function finishRun(run: EndedRun, runner: Runner): Promise<Recorded> {
  const { job, startedIso, logPath, result } = run;
  const { options, writer, clock } = runner;
  const now = clock();
  warnCappedReset(job, result, now, options.log);
  const entryBefore = jobEntry(writer.state, job.name);
  const before = streakOf(entryBefore);
  const retryPending = entryBefore?.retry !== undefined;
  const times = { started: Date.parse(startedIso), finished: now, forced: options.force };
  const attempt = attemptAfter(job, run.attempt, result, times, options);
  const draft = draftOf(writer.state, job);
  recordResult(draft.state, job, startedIso, logPath, result, now, attempt, options.timeZone);
  const finishedIso = new Date(clock()).toISOString();
  const entry = entryOf(draft.state, job.name);
  entry.history_pending = historyEntry(job, startedIso, finishedIso, logPath, result, attempt);
  const event = tellRun(job, run.config, before, draft.state, result, {
    startedIso,
    finishedIso,
    logPath,
    now,
    attempt: attemptFacts(job, attempt, retryPending),
  }, options.computer);
  // Queued before the state says it was told: a runner killed in between tells it twice, not never.
  const queued = event ? await runner.teller.queue(event) : false;
  writer.commit((state) => draft.adopt(state, result, now, options.timeZone), logPath);
  await runner.history.append(writer, job.name);
  logFinished(job, logPath, result, attempt, options.log);
  return { event, queued, notifiedBefore: entryBefore?.notified };
}

/**
 * A failure's telling that reached nobody and is kept nowhere (a full disk took the outbox, and
 * no channel could be sent it at once): the job's notification record goes back to what it was,
 * so the next failure is news, rather than silence until `repeat`. A later telling recorded
 * meanwhile (lanes) is left alone. A state that cannot be saved now carries the change in the
 * next save; it is said, not thrown: the run is recorded already.
 */
export function untell(job: Job, recorded: Recorded, runner: Runner): void {
  const { event, notifiedBefore } = recorded;
  if (event?.event !== "job.failed") return;
  try {
    runner.writer.commit((state) => {
      const entry = jobEntry(state, job.name);
      if (entry?.notified?.at !== event.at) return;
      if (notifiedBefore) entry.notified = notifiedBefore;
      else delete entry.notified;
    });
  } catch (error) {
    runner.options.log.warn("state_not_written", {
      path: runner.options.paths.state,
      error: (error as Error).message,
      reason: "taking back a telling that reached nobody",
    });
  }
  runner.options.log.warn("notification_lost", {
    job: job.name,
    event: event.event,
    reason: "neither queued nor sent: the next failure tells it again",
  });
}

function warnCappedReset(job: Job, result: JobResult, now: number, log: Logger): void {
  if (result.resetsAt === null || result.resetsAt <= now + MAX_DEFERRAL_MS) return;
  log.warn("usage_reset_capped", {
    job: job.name,
    stated: new Date(result.resetsAt).toISOString(),
    used: new Date(now + MAX_DEFERRAL_MS).toISOString(),
    reason: "a stated reset more than 7 days ahead is not believed",
  });
}

/**
 * A draft of what a run changes: a copy of its job's entry (only its own lane writes it) and of
 * its agent's back-off (for what is told of a usage limit). `adopt` puts the entry in the live
 * state and applies the run's effects on its agent there (`recordAgentEffects`: the back-off and
 * the spend tally): another lane of the same agent may have changed them meanwhile, and a copy
 * would undo that.
 */
function draftOf(
  state: CronState,
  job: Job,
): {
  state: CronState;
  adopt(into: CronState, result: JobResult, now: number, timeZone: string): void;
} {
  const draft: CronState = { jobs: nameMap() };
  const entry = jobEntry(state, job.name);
  if (entry) setEntry(draft, job.name, structuredClone(entry));
  const backoff = job.type === "agent" ? state.agent_backoff?.[job.agent] : undefined;
  if (job.type === "agent" && backoff) {
    draft.agent_backoff = nameMap([[job.agent, { ...backoff }]]);
  }
  return {
    state: draft,
    adopt(into, result, now, timeZone) {
      setEntry(into, job.name, entryOf(draft, job.name));
      recordAgentEffects(into, job, result, now, timeZone);
    },
  };
}

/**
 * The event this run is told as, if any (`notify/events.ts`); the job's notification record is
 * updated in `state` (the draft) with it.
 */
function tellRun(
  job: Job,
  config: Config,
  before: ReturnType<typeof streakOf>,
  state: CronState,
  result: JobResult,
  run: Pick<RunFacts, "startedIso" | "finishedIso" | "logPath" | "now" | "attempt">,
  host: () => string,
): CronEvent | null {
  const entry: JobState = entryOf(state, job.name);
  const told = runEvent(job, before, result, streakOf(entry), {
    ...run,
    host,
    config: config.file,
    deferredUntil: job.type === "agent" ? state.agent_backoff?.[job.agent]?.until ?? null : null,
  }, config.cron.notify);
  if (told.notified) entry.notified = told.notified;
  return told.event;
}

function logFinished(
  job: Job,
  logPath: string | null,
  result: JobResult,
  attempt: Attempt,
  log: Logger,
): void {
  const fields = {
    job: job.name,
    status: result.outcome,
    duration_ms: result.durationMs,
    exit_code: result.exitCode ?? undefined,
    ...result.details,
    error: result.error ?? undefined,
    message: result.message ?? undefined,
    items: result.itemsProcessed ?? undefined,
    log: logPath ?? undefined,
    log_problem: result.logProblem ?? undefined,
    attempt: inSeries(attempt) ? `${attempt.number} of ${attempt.of}` : undefined,
    retry_at: attempt.next ? new Date(attempt.next.at).toISOString() : undefined,
  };
  if (result.outcome === "success") {
    log.info("job_finished", fields);
    return;
  }
  log.error("job_finished", fields);
  for (const line of result.outputTail.trimEnd().split("\n").slice(-TAIL_LINES)) {
    if (line) log.raw(`  ${job.name} | ${boundedLine(line)}`);
  }
}
