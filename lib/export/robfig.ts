/**
 * When the Kubernetes CronJob controller fires: `SpecSchedule.Next` of robfig/cron v3.0.1
 * (spec.go), the function kube-controller-manager computes every firing with, ported line by line
 * with Go's `time` semantics. The controller parses a CronJob as `TZ=<spec.timeZone> <schedule>`
 * with `cron.ParseStandard` (second 0) and fires at `Next(last firing)`, again and again
 * (pkg/controller/cronjob/utils.go, `mostRecentScheduleTime`). Next steps hours with
 * `t.Add(time.Hour)` and days with `AddDate`, which a clock change can throw off: in a zone whose
 * clocks change by 30 minutes it steps over a firing, or stops at a time the schedule does not
 * name; at a change at midnight it can miss a day; and where it finds the same instant again the
 * controller refuses the schedule for good ("time difference between two schedules is less than
 * 1 second"). Those quirks are what a cluster does, so they are kept. Checked against the real
 * library by tests/export/robfig_test.ts. Pure (the zone's offsets come from `zone_offsets.ts`).
 */

import type { LocalTime } from "../schedule.ts";
import type { CronFields } from "./cron_expression.ts";
import type { ZoneOffsets } from "./zone_offsets.ts";

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

/** A cron schedule as robfig/cron holds it: each field's values, and whether a day field is `*`. */
interface SpecSchedule {
  minute: Set<number>;
  hour: Set<number>;
  dayOfMonth: Set<number>;
  month: Set<number>;
  dayOfWeek: Set<number>;
  anyDayOfMonth: boolean;
  anyDayOfWeek: boolean;
}

function range(first: number, last: number): number[] {
  return Array.from({ length: last - first + 1 }, (_, index) => first + index);
}

/** The schedule robfig parses from `cronExpression(fields)` (a day list is never `*` to it). */
function specSchedule(fields: CronFields): SpecSchedule {
  return {
    minute: new Set(fields.minute),
    hour: new Set(fields.hour ?? range(0, 23)),
    dayOfMonth: new Set(fields.dayOfMonth ?? range(1, 31)),
    month: new Set(fields.month ?? range(1, 12)),
    dayOfWeek: new Set(fields.dayOfWeek ?? range(0, 6)),
    anyDayOfMonth: fields.dayOfMonth === null,
    anyDayOfWeek: fields.dayOfWeek === null,
  };
}

/** The calendar date of the last local day asked for: `Next` asks of the same day many times. */
let lastDay = { number: NaN, year: 0, month: 0, day: 0, weekday: 0 };

/** Go's `t.In(zone)` fields; the weekday as Go counts it, 0 = Sunday. */
function clock(instant: number, zone: ZoneOffsets): LocalTime {
  const local = instant + zone.offsetAt(instant);
  const number = Math.floor(local / DAY);
  if (number !== lastDay.number) {
    const date = new Date(number * DAY);
    lastDay = {
      number,
      year: date.getUTCFullYear(),
      month: date.getUTCMonth() + 1,
      day: date.getUTCDate(),
      weekday: date.getUTCDay(),
    };
  }
  const ofDay = local - number * DAY;
  return {
    year: lastDay.year,
    month: lastDay.month,
    day: lastDay.day,
    hour: Math.floor(ofDay / HOUR),
    minute: Math.floor(ofDay / MINUTE) % 60,
    second: Math.floor(ofDay / SECOND) % 60,
    weekday: lastDay.weekday,
  };
}

/**
 * Go's `time.Date(year, month, day, hour, minute, second, 0, zone)`: fields out of range roll
 * over; the wall time's offset is looked up at the wall time read as UTC, then, unless that is
 * zero, again at the instant it gives. So a wall time the clocks skip, or repeat, lands where
 * Go's lookup puts it (a repeated 02:30 in Europe/Amsterdam is the second one, CET).
 */
function goDate(
  zone: ZoneOffsets,
  ...fields: [number, number, number, number, number, number]
): number {
  const [year, month, day, hour, minute, second] = fields;
  const wall = Date.UTC(year, month - 1, day, hour, minute, second);
  const first = zone.offsetAt(wall);
  return first === 0 ? wall : wall - zone.offsetAt(wall - first);
}

