import assert from "node:assert/strict";
import type { Schedule } from "../../lib/config/job.ts";
import { clockChangeFirings, zoneOffsets } from "../../lib/export/clock_changes.ts";
import {
  cronExpression,
  type CronMapping,
  cronSchedules,
  longestGapMinutes,
} from "../../lib/export/cron_expression.ts";
import { intervalGraceMs, nextDue } from "../../lib/schedule.ts";
import { cronInstants } from "../helpers/cron.ts";

const MINUTE = 60_000;
const DAY = 24 * 60 * MINUTE;
/** A year with both clock changes of both zones in it. */
const FROM = Date.UTC(2026, 5, 1);
const TO = Date.UTC(2027, 5, 1);
const ZONES = ["Europe/Amsterdam", "America/New_York"];

const at = (times: string[], weekdays: number[] | null = null): Schedule => ({
  kind: "at",
  times,
  weekdays,
});

function expressions(mapping: CronMapping): { expression: string; utc: boolean; part: string }[] {
  assert.equal(mapping.kind, "cron", JSON.stringify(mapping));
  return (mapping as Extract<CronMapping, { kind: "cron" }>).schedules.map((schedule) => ({
    expression: cronExpression(schedule.fields),
    utc: schedule.utc,
    part: schedule.part ?? "",
  }));
}

Deno.test("cronSchedules() writes each schedule shape as the cron expressions that say it", () => {
  const cases: [Schedule, string[], boolean][] = [
    [{ kind: "every", minutes: 1 }, ["* * * * *"], true],
    [{ kind: "every", minutes: 15 }, ["*/15 * * * *"], true],
    [{ kind: "every", minutes: 30 }, ["0,30 * * * *"], true],
    [{ kind: "every", minutes: 60 }, ["0 * * * *"], true],
    [{ kind: "every", minutes: 120 }, ["0 */2 * * *"], true],
    [{ kind: "every", minutes: 360 }, ["0 */6 * * *"], true],
    [{ kind: "every", minutes: 720 }, ["0 0,12 * * *"], true],
    [{ kind: "every", minutes: 1440 }, ["0 0 * * *"], true],
    [{ kind: "hourly" }, ["0 * * * *"], true],
    [{ kind: "daily", hour: 6 }, ["0 6 * * *"], false],
    [{ kind: "weekly", weekday: 0, hour: 6 }, ["0 6 * * 1"], false],
    [{ kind: "weekly", weekday: 6, hour: 23 }, ["0 23 * * 0"], false],
    [{ kind: "monthly", day: 15, hour: 8 }, ["0 8 15 * *"], false],
    [at(["09:00"]), ["0 9 * * *"], false],
    [at(["07:30", "13:00"], [0, 1, 2, 3, 4]), ["30 7 * * 1-5", "0 13 * * 1-5"], false],
    [at(["09:00", "09:30", "17:00", "17:30"], [5, 6]), ["0,30 9,17 * * 0,6"], false],
    [at(["00:00", "08:00", "16:00"], [0, 1, 2, 3, 4, 5, 6]), ["0 */8 * * 0-6"], false],
    [at(["08:15", "08:45", "12:15"], [0, 2]), ["15 8,12 * * 1,3", "45 8 * * 1,3"], false],
  ];
  for (const [schedule, expected, utc] of cases) {
    const found = expressions(cronSchedules(schedule));
    assert.deepEqual(found.map((item) => item.expression), expected, JSON.stringify(schedule));
    assert.ok(found.every((item) => item.utc === utc), JSON.stringify(schedule));
  }
  assert.deepEqual(
    expressions(cronSchedules(at(["07:30", "13:00"]))).map((item) => item.part),
    ["0730", "1300"],
  );
  assert.deepEqual(cronSchedules({ kind: "unscheduled" }), { kind: "unscheduled" });
});

Deno.test("cronSchedules() refuses an every that does not divide the hour or the day, saying why", () => {
  for (
    const [minutes, written] of [[7, "7m"], [45, "45m"], [90, "90m"], [300, "5h"], [2880, "2d"]]
  ) {
    const mapping = cronSchedules({ kind: "every", minutes: minutes as number });
    assert.equal(mapping.kind, "unmappable");
    const { field, reason } = mapping as Extract<CronMapping, { kind: "unmappable" }>;
    assert.equal(field, "when.every");
    assert.match(reason, new RegExp(`^"${written}" cannot be exported: .*no "since the last run"`));
    assert.match(reason, /use 1m–6m, 10m, 12m, 15m, 20m, 30m, 1h–4h, 6h, 8h, 12h or 1d/);
  }
});

