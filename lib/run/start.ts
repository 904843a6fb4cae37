/**
 * The start step: a run's log file, its running record (saved before the job may run: the job
 * waits behind `process/spawn.ts`'s gate until it is on disk), and the job run to its result.
 * Whatever goes wrong here is the run's result, never the runner's end, except a state that
 * cannot be saved.
 */

import type { Config, Job } from "../config/job.ts";
import { StoreError } from "../errors.ts";
import { join } from "../posix_path.ts";
import { type JobResult, jobResult } from "../process/result.ts";
import { storeFailure } from "../store/fs.ts";
import { entryOf } from "../store/state.ts";
import { executeJob, type JobContext } from "./execute.ts";
import type { Runner } from "./options.ts";
import { newRunLog } from "./run_logs.ts";

/** A run that has ended: when it started, its log (null: none could be made), its result. */
export interface RunStart {
  startedIso: string;
  logPath: string | null;
  result: JobResult;
}

/** Runs `job` under `config` (the config it started with, whatever the file says later). */
export async function startRun(job: Job, config: Config, runner: Runner): Promise<RunStart> {
  const { options, clock } = runner;
  const { paths, log } = options;
  const started = clock();
  const startedIso = new Date(started).toISOString();
  let logPath: string;
  try {
    logPath = newRunLog(paths.logs, paths.root, job.name, started);
  } catch (error) {
    // No log, no run: the job is recorded as not started, and the others go on.
    const failure = storeFailure(join(paths.logs, job.name), error);
    if (!(failure instanceof StoreError)) throw failure;
    const result = jobResult({ error: `not started: its run log ${failure.message}` });
    return { startedIso, logPath: null, result };
  }
  log.info("job_started", { job: job.name, type: job.type, log: logPath });
  const context = jobContext(job, config, runner, startedIso, logPath);
  let result: JobResult;
  try {
    result = await (options.execute ?? executeJob)(job, context);
  } catch (error) {
    // The running record could not be saved (a full disk): the job never ran (its gate stayed
    // shut), and nothing further can be recorded: the tick ends, saying so, with no stack.
    if (error instanceof StoreError) throw error;
    // A bug or an unexpected I/O error in one job must not take the others down with it.
    result = jobResult({
      error: `runner error: ${error instanceof Error ? error.message : String(error)}`,
      durationMs: clock() - started,
    });
    log.error("job_error", {
      job: job.name,
      error: error instanceof Error ? error.stack : String(error),
    });
  }
  return { startedIso, logPath, result };
}

function jobContext(
  job: Job,
  config: Config,
  runner: Runner,
  startedIso: string,
  logPath: string,
): JobContext {
  const { paths, log } = runner.options;
  return {
    config,
    logPath,
    reportsDir: paths.reports,
    socketPath: runner.options.socketPath,
    graceMs: runner.options.graceMs,
    home: paths.home,
    timeZone: runner.options.timeZone,
    stop: runner.stop,
    debug: (message, fields = {}) => log.debug("debug", { message, ...fields }),
    // Recorded before the job may run, so a runner that dies mid-job is found out next time.
    onStart: (pgid) =>
      runner.writer.commit((state) => {
        entryOf(state, job.name).running = {
          started: startedIso,
          pgid,
          runner_pid: Deno.pid,
          log_path: logPath,
        };
      }),
  };
}
