/**
 * One tick, the mode launchd and systemd start every five minutes: take the lock, note the tick,
 * read the state, settle runs a dead runner left behind, select the due jobs and run them, then
 * release the lock and say how it went in the exit code. The job loop is imported only when there
 * is something to run (docs/benchmarks.md, "Idle tick").
 */

import type { ComputerSource } from "../computer.ts";
import { type Config, runnerConcurrency } from "../config/job.ts";
import { type ConfigError, formatProblem, StoreError, UsageError } from "../errors.ts";
import { lazyImport } from "../lazy.ts";
import type { Logger } from "../log.ts";
import { apiSocketFromEnv, type RunnerPaths } from "../paths.ts";
import { dirname, resolve } from "../posix_path.ts";
import type { RunnerOptions, RunSummary } from "../run/loop.ts";
import { heldQuietly, noteNewJobs, selectJobs } from "../select.ts";
import { outboxDue, waitingIn } from "../store/outbox.ts";
import { acquireRunnerLock, isHeld } from "../store/lock.ts";
import { pathKind, removeIfFileOrLink, storeFailure, tempOwner } from "../store/fs.ts";
import {
  type CronState,
  hasUnsettledRun,
  loadStateForRun,
  readState,
  saveState,
  settleFutureRuns,
} from "../store/state.ts";
import { type LastTick, readLastTick, recordTick } from "../store/tick_note.ts";
import type * as ConfigProblemModule from "../notify/config_problem.ts";
import type * as MetricsModule from "../notify/metrics.ts";
import type * as SettleModule from "../run/settle.ts";
import type * as LoopModule from "../run/loop.ts";
import type * as NotifyModule from "../notify/notify.ts";
import type * as LoadModule from "../config/load.ts";
import type * as SubprocessModule from "../subprocess.ts";

const SIGNALS = ["SIGTERM", "SIGINT", "SIGHUP"] as const;
const SIGNAL_NUMBERS: Record<string, number> = { SIGHUP: 1, SIGINT: 2, SIGTERM: 15 };

/** What a tick is asked to do: what the job loop needs that the tick does not make itself. */
export interface TickRequest
  extends Pick<RunnerOptions, "config" | "paths" | "force" | "only" | "timeZone" | "log"> {
  /** This computer's name, asked only when a pinned job is due; remembered in the tick note. */
  computer: ComputerSource;
  /** What loading the config had to say every time (a `jobs/` entry skipped, no cache). */
  warnings: string[];
  /** The config cache this tick used, verified, for the next tick to trust (`loadConfig`). */
  cacheIdentity: string | null;
}

/** One tick under the lock; returns the exit code. A busy lock is a quiet exit 0. */
export async function runTick(request: TickRequest): Promise<number> {
  const { config, paths, log } = request;
  const graceMs = graceFromEnv();
  const lock = storeStep(paths.lock, () => acquireRunnerLock(paths.lock));
  if (!isHeld(lock)) {
    log.info("runner_busy", {
      message: `another cron runner (pid ${lock.holderPid ?? "unknown"}) is active`,
      holder_pid: lock.holderPid ?? undefined,
    });
    // A job runs long: this tick still happened, and the metrics' last tick says so.
    if (config.cron.metricsFile) {
      await writeTickMetrics(request, readState(paths.state).state, Date.now());
    }
    return 0;
  }
  const signals = new SignalGuard(log);
  try {
    const note = { at: Date.now(), config: config.file, cache: request.cacheIdentity };
    noteTick(paths.lastTick, { ...note, computer: request.computer.note() }, log);
    const reloaded = { cache: request.cacheIdentity };
    if (lock.leftBy !== null) {
      // Only a runner that did not end cleanly leaves temp files (and its lock file) behind.
      log.warn("previous_runner_stopped", {
        pid: lock.leftBy,
        reason: "it did not release the lock",
      });
      const metrics = config.cron.metricsFile ? [dirname(config.cron.metricsFile)] : [];
      await removeStaleTempFiles([paths.root, paths.cache, ...metrics], log);
    }
    for (const warning of request.warnings) log.warn("config_warning", { message: warning });
    log.info("runner_start", { pid: Deno.pid, config: config.file, jobs: config.jobs.length });
    const summary = await runDueJobs({
      ...request,
      socketPath: apiSocketFromEnv(),
      graceMs,
      stop: signals.stop,
      onJobsDue: () => signals.install(),
      reloadConfig: () => reloadConfig(request, reloaded),
    });
    log.info("runner_done", {
      ran: summary.ran,
      failed: summary.failed,
      stopped_by: summary.interruptedBy ?? undefined,
    });
    // The computer's name was asked this tick: the next ones need not ask for an hour. A lane
    // runner that parsed an edited config made a new cache: the next tick need not digest it.
    if (request.computer.asked() || reloaded.cache !== note.cache) {
      const cache = reloaded.cache;
      noteTick(paths.lastTick, { ...note, cache, computer: request.computer.note() }, log);
    }
    return exitCodeOf(summary);
  } finally {
    lock.release();
    signals.remove();
  }
}