Deno.test("cronSchedules() refuses a monthly day past 28, which the runner moves in short months", () => {
  for (const day of [29, 30, 31]) {
    const mapping = cronSchedules({ kind: "monthly", day, hour: 6 });
    assert.deepEqual(
      [mapping.kind, (mapping as { field?: string }).field],
      ["unmappable", "preferred_day"],
    );
  }
  assert.equal(cronSchedules({ kind: "monthly", day: 28, hour: 6 }).kind, "cron");
});

Deno.test("longestGapMinutes() is the longest wait between firings, weekends and wrap-around included", () => {
  const gap = (schedule: Schedule) => {
    const mapping = cronSchedules(schedule) as Extract<CronMapping, { kind: "cron" }>;
    return longestGapMinutes(mapping.schedules[0]!.fields);
  };
  assert.equal(gap({ kind: "every", minutes: 15 }), 15);
  assert.equal(gap({ kind: "every", minutes: 1440 }), 1440);
  assert.equal(gap(at(["07:30"], [0, 1, 2, 3, 4])), 3 * 1440);
  assert.equal(gap(at(["09:00", "09:30", "17:00", "17:30"])), 15 * 60 + 30);
  assert.equal(gap({ kind: "weekly", weekday: 2, hour: 7 }), 7 * 1440);
  assert.equal(gap({ kind: "monthly", day: 3, hour: 7 }), 31 * 1440);
});

/**
 * The runner's runs of a job whose ticks land on every due instant: from a first run at `first`,
 * each next one where nextDue() says.
 */
function runnerRuns(
  schedule: Schedule,
  zone: string,
  first: number,
  to = TO,
  offset: number | null = null,
): number[] {
  const runs = [first];
  while (true) {
    const last = runs.at(-1)!;
    const next = nextDue(schedule, last, last, zone, offset);
    assert.ok(next !== null && next > last, `nextDue() after ${new Date(last).toISOString()}`);
    if (next >= to) return runs;
    runs.push(next);
  }
}

/** The cron instants of every CronJob of a zoned schedule, merged. */
function cronRuns(
  schedule: Schedule,
  zone: string,
  to = TO,
  offset: number | null = null,
): number[] {
  return expressions(cronSchedules(schedule, offset))
    .flatMap(({ expression }) => cronInstants(expression, zone, FROM, to))
    .sort((a, b) => a - b);
}

const iso = (instants: number[]) => instants.map((instant) => new Date(instant).toISOString());

Deno.test("every zoned cron expression fires exactly when nextDue() runs the job, for a year, DST included", async (t) => {
  const schedules: Schedule[] = [
    at(["09:00", "17:30"], [0, 1, 2, 3, 4]),
    at(["00:00"]),
    at(["23:45"], [6]),
    at(["03:15", "06:05", "12:00"]),
    { kind: "daily", hour: 4 },
    { kind: "daily", hour: 6 },
    { kind: "daily", hour: 23 },
    { kind: "weekly", weekday: 2, hour: 7 },
    { kind: "monthly", day: 1, hour: 0 },
    { kind: "monthly", day: 28, hour: 23 },
  ];
  for (const zone of ZONES) {
    for (const schedule of schedules) {
      await t.step(`${JSON.stringify(schedule)} in ${zone}`, () => {
        const cron = cronRuns(schedule, zone);
        assert.ok(cron.length >= 12, `${cron.length} firings`);
        assert.deepEqual(iso(runnerRuns(schedule, zone, cron[0]!)), iso(cron));
        assert.deepEqual(
          clockChangeFirings(firstFields(schedule), zoneOffsets(zone, FROM), FROM),
          [],
        );
      });
    }
  }
});

