/**
 * Where a CronJob and the runner part ways: a firing time inside the hour a zone's clocks skip or
 * repeat. Kubernetes fires at every instant whose wall clock matches, so it skips a time that does
 * not occur and fires twice at one that occurs twice; the runner runs the first late and the
 * second once (docs/project/design/architecture/jobs-runner.md, "Schedules"). Pure.
 */

import { localTime } from "../schedule.ts";
import { type CronFields, firesAt } from "./cron_expression.ts";

/** A wall-clock firing time on a day the zone's clocks change through it. */
export interface ClockChangeFiring {
  /** The local date, `2027-03-28`. */
  date: string;
  /** The local time, `02:30`. */
  time: string;
  /** `skipped`: the clocks jump over it; `repeated`: it occurs twice. */
  change: "skipped" | "repeated";
}

const MINUTE = 60_000;
const DAY = 24 * 60 * MINUTE;

/** The firings of `fields` in `timeZone` that a clock change skips or repeats in the coming days. */
export function clockChangeFirings(
  fields: CronFields,
  timeZone: string,
  from: number,
  days = 366,
): ClockChangeFiring[] {
  const found: ClockChangeFiring[] = [];
  const start = Math.floor(from / MINUTE) * MINUTE;
  for (let day = start; day < start + days * DAY; day += DAY) {
    const before = utcOffset(day, timeZone);
    const after = utcOffset(day + DAY, timeZone);
    if (before === after) continue;
    const change = firstMinuteWithOffset(day, day + DAY, before, timeZone);
    // The wall-clock minutes between the old and the new offset occur never, or twice.
    const kind = after > before ? "skipped" : "repeated";
    for (let wall = change + Math.min(before, after); wall < change + Math.max(before, after);) {
      const date = new Date(wall);
      if (firesAt(fields, date)) {
        const iso = date.toISOString();
        found.push({ date: iso.slice(0, 10), time: iso.slice(11, 16), change: kind });
      }
      wall += MINUTE;
    }
  }
  return found;
}

/** The offset east of UTC (ms) in force at `instant`. */
function utcOffset(instant: number, timeZone: string): number {
  const local = localTime(instant, timeZone);
  const wall = Date.UTC(local.year, local.month - 1, local.day, local.hour, local.minute);
  return wall - Math.floor(instant / MINUTE) * MINUTE;
}

/** The first minute in (low, high] whose offset is no longer `before` (low has it, high not). */
function firstMinuteWithOffset(low: number, high: number, before: number, zone: string): number {
  while (high - low > MINUTE) {
    const middle = low + Math.floor((high - low) / 2 / MINUTE) * MINUTE;
    if (utcOffset(middle, zone) === before) low = middle;
    else high = middle;
  }
  return high;
}
