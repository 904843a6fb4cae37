/**
 * The due rule: pure functions of (schedule, last run, now, time zone, jitter offset), and
 * schedules and times as people read them. Every wall-clock field is in the given IANA time zone;
 * nothing here reads the clock or the environment.
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
  return instantOfWall(Date.UTC(year, month - 1, day, hour, minute), timeZone);
}

/**
 * Wall-clock times are handled as "wall" numbers: the milliseconds of a UTC clock that shows the
 * local time (`Date.UTC` of its fields). Adding to one moves the wall clock, a day always 24 hours
 * there; `instantOfWall` turns it back into an instant, with `instantOf`'s rules for the hours a
 * clock change skips or repeats. Plain numbers: the schedules of every job are read on every tick.
 */
function wallOf(instant: number, timeZone: string): number {
  return instant + offsetAt(instant, timeZone);
}

function instantOfWall(wall: number, timeZone: string): number {
  const before = wall - offsetAt(wall - 12 * HOUR, timeZone);
  const after = wall - offsetAt(wall + 12 * HOUR, timeZone);
  // No clock change within 12 hours either side: the one instant there is (the common case).
  if (before === after) return before;
  const names = (instant: number) => wallOf(instant, timeZone) === wall;
  if (names(before)) return names(after) ? Math.min(before, after) : before;
  return names(after) ? after : before;
}

function daysInMonth(year: number, month: number): number {
  return new Date(Date.UTC(year, month, 0)).getUTCDate();
}

/** A schedule whose slots are wall-clock times: `at` and the legacy daily, weekly and monthly. */
export type ClockSchedule = Extract<Schedule, { kind: "at" | "daily" | "weekly" | "monthly" }>;

/** Whether a schedule runs at wall-clock slots (a job that never ran waits for the first one). */
export function isClockTime(schedule: Schedule): schedule is ClockSchedule {
  return schedule.kind === "at" || schedule.kind === "daily" || schedule.kind === "weekly" ||
    schedule.kind === "monthly";
}

function minutesOfDay(time: string): number {
  return Number(time.slice(0, 2)) * 60 + Number(time.slice(3, 5));
}

/** The minutes of the day of a clock-time schedule's slots, earliest first. */
function slotMinutes(schedule: ClockSchedule): number[] {
  return schedule.kind === "at" ? schedule.times.map(minutesOfDay) : [schedule.hour * 60];
}

/**
 * Whether a clock-time schedule has slots on a local date (days since the epoch; 1970-01-01 was a
 * Thursday). A monthly schedule's days come from `monthlyDays` instead.
 */
function hasSlots(schedule: ClockSchedule, day: number): boolean {
  const weekday = ((day + 3) % 7 + 7) % 7;
  if (schedule.kind === "weekly") return weekday === schedule.weekday;
  return schedule.kind !== "at" || schedule.weekdays === null ||
    schedule.weekdays.includes(weekday);
}

/**
 * A monthly schedule's dates (days since the epoch) in the month of `day` and the three before
 * (`step` -1) or after (1) it, nearest first: the day it names, or the month's last when shorter.
 */
function monthlyDays(schedule: Extract<Schedule, { kind: "monthly" }>, day: number, step: 1 | -1) {
  const date = new Date(day * DAY);
  const days: number[] = [];
  for (let k = 0; k < 4; k++) {
    const first = Date.UTC(date.getUTCFullYear(), date.getUTCMonth() + step * k, 1);
    const month = new Date(first);
    const last = daysInMonth(month.getUTCFullYear(), month.getUTCMonth() + 1);
    days.push(first / DAY + Math.min(schedule.day, last) - 1);
  }
  return days;
}

/** How many dates are searched for a slot: a week and a bit, or four months for monthly. */
const SEARCH_DAYS = 10;

/** A clock change moves no wall time further than this: walls past it need no instant. */
const CLOCK_CHANGE_SLACK = 3 * HOUR;