Deno.test("a time the clocks skip or repeat: Kubernetes skips or doubles it, the runner runs it late or once, and the export predicts which", async (t) => {
  await t.step("at 02:30 in Europe/Amsterdam, to the instant", () => {
    const schedule = at(["02:30"]);
    const cron = cronRuns(schedule, "Europe/Amsterdam");
    const runner = runnerRuns(schedule, "Europe/Amsterdam", cron[0]!);
    // 25 October 2026: 02:30 CEST and 02:30 CET; 28 March 2027: no 02:30, the runner's 03:30 CEST.
    assert.deepEqual(iso(cron.filter((run) => !runner.includes(run))), [
      "2026-10-25T01:30:00.000Z",
    ]);
    assert.deepEqual(
      iso(runner.filter((run) => !cron.includes(run))),
      ["2027-03-28T01:30:00.000Z"],
    );
  });
  const cases: [Schedule, string][] = [
    [at(["02:30"]), "Europe/Amsterdam"],
    [{ kind: "weekly", weekday: 6, hour: 2 }, "Europe/Amsterdam"],
    [at(["01:30", "02:30"]), "America/New_York"],
    [{ kind: "weekly", weekday: 6, hour: 1 }, "America/New_York"],
    [{ kind: "weekly", weekday: 6, hour: 2 }, "America/New_York"],
  ];
  for (const [schedule, zone] of cases) {
    await t.step(`${JSON.stringify(schedule)} in ${zone}`, () => {
      const cron = cronRuns(schedule, zone);
      const runner = runnerRuns(schedule, zone, cron[0]!);
      const day = (instant: number) => localDate(instant, zone);
      const differing = new Set([
        ...cron.filter((run) => !runner.includes(run)).map(day),
        ...runner.filter((run) => !cron.includes(run)).map(day),
      ]);
      const predicted = (cronSchedules(schedule) as Extract<CronMapping, { kind: "cron" }>)
        .schedules.flatMap(({ fields }) =>
          clockChangeFirings(fields, zoneOffsets(zone, FROM), FROM, (TO - FROM) / DAY)
        )
        .map((firing) => firing.date);
      assert.ok(differing.size > 0);
      assert.deepEqual([...differing].sort(), [...new Set(predicted)].sort());
    });
  }
});

function firstFields(schedule: Schedule) {
  return (cronSchedules(schedule) as Extract<CronMapping, { kind: "cron" }>).schedules[0]!.fields;
}

Deno.test("a legacy daily job runs once a day under nextDue(), at every hour, as its cron does", () => {
  for (let hour = 0; hour <= 23; hour++) {
    const schedule: Schedule = { kind: "daily", hour };
    const cron = cronRuns(schedule, "Europe/Amsterdam", FROM + 10 * DAY);
    const runner = runnerRuns(schedule, "Europe/Amsterdam", cron[0]!, FROM + 10 * DAY);
    const gaps = new Set(runner.slice(1).map((run, index) => (run - runner[index]!) / 3600_000));
    // Once a day at its hour: the 20-hour gap alone ran a job at 00:00-03:00 again that evening.
    assert.deepEqual([...gaps].filter((gap) => gap !== 23 && gap !== 25), [24], `hour ${hour}`);
    assert.deepEqual(runner, cron, `hour ${hour}`);
    assert.equal(cron.length, 10);
  }
});

function localDate(instant: number, zone: string): string {
  return new Intl.DateTimeFormat("en-CA", { timeZone: zone }).format(instant);
}

Deno.test("every and hourly fire in UTC one interval apart, where nextDue() finds them due again", async (t) => {
  const schedules: Schedule[] = [
    { kind: "every", minutes: 1 },
    { kind: "every", minutes: 5 },
    { kind: "every", minutes: 20 },
    { kind: "every", minutes: 60 },
    { kind: "every", minutes: 180 },
    { kind: "every", minutes: 480 },
    { kind: "every", minutes: 1440 },
    { kind: "hourly" },
  ];
  for (const schedule of schedules) {
    await t.step(JSON.stringify(schedule), () => {
      const { expression, utc } = expressions(cronSchedules(schedule))[0]!;
      assert.ok(utc);
      const interval = (schedule.kind === "every" ? schedule.minutes : 60) * MINUTE;
      // A month of minutes is as regular as a year of them, and 12 times quicker to walk.
      const to = interval < 3600_000 ? FROM + 31 * DAY : TO;
      const cron = cronInstants(expression, "Etc/UTC", FROM, to);
      assert.equal(cron.length, (to - FROM) / interval);
      for (let index = 1; index < cron.length; index++) {
        const [previous, current] = [cron[index - 1]!, cron[index]!];
        assert.equal(current - previous, interval);
        // In a DST zone too: an interval is elapsed time, whatever the wall clock does.
        assert.equal(
          nextDue(schedule, previous, previous, "Europe/Amsterdam"),
          current - intervalGraceMs(interval),
        );
      }
    });
  }
});

