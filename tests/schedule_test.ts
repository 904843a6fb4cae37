import assert from "node:assert/strict";
import type { Schedule } from "../lib/config/job.ts";
import {
  describeMinutes,
  instantOf,
  intervalGraceMs,
  isDue,
  jitterOffset,
  localTime,
  nextDue,
  periodMinutes,
} from "../lib/schedule.ts";
import { lastRunOf, parseState } from "../lib/store/state.ts";

const at = (iso: string) => Date.parse(iso);
const MIN = 60_000;
const AMS = "Europe/Amsterdam";

Deno.test("isDue() runs an every or hourly job that never ran at once; a clock-time one waits for its first slot", () => {
  const now = at("2026-01-07T10:00:00Z");
  for (const schedule of [{ kind: "every", minutes: 10 }, { kind: "hourly" }] as Schedule[]) {
    assert.equal(isDue(schedule, null, now, "UTC"), true, schedule.kind);
    assert.equal(nextDue(schedule, null, now, "UTC"), now, schedule.kind);
  }
  // 2026-01-07 is a Wednesday.
  const waits: [Schedule, string][] = [
    [{ kind: "at", times: ["09:00"], weekdays: [0] }, "2026-01-12T09:00:00Z"],
    [{ kind: "daily", hour: 23 }, "2026-01-07T23:00:00Z"],
    [{ kind: "daily", hour: 4 }, "2026-01-08T04:00:00Z"],
    [{ kind: "weekly", weekday: 6, hour: 23 }, "2026-01-11T23:00:00Z"],
    [{ kind: "monthly", day: 31, hour: 23 }, "2026-01-31T23:00:00Z"],
  ];
  for (const [schedule, first] of waits) {
    assert.equal(isDue(schedule, null, now, "UTC"), false, schedule.kind);
    assert.equal(nextDue(schedule, null, now, "UTC"), at(first), schedule.kind);
    // Counted from when the runner first saw it: due once that slot has come, not before.
    assert.equal(isDue(schedule, now, at(first) - 1, "UTC"), false, schedule.kind);
    assert.equal(isDue(schedule, now, at(first), "UTC"), true, schedule.kind);
  }
});

Deno.test("isDue() never runs an unscheduled (discovered) job on its own", () => {
  assert.deepEqual(isDue({ kind: "unscheduled" }, null, Date.now(), "UTC"), false);
  assert.deepEqual(nextDue({ kind: "unscheduled" }, null, Date.now(), "UTC"), null);
});

Deno.test("isDue() for every: due once the interval has passed, with tick jitter forgiven", async (t) => {
  const every: Schedule = { kind: "every", minutes: 10 };
  const last = at("2026-05-01T10:00:03Z");
  await t.step("not due at 9 minutes", () => {
    assert.deepEqual(isDue(every, last, last + 9 * MIN, "UTC"), false);
  });
  await t.step("due at the next 5-minute tick a few seconds early", () => {
    assert.deepEqual(isDue(every, last, at("2026-05-01T10:10:01Z"), "UTC"), true);
  });
  await t.step("due after 10 minutes", () => {
    assert.deepEqual(isDue(every, last, last + 10 * MIN, "UTC"), true);
  });
  await t.step("nextDue is the last run plus the interval less the grace", () => {
    assert.deepEqual(
      nextDue(every, last, last + MIN, "UTC"),
      last + 10 * MIN - intervalGraceMs(10 * MIN),
    );
  });
  await t.step("the grace is 5% and at most a minute", () => {
    assert.deepEqual(intervalGraceMs(10 * MIN), 30_000);
    assert.deepEqual(intervalGraceMs(24 * 60 * MIN), 60_000);
  });
});

