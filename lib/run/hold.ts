/**
 * Holding a due job back just before it would start: its agent's usage limit, or its agent's
 * budget reached (`select.ts` `deferralOf`), unless a person forced the run. Each job held back
 * is logged; a budget reached is also told, once per agent and period (`notify/events.ts`
 * `budgetEvent`), in the order that loses nothing: queued, the state saved saying it was told,
 * then shown and sent. A run already going is never stopped here: its cost counts when it ends.
 */

import type { Config, Job } from "../config/job.ts";
import type { Logger } from "../log.ts";
import { budgetEvent } from "../notify/events.ts";
import { announce, contextFor, queueEvent } from "../notify/notify.ts";
import type { RunnerPaths } from "../paths.ts";
import { deferralOf } from "../select.ts";
import type { BudgetHold } from "../spend.ts";
import { storeFailure } from "../store/fs.ts";
import { type CronState, nameMap, saveState } from "../store/state.ts";

/** What holding a job back needs of the runner (its options: one notification context a tick). */
export interface HoldContext {
  config: Config;
  paths: RunnerPaths;
  force: boolean;
  timeZone: string;
  log: Logger;
  socketPath: string;
  computer: () => string;
}

/** Whether `job` waits rather than starts now; logs it, and tells a budget reached once. */
export async function isHeldBack(
  job: Job,
  state: CronState,
  context: HoldContext,
  clock: () => number,
): Promise<boolean> {
  if (context.force) return false;
  const now = clock();
  const { budget } = context.config.cron;
  const deferral = deferralOf(job, state, now, { budget, timeZone: context.timeZone });
  if (deferral === null || job.type !== "agent") return false;
  context.log.info("job_deferred", {
    job: job.name,
    agent: job.agent,
    until: new Date(deferral.until).toISOString(),
    reason: deferral.reason,
    ...(deferral.reason === "budget" ? budgetFields(deferral.budget) : {}),
  });
  if (deferral.reason === "budget") await tellBudget(deferral.budget, job, state, context, clock);
  return true;
}

function budgetFields(hold: BudgetHold): Record<string, string | number> {
  return { period: hold.of, ceiling: hold.ceiling, spent: hold.spent, unit: hold.unit };
}

/**
 * Tells a budget reached, unless this period's was told: queued first, then the state saved with
 * the period marked told (a runner killed in between tells it twice, the daemon drops the second
 * copy of its escalation), then shown and sent. A state that cannot be saved ends the tick, as
 * after a run (`loop.ts` `saveOrFree`): told again and again would be worse.
 */
async function tellBudget(
  hold: BudgetHold,
  job: Job,
  state: CronState,
  context: HoldContext,
  clock: () => number,
): Promise<void> {
  const tally = (state.spend ??= nameMap())[hold.agent] ??= {};
  const facts = {
    job: job.name,
    host: context.computer,
    config: context.config.file,
    now: clock(),
    timeZone: context.timeZone,
  };
  const event = budgetEvent(hold, tally.told, facts, context.config.cron.notify);
  if (event === null) return;
  const notify = contextFor(context, clock);
  const queued = await queueEvent(event, notify);
  tally.told = { ...tally.told, [hold.period]: hold.of };
  try {
    saveState(context.paths.state, state);
  } catch (error) {
    throw storeFailure(context.paths.state, error);
  }
  await announce(event, notify, queued);
}