Deno.test("why intervals use UTC: in a DST zone a two-hourly expression fires an hour or three apart", () => {
  const gaps = (zone: string) => {
    const instants = cronInstants("0 */2 * * *", zone, FROM, TO);
    return new Set(
      instants.slice(1).map((instant, index) => (instant - instants[index]!) / 3600_000),
    );
  };
  assert.deepEqual([...gaps("Europe/Amsterdam")].sort(), [1, 2, 3]);
  assert.deepEqual([...gaps("Etc/UTC")], [2]);
});

Deno.test("a jittered schedule's cron expressions fire exactly when nextDue() runs it at its offset, for a year", async (t) => {
  const cases: [Schedule, number, string[]][] = [
    [at(["09:00", "17:30"], [0, 1, 2, 3, 4]), 7, ["7 9 * * 1-5", "37 17 * * 1-5"]],
    // Past midnight: Sunday's 23:45 runs on Monday.
    [at(["23:45"], [6]), 30, ["15 0 * * 1"]],
    [at(["08:00", "23:50"], [2]), 20, ["10 0 * * 4", "20 8 * * 3"]],
    [{ kind: "daily", hour: 23 }, 59, ["59 23 * * *"]],
    [{ kind: "daily", hour: 22 }, 100, ["40 23 * * *"]],
    [{ kind: "weekly", weekday: 6, hour: 23 }, 90, ["30 0 * * 1"]],
    [{ kind: "monthly", day: 27, hour: 23 }, 120, ["0 1 28 * *"]],
    [{ kind: "monthly", day: 1, hour: 0 }, 45, ["45 0 1 * *"]],
  ];
  for (const zone of ZONES) {
    for (const [schedule, offset, expected] of cases) {
      await t.step(`${JSON.stringify(schedule)} +${offset}m in ${zone}`, () => {
        const found = expressions(cronSchedules(schedule, offset));
        assert.deepEqual(found.map((item) => item.expression), expected);
        const cron = cronRuns(schedule, zone, TO, offset);
        assert.ok(cron.length >= 12, `${cron.length} firings`);
        assert.deepEqual(iso(runnerRuns(schedule, zone, cron[0]!, TO, offset)), iso(cron));
      });
    }
  }
});

Deno.test("a jittered every fires on its interval's UTC grid at the offset, where nextDue() runs it", async (t) => {
  const cases: [number, number, string][] = [
    [15, 7, "7,22,37,52 * * * *"],
    [60, 25, "25 * * * *"],
    [120, 50, "50 */2 * * *"],
    [360, 130, "10 2,8,14,20 * * *"],
    [1440, 90, "30 1 * * *"],
  ];
  for (const [minutes, offset, expected] of cases) {
    await t.step(`every ${minutes}m +${offset}m`, () => {
      const schedule: Schedule = { kind: "every", minutes };
      const { expression, utc } = expressions(cronSchedules(schedule, offset))[0]!;
      assert.deepEqual([expression, utc], [expected, true]);
      const to = FROM + 31 * DAY;
      const cron = cronInstants(expression, "Etc/UTC", FROM, to);
      assert.equal(cron.length, (to - FROM) / (minutes * MINUTE));
      for (let index = 1; index < cron.length; index++) {
        const [previous, current] = [cron[index - 1]!, cron[index]!];
        assert.equal(nextDue(schedule, previous, previous, "Europe/Amsterdam", offset), current);
      }
    });
  }
});

Deno.test("a jitter that carries a monthly day past 28 is refused, as the day itself would be", () => {
  const mapping = cronSchedules({ kind: "monthly", day: 28, hour: 23 }, 90);
  assert.equal(mapping.kind, "unmappable");
  const { field, reason } = mapping as Extract<CronMapping, { kind: "unmappable" }>;
  assert.equal(field, "jitter");
  assert.match(reason, /past midnight into day 29/);
  assert.equal(cronSchedules({ kind: "monthly", day: 28, hour: 22 }, 90).kind, "cron");
});