Deno.test("isDue() for at: due when the last run is older than the latest slot", async (t) => {
  const schedule: Schedule = { kind: "at", times: ["09:00", "17:30"], weekdays: null };
  const ranYesterday = at("2026-05-04T09:00:10Z");
  await t.step("not due before today's first slot", () => {
    assert.deepEqual(
      isDue(schedule, at("2026-05-04T17:30:05Z"), at("2026-05-05T08:59:00Z"), "UTC"),
      false,
    );
  });
  await t.step("due at the slot", () => {
    assert.deepEqual(
      isDue(schedule, at("2026-05-04T17:30:05Z"), at("2026-05-05T09:00:00Z"), "UTC"),
      true,
    );
  });
  await t.step("a slot missed while asleep runs once on wake", () => {
    // Slept from 08:00 yesterday to 15:00 today: three slots passed, one run is due.
    const wake = at("2026-05-05T15:00:00Z");
    assert.deepEqual(isDue(schedule, at("2026-05-04T08:00:00Z"), wake, "UTC"), true);
    assert.deepEqual(isDue(schedule, wake, wake + 5 * MIN, "UTC"), false);
    assert.deepEqual(nextDue(schedule, wake, wake + 5 * MIN, "UTC"), at("2026-05-05T17:30:00Z"));
  });
  await t.step("never twice for the same slot", () => {
    assert.deepEqual(isDue(schedule, ranYesterday, at("2026-05-04T09:05:00Z"), "UTC"), false);
  });
});

Deno.test("isDue() for at with weekdays skips the other days", () => {
  // 2026-05-04 is a Monday.
  const schedule: Schedule = { kind: "at", times: ["09:00"], weekdays: [0, 2] };
  const mondayRun = at("2026-05-04T09:00:30Z");
  assert.deepEqual(isDue(schedule, mondayRun, at("2026-05-05T12:00:00Z"), "UTC"), false);
  assert.deepEqual(
    nextDue(schedule, mondayRun, at("2026-05-05T12:00:00Z"), "UTC"),
    at("2026-05-06T09:00:00Z"),
  );
  assert.deepEqual(isDue(schedule, mondayRun, at("2026-05-06T09:00:00Z"), "UTC"), true);
  assert.deepEqual(
    nextDue(schedule, at("2026-05-06T09:01:00Z"), at("2026-05-06T10:00:00Z"), "UTC"),
    at("2026-05-11T09:00:00Z"),
  );
});

Deno.test("isDue() reads at times and preferred_hour in the local time zone, not UTC", () => {
  // 06:30 in Amsterdam (winter, UTC+1) is 05:30 UTC.
  const daily: Schedule = { kind: "daily", hour: 6 };
  const last = at("2026-01-05T05:00:00Z"); // 06:00 in Amsterdam, 00:00 in New York
  assert.deepEqual(isDue(daily, last, at("2026-01-06T05:30:00Z"), AMS), true);
  // 00:30 in New York: the day's 06:00 has not come yet.
  assert.deepEqual(isDue(daily, last, at("2026-01-06T05:30:00Z"), "America/New_York"), true);
  assert.deepEqual(
    isDue(daily, at("2026-01-05T11:00:00Z"), at("2026-01-06T05:30:00Z"), "America/New_York"),
    false,
  );
  const schedule: Schedule = { kind: "at", times: ["09:00"], weekdays: null };
  assert.deepEqual(
    isDue(schedule, at("2026-01-05T08:00:00Z"), at("2026-01-06T08:00:00Z"), AMS),
    true,
  );
  assert.deepEqual(
    isDue(schedule, at("2026-01-05T08:30:00Z"), at("2026-01-06T07:59:00Z"), AMS),
    false,
  );
});

