/**
 * Jobs in lanes (`cron.concurrency` above 1). The runner holding the lock runs up to that many
 * jobs at once, never two runs of one job, at most `agents.<name>.concurrency` of one agent's
 * (two jobs of one agent share its account's usage limit); and while any of them runs it keeps
 * starting the jobs that come due, on the config as the file says now (a run keeps the job and the
 * config it started with). It sleeps until a run ends or the next job comes due, never less, and
 * ends when nothing runs: a job due later is the next tick's. It starts no job whose timeout would
 * end past the sum of every job's timeout from when it began, the limit the service's backstop is
 * made of, so a chain of overlapping jobs never keeps it past that. `--force` runs the jobs it
 * names once each, in lanes.
 *
 * Lanes share one state in memory and interleave only where they await: `StateWriter` saves every
 * change whole, one `Teller` tells one thing at a time, `HistoryLines` appends one line at a time.
 */

import {
  agentConcurrency,
  type Config,
  type Job,
  runnerConcurrency,
  totalTimeoutSeconds,
} from "../config/job.ts";
import { ConfigError } from "../errors.ts";
import { intervalGraceMs, periodMinutes } from "../schedule.ts";
import {
  attemptOf,
  dueBy,
  nextScheduled,
  noteNewJobs,
  offsetOf,
  pendingRetry,
  selectJobs,
} from "../select.ts";
import { jobEntry } from "../store/state.ts";
import type { BudgetHold } from "../spend.ts";
import { heldBack, type HoldOptions, isHeldBack, logDue, tellBudget } from "./hold.ts";
import type { Runner, RunnerOptions, RunSummary } from "./options.ts";
import { runJob } from "./run_job.ts";

/** The longest one sleep lasts: the lanes look again, whatever a timer can hold. */
const MAX_SLEEP_MS = 3600_000;

/** What a run is stopped with when another lane failed (a state that cannot be saved). */
const HALTED = "the runner, stopping on an error (see its log)";

/** Runs `due` (selected at the tick's start, in config order) and what comes due meanwhile. */
export async function runInLanes(due: Job[], runner: Runner): Promise<RunSummary> {
  return await new Lanes(runner, due).run();
}

class Lanes {
  private readonly runner: Runner;
  private readonly halt = new AbortController();
  /** The jobs running now, by name, each as it started. */
  private readonly running = new Map<string, Job>();
  private config: Config;
  /** The tick's own selection, for the first round; then each round selects afresh. */
  private first: Job[] | null;
  /** With `--force`: the jobs still to run, each once (a forced job would be due again at once). */
  private forced: Job[] | null;
  /** When the runner stops starting jobs (epoch ms): see the module's comment. */
  private readonly deadline: number;
  private wake = new AbortController();
  private failure: { error: unknown } | null = null;
  /** Budgets reached being told: the runner does not return before they are. */
  private readonly tellings = new Set<Promise<void>>();
  private readonly summary: RunSummary = { ran: 0, failed: 0, interruptedBy: null };
  /** What was said of which job, so a job waiting through many rounds is said once. */
  private readonly said = {
    due: new Set<string>(),
    held: new Set<string>(),
    late: new Set<string>(),
    config: "",
  };

  constructor(base: Runner, due: Job[]) {
    this.runner = { ...base, stop: AbortSignal.any([base.stop, this.halt.signal]) };
    this.config = base.options.config;
    this.first = due;
    this.forced = base.options.force ? [...due] : null;
    this.deadline = base.clock() + totalTimeoutSeconds(this.config.jobs) * 1000;
    for (const job of due) this.said.due.add(job.name);
  }

  async run(): Promise<RunSummary> {
    const { stop } = this.runner;
    const sleep = this.runner.options.sleep ?? sleepFor;
    while (true) {
      // Made before anything awaits: a run that ends meanwhile cuts the coming sleep short.
      const wake = this.wake = new AbortController();
      if (!stop.aborted) {
        await this.reload();
        this.startDue();
      }
      if (this.running.size === 0) break;
      // Once stopping, only a run's end wakes it: the stop signal stays aborted.
      if (stop.aborted) await sleep(null, wake.signal);
      else await sleep(this.untilNextDue(), AbortSignal.any([wake.signal, stop]));
    }
    await Promise.all(this.tellings);
    if (this.failure) throw this.failure.error;
    const { stop: signal } = this.runner.options;
    if (signal.aborted) this.summary.interruptedBy = String(signal.reason);
    return this.summary;
  }

  /** Starts what is due and has a lane, in config order. */
  private startDue(): void {
    const { options, clock, writer } = this.runner;
    const now = clock();
    const candidates = [
      ...(this.forced ?? this.first ?? selectJobs(this.config.jobs, writer.state, now, options)),
    ];
    this.first = null;
    const news = candidates.filter((job) => !this.said.due.has(job.name));
    logDue(news, writer.state, now, options);
    for (const job of news) this.said.due.add(job.name);
    for (const job of candidates) {
      if (this.running.size >= runnerConcurrency(this.config.cron)) break;
      if (this.running.has(job.name) || !this.agentLaneFree(job)) continue;
      // Held back by the config as it is now: a budget the edit raised lifts at once.
      const hold = isHeldBack(job, writer.state, now, this.holding(), this.said.held);
      if (hold !== null) {
        if (hold.reason === "budget") this.tellBudget(hold.budget, job);
        continue;
      }
      if (!this.withinDeadline(job, now)) continue;
      this.start(job, now);
    }
  }

