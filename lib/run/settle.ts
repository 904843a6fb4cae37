/**
 * The settle step, at a tick's start, before any job: what a runner that stopped unfinished (a
 * crash, `kill -9`, power) left. First the history lines of runs it recorded but may not have
 * written (`HistoryLines.settle`: appended unless the history holds them); then each run it left
 * in flight, recorded as interrupted (`record.ts` `settleInterruptedRuns`), its event queued, the
 * state saved with the runs' outcomes and their lines pending, the lines appended, the state saved
 * without them, and what was queued told. Loaded only when there is something to settle.
 */

import { settleInterruptedRuns } from "./record.ts";
import { HistoryLines } from "./history_line.ts";
import type { RunnerOptions } from "./options.ts";
import { StateWriter } from "./state_writer.ts";
import { Teller } from "./tell.ts";
import type { CronState } from "../store/state.ts";

/** Settles what a stopped runner left in `state` (which the tick then goes on with). */
export async function settleStoppedRunner(
  state: CronState,
  options: RunnerOptions,
): Promise<void> {
  const clock = options.clock ?? Date.now;
  const writer = new StateWriter(options.paths.state, state, options.log);
  const history = new HistoryLines(options.paths.history, options.log);
  const teller = new Teller(options, clock, null);
  await history.settle(writer);
  const { jobs, events } = await settleInterruptedRuns(state, options);
  const queued: boolean[] = [];
  for (const event of events) queued.push(await teller.queue(event));
  writer.commit(() => {});
  for (const job of jobs) await history.append(writer, job);
  writer.flush();
  for (const [index, event] of events.entries()) await teller.announce(event, queued[index]!);
}
