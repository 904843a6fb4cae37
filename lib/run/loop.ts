/**
 * Running the selected jobs of a tick. With `cron.concurrency` 1 (the default) one at a time, in
 * config order, the due list chosen when the tick began; with more, in lanes (`lanes.ts`). Either
 * way a run is the same named steps (`run_job.ts`), a job held back is asked in one place
 * (`hold.ts`), and the state has one writer (`state_writer.ts`). The executor is an option, so
 * this is tested without spawning anything; by default it is `executeJob`.
 * Loaded only when a job is due (docs/benchmarks.md, "Idle tick").
 */

import { type Job, runnerConcurrency } from "../config/job.ts";
import { attemptOf } from "../select.ts";
import type { CronState } from "../store/state.ts";
import { HistoryLines } from "./history_line.ts";
import { isHeldBack, logDue, tellBudget } from "./hold.ts";
import { runInLanes } from "./lanes.ts";
import type { Runner, RunnerOptions, RunSummary } from "./options.ts";
import { runJob } from "./run_job.ts";
import { StateWriter } from "./state_writer.ts";
import { Teller, TICK_INTERVAL_MS } from "./tell.ts";

export type { JobExecutor, RunnerOptions, RunSummary } from "./options.ts";

/** Runs `due` (already selected, in config order) and records each outcome. */
export async function runJobs(
  due: Job[],
  state: CronState,
  options: RunnerOptions,
): Promise<RunSummary> {
  const clock = options.clock ?? Date.now;
  logDue(due, state, clock(), options);
  options.onJobsDue?.();
  const lanes = runnerConcurrency(options.config.cron) > 1;
  const runner: Runner = {
    options,
    clock,
    writer: new StateWriter(options.paths.state, state, options.log),
    history: new HistoryLines(options.paths.history, options.log),
    teller: new Teller(options, clock, lanes ? TICK_INTERVAL_MS : null),
    stop: options.stop,
  };
  // Before the first job: a state that cannot be written now would leave every job of this tick
  // unrecorded, to run again in five minutes. saveOrFree ends the tick when that is so.
  runner.writer.commit(() => {});
  const summary = lanes ? await runInLanes(due, runner) : await runInTurn(due, runner);
  // The history lines appended since the last save: their pending copies go.
  runner.writer.flush();
  return summary;
}

/** One job at a time, in the order given, each to its end and its telling. */
async function runInTurn(due: Job[], runner: Runner): Promise<RunSummary> {
  const { options, clock, writer } = runner;
  const summary: RunSummary = { ran: 0, failed: 0, interruptedBy: null };
  for (const job of due) {
    if (options.stop.aborted) break;
    // Checked per job, not up front: a usage limit hit by one job, or the cost it adds to its
    // agent's budget, holds back the next ones.
    const hold = isHeldBack(job, writer.state, clock(), options);
    if (hold !== null) {
      if (hold.reason === "budget") await tellBudget(hold.budget, job, runner);
      continue;
    }
    const attempt = attemptOf(job, writer.state, clock(), options);
    const result = await runJob(job, options.config, attempt, runner, true);
    summary.ran++;
    if (result.outcome !== "success") summary.failed++;
  }
  if (options.stop.aborted) summary.interruptedBy = String(options.stop.reason);
  return summary;
}
