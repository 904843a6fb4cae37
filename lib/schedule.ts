/**
 * The due rule: pure functions of (schedule, last run, now, time zone), and schedules and times as
 * people read them. Every wall-clock field is in the given IANA time zone; nothing here reads the
 * clock or the environment.
 */

import { type Schedule, WEEKDAY_NAMES } from "./config/job.ts";
import { LOCAL_TIME_ZONE, posixOffset } from "./time_zone.ts";

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

/**
 * launchd and systemd fire "every 5 minutes" with a few seconds' jitter, so a job that ran at
 * 10:00:03 would miss the 10:10:01 tick for `every 10m` and run every 15 minutes instead. An
 * interval counts as elapsed this much early: 5% of it, at most a minute.
 */
export function intervalGraceMs(intervalMs: number): number {
  return Math.min(MINUTE, intervalMs * 0.05);
}

/** The local wall-clock fields of an instant. `weekday` counts 0 = Monday. */
export interface LocalTime {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  second: number;
  weekday: number;
}

const QUARTER_HOUR = 15 * 60_000;
const formatters = new Map<string, Intl.DateTimeFormat>();
const offsets = new Map<string, number>();

/**
 * The offset from UTC (ms) in force at `instant`. For the local zone `Date` knows it at no cost;
 * for a named zone `Intl` is asked once per quarter hour (every offset change of our era falls on
 * one) and remembered, since formatting is the expensive part of evaluating thousands of jobs.
 */
function offsetAt(instant: number, timeZone: string): number {
  if (timeZone === LOCAL_TIME_ZONE) return -new Date(instant).getTimezoneOffset() * 60_000;
  if (timeZone.startsWith("posix:")) return posixOffset(timeZone, instant);
  const bucket = Math.floor(instant / QUARTER_HOUR) * QUARTER_HOUR;
  const key = `${timeZone}|${bucket}`;
  let offset = offsets.get(key);
  if (offset === undefined) {
    offset = intlOffset(bucket, timeZone);
    if (offsets.size > 50_000) offsets.clear();
    offsets.set(key, offset);
  }
  return offset;
}

function intlOffset(instant: number, timeZone: string): number {
  let format = formatters.get(timeZone);
  if (!format) {
    format = new Intl.DateTimeFormat("en-US", {
      timeZone,
      hourCycle: "h23",
      year: "numeric",
      month: "numeric",
      day: "numeric",
      hour: "numeric",
      minute: "numeric",
      second: "numeric",
    });
    formatters.set(timeZone, format);
  }
  const fields: Record<string, number> = {};
  for (const part of format.formatToParts(instant)) fields[part.type] = Number(part.value);
  const asUtc = Date.UTC(
    fields.year!,
    fields.month! - 1,
    fields.day!,
    fields.hour!,
    fields.minute!,
    fields.second!,
  );
  return asUtc - Math.floor(instant / 1000) * 1000;
}

/** The wall-clock fields of `instant` in time zone `timeZone` (an IANA name or LOCAL_TIME_ZONE). */
export function localTime(instant: number, timeZone: string): LocalTime {
  const wall = new Date(instant + offsetAt(instant, timeZone));
  return {
    year: wall.getUTCFullYear(),
    month: wall.getUTCMonth() + 1,
    day: wall.getUTCDate(),
    hour: wall.getUTCHours(),
    minute: wall.getUTCMinutes(),
    second: wall.getUTCSeconds(),
    weekday: (wall.getUTCDay() + 6) % 7,
  };
}

/**
 * The instant a local wall-clock time names. A time that occurs twice (clocks go back) is the
 * first one; a time that does not exist (clocks go forward) is taken with the offset from before
 * the change, i.e. as much later as the clocks jumped (02:30 becomes 03:30).
 */
export function instantOf(
  year: number,
  month: number,
  day: number,
  hour: number,
  minute: number,
  timeZone: string,
): number {
  const wall = Date.UTC(year, month - 1, day, hour, minute);
  const before = wall - offsetAt(wall - 12 * HOUR, timeZone);
  const after = wall - offsetAt(wall + 12 * HOUR, timeZone);
  const names = (instant: number) => {
    const local = localTime(instant, timeZone);
    return local.hour === hour && local.minute === minute && local.day === day;
  };
  const valid = [before, after].filter(names);
  return valid.length > 0 ? Math.min(...valid) : before;
}