/**
 * The config as its file says now, for a lane runner that works past an edit (`config/load.ts`:
 * from the cache while the text is unchanged); throws `ConfigError` when it does not load.
 * `cache`: the cache file verified last, updated here.
 */
async function reloadConfig(
  request: TickRequest,
  cache: { cache: string | null },
): Promise<Config> {
  const { config, paths, log } = request;
  const { loadConfig } = await lazyImport<typeof LoadModule>(
    "../config/load.ts",
    import.meta.url,
  );
  const loaded = await loadConfig(config.file, {
    root: paths.root,
    dir: paths.cache,
    write: true,
    trusted: cache.cache,
  });
  cache.cache = loaded.cacheIdentity ?? cache.cache;
  loaded.config.displayName = config.displayName;
  if (!loaded.fromCache) {
    log.info("config_reloaded", { config: config.file, jobs: loaded.config.jobs.length });
    for (const warning of loaded.config.warnings) {
      log.warn("config_warning", { message: formatProblem(warning) });
    }
  }
  return loaded.config;
}

function noteTick(path: string, tick: LastTick, log: Logger): void {
  const problem = recordTick(path, tick);
  if (problem) log.warn("tick_not_recorded", { path, error: problem });
}

/** 128 + the signal's number when a signal stopped the run; else 1 when a job failed. */
export function exitCodeOf(summary: RunSummary): number {
  if (summary.interruptedBy) return 128 + (SIGNAL_NUMBERS[summary.interruptedBy] ?? 15);
  return summary.failed > 0 ? 1 : 0;
}

/**
 * The tick's work with the lock held: read the state (a corrupt file is moved aside and
 * reported), settle runs a dead runner left marked as running, select the due jobs, run them.
 */
export async function runDueJobs(options: RunnerOptions): Promise<RunSummary> {
  const clock = options.clock ?? Date.now;
  const tickAt = clock();
  const state = readStateForRun(options.paths.state, tickAt, options.log);
  const summary = await runState(state, options, clock);
  if (options.config.cron.metricsFile) {
    // A lane runner looks at the schedules until it ends (its last tick is then, not its first:
    // the ticks its lock turned away wrote later times meanwhile).
    const lanes = runnerConcurrency(options.config.cron) > 1 && summary.ran > 0;
    await writeTickMetrics(options, state, lanes ? clock() : tickAt);
  }
  return summary;
}

/** The metrics file after the tick (`cron.metrics_file`); a failure to write it is a warning. */
async function writeTickMetrics(
  options: Pick<RunnerOptions, "config" | "paths" | "log">,
  state: CronState,
  tickAt: number,
) {
  const file = options.config.cron.metricsFile!;
  const { renderMetrics, writeMetrics } = await lazyImport<typeof MetricsModule>(
    "../notify/metrics.ts",
    import.meta.url,
  );
  try {
    writeMetrics(file, options.paths.root, renderMetrics(options.config, state, tickAt));
  } catch (error) {
    const failure = storeFailure(file, error);
    if (!(failure instanceof StoreError)) throw failure;
    options.log.warn("metrics_not_written", { path: file, error: failure.message });
  }
}

