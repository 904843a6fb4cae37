/**
 * What running jobs takes and gives: the tick's options, the summary it gets back, and the
 * working set one runner's steps share (`Runner`: the one writer of the state, the history lines,
 * the teller). Types only, so the steps (`start.ts`, `finish.ts`, `run_job.ts`) and the two
 * schedulers (`loop.ts` in turn, `lanes.ts` at once) can share them without importing each other.
 */

import type { Config, Job } from "../config/job.ts";
import type { Logger } from "../log.ts";
import type { RunnerPaths } from "../paths.ts";
import type { JobResult } from "../process/result.ts";
import type { JobContext } from "./execute.ts";
import type { HistoryLines } from "./history_line.ts";
import type { StateWriter } from "./state_writer.ts";
import type { Teller } from "./tell.ts";

/** Runs one job; `executeJob` unless a test passes its own. */
export type JobExecutor = (job: Job, context: JobContext) => Promise<JobResult>;

/**
 * Waits `ms` (null: without end) or until `wake` is aborted, whichever comes first. The lane
 * runner waits through it; a test passes one on its own clock.
 */
export type Sleeper = (ms: number | null, wake: AbortSignal) => Promise<void>;

/** What running the due jobs needs. */
export interface RunnerOptions {
  config: Config;
  paths: RunnerPaths;
  /** Ignore schedules and holds (a usage limit, a budget reached). */
  force: boolean;
  /** Run only this job. */
  only: string | null;
  timeZone: string;
  /** This computer's name, asked only when a pinned job is due (`computer.ts`). */
  computer: () => string;
  socketPath: string;
  /** Time between SIGTERM and SIGKILL when a job is stopped. */
  graceMs: number;
  log: Logger;
  /** Aborted (with the signal's name) when the runner is asked to stop. */
  stop: AbortSignal;
  execute?: JobExecutor;
  clock?: () => number;
  /** Called once, before the first job starts (the tick installs its signal listeners then). */
  onJobsDue?: () => void;
  /**
   * The config as the file says now (`config/load.ts`, cached), for a lane runner that works on
   * past an edit; throws `ConfigError` when it does not load. Without it the config never changes.
   */
  reloadConfig?: () => Promise<Config>;
  /** How the lane runner waits; real timers unless a test passes its own clock's. */
  sleep?: Sleeper;
}

/** How the run went. */
export interface RunSummary {
  ran: number;
  failed: number;
  /** The signal that stopped the run, if one did. */
  interruptedBy: string | null;
}

/** What the steps of one runner share while its jobs run. */
export interface Runner {
  options: RunnerOptions;
  clock: () => number;
  /** The one writer of the state: every change is applied and saved in one synchronous step. */
  writer: StateWriter;
  /** The history lines of finished runs, appended one at a time. */
  history: HistoryLines;
  /** Telling of finished runs, one thing at a time. */
  teller: Teller;
  /** Aborted when the jobs are to stop: a signal, or (lanes) a failure to record one of them. */
  stop: AbortSignal;
}