  /** Tells a budget reached (`hold.ts`), kept until done; a failure to record it stops the lanes. */
  private tellBudget(hold: BudgetHold, job: Job): void {
    const telling: Promise<void> = tellBudget(hold, job, this.runner)
      .catch((error) => this.fail(error))
      .finally(() => this.tellings.delete(telling));
    this.tellings.add(telling);
  }

  /** What deciding a hold needs: the runner's options, with the config as it is now. */
  private holding(): HoldOptions & { log: RunnerOptions["log"] } {
    const { options } = this.runner;
    return {
      force: options.force,
      timeZone: options.timeZone,
      config: this.config,
      log: options.log,
    };
  }

  private start(job: Job, now: number): void {
    const { options, writer } = this.runner;
    this.running.set(job.name, job);
    for (const said of [this.said.due, this.said.held, this.said.late]) said.delete(job.name);
    if (this.forced) this.forced = this.forced.filter((other) => other !== job);
    const attempt = attemptOf(job, writer.state, now, options);
    runJob(job, this.config, attempt, this.runner, false).then(
      (result) => {
        this.summary.ran++;
        if (result.outcome !== "success") this.summary.failed++;
      },
      (error) => this.fail(error),
    ).finally(() => {
      this.running.delete(job.name);
      this.wake.abort();
    });
  }

  /** Whether a job's agent has a lane free (`agents.<name>.concurrency`); a script always has. */
  private agentLaneFree(job: Job): boolean {
    if (job.type !== "agent") return true;
    let busy = 0;
    for (const other of this.running.values()) {
      if (other.type === "agent" && other.agent === job.agent) busy++;
    }
    return busy < agentConcurrency(this.config, job.agent);
  }

  /** Whether a job started now would end (at its timeout) before the deadline; said once if not. */
  private withinDeadline(job: Job, now: number): boolean {
    if (now + job.timeoutSeconds * 1000 <= this.deadline) return true;
    if (!this.said.late.has(job.name)) {
      this.said.late.add(job.name);
      this.runner.options.log.info("job_postponed", {
        job: job.name,
        reason: "its timeout would end past this runner's limit (every job's timeout added " +
          "up, from when it began): the next tick starts it",
      });
    }
    return false;
  }

  /**
   * Milliseconds until the next job not running comes due by itself (its schedule or a retry,
   * and nothing holds it back then); null when none will: then only a run's end wakes the lanes.
   */
  private untilNextDue(): number | null {
    if (this.forced) return null;
    const now = this.runner.clock();
    let next = Infinity;
    for (const job of this.config.jobs) {
      if (this.running.has(job.name)) continue;
      const at = this.dueAt(job, now);
      if (at !== null && at > now && at < next) next = at;
    }
    return next === Infinity ? null : next - now;
  }

  /** When `job` can next start by itself, as the selection rule would see it then; null: never. */
  private dueAt(job: Job, now: number): number | null {
    const { options, writer: { state } } = this.runner;
    const scheduled = awake(job, nextScheduled(job, state, now, options), now, options.computer);
    const retry = pendingRetry(job, jobEntry(state, job.name))?.at ?? null;
    const at = scheduled === null || retry === null
      ? scheduled ?? retry
      : Math.min(scheduled, retry);
    if (at === null) return null;
    const then = Math.max(at, now);
    // The one asked for, enabled, this computer's: the selection rule decides, at that instant.
    if (dueBy(job, state, then, options) === null) return null;
    const hold = heldBack(job, state, then, this.holding());
    return hold === null ? at : Math.max(at, hold.until);
  }

  /**
   * The config as the file says now, for the jobs that start from here on; one that does not
   * load is said (once per problem) and the last one that did stays. A clock-time job the edit
   * added waits for its first slot from now, as at any tick.
   */
  private async reload(): Promise<void> {
    const reload = this.runner.options.reloadConfig;
    if (reload === undefined || this.first !== null || this.forced !== null) return;
    try {
      this.config = await reload();
    } catch (error) {
      if (!(error instanceof ConfigError)) return this.fail(error);
      if (error.message !== this.said.config) {
        this.runner.options.log.warn("config_not_reloaded", {
          config: this.config.file,
          error: error.message,
          reason: "the jobs go on under the config that loaded last",
        });
      }
      this.said.config = error.message;
      return;
    }
    this.said.config = "";
    const { writer, clock } = this.runner;
    if (noteNewJobs(this.config.jobs, writer.state, clock()).length > 0) writer.commit(() => {});
  }

  /** A lane failed (a state that cannot be saved, a bug): stop the others, then throw it. */
  private fail(error: unknown): void {
    this.failure ??= { error };
    this.halt.abort(HALTED);
  }
}

/**
 * When an interval job is due to a runner awake at the instant. The schedule counts an interval
 * as elapsed a little early (`intervalGraceMs`), for the service's ticks that come a few seconds
 * late; a lane runner that woke that early each time would run an `every: 5m` job every 4¾
 * minutes, so it waits the whole interval.
 */
function awake(job: Job, due: number | null, now: number, computer: () => string): number | null {
  const interval = job.schedule.kind === "every" || job.schedule.kind === "hourly";
  if (due === null || due <= now || !interval || offsetOf(job, computer) !== null) return due;
  return due + intervalGraceMs(periodMinutes(job.schedule)! * 60_000);
}

/** Real timers: `ms` (null: none), or until `wake` is aborted, whichever comes first. */
function sleepFor(ms: number | null, wake: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (wake.aborted) return resolve();
    const timer = ms === null
      ? undefined
      : setTimeout(done, Math.min(Math.max(0, ms), MAX_SLEEP_MS));
    function done() {
      clearTimeout(timer);
      wake.removeEventListener("abort", done);
      resolve();
    }
    wake.addEventListener("abort", done, { once: true });
  });
}