Deno.test("legacy hourly, daily, weekly and monthly rules", async (t) => {
  await t.step("hourly needs an hour since the last run", () => {
    const last = at("2026-05-01T10:00:02Z");
    assert.deepEqual(isDue({ kind: "hourly" }, last, last + 55 * MIN, "UTC"), false);
    assert.deepEqual(isDue({ kind: "hourly" }, last, at("2026-05-01T11:00:00Z"), "UTC"), true);
  });
  await t.step("daily is due at its hour, once a day", () => {
    const daily: Schedule = { kind: "daily", hour: 6 };
    const last = at("2026-05-01T06:00:00Z");
    assert.deepEqual(isDue(daily, last, at("2026-05-02T01:00:00Z"), "UTC"), false);
    assert.deepEqual(isDue(daily, last, at("2026-05-02T05:59:00Z"), "UTC"), false);
    assert.deepEqual(isDue(daily, last, at("2026-05-02T06:00:00Z"), "UTC"), true);
    assert.deepEqual(
      nextDue(daily, last, at("2026-05-01T12:00:00Z"), "UTC"),
      at("2026-05-02T06:00:00Z"),
    );
  });
  await t.step("a daily job that ran late in the evening runs at its hour the next day", () => {
    const daily: Schedule = { kind: "daily", hour: 6 };
    const last = at("2026-05-01T22:00:00Z");
    assert.deepEqual(isDue(daily, last, at("2026-05-02T05:55:00Z"), "UTC"), false);
    assert.deepEqual(isDue(daily, last, at("2026-05-02T06:00:00Z"), "UTC"), true);
    assert.deepEqual(
      nextDue(daily, last, at("2026-05-01T23:00:00Z"), "UTC"),
      at("2026-05-02T06:00:00Z"),
    );
  });
  await t.step("weekly runs on the preferred weekday (0 = Monday) at its hour", () => {
    const weekly: Schedule = { kind: "weekly", weekday: 2, hour: 6 };
    const last = at("2026-05-06T06:10:00Z"); // a Wednesday
    assert.deepEqual(isDue(weekly, last, at("2026-05-12T07:00:00Z"), "UTC"), false); // Tuesday
    assert.deepEqual(isDue(weekly, last, at("2026-05-13T07:00:00Z"), "UTC"), true); // Wednesday
    assert.deepEqual(
      nextDue(weekly, last, at("2026-05-08T00:00:00Z"), "UTC"),
      at("2026-05-13T06:00:00Z"),
    );
  });
  await t.step("monthly clamps the preferred day to the month's last day", () => {
    const monthly: Schedule = { kind: "monthly", day: 31, hour: 6 };
    const last = at("2026-01-31T06:00:00Z");
    assert.deepEqual(isDue(monthly, last, at("2026-02-27T07:00:00Z"), "UTC"), false);
    assert.deepEqual(isDue(monthly, last, at("2026-02-28T07:00:00Z"), "UTC"), true);
    assert.deepEqual(
      nextDue(monthly, last, at("2026-02-10T00:00:00Z"), "UTC"),
      at("2026-02-28T06:00:00Z"),
    );
    // A leap year's February ends on the 29th.
    assert.deepEqual(
      isDue(monthly, at("2028-01-31T06:00:00Z"), at("2028-02-28T07:00:00Z"), "UTC"),
      false,
    );
    assert.deepEqual(
      isDue(monthly, at("2028-01-31T06:00:00Z"), at("2028-02-29T07:00:00Z"), "UTC"),
      true,
    );
  });
});