/** Go's `t.AddDate(0, months, days)`: on the wall clock, then back through `time.Date`. */
function addDate(instant: number, zone: ZoneOffsets, months: number, days: number): number {
  const now = clock(instant, zone);
  return goDate(
    zone,
    now.year,
    now.month + months,
    now.day + days,
    now.hour,
    now.minute,
    now.second,
  );
}

function dayMatches(schedule: SpecSchedule, now: LocalTime): boolean {
  const byMonthDay = schedule.dayOfMonth.has(now.day);
  const byWeekday = schedule.dayOfWeek.has(now.weekday);
  return schedule.anyDayOfMonth || schedule.anyDayOfWeek
    ? byMonthDay && byWeekday
    : byMonthDay || byWeekday;
}

/**
 * `SpecSchedule.Next(from)`: the first instant after `from` (whole seconds) that robfig finds;
 * null when it finds none within five years.
 */
function next(schedule: SpecSchedule, zone: ZoneOffsets, from: number): number | null {
  let t = Math.floor(from / SECOND) * SECOND + SECOND;
  let added = false;
  const yearLimit = clock(t, zone).year + 5;
  wrap: while (true) {
    let now = clock(t, zone);
    if (now.year > yearLimit) return null;
    while (!schedule.month.has(now.month)) {
      if (!added) [added, t] = [true, goDate(zone, now.year, now.month, 1, 0, 0, 0)];
      t = addDate(t, zone, 1, 0);
      now = clock(t, zone);
      if (now.month === 1) continue wrap;
    }
    while (!dayMatches(schedule, now)) {
      if (!added) [added, t] = [true, goDate(zone, now.year, now.month, now.day, 0, 0, 0)];
      t = addDate(t, zone, 0, 1);
      now = clock(t, zone);
      // robfig's own fix for a midnight a clock change moved: back to 0:00, or on to the next.
      if (now.hour !== 0) {
        t += (now.hour > 12 ? 24 - now.hour : -now.hour) * HOUR;
        now = clock(t, zone);
      }
      if (now.day === 1) continue wrap;
    }
    while (!schedule.hour.has(now.hour)) {
      if (!added) [added, t] = [true, goDate(zone, now.year, now.month, now.day, now.hour, 0, 0)];
      t += HOUR;
      now = clock(t, zone);
      if (now.hour === 0) continue wrap;
    }
    while (!schedule.minute.has(now.minute)) {
      if (!added) [added, t] = [true, Math.floor(t / MINUTE) * MINUTE];
      t += MINUTE;
      now = clock(t, zone);
      if (now.minute === 0) continue wrap;
    }
    // The standard parser fires at second 0 only: robfig steps to the next whole minute (every
    // offset is whole minutes, so that is second 0 locally too) and starts over.
    if (now.second !== 0) {
      [added, t] = [true, t + (60 - now.second) * SECOND];
      continue wrap;
    }
    return t;
  }
}

/** The firings a CronJob's controller makes, and whether it stops making them. */
export interface ControllerFirings {
  /** Each firing in the window, in order. */
  firings: number[];
  /**
   * The firing whose `Next` is itself: the controller refuses the schedule there ("time
   * difference between two schedules is less than 1 second"), neither starting it nor any
   * after, until the CronJob changes. Null: it fires on through the window.
   */
  stall: number | null;
}

/**
 * The instants the controller fires a CronJob of `fields` at within [from, to), in the zone of
 * `zone` (its offsets known over the window and a little after): each one `Next` of the one
 * before, as the controller does with the CronJob's last schedule time.
 */
export function controllerFirings(
  fields: CronFields,
  zone: ZoneOffsets,
  from: number,
  to: number,
): ControllerFirings {
  const schedule = specSchedule(fields);
  const firings: number[] = [];
  let last = from - SECOND;
  while (true) {
    const firing = next(schedule, zone, last);
    if (firing === null || firing >= to) return { firings, stall: null };
    // Next(S) = S: the controller, finding no time between S and the one after, refuses the
    // schedule before it starts S.
    if (firing <= last) return { firings: firings.slice(0, -1), stall: firing };
    firings.push(firing);
    last = firing;
  }
}