/**
 * The most recent slot of a clock-time schedule at or before `now`, shifted by the job's jitter
 * offset (minutes of wall clock), or null if there is none in the days searched (only an `at`
 * with no weekday left could have none).
 */
function previousSlot(
  schedule: ClockSchedule,
  now: number,
  timeZone: string,
  offsetMinutes = 0,
): number | null {
  const shift = offsetMinutes * MINUTE;
  const wallNow = wallOf(now, timeZone);
  const minutes = slotMinutes(schedule);
  // The local date of the latest slot that could have come, and one more for a clock change.
  const first = Math.floor((wallNow - shift) / DAY) + 1;
  const months = schedule.kind === "monthly" ? monthlyDays(schedule, first, -1) : null;
  for (let k = 0; k < (months?.length ?? SEARCH_DAYS); k++) {
    const day = months ? months[k]! : first - k;
    if (!months && !hasSlots(schedule, day)) continue;
    for (let index = minutes.length - 1; index >= 0; index--) {
      const wall = day * DAY + minutes[index]! * MINUTE + shift;
      if (wall > wallNow + CLOCK_CHANGE_SLACK) continue;
      const instant = instantOfWall(wall, timeZone);
      if (instant <= now) return instant;
    }
  }
  return null;
}

/** The first slot of a clock-time schedule strictly after `after`, shifted by the offset. */
function nextSlot(
  schedule: ClockSchedule,
  after: number,
  timeZone: string,
  offsetMinutes = 0,
): number | null {
  const shift = offsetMinutes * MINUTE;
  const wallAfter = wallOf(after, timeZone);
  const minutes = slotMinutes(schedule);
  const first = Math.floor((wallAfter - shift) / DAY) - 1;
  const months = schedule.kind === "monthly" ? monthlyDays(schedule, first, 1) : null;
  for (let k = 0; k < (months?.length ?? SEARCH_DAYS); k++) {
    const day = months ? months[k]! : first + k;
    if (!months && !hasSlots(schedule, day)) continue;
    for (const minute of minutes) {
      const wall = day * DAY + minute * MINUTE + shift;
      if (wall < wallAfter - CLOCK_CHANGE_SLACK) continue;
      const instant = instantOfWall(wall, timeZone);
      if (instant > after) return instant;
    }
  }
  return null;
}

/** The interval of an `every` or `hourly` schedule, in minutes. */
function intervalMinutes(schedule: Extract<Schedule, { kind: "every" | "hourly" }>): number {
  return schedule.kind === "every" ? schedule.minutes : 60;
}

/**
 * The latest point at or before `now` of a jittered interval's grid: every interval since the
 * Unix epoch (so an interval that divides the day falls on the same UTC times each day), moved
 * by the job's offset.
 */
function gridPoint(now: number, minutes: number, offsetMinutes: number): number {
  const [interval, offset] = [minutes * MINUTE, offsetMinutes * MINUTE];
  return Math.floor((now - offset) / interval) * interval + offset;
}

/**
 * Whether a job with this schedule is due at `now`. `lastRun` is the start of its last run; for a
 * clock-time job that never ran, when the runner first saw it (null: not yet). `offsetMinutes` is
 * its jitter offset (`jitterOffset`), null when it has no jitter.
 *
 * - Clock-time (`at`, daily, weekly, monthly): due when `lastRun` is older than the most recent
 *   slot: once per slot, at the first tick at or after it; a slot missed while the machine slept
 *   runs once on wake. A job that never ran waits for its first slot.
 * - `every`, hourly: due when the interval has passed since the last run (less `intervalGraceMs`);
 *   with a jitter, at each point of the interval's grid (`gridPoint`) instead, so its phase stays
 *   fixed. A job that never ran is due at once.
 * - An unscheduled job never is.
 */
