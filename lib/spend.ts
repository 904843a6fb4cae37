/**
 * The spend guard's rules, in one place: what a run counts against its agent's budget (its cost as
 * the agent reports it, and its tokens), the periods spend counts in (a day and a month of the
 * runner's zone, ending at local midnight and on the first of the month, clock changes included),
 * and when a `cron.budget` ceiling holds the agent back, until when. Pure functions of the state,
 * the time and the zone. `run/record.ts` writes the tally, `select.ts` defers by it, the views and
 * the metrics show it. Nothing here runs on the idle tick: a budget is asked only of a job that
 * is due.
 */

import type { AgentName, Budget } from "./config/job.ts";
import { instantOf, localTime } from "./schedule.ts";
import type { AgentSpend, CronState, Spent } from "./store/state.ts";

/** A budget's periods. */
export type Period = "day" | "month";

/** What one run spent, as its agent reported it; null where it reported nothing. */
export interface RunSpend {
  usd: number | null;
  tokens: number | null;
}

/** The figures a run's usage holds (`run/outcome/` gathers them; the state keeps them). */
interface Usage {
  cost_usd?: number;
  input_tokens?: number;
  output_tokens?: number;
}

/**
 * What a run counts against its agent's budget: its cost (`total_cost_usd`: claude), and its
 * tokens in and out (every agent; claude's cache reads and writes are not among them, its cost
 * counts them). Null when the run reported neither (a script, a run that never got an answer).
 */
export function spendOf(usage: Usage | undefined): RunSpend | null {
  const usd = finite(usage?.cost_usd);
  const input = finite(usage?.input_tokens);
  const output = finite(usage?.output_tokens);
  const tokens = input === null && output === null ? null : (input ?? 0) + (output ?? 0);
  return usd === null && tokens === null ? null : { usd, tokens };
}

function finite(value: unknown): number | null {
  return typeof value === "number" && Number.isFinite(value) && value >= 0 ? value : null;
}

/** The day (`2026-12-01`) and the month (`2026-12`) that `now` falls in, in `timeZone`. */
export function periodsAt(now: number, timeZone: string): Record<Period, string> {
  const local = localTime(now, timeZone);
  const month = `${local.year}-${String(local.month).padStart(2, "0")}`;
  return { day: `${month}-${String(local.day).padStart(2, "0")}`, month };
}

/**
 * When the period that `now` falls in ends: the next local midnight, or midnight of the first of
 * the next month. `instantOf` makes it the instant the new date begins where a clock change falls
 * on midnight (clocks that skip 00:00 start the day at 01:00), and a 23- or 25-hour day ends when
 * its date does.
 */
export function periodEnd(period: Period, now: number, timeZone: string): number {
  const { year, month, day } = localTime(now, timeZone);
  return period === "day"
    ? instantOf(year, month, day + 1, 0, 0, timeZone)
    : instantOf(year, month + 1, 1, 0, 0, timeZone);
}

/** What an agent's runs spent in the day and the month `now` falls in (nothing: zero). */
export function spentNow(
  state: CronState,
  agent: string,
  now: number,
  timeZone: string,
): Record<Period, Spent> {
  const tally: AgentSpend | undefined = state.spend?.[agent];
  const keys = periodsAt(now, timeZone);
  const of = (period: Period): Spent => {
    const kept = tally?.[period];
    return kept?.of === keys[period]
      ? { usd: kept.usd, tokens: kept.tokens }
      : { usd: 0, tokens: 0 };
  };
  return { day: of("day"), month: of("month") };
}

/** A budget reached: which agent, in which period, which ceiling, and until when it holds. */
export interface BudgetHold {
  agent: string;
  period: Period;
  /** The period's name: `2026-12-01`, `2026-12`. */
  of: string;
  unit: "usd" | "tokens";
  ceiling: number;
  spent: number;
  until: number;
}

/**
 * Whether an agent's `budget` is reached at `now`: its spend in this day or month is at or past a
 * ceiling. The month is asked first: it holds longer. Null when no ceiling is reached.
 */
export function budgetHold(
  agent: AgentName,
  budget: Budget | undefined,
  state: CronState,
  now: number,
  timeZone: string,
): BudgetHold | null {
  if (budget === undefined) return null;
  const spent = spentNow(state, agent, now, timeZone);
  const keys = periodsAt(now, timeZone);
  const ceilings: [Period, "usd" | "tokens", number | null][] = [
    ["month", "usd", budget.monthlyUsd],
    ["month", "tokens", budget.monthlyTokens],
    ["day", "usd", budget.dailyUsd],
    ["day", "tokens", budget.dailyTokens],
  ];
  for (const [period, unit, ceiling] of ceilings) {
    if (ceiling === null || spent[period][unit] < ceiling) continue;
    const until = periodEnd(period, now, timeZone);
    // Never a hold that has already ended (a zone's date repeating across a clock change).
    if (until <= now) continue;
    return { agent, period, of: keys[period], unit, ceiling, spent: spent[period][unit], until };
  }
  return null;
}

/** An amount as people read it: `$4.00`, `$0.42`, `$0.00004`; tokens with thousands marked. */
export function describeAmount(unit: "usd" | "tokens", amount: number): string {
  if (unit === "tokens") return `${groupThousands(Math.round(amount))} tokens`;
  if (amount === 0 || amount >= 0.01) return `$${amount.toFixed(2)}`;
  // Two significant digits of a fraction of a cent, never in exponent notation.
  const digits = Math.min(10, 1 - Math.floor(Math.log10(amount)));
  return `$${amount.toFixed(digits).replace(/0+$/, "")}`;
}

/** `2468000` as `2,468,000` (no `Intl`: the views stay off ICU). */
function groupThousands(value: number): string {
  return String(value).replace(/\B(?=(\d{3})+(?!\d))/g, ",");
}

/** A budget's ceiling in words: `daily budget of $3.00`, `monthly budget of 2,000,000 tokens`. */
export function describeCeiling(hold: Pick<BudgetHold, "period" | "unit" | "ceiling">): string {
  return `${hold.period === "day" ? "daily" : "monthly"} budget of ${
    describeAmount(hold.unit, hold.ceiling)
  }`;
}
