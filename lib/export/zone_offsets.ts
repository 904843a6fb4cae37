/**
 * A zone's UTC offsets over a window of time, and the instants they change at: found once (a
 * sample a day, each change then narrowed to the minute), then looked up quickly, for the export's
 * walks over a year of firings. Pure (the offsets come from `schedule.ts`).
 */

import { localTime } from "../schedule.ts";

const MINUTE = 60_000;
const DAY = 24 * 60 * MINUTE;

/** The clocks of a zone changing: at `at`, from `before` to `after` (ms east of UTC). */
export interface OffsetChange {
  at: number;
  before: number;
  after: number;
}

/** A zone's offsets within [from, to), and its changes there in order. */
export class ZoneOffsets {
  readonly changes: OffsetChange[];
  readonly #first: number;

  constructor(readonly zone: string, readonly from: number, readonly to: number) {
    this.changes = [];
    const start = Math.floor(from / MINUTE) * MINUTE;
    this.#first = intlOffset(start, zone);
    let before = this.#first;
    for (let day = start; day < to; day += DAY) {
      const end = Math.min(day + DAY, Math.ceil(to / MINUTE) * MINUTE);
      const after = intlOffset(end, zone);
      if (after === before) continue;
      const at = firstMinuteWithout(day, end, before, zone);
      this.changes.push({ at, before, after: intlOffset(at, zone) });
      before = after;
    }
  }

  /** The offset east of UTC (ms) at `instant`; outside the window, asked of the zone itself. */
  offsetAt(instant: number): number {
    if (instant < this.from || instant >= this.to) return intlOffset(instant, this.zone);
    let offset = this.#first;
    for (const change of this.changes) {
      if (change.at > instant) break;
      offset = change.after;
    }
    return offset;
  }
}

/** The offset east of UTC (ms) in force at `instant`, to the second. */
function intlOffset(instant: number, zone: string): number {
  const local = localTime(instant, zone);
  const wall = Date.UTC(
    local.year,
    local.month - 1,
    local.day,
    local.hour,
    local.minute,
    local.second,
  );
  return wall - Math.floor(instant / 1000) * 1000;
}

/** The first minute in (low, high] whose offset is no longer `before` (low has it, high not). */
function firstMinuteWithout(low: number, high: number, before: number, zone: string): number {
  while (high - low > MINUTE) {
    const middle = low + Math.floor((high - low) / 2 / MINUTE) * MINUTE;
    if (intlOffset(middle, zone) === before) low = middle;
    else high = middle;
  }
  return high;
}