export function isDue(
  schedule: Schedule,
  lastRun: number | null,
  now: number,
  timeZone: string,
  offsetMinutes: number | null = null,
): boolean {
  if (schedule.kind === "unscheduled") return false;
  if (isClockTime(schedule)) {
    if (lastRun === null) return false;
    const previous = previousSlot(schedule, now, timeZone, offsetMinutes ?? 0);
    return previous !== null && lastRun < previous;
  }
  if (lastRun === null) return true;
  const interval = intervalMinutes(schedule) * MINUTE;
  if (offsetMinutes === null) return now - lastRun >= interval - intervalGraceMs(interval);
  return lastRun < gridPoint(now, intervalMinutes(schedule), offsetMinutes);
}

/**
 * The earliest instant at or after `now` at which the job is due (arguments as `isDue`), or null
 * for an unscheduled job. Equals `now` when the job is due now.
 */
export function nextDue(
  schedule: Schedule,
  lastRun: number | null,
  now: number,
  timeZone: string,
  offsetMinutes: number | null = null,
): number | null {
  if (schedule.kind === "unscheduled") return null;
  if (isDue(schedule, lastRun, now, timeZone, offsetMinutes)) return now;
  if (isClockTime(schedule)) {
    return nextSlot(schedule, Math.max(now, lastRun ?? now), timeZone, offsetMinutes ?? 0);
  }
  const minutes = intervalMinutes(schedule);
  if (offsetMinutes !== null) return gridPoint(now, minutes, offsetMinutes) + minutes * MINUTE;
  return Math.max(now, lastRun! + minutes * MINUTE - intervalGraceMs(minutes * MINUTE));
}

/**
 * The shortest time between two slots of a schedule, in minutes: what a jitter must stay below,
 * so a jittered slot never reaches the next one. Null for an unscheduled job (it has no slots).
 */
export function periodMinutes(schedule: Schedule): number | null {
  switch (schedule.kind) {
    case "every":
      return schedule.minutes;
    case "hourly":
      return 60;
    case "daily":
      return 1440;
    case "weekly":
      return 7 * 1440;
    case "monthly":
      // February's slot to March's: 28 days at the least.
      return 28 * 1440;
    case "at": {
      const days = schedule.weekdays ?? [0, 1, 2, 3, 4, 5, 6];
      const slots = days.flatMap((day) =>
        schedule.times.map((time) => day * 1440 + minutesOfDay(time))
      )
        .sort((a, b) => a - b);
      let shortest = slots[0]! + 7 * 1440 - slots.at(-1)!;
      for (let index = 1; index < slots.length; index++) {
        shortest = Math.min(shortest, slots[index]! - slots[index - 1]!);
      }
      return shortest;
    }
    case "unscheduled":
      return null;
  }
}

/**
 * A job's fixed jitter offset on one computer, in whole minutes within [0, jitter): a hash of the
 * job's name and the computer's (as `computer.ts` compares them), the same on every tick, as
 * systemd's `FixedRandomDelay`. Null when the job has no jitter.
 */
export function jitterOffset(job: string, computer: string, jitterMinutes: number): number | null {
  if (jitterMinutes <= 0) return null;
  const text = `${job}\u0000${computer}`;
  // FNV-1a, then murmur3's finaliser so that the low bits a small modulus keeps are mixed.
  let hash = 0x811c9dc5;
  for (let index = 0; index < text.length; index++) {
    hash = Math.imul(hash ^ text.charCodeAt(index), 0x01000193);
  }
  hash = Math.imul(hash ^ (hash >>> 16), 0x85ebca6b);
  hash = Math.imul(hash ^ (hash >>> 13), 0xc2b2ae35);
  return ((hash ^ (hash >>> 16)) >>> 0) % jitterMinutes;
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

/** A duration in minutes as the config writes one: `45m`, `2h`, `1d`. */
export function describeMinutes(minutes: number): string {
  if (minutes === 0) return "0m";
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