Deno.test("schedules across the DST changes of Europe/Amsterdam", async (t) => {
  await t.step("localTime and instantOf agree around the spring change", () => {
    // 2026-03-29: 02:00 CET jumps to 03:00 CEST.
    assert.deepEqual(localTime(at("2026-03-29T00:59:00Z"), AMS).hour, 1);
    assert.deepEqual(localTime(at("2026-03-29T01:00:00Z"), AMS).hour, 3);
    assert.deepEqual(instantOf(2026, 3, 29, 9, 0, AMS), at("2026-03-29T07:00:00Z"));
    assert.deepEqual(instantOf(2026, 3, 28, 9, 0, AMS), at("2026-03-28T08:00:00Z"));
  });
  await t.step("a slot in the skipped hour runs an hour late, once", () => {
    const schedule: Schedule = { kind: "at", times: ["02:30"], weekdays: null };
    const last = at("2026-03-28T01:30:00Z"); // 02:30 CET the day before
    assert.deepEqual(isDue(schedule, last, at("2026-03-29T01:15:00Z"), AMS), false); // 03:15 CEST
    assert.deepEqual(isDue(schedule, last, at("2026-03-29T01:30:00Z"), AMS), true); // 03:30 CEST
    assert.deepEqual(
      isDue(schedule, at("2026-03-29T01:30:00Z"), at("2026-03-29T03:00:00Z"), AMS),
      false,
    );
  });
  await t.step("a slot in the repeated hour runs the first time only", () => {
    // 2026-10-25: 03:00 CEST falls back to 02:00 CET; 02:30 happens at 00:30Z and at 01:30Z.
    const schedule: Schedule = { kind: "at", times: ["02:30"], weekdays: null };
    assert.deepEqual(instantOf(2026, 10, 25, 2, 30, AMS), at("2026-10-25T00:30:00Z"));
    const ranFirst = at("2026-10-25T00:30:05Z");
    assert.deepEqual(
      isDue(schedule, at("2026-10-24T00:30:00Z"), at("2026-10-25T00:30:00Z"), AMS),
      true,
    );
    assert.deepEqual(isDue(schedule, ranFirst, at("2026-10-25T01:30:00Z"), AMS), false);
    assert.deepEqual(isDue(schedule, ranFirst, at("2026-10-25T01:45:00Z"), AMS), false);
  });
  await t.step("daily at a preferred hour keeps its local hour across both changes", () => {
    const daily: Schedule = { kind: "daily", hour: 6 };
    assert.deepEqual(
      nextDue(daily, at("2026-03-28T05:00:00Z"), at("2026-03-28T12:00:00Z"), AMS),
      at("2026-03-29T04:00:00Z"),
    );
    assert.deepEqual(
      nextDue(daily, at("2026-10-24T04:00:00Z"), at("2026-10-24T12:00:00Z"), AMS),
      at("2026-10-25T05:00:00Z"),
    );
  });
  await t.step("every counts real elapsed time, not wall-clock time", () => {
    const every: Schedule = { kind: "every", minutes: 60 };
    // 01:30 CET to 03:30 CEST is one real hour.
    assert.deepEqual(
      isDue(every, at("2026-03-29T00:30:00Z"), at("2026-03-29T01:30:00Z"), AMS),
      true,
    );
  });
});

Deno.test("month ends: at schedules roll over month and year boundaries", () => {
  const schedule: Schedule = { kind: "at", times: ["23:30"], weekdays: null };
  assert.deepEqual(
    nextDue(schedule, at("2026-12-31T23:30:10Z"), at("2026-12-31T23:40:00Z"), "UTC"),
    at("2027-01-01T23:30:00Z"),
  );
  assert.deepEqual(
    isDue(schedule, at("2026-02-27T23:31:00Z"), at("2026-03-01T00:10:00Z"), "UTC"),
    true,
  );
});

/**
 * The runs a runner makes whose ticks come every `tickMinutes` (a few seconds late, as launchd's
 * do) from `from` to `to`, the job having last run (or been first seen) at `first`.
 */
function tickRuns(
  schedule: Schedule,
  zone: string,
  first: number,
  range: { from: number; to: number; tickMinutes?: number; offset?: number | null },
): number[] {
  const runs: number[] = [];
  let last = first;
  const step = (range.tickMinutes ?? 5) * MIN;
  // Ticks on the clock's 5-minute marks, as systemd's OnCalendar=*:0/5 starts them.
  for (let tick = Math.ceil(range.from / step) * step; tick < range.to; tick += step) {
    const now = tick + 3000;
    if (isDue(schedule, last, now, zone, range.offset ?? null)) runs.push(last = now);
  }
  return runs;
}

