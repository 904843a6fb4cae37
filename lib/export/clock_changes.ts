/**
 * Where a CronJob and the runner part ways in a zone whose clocks change. The runner runs every
 * time of a schedule once: one the clocks skip late, one they repeat the first time
 * (docs/project/design/architecture/jobs-runner.md, "Schedules"). The controller fires where
 * robfig/cron's `Next` takes it (`robfig.ts`): never at a time the clocks skip, twice at one they
 * repeat, and, since `Next` steps hours by adding one, past a firing or at a time not in the
 * schedule after a change that is not a whole hour (Australia/Lord_Howe), or a day off after one
 * at midnight. Each difference in the coming year is found by walking both, firing by firing.
 * Pure.
 */

import { type CronFields, firesAt } from "./cron_expression.ts";
import { controllerFirings } from "./robfig.ts";
import { ZoneOffsets } from "./zone_offsets.ts";

/** A firing on which the CronJob and the runner differ, at a local date and time. */
export interface ClockChangeFiring {
  /** The local date, `2027-03-28`. */
  date: string;
  /** The local time, `02:30`. */
  time: string;
  /**
   * `skipped`: the clocks jump over it (the controller never fires it, the runner late);
   * `repeated`: it occurs twice and the controller fires both; `dropped`: the controller steps
   * over it; `later`: the controller fires only its second occurrence; `extra`: the controller
   * fires at a time the schedule does not name; `stops`: the controller's `Next` gives this time
   * back again, and the controller refuses the schedule from then on.
   */
  change: "skipped" | "repeated" | "dropped" | "later" | "extra" | "stops";
}

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
/** How far past the window `Next` may look for a firing: a day of the month recurs in 31 days. */
const LOOKAHEAD = 32 * DAY;

/** The offsets of `timeZone` over the coming `days` from `from`, as the walks below need them. */
export function zoneOffsets(timeZone: string, from: number, days = 366): ZoneOffsets {
  return new ZoneOffsets(timeZone, from - DAY, from + days * DAY + LOOKAHEAD);
}

/** The largest change of the zone's clocks in the coming `days`, in minutes (0: none). */
export function largestClockChange(zone: ZoneOffsets): number {
  return Math.max(0, ...zone.changes.map((change) => Math.abs(change.after - change.before))) /
    MINUTE;
}

/** The firings of `fields` on which the controller and the runner differ in [from, from + days). */
export function clockChangeFirings(
  fields: CronFields,
  zone: ZoneOffsets,
  from: number,
  days = 366,
): ClockChangeFiring[] {
  const to = from + days * DAY;
  if (!zone.changes.some((change) => change.at >= from - DAY && change.at < to + DAY)) return [];
  const controller = controllerFirings(fields, zone, from, to);
  const end = controller.stall ?? to;
  const fired = new Map<string, number[]>();
  for (const firing of controller.firings) {
    const key = wallKey(firing, zone);
    fired.set(key, [...fired.get(key) ?? [], firing]);
  }
  const found: ClockChangeFiring[] = [];
  const add = (key: string, change: ClockChangeFiring["change"]) =>
    found.push({ date: key.slice(0, 10), time: key.slice(11, 16), change });
  for (const wall of scheduledWalls(fields, zone, from, end)) {
    const key = new Date(wall).toISOString();
    const occurrences = instantsOf(wall, zone);
    const times = fired.get(key) ?? [];
    fired.delete(key);
    if (occurrences.length === 0) add(key, "skipped");
    else if (times.length === 0) add(key, "dropped");
    else if (times.length > 1) add(key, "repeated");
    else if (times[0] !== occurrences[0]) add(key, "later");
  }
  for (const [key, times] of fired) for (const _ of times) add(key, "extra");
  if (controller.stall !== null) add(wallKey(controller.stall, zone), "stops");
  const order = (firing: ClockChangeFiring) => `${firing.date} ${firing.time}`;
  return found.sort((a, b) => order(a) < order(b) ? -1 : order(a) > order(b) ? 1 : 0);
}

/** An instant's wall-clock time in the zone, as an ISO string of a UTC date holding it. */
function wallKey(instant: number, zone: ZoneOffsets): string {
  return new Date(instant + zone.offsetAt(instant)).toISOString();
}

/**
 * Every wall-clock time (ms of a UTC date holding it) the fields name that falls within
 * [from, to), read with the offset in force before it (a time that occurs twice by its first
 * occurrence, one that does not occur as if the clocks had not changed yet).
 */
function scheduledWalls(fields: CronFields, zone: ZoneOffsets, from: number, to: number): number[] {
  const walls: number[] = [];
  const firstDay = Math.floor((from + zone.offsetAt(from)) / DAY) * DAY;
  for (let day = firstDay; day < to + zone.offsetAt(to) + DAY; day += DAY) {
    for (const hour of fields.hour ?? Array.from({ length: 24 }, (_, index) => index)) {
      for (const minute of fields.minute) {
        const wall = day + hour * HOUR + minute * MINUTE;
        if (!firesAt(fields, new Date(wall))) continue;
        const instant = wall - zone.offsetAt(wall - 14 * HOUR);
        if (instant >= from && instant < to) walls.push(wall);
      }
    }
  }
  return walls;
}

/** The instants a wall-clock time occurs at, in order: none, one, or two (the clocks go back). */
function instantsOf(wall: number, zone: ZoneOffsets): number[] {
  // Offsets run from -12 to +14 hours: the instant is within that of the wall clock read as UTC.
  const [low, high] = [wall - 14 * HOUR, wall + 12 * HOUR];
  const offsets = new Set([
    zone.offsetAt(low),
    ...zone.changes.filter((change) => change.at > low && change.at <= high)
      .map((change) => change.after),
  ]);
  return [...offsets].map((offset) => wall - offset)
    .filter((instant) => zone.offsetAt(instant) === wall - instant)
    .sort((a, b) => a - b);
}
