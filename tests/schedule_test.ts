import assert from "node:assert/strict";
import type { Schedule } from "../lib/config/job.ts";
import { instantOf, intervalGraceMs, isDue, localTime, nextDue } from "../lib/schedule.ts";

const at = (iso: string) => Date.parse(iso);
const MIN = 60_000;
const AMS = "Europe/Amsterdam";

Deno.test("isDue() runs a job that never ran at once, whatever its schedule", () => {
  const schedules: Schedule[] = [
    { kind: "every", minutes: 10 },
    { kind: "at", times: ["09:00"], weekdays: [0] },
    { kind: "hourly" },
    { kind: "daily", hour: 23 },
    { kind: "weekly", weekday: 6, hour: 23 },
    { kind: "monthly", day: 31, hour: 23 },
  ];
  for (const schedule of schedules) {
    assert.deepEqual(isDue(schedule, null, at("2026-01-07T00:00:00Z"), "UTC"), true, schedule.kind);
    assert.deepEqual(
      nextDue(schedule, null, at("2026-01-07T00:00:00Z"), "UTC"),
      at("2026-01-07T00:00:00Z"),
    );
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
  const last = at("2026-01-05T05:00:00Z");
  assert.deepEqual(isDue(daily, last, at("2026-01-06T05:30:00Z"), AMS), true);
  assert.deepEqual(isDue(daily, last, at("2026-01-06T05:30:00Z"), "America/New_York"), false);
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
  await t.step("daily needs 20 h and the preferred hour", () => {
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
  await t.step("a daily job that ran late in the evening waits 20 h", () => {
    const daily: Schedule = { kind: "daily", hour: 6 };
    const last = at("2026-05-01T22:00:00Z");
    assert.deepEqual(isDue(daily, last, at("2026-05-02T06:00:00Z"), "UTC"), false);
    assert.deepEqual(
      nextDue(daily, last, at("2026-05-02T06:00:00Z"), "UTC"),
      at("2026-05-02T18:00:00Z"),
    );
  });
  await t.step("weekly runs on the preferred weekday (0 = Monday) after 6 days", () => {
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