/** Local calendar date `days` days after the given one, as [year, month, day]. */
function addDays(year: number, month: number, day: number, days: number): [number, number, number] {
  const date = new Date(Date.UTC(year, month - 1, day + days));
  return [date.getUTCFullYear(), date.getUTCMonth() + 1, date.getUTCDate()];
}

function daysInMonth(year: number, month: number): number {
  return new Date(Date.UTC(year, month, 0)).getUTCDate();
}

/** The minimum time between two runs, before the wall-clock condition is looked at. */
function minimumGap(schedule: Schedule): number {
  switch (schedule.kind) {
    case "every":
      return schedule.minutes * MINUTE - intervalGraceMs(schedule.minutes * MINUTE);
    case "hourly":
      return HOUR - intervalGraceMs(HOUR);
    case "daily":
      return 20 * HOUR;
    case "weekly":
      return 6 * DAY;
    case "monthly":
      return 25 * DAY;
    case "at":
    case "unscheduled":
      return 0;
  }
}

/** Whether the wall-clock condition of a legacy daily/weekly/monthly schedule holds at `now`. */
function wallClockAllows(schedule: Schedule, local: LocalTime): boolean {
  switch (schedule.kind) {
    case "daily":
      return local.hour >= schedule.hour;
    case "weekly":
      return local.weekday === schedule.weekday && local.hour >= schedule.hour;
    case "monthly": {
      const day = Math.min(schedule.day, daysInMonth(local.year, local.month));
      return local.day === day && local.hour >= schedule.hour;
    }
    default:
      return true;
  }
}

/**
 * The most recent occurrence of an `at` schedule at or before `now`, or null if there is none in
 * the last eight days (only possible with an empty weekday list).
 */
export function previousOccurrence(
  schedule: Extract<Schedule, { kind: "at" }>,
  now: number,
  timeZone: string,
): number | null {
  const today = localTime(now, timeZone);
  for (let back = 0; back <= 8; back++) {
    const [year, month, day] = addDays(today.year, today.month, today.day, -back);
    const weekday = (today.weekday - back % 7 + 7) % 7;
    if (schedule.weekdays && !schedule.weekdays.includes(weekday)) continue;
    for (const time of [...schedule.times].reverse()) {
      const [hour, minute] = time.split(":").map(Number) as [number, number];
      const instant = instantOf(year, month, day, hour, minute, timeZone);
      if (instant <= now) return instant;
    }
  }
  return null;
}

/** The first occurrence of an `at` schedule strictly after `after`. */
export function nextOccurrence(
  schedule: Extract<Schedule, { kind: "at" }>,
  after: number,
  timeZone: string,
): number | null {
  const start = localTime(after, timeZone);
  for (let ahead = 0; ahead <= 8; ahead++) {
    const [year, month, day] = addDays(start.year, start.month, start.day, ahead);
    const weekday = (start.weekday + ahead) % 7;
    if (schedule.weekdays && !schedule.weekdays.includes(weekday)) continue;
    for (const time of schedule.times) {
      const [hour, minute] = time.split(":").map(Number) as [number, number];
      const instant = instantOf(year, month, day, hour, minute, timeZone);
      if (instant > after) return instant;
    }
  }
  return null;
}

/**
 * Whether a job with this schedule is due at `now`, given the start of its last run (null when
 * it never ran). A job that never ran is due at once; an unscheduled job never is.
 */
export function isDue(
  schedule: Schedule,
  lastRun: number | null,
  now: number,
  timeZone: string,
): boolean {
  if (schedule.kind === "unscheduled") return false;
  if (lastRun === null) return true;
  if (schedule.kind === "at") {
    // Due when the last run is older than the most recent slot: a slot missed while the
    // machine slept runs once on wake, never twice and never not at all.
    const previous = previousOccurrence(schedule, now, timeZone);
    return previous !== null && lastRun < previous;
  }
  if (now - lastRun < minimumGap(schedule)) return false;
  const local = localTime(now, timeZone);
  return wallClockAllows(schedule, local) && newDay(schedule, local, lastRun, timeZone);
}

