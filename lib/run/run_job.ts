/**
 * One run from start to end, as a sequence of named steps: start it (`start.ts`: the log, the
 * running record, the job), record it (`finish.ts`: the outcome, its history line, its event
 * queued), tell of it (`tell.ts`), prune its job's old logs. The schedulers (`loop.ts`,
 * `lanes.ts`) decide when a run starts; this is what a run is.
 */

import { type Config, DEFAULT_MAX_LOG_BYTES, type Job } from "../config/job.ts";
import { StoreError } from "../errors.ts";
import { join } from "../posix_path.ts";
import type { JobResult } from "../process/result.ts";
import { storeFailure } from "../store/fs.ts";
import { finishRun, untell } from "./finish.ts";
import type { Runner } from "./options.ts";
import { LOGS_KEPT, pruneRunLogs } from "./run_logs.ts";
import { startRun } from "./start.ts";

/**
 * Runs `job` (attempt `attempt` of its series) under `config` and records it. With `inTurn` the
 * telling is waited for before its logs are pruned and the next job starts, as one job at a time
 * always has; otherwise it goes on behind the runner's other work (`Teller`).
 */
export async function runJob(
  job: Job,
  config: Config,
  attempt: number,
  runner: Runner,
  inTurn: boolean,
): Promise<JobResult> {
  const start = await startRun(job, config, runner);
  const recorded = await finishRun({ ...start, job, config, attempt }, runner);
  if (recorded.event) {
    const telling = runner.teller.announce(recorded.event, recorded.queued)
      .then((reached) => reached || untell(job, recorded, runner));
    if (inTurn) await telling;
  }
  const maxLog = job.maxLogBytes ?? DEFAULT_MAX_LOG_BYTES;
  const dir = join(runner.options.paths.logs, job.name);
  try {
    pruneRunLogs(dir, LOGS_KEPT, 10 * maxLog);
  } catch (error) {
    const failure = storeFailure(dir, error);
    if (!(failure instanceof StoreError)) throw failure;
    runner.options.log.warn("logs_not_pruned", { path: dir, error: failure.message });
  }
  return start.result;
}
