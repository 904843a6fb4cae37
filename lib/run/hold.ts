/**
 * A due job before it starts, as both schedulers (`loop.ts` in turn, `lanes.ts` at once) see it:
 * the runner's line saying why it is due, and whether it is held back, asked once per job just
 * before it would start, so that a limit one run hits, or the cost it adds to its agent's budget,
 * holds back the runs not yet started. Held back: by a usage limit of its agent, or its agent's
 * budget reached (`select.ts` `deferralOf`). A budget reached is also told, once per agent and
 * period (`notify/events.ts` `budgetEvent`), in the order that loses nothing: queued, the state
 * saved saying it was told, then shown and sent. A forced run is never held back, and a run
 * already going is never stopped here: its cost counts when it ends.
 */

import type { Config, Job } from "../config/job.ts";
import type { Logger } from "../log.ts";
import { budgetEvent } from "../notify/events.ts";
import { describeSchedule, describeSpan } from "../schedule.ts";
import { attemptOf, type Deferral, deferralOf, type Selection } from "../select.ts";
import type { BudgetHold } from "../spend.ts";
import { type CronState, lastRunOf, nameMap } from "../store/state.ts";
import type { Runner } from "./options.ts";

/** The runner's line for each job found due: why, and since when it last ran. */
export function logDue(
  due: Job[],
  state: CronState,
  now: number,
  options: Selection & { log: Logger },
): void {
  for (const job of due) {
    const lastRun = lastRunOf(state, job.name);
    const attempt = attemptOf(job, state, now, options);
    options.log.info("job_due", {
      job: job.name,
      schedule: describeSchedule(job.schedule),
      last_run: lastRun === null ? "never" : `${describeSpan(now - lastRun)} ago`,
      forced: options.force || undefined,
      retry: attempt > 1 ? `${attempt} of ${job.retry.attempts}` : undefined,
    });
  }
}

/** Why a job may not start yet, and until when (a budget's, with what was spent of it). */
export type Hold = Deferral;

/** What deciding a hold needs of the runner's options. */
export interface HoldOptions {
  force: boolean;
  timeZone: string;
  config: Pick<Config, "cron">;
}

/** What holds `job` back at `now`, or null when nothing does (or the run is forced). */
export function heldBack(
  job: Job,
  state: CronState,
  now: number,
  options: HoldOptions,
): Hold | null {
  if (options.force) return null;
  return deferralOf(job, state, now, {
    budget: options.config.cron.budget,
    timeZone: options.timeZone,
  });
}

/**
 * What holds `job` back at `now`, said in the runner's log (once per job while it is in `said`,
 * when given: the lane runner asks again at every wake); null when nothing does. A budget's hold
 * is the caller's to tell (`tellBudget`), after whatever it awaits.
 */
export function isHeldBack(
  job: Job,
  state: CronState,
  now: number,
  options: HoldOptions & { log: Logger },
  said?: Set<string>,
): Hold | null {
  const hold = heldBack(job, state, now, options);
  if (hold === null) return null;
  if (said?.has(job.name)) return hold;
  said?.add(job.name);
  options.log.info("job_deferred", {
    job: job.name,
    agent: job.type === "agent" ? job.agent : undefined,
    until: new Date(hold.until).toISOString(),
    reason: hold.reason,
    ...(hold.reason === "budget" ? budgetFields(hold.budget) : {}),
  });
  return hold;
}

function budgetFields(hold: BudgetHold): Record<string, string | number> {
  return { period: hold.of, ceiling: hold.ceiling, spent: hold.spent, unit: hold.unit };
}

/** The budgets each runner is telling of right now: not told twice while the first is queued. */
const telling = new WeakMap<Runner, Set<string>>();

/**
 * Tells a budget reached, unless this period's was told: queued first, then the state saved with
 * the period marked told (a runner killed in between tells it twice, the daemon drops the second
 * copy of its escalation), then shown and sent, through the runner's one teller and one writer.
 * A state that cannot be saved throws, as after a run: told again and again would be worse.
 */
export async function tellBudget(hold: BudgetHold, job: Job, runner: Runner): Promise<void> {
  const { options, writer, clock, teller } = runner;
  const key = `${hold.agent}/${hold.period}/${hold.of}`;
  const inFlight = telling.get(runner) ?? new Set<string>();
  telling.set(runner, inFlight);
  if (inFlight.has(key)) return;
  const facts = {
    job: job.name,
    host: options.computer,
    config: options.config.file,
    now: clock(),
    timeZone: options.timeZone,
  };
  const told = writer.state.spend?.[hold.agent]?.told;
  const event = budgetEvent(hold, told, facts, options.config.cron.notify);
  if (event === null) return;
  inFlight.add(key);
  try {
    const queued = await teller.queue(event);
    writer.commit((state) => {
      const tally = (state.spend ??= nameMap())[hold.agent] ??= {};
      tally.told = { ...tally.told, [hold.period]: hold.of };
    });
    await teller.announce(event, queued);
  } finally {
    inFlight.delete(key);
  }
}
