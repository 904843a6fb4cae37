/**
 * The spend guard's rules (`lib/spend.ts`): what a run counts, the periods it counts in across
 * clock changes, when a ceiling is reached and until when.
 */

import assert from "node:assert/strict";
import type { Budget } from "../lib/config/job.ts";
import {
  budgetHold,
  describeAmount,
  periodEnd,
  periodsAt,
  spendOf,
  spentNow,
} from "../lib/spend.ts";
import { type CronState, emptyState } from "../lib/store/state.ts";

const at = (iso: string) => Date.parse(iso);
const NONE: Budget = { dailyUsd: null, monthlyUsd: null, dailyTokens: null, monthlyTokens: null };

Deno.test("spendOf() counts the cost as reported and the tokens in and out; nothing reported is null", () => {
  assert.deepEqual(spendOf({ cost_usd: 0.5, input_tokens: 200, output_tokens: 40 }), {
    usd: 0.5,
    tokens: 240,
  });
  assert.deepEqual(spendOf({ input_tokens: 2400, output_tokens: 68 }), { usd: null, tokens: 2468 });
  assert.deepEqual(spendOf({ cost_usd: 0 }), { usd: 0, tokens: null });
  assert.equal(spendOf({}), null);
  assert.equal(spendOf(undefined), null);
  // A figure from a file that is not a count is not counted.
  assert.equal(spendOf({ cost_usd: -1, input_tokens: Number.NaN }), null);
});

Deno.test("periodsAt() and periodEnd(): a day and a month of the runner's zone, clock changes included", async (t) => {
  await t.step("Amsterdam's 25-hour day ends at its midnight, 23:00 UTC", () => {
    const morning = at("2026-10-25T08:00:00Z");
    assert.deepEqual(periodsAt(morning, "Europe/Amsterdam"), {
      day: "2026-10-25",
      month: "2026-10",
    });
    assert.equal(periodEnd("day", morning, "Europe/Amsterdam"), at("2026-10-25T23:00:00Z"));
    assert.equal(periodsAt(at("2026-10-25T22:59:59Z"), "Europe/Amsterdam").day, "2026-10-25");
    assert.equal(periodsAt(at("2026-10-25T23:00:00Z"), "Europe/Amsterdam").day, "2026-10-26");
  });
  await t.step("Amsterdam's 23-hour day ends at 22:00 UTC", () => {
    assert.equal(
      periodEnd("day", at("2026-03-29T10:00:00Z"), "Europe/Amsterdam"),
      at("2026-03-29T22:00:00Z"),
    );
  });
  await t.step(
    "where the clocks skip midnight (Santiago), the day ends when the next begins",
    () => {
      // 5 September 2026 23:59 -04 is followed by 6 September 01:00 -03.
      const end = periodEnd("day", at("2026-09-05T15:00:00Z"), "America/Santiago");
      assert.equal(end, at("2026-09-06T04:00:00Z"));
      assert.equal(periodsAt(end - 1, "America/Santiago").day, "2026-09-05");
      assert.equal(periodsAt(end, "America/Santiago").day, "2026-09-06");
    },
  );
  await t.step(
    "where the clocks go back at midnight (Santiago), the day ends after its repeated hour",
    () => {
      // 4 April 2026 23:59 -03 is followed by 4 April 23:00 -04: the 4th has 25 hours.
      const end = periodEnd("day", at("2026-04-04T15:00:00Z"), "America/Santiago");
      assert.equal(end, at("2026-04-05T04:00:00Z"));
      assert.equal(periodsAt(end - 1, "America/Santiago").day, "2026-04-04");
    },
  );
  await t.step("a month ends at midnight of the first, a year's last one too", () => {
    assert.equal(
      periodEnd("month", at("2026-12-31T20:00:00Z"), "America/New_York"),
      at("2027-01-01T05:00:00Z"),
    );
    assert.deepEqual(periodsAt(at("2027-01-01T04:59:00Z"), "America/New_York"), {
      day: "2026-12-31",
      month: "2026-12",
    });
  });
  await t.step("a POSIX TZ rule counts as the zone it describes", () => {
    const zone = "posix:CET-1CEST,M3.5.0,M10.5.0/3";
    assert.equal(periodEnd("day", at("2026-10-25T08:00:00Z"), zone), at("2026-10-25T23:00:00Z"));
  });
});

/** A state whose claude tally is `usd` dollars and `tokens` tokens, for the day and month of `day`. */
function tallied(day: string, usd: number, tokens: number): CronState {
  const state = emptyState();
  state.spend = {
    claude: { day: { of: day, usd, tokens }, month: { of: day.slice(0, 7), usd, tokens } },
  };
  return state;
}

Deno.test("budgetHold(): reached at the ceiling, until the period's end; another day's tally is nothing", () => {
  const now = at("2026-12-01T12:00:00Z");
  const daily = { ...NONE, dailyUsd: 3 };
  assert.equal(budgetHold("claude", daily, tallied("2026-12-01", 2.99, 0), now, "UTC"), null);
  assert.deepEqual(budgetHold("claude", daily, tallied("2026-12-01", 3, 0), now, "UTC"), {
    agent: "claude",
    period: "day",
    of: "2026-12-01",
    unit: "usd",
    ceiling: 3,
    spent: 3,
    until: at("2026-12-02T00:00:00Z"),
  });
  assert.equal(budgetHold("claude", daily, tallied("2026-11-30", 50, 0), now, "UTC"), null);
  assert.equal(budgetHold("claude", undefined, tallied("2026-12-01", 50, 0), now, "UTC"), null);
  assert.deepEqual(spentNow(tallied("2026-11-30", 50, 7), "claude", now, "UTC"), {
    day: { usd: 0, tokens: 0 },
    month: { usd: 0, tokens: 0 },
  });
});

Deno.test("budgetHold(): with the day and the month both reached, the month holds (it holds longer)", () => {
  const now = at("2026-12-01T12:00:00Z");
  const both = { ...NONE, dailyUsd: 1, monthlyTokens: 1000 };
  const hold = budgetHold("claude", both, tallied("2026-12-01", 5, 1000), now, "UTC");
  assert.equal(hold?.period, "month");
  assert.equal(hold?.unit, "tokens");
  assert.equal(hold?.until, at("2027-01-01T00:00:00Z"));
});

Deno.test("describeAmount() says dollars to the cent, fractions of a cent in two digits, tokens grouped", () => {
  assert.equal(describeAmount("usd", 4), "$4.00");
  assert.equal(describeAmount("usd", 0.425), "$0.42");
  assert.equal(describeAmount("usd", 0.00004), "$0.00004");
  assert.equal(describeAmount("usd", 0.0012345), "$0.0012");
  assert.equal(describeAmount("usd", 0), "$0.00");
  assert.equal(describeAmount("tokens", 2468), "2,468 tokens");
  assert.equal(describeAmount("tokens", 2_000_000), "2,000,000 tokens");
});