/**
 * A legacy daily job runs once a day: its last run must be before today's preferred hour. (The
 * 20-hour gap alone would let a job at 00:00-03:00 run again that evening, every 20 hours.)
 */
function newDay(schedule: Schedule, local: LocalTime, lastRun: number, timeZone: string): boolean {
  if (schedule.kind !== "daily") return true;
  return lastRun < instantOf(local.year, local.month, local.day, schedule.hour, 0, timeZone);
}

/**
 * The earliest instant at or after `now` at which the job is due, or null for an unscheduled
 * job. Equals `now` when the job is due now.
 */
export function nextDue(
  schedule: Schedule,
  lastRun: number | null,
  now: number,
  timeZone: string,
): number | null {
  if (schedule.kind === "unscheduled") return null;
  if (isDue(schedule, lastRun, now, timeZone)) return now;
  if (schedule.kind === "at") {
    return nextOccurrence(schedule, Math.max(now, lastRun ?? now), timeZone);
  }
  const earliest = Math.max(now, (lastRun ?? now) + minimumGap(schedule));
  if (schedule.kind === "every" || schedule.kind === "hourly") return earliest;
  // Legacy daily/weekly/monthly: the first day from `earliest` on whose wall-clock condition
  // holds, at the preferred hour (or `earliest` itself when that is later that day).
  const start = localTime(earliest, timeZone);
  for (let ahead = 0; ahead <= 62; ahead++) {
    const [year, month, day] = addDays(start.year, start.month, start.day, ahead);
    const candidate = Math.max(earliest, instantOf(year, month, day, schedule.hour, 0, timeZone));
    const local = localTime(candidate, timeZone);
    if (
      wallClockAllows(schedule, local) && newDay(schedule, local, lastRun ?? -Infinity, timeZone)
    ) {
      return candidate;
    }
  }
  return null;
}

/** A schedule as a person writes it: `every 10m`, `at 09:00,17:30 mon,wed`, `daily 06:00`. */
export function describeSchedule(schedule: Schedule): string {
  const hour = (value: number) => `${String(value).padStart(2, "0")}:00`;
  switch (schedule.kind) {
    case "every":
      return `every ${describeMinutes(schedule.minutes)}`;
    case "at":
      return `at ${schedule.times.join(",")}${
        schedule.weekdays ? ` ${schedule.weekdays.map((day) => WEEKDAY_NAMES[day]).join(",")}` : ""
      }`;
    case "hourly":
      return "hourly";
    case "daily":
      return `daily ${hour(schedule.hour)}`;
    case "weekly":
      return `weekly ${WEEKDAY_NAMES[schedule.weekday]} ${hour(schedule.hour)}`;
    case "monthly":
      return `monthly day ${schedule.day} ${hour(schedule.hour)}`;
    case "unscheduled":
      return "unscheduled";
  }
}

function describeMinutes(minutes: number): string {
  if (minutes % 1440 === 0) return `${minutes / 1440}d`;
  if (minutes % 60 === 0) return `${minutes / 60}h`;
  return `${minutes}m`;
}

/** A span of time, rounded for reading: `45 s`, `3 min`, `2 h 5 min`, `3 d`. */
export function describeSpan(ms: number): string {
  const seconds = Math.round(Math.abs(ms) / 1000);
  if (seconds < 60) return `${seconds} s`;
  const minutes = Math.round(seconds / 60);
  if (minutes < 60) return `${minutes} min`;
  const hours = Math.floor(minutes / 60);
  if (hours < 48) return minutes % 60 ? `${hours} h ${minutes % 60} min` : `${hours} h`;
  return `${Math.round(hours / 24)} d`;
}

/** A local date and time, `2026-11-26 07:40`, in the given time zone. */
export function formatLocal(instant: number, timeZone: string): string {
  const local = localTime(instant, timeZone);
  const pad = (value: number) => String(value).padStart(2, "0");
  return `${local.year}-${pad(local.month)}-${pad(local.day)} ${pad(local.hour)}:${
    pad(local.minute)
  }`;
}