/** The slots at `hour`:00 local of the days `keep` takes after `first`, as the ticks see them. */
function slotsAfter(
  first: number,
  to: number,
  zone: string,
  keep: (local: ReturnType<typeof localTime>) => boolean,
  hour: number,
  tickMinutes = 5,
): number[] {
  const slots: number[] = [];
  const start = localTime(first, zone);
  for (let days = -1;; days++) {
    const date = new Date(Date.UTC(start.year, start.month - 1, start.day + days));
    const [year, month, day] = [date.getUTCFullYear(), date.getUTCMonth() + 1, date.getUTCDate()];
    const slot = instantOf(year, month, day, hour, 0, zone);
    if (slot >= to) break;
    if (slot > first && keep(localTime(instantOf(year, month, day, 12, 0, zone), zone))) {
      slots.push(slot);
    }
  }
  const step = tickMinutes * MIN;
  return slots.map((slot) => Math.ceil(slot / step) * step + 3000);
}

const DAY = 24 * 60 * MIN;
const iso = (instants: number[]) => instants.map((instant) => new Date(instant).toISOString());

Deno.test("legacy daily and weekly run at their slot from any first-run time, across DST", async (t) => {
  // Eight days around each clock change of each zone, ticks every 15 minutes.
  const changes: Record<string, string[]> = {
    [AMS]: ["2026-03-25", "2026-10-21"],
    "America/New_York": ["2026-03-04", "2026-10-28"],
  };
  const cases: [Schedule, (local: ReturnType<typeof localTime>) => boolean, number][] = [
    [{ kind: "daily", hour: 4 }, () => true, 4],
    [{ kind: "daily", hour: 0 }, () => true, 0],
    [{ kind: "daily", hour: 23 }, () => true, 23],
    [{ kind: "weekly", weekday: 6, hour: 1 }, (local) => local.weekday === 6, 1],
  ];
  for (const [zone, starts] of Object.entries(changes)) {
    for (const [schedule, keep, hour] of cases) {
      await t.step(`${JSON.stringify(schedule)} in ${zone}`, () => {
        for (const start of starts) {
          const range = { from: at(`${start}T00:00:00Z`), to: at(`${start}T00:00:00Z`) + 8 * DAY };
          // First runs all through a day, 97 minutes apart.
          for (let first = range.from; first < range.from + DAY; first += 97 * MIN) {
            const ticks = { ...range, from: first + MIN, tickMinutes: 15 };
            assert.deepEqual(
              iso(tickRuns(schedule, zone, first, ticks)),
              iso(slotsAfter(first, range.to, zone, keep, hour, 15)),
            );
          }
        }
      });
    }
  }
});

Deno.test("legacy monthly runs on its day at its hour, a short month's last day for 29-31", () => {
  const year = {
    from: at("2026-01-01T00:00:00Z"),
    to: at("2027-01-01T00:00:00Z"),
    tickMinutes: 30,
  };
  const runs = tickRuns({ kind: "monthly", day: 31, hour: 5 }, AMS, year.from, year);
  assert.deepEqual(
    runs.map((run) => localTime(run, AMS)).map(({ month, day, hour }) => `${month}-${day} ${hour}`),
    [
      "1-31 5",
      "2-28 5",
      "3-31 5",
      "4-30 5",
      "5-31 5",
      "6-30 5",
      "7-31 5",
      "8-31 5",
      "9-30 5",
      "10-31 5",
      "11-30 5",
      "12-31 5",
    ],
  );
});

Deno.test("a daily job first run at 21:34 runs next at its hour, not 20 hours later", () => {
  const daily: Schedule = { kind: "daily", hour: 4 };
  const first = at("2026-06-10T19:34:00Z"); // 21:34 in Amsterdam (CEST)
  assert.equal(nextDue(daily, first, first + MIN, AMS), at("2026-06-11T02:00:00Z")); // 04:00
  const week = tickRuns(daily, AMS, first, { from: first + 5 * MIN, to: first + 7 * DAY });
  assert.equal(week.length, 7);
  assert.ok(
    week.every((run) => localTime(run, AMS).hour === 4 && localTime(run, AMS).minute === 0),
  );
});