/** Settles what a dead runner left, tells what waits in the outbox, runs the due jobs. */
async function runState(
  state: CronState,
  options: RunnerOptions,
  clock: () => number,
): Promise<RunSummary> {
  const { paths, log } = options;
  if (hasUnsettledRun(state)) {
    const { settleStoppedRunner } = await lazyImport<typeof SettleModule>(
      "../run/settle.ts",
      import.meta.url,
    );
    await settleStoppedRunner(state, options);
  }
  const moved = settleFutureRuns(state, clock());
  if (moved.length > 0) {
    log.warn("clock_moved_back", {
      jobs: moved.join(","),
      message: "last runs recorded in the future: the clock or the zone was moved back; " +
        "each waits one interval from now",
    });
  }
  // New clock-time jobs wait for their first slot from now on: when they were first seen is kept.
  const noted = noteNewJobs(options.config.jobs, state, clock());
  if (moved.length > 0 || noted.length > 0) {
    storeStep(paths.state, () => saveState(paths.state, state));
  }
  // One lstat each on the idle tick: both files are empty unless something waits to be told.
  if (storeStep(paths.configProblem, () => waitingIn(paths.configProblem))) {
    const [{ tellConfigFixed }, { contextFor }] = await Promise.all([configProblems(), notifier()]);
    const now = clock();
    await tellConfigFixed(contextFor(options, clock), {
      file: options.config.file,
      host: options.computer,
      now,
    });
  }
  if (
    storeStep(paths.outbox, () => waitingIn(paths.outbox)) &&
    outboxDueNow(paths.outbox, clock())
  ) {
    const { contextFor, flushOutbox } = await notifier();
    await flushOutbox(contextFor(options, clock));
  }
  const due = dueAndNotHeld(state, options, clock());
  if (due.length === 0) return { ran: 0, failed: 0, interruptedBy: null };
  const { runJobs } = await lazyImport<typeof LoopModule>(
    "../run/loop.ts",
    import.meta.url,
  );
  return await runJobs(due, state, options);
}

/**
 * The jobs to hand the job loop: due (`selectJobs`), less those held back with nothing left to
 * tell (`heldQuietly`), which are logged here: a hold that lasts weeks costs no tick the loop.
 */
function dueAndNotHeld(state: CronState, options: RunnerOptions, now: number) {
  const { cron } = options.config;
  const holds = {
    budget: cron.budget,
    timeZone: options.timeZone,
    tells: cron.notify.on.includes("deferred"),
  };
  return selectJobs(options.config.jobs, state, now, options).filter((job) => {
    const held = options.force ? null : heldQuietly(job, state, now, holds);
    if (held === null) return true;
    options.log.info("job_deferred", {
      job: job.name,
      agent: job.type === "agent" ? job.agent : undefined,
      until: new Date(held.until).toISOString(),
      reason: held.reason,
    });
    return false;
  });
}

/** Whether the outbox has work now; a file the runner cannot read is left to the flush to say. */
function outboxDueNow(path: string, now: number): boolean {
  try {
    return outboxDue(path, now);
  } catch {
    return true;
  }
}

/** The notification module, loaded only when something is to be told. */
function notifier() {
  return lazyImport<typeof NotifyModule>("../notify/notify.ts", import.meta.url);
}

/** Telling a broken config and its fix, loaded only when one is to be told. */
function configProblems() {
  return lazyImport<typeof ConfigProblemModule>("../notify/config_problem.ts", import.meta.url);
}

/** What telling a person about a config that will not load needs. */
export interface InvalidConfigRequest {
  error: ConfigError;
  /** The config file as the person named it, and resolved. */
  configPath: string;
  paths: RunnerPaths;
  log: Logger;
  computer: () => string;
}

/**
 * A tick whose config does not load: nothing can run, so a person is told, once per distinct
 * message and then once per `repeat` (`notify/config_problem.ts`), through the `cron:` settings
 * that can still be known (`settingsForBrokenConfig`). What waits in the outbox from earlier
 * ticks is sent first. Takes the lock; a busy lock means another runner is at it.
 */
export async function reportInvalidConfig(request: InvalidConfigRequest): Promise<void> {
  const { paths, log } = request;
  const { settingsForBrokenConfig } = await lazyImport<typeof LoadModule>(
    "../config/load.ts",
    import.meta.url,
  );
  const settings = (await settingsForBrokenConfig(request.configPath, paths.cache)).notify;
  const lock = storeStep(paths.lock, () => acquireRunnerLock(paths.lock));
  if (!isHeld(lock)) return;
  try {
    const [{ tellInvalidConfig }, { flushOutbox, newContext }] = await Promise.all([
      configProblems(),
      notifier(),
    ]);
    const file = resolve(request.configPath);
    const context = newContext(settings, paths, dirname(file), apiSocketFromEnv(), log);
    if (storeStep(paths.outbox, () => waitingIn(paths.outbox))) await flushOutbox(context);
    await tellInvalidConfig(context, {
      message: request.error.message,
      file,
      host: request.computer,
      now: Date.now(),
      lastTickAt: readLastTick(paths.lastTick)?.at ?? 0,
    });
  } finally {
    lock.release();
  }
}

