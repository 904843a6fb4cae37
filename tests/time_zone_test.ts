import assert from "node:assert/strict";
import {
  LOCAL_TIME_ZONE,
  parsePosixZone,
  posixOffset,
  runnerTimeZone,
  zoneName,
} from "../lib/time_zone.ts";
import { isDue, localTime } from "../lib/schedule.ts";

/** The offset (ms east of UTC) `Intl` gives a named zone at an instant. */
const formats = new Map<string, Intl.DateTimeFormat>();

function intlOffset(zone: string, instant: number): number {
  const format = formats.get(zone) ?? new Intl.DateTimeFormat("en-US", {
    timeZone: zone,
    hourCycle: "h23",
    year: "numeric",
    month: "numeric",
    day: "numeric",
    hour: "numeric",
    minute: "numeric",
    second: "numeric",
  });
  formats.set(zone, format);
  const parts: Record<string, number> = {};
  for (const part of format.formatToParts(instant)) parts[part.type] = Number(part.value);
  const wall = Date.UTC(
    parts.year!,
    parts.month! - 1,
    parts.day!,
    parts.hour!,
    parts.minute!,
    parts.second!,
  );
  return wall - Math.floor(instant / 1000) * 1000;
}

Deno.test("posixOffset() agrees with the zoneinfo zone a POSIX rule describes, every quarter hour of a year", () => {
  for (
    const [rule, zone] of [
      ["CET-1CEST,M3.5.0,M10.5.0/3", "Europe/Berlin"],
      ["EST5EDT,M3.2.0,M11.1.0", "America/New_York"],
      ["AEST-10AEDT,M10.1.0,M4.1.0/3", "Australia/Sydney"],
      ["<+0530>-5:30", "Asia/Kolkata"],
    ] as const
  ) {
    const mismatches: string[] = [];
    for (let t = Date.UTC(2026, 0, 1); t < Date.UTC(2027, 0, 1); t += 15 * 60_000) {
      if (posixOffset(`posix:${rule}`, t) !== intlOffset(zone, t)) {
        mismatches.push(new Date(t).toISOString());
      }
    }
    assert.deepEqual(mismatches.slice(0, 3), [], `${rule} vs ${zone}`);
  }
});

Deno.test("parsePosixZone() reads the forms the C library does, and refuses what is none", () => {
  assert.deepEqual(parsePosixZone("<+1030>-10:30"), { standard: 37_800_000, daylight: null });
  assert.deepEqual(parsePosixZone("UTC0"), { standard: 0, daylight: null });
  assert.equal(parsePosixZone("EST5EDT")?.daylight?.start.month, 3, "the US rule by default");
  for (const text of ["Foo/Bar", "", "CET", "CET-1CEST,J60,J300", "X-1Y,M13.1.0,M1.1.0"]) {
    assert.equal(parsePosixZone(text), null, text);
  }
});

Deno.test("runnerTimeZone(): zoneinfo names and POSIX rules are honoured; anything else is said", () => {
  assert.deepEqual(runnerTimeZone(undefined), { zone: LOCAL_TIME_ZONE, note: null });
  assert.deepEqual(runnerTimeZone("UTC"), { zone: LOCAL_TIME_ZONE, note: null });
  assert.deepEqual(runnerTimeZone(":UTC"), { zone: LOCAL_TIME_ZONE, note: null });
  assert.deepEqual(runnerTimeZone("<+1030>-10:30"), { zone: "posix:<+1030>-10:30", note: null });
  const wrong = runnerTimeZone("Foo/Bar");
  assert.match(wrong.note!, /^TZ="Foo\/Bar" is not a time zone .*schedules use /);
  // A name that climbs out of the zoneinfo folder is no zone either.
  assert.notEqual(runnerTimeZone("../../etc/passwd").note, null);
  assert.equal(zoneName({ zone: "posix:<+1030>-10:30", note: null }), "TZ=<+1030>-10:30");
});

Deno.test("schedules follow a POSIX TZ: an at-slot is due at its local time in that zone", () => {
  const zone = "posix:<+1030>-10:30";
  const schedule = { kind: "at" as const, times: ["09:00"], weekdays: null };
  // 09:00 at +10:30 is 22:30 UTC the day before.
  const slot = Date.UTC(2026, 10, 25, 22, 30);
  assert.equal(isDue(schedule, slot - 3600_000, slot - 60_000, zone), false);
  assert.equal(isDue(schedule, slot - 3600_000, slot + 60_000, zone), true);
  assert.equal(localTime(slot, zone).hour, 9);
});