Deno.test("a daily slot missed while asleep runs once on wake, then at its hour again", () => {
  const daily: Schedule = { kind: "daily", hour: 4 };
  const ran = at("2026-06-10T02:00:03Z"); // 04:00 CEST
  const wake = at("2026-06-13T14:00:03Z"); // three slots slept through
  assert.equal(isDue(daily, ran, wake, AMS), true);
  assert.equal(isDue(daily, wake, wake + 5 * MIN, AMS), false);
  assert.equal(nextDue(daily, wake, wake + 5 * MIN, AMS), at("2026-06-14T02:00:00Z"));
});

Deno.test("a state written by the Python original gives the next run a person expects", async () => {
  const { state } = parseState(
    await Deno.readTextFile(new URL("./testdata/python_state.json", import.meta.url)),
  );
  // Its naive timestamps are UTC: 06:00:00.5 UTC, 08:00 in Amsterdam, after that day's 06:00.
  const naive = lastRunOf(state, "old_naive_job")!;
  assert.equal(naive, at("2025-05-01T06:00:00.500Z"));
  const daily: Schedule = { kind: "daily", hour: 6 };
  assert.equal(nextDue(daily, naive, naive + MIN, AMS), at("2025-05-02T04:00:00Z"));
  // A last run the 20-hour gap had drifted (17:34) is due at the next 06:00, not at 13:34.
  const drifted = at("2025-05-01T15:34:00Z");
  assert.equal(nextDue(daily, drifted, drifted + MIN, AMS), at("2025-05-02T04:00:00Z"));
  // An hourly job keeps running once an hour.
  const hourly = lastRunOf(state, "next_prepare_draft")!;
  assert.equal(nextDue({ kind: "hourly" }, hourly, hourly + MIN, AMS), hourly + 59 * MIN);
});

Deno.test("periodMinutes() is the shortest time between two slots: what a jitter stays below", () => {
  const cases: [Schedule, number | null][] = [
    [{ kind: "every", minutes: 10 }, 10],
    [{ kind: "hourly" }, 60],
    [{ kind: "daily", hour: 3 }, 1440],
    [{ kind: "weekly", weekday: 2, hour: 3 }, 7 * 1440],
    [{ kind: "monthly", day: 31, hour: 3 }, 28 * 1440],
    [{ kind: "at", times: ["08:00", "20:00"], weekdays: null }, 720],
    [{ kind: "at", times: ["08:00", "09:30"], weekdays: null }, 90],
    [{ kind: "at", times: ["23:50"], weekdays: [0, 1] }, 1440],
    [{ kind: "at", times: ["00:10", "23:50"], weekdays: null }, 20],
    [{ kind: "unscheduled" }, null],
  ];
  for (const [schedule, period] of cases) {
    assert.equal(periodMinutes(schedule), period, JSON.stringify(schedule));
  }
});

Deno.test("jitterOffset() is a fixed offset per job and computer, within [0, jitter)", () => {
  const computers = ["mini", "studio", "laptop", "desk", "nas", "build"];
  const offsets = computers.map((computer) => jitterOffset("nightly", computer, 30)!);
  assert.ok(offsets.every((offset) => Number.isInteger(offset) && offset >= 0 && offset < 30));
  // The same on every tick; different between computers, and between jobs on one computer.
  assert.deepEqual(computers.map((computer) => jitterOffset("nightly", computer, 30)), offsets);
  assert.ok(new Set(offsets).size >= 3, `offsets ${offsets}`);
  const jobs = Array.from({ length: 20 }, (_, index) => jitterOffset(`job_${index}`, "mini", 60)!);
  assert.ok(new Set(jobs).size >= 10, `offsets ${jobs}`);
  assert.equal(jitterOffset("nightly", "mini", 0), null);
});