/**
 * The state for this tick, with the lock held: a corrupt file is moved aside, a file with bad
 * fields copied aside and repaired (each once, and said in the log).
 */
function readStateForRun(path: string, now: number, log: Logger): CronState {
  const read = storeStep(path, () => loadStateForRun(path, new Date(now)));
  if (read.kind === "corrupt") {
    log.error("state_corrupt", {
      path,
      reason: read.reason,
      moved_to: read.keptAt,
      recovered_from: read.recoveredFrom === "backup" ? `${path}.bak` : "nothing (starting empty)",
    });
  } else if (read.problems.length > 0) {
    log.error("state_repaired", { path, kept_at: read.keptAt, dropped: read.problems.join("; ") });
  }
  return read.state;
}

/** Runs a step that writes under ~/.teleclaude; a failure there becomes a located StoreError. */
function storeStep<T>(path: string, step: () => T): T {
  try {
    return step();
  } catch (error) {
    throw storeFailure(path, error);
  }
}

/**
 * Temp files (`<name>.tmp-<pid>`) that a runner killed mid-write left behind: removed once their
 * writer is gone. Only regular files and links are removed, never what they point to.
 */
async function removeStaleTempFiles(dirs: string[], log: Logger): Promise<void> {
  for (const dir of dirs) {
    if (pathKind(dir) !== "directory") continue;
    for (const entry of Deno.readDirSync(dir)) {
      const owner = tempOwner(entry.name);
      if (owner === null || owner === Deno.pid || await processExists(owner)) continue;
      if (removeIfFileOrLink(`${dir}/${entry.name}`)) {
        log.info("stale_temp_removed", { path: `${dir}/${entry.name}`, writer_pid: owner });
      }
    }
  }
}

/** Whether a process with this PID exists, asked of `ps` (no signal is sent to a stranger). */
async function processExists(pid: number): Promise<boolean> {
  // Rare (a temp file was left behind): the helper is not loaded on the idle tick.
  const { commandOutput } = await lazyImport<typeof SubprocessModule>(
    "../subprocess.ts",
    import.meta.url,
  );
  const output = await commandOutput("ps", ["-p", String(pid), "-o", "pid="]);
  // When ps cannot tell, the file stays: removing a live writer's temp file would lose its write.
  return output === null || output.stdout.trim() !== "";
}

/** Milliseconds between SIGTERM and SIGKILL when a job's process group is stopped. */
function graceFromEnv(): number {
  const text = Deno.env.get("TELECLAUDE_CRON_GRACE_MS");
  if (text === undefined || text === "") return 10_000;
  const grace = Number(text);
  if (!Number.isInteger(grace) || grace < 0) {
    throw new UsageError(
      `TELECLAUDE_CRON_GRACE_MS must be a whole number of milliseconds, got "${text}"`,
    );
  }
  return grace;
}

/**
 * SIGTERM, SIGINT and SIGHUP while a job runs: a listener replaces Deno's default exit-on-signal,
 * so the running job's group is stopped and recorded before the runner exits. `deno task`
 * forwards the signal it gets, so a second one may arrive during that shutdown; it must not cut
 * the cleanup short. Installed only once a job is due: an idle tick has nothing to clean up, and
 * the listeners cost it a millisecond.
 */
class SignalGuard {
  private readonly controller = new AbortController();
  private readonly listeners: [Deno.Signal, () => void][] = [];

  constructor(private readonly log: Logger) {}

  /** Aborted, with the signal's name as the reason, when the runner is asked to stop. */
  get stop(): AbortSignal {
    return this.controller.signal;
  }

  install(): void {
    for (const signal of SIGNALS) {
      const listener = () => {
        if (this.controller.signal.aborted) {
          this.log.warn("signal_ignored", { signal, reason: "already stopping" });
          return;
        }
        this.log.warn("runner_stopping", { signal });
        this.controller.abort(signal);
      };
      Deno.addSignalListener(signal, listener);
      this.listeners.push([signal, listener]);
    }
  }

  remove(): void {
    for (const [signal, listener] of this.listeners) Deno.removeSignalListener(signal, listener);
  }
}