Deno.test("a jittered daily job runs at its offset past its hour, every day, DST included", () => {
  const daily: Schedule = { kind: "daily", hour: 3 };
  const range = { from: at("2026-03-20T00:00:00Z"), to: at("2026-04-05T00:00:00Z"), offset: 7 };
  const first = range.from;
  const runs = tickRuns(daily, AMS, first, range);
  // 03:07 is due; the first tick at or after it is 03:10.
  assert.equal(runs.length, 16);
  for (const run of runs) {
    const local = localTime(run, AMS);
    assert.deepEqual([local.hour, local.minute], [3, 10], new Date(run).toISOString());
  }
  assert.equal(nextDue(daily, runs[0]!, runs[0]! + MIN, AMS, 7), at("2026-03-21T02:07:00Z"));
  // Without the offset it runs at 03:00.
  assert.equal(nextDue(daily, runs[0]!, runs[0]! + MIN, AMS), at("2026-03-21T02:00:00Z"));
});

Deno.test("a jittered slot is shifted on the wall clock, with the clock change's rules", () => {
  // 01:50 + 20 min is 02:10, which 29 March 2026 skips in Amsterdam: it runs at 03:10 CEST.
  const daily: Schedule = { kind: "daily", hour: 1 };
  const before = at("2026-03-28T12:00:00Z");
  assert.equal(nextDue(daily, before, before + MIN, AMS, 70), at("2026-03-29T01:10:00Z"));
  // A shift past midnight moves a weekly slot to the next day: Sunday 23:00 + 90 min, Monday 00:30.
  const weekly: Schedule = { kind: "weekly", weekday: 6, hour: 23 };
  const monday = at("2026-05-04T12:00:00Z");
  assert.equal(nextDue(weekly, monday, monday, "UTC", 90), at("2026-05-11T00:30:00Z"));
  assert.equal(isDue(weekly, monday, at("2026-05-11T00:29:00Z"), "UTC", 90), false);
  assert.equal(isDue(weekly, monday, at("2026-05-11T00:30:00Z"), "UTC", 90), true);
});

Deno.test("a jittered every runs on its interval's grid at its offset, the same minute every hour", () => {
  const hourly: Schedule = { kind: "every", minutes: 60 };
  for (const offset of [0, 25, 59]) {
    // Two days of the grid, across Amsterdam's spring change: elapsed time, not wall clock.
    const from = at("2026-03-28T00:00:00Z") + offset * MIN;
    const runs = tickRuns(hourly, AMS, from - MIN, { from, to: from + 2 * DAY, offset });
    assert.equal(runs.length, 48, `offset ${offset}`);
    const minutes = new Set(runs.map((run) => new Date(run).getUTCMinutes()));
    assert.deepEqual([...minutes], [Math.ceil(offset / 5) * 5 % 60], `offset ${offset}`);
  }
  // A job that never ran still runs at once; after that, at the next point of its grid.
  const now = at("2026-03-28T10:40:00Z");
  assert.equal(isDue(hourly, null, now, "UTC", 25), true);
  assert.equal(nextDue(hourly, now, now + MIN, "UTC", 25), at("2026-03-28T11:25:00Z"));
  assert.equal(isDue(hourly, now, at("2026-03-28T11:24:00Z"), "UTC", 25), false);
  // Two computers' offsets put the same job at different minutes.
  const [a, b] = [jitterOffset("sync", "mini", 60)!, jitterOffset("sync", "studio", 60)!];
  assert.notEqual(a, b);
  assert.notEqual(
    nextDue(hourly, now, now + MIN, "UTC", a),
    nextDue(hourly, now, now + MIN, "UTC", b),
  );
});

Deno.test("describeMinutes() says a jitter offset of nothing as 0m, not 0d", () => {
  assert.deepEqual([0, 7, 120, 1440, 2880].map(describeMinutes), ["0m", "7m", "2h", "1d", "2d"]);
});
