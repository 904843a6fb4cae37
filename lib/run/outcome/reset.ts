/**
 * When a usage limit resets, as the agent states it: an epoch, an ISO timestamp, "resets 3pm",
 * "try again in 2h 30m". Pure: `now` and the time zone place a wall-clock time on the calendar.
 */

import { instantOf, localTime } from "../../schedule.ts";

/** The reset time stated in a usage-limit message; null when none is stated. */
export function statedReset(text: string, now: number, timeZone: string): number | null {
  // Older claude versions: "Claude AI usage limit reached|<epoch seconds>".
  const epoch = /limit reached\|(\d{10})\b/i.exec(text);
  if (epoch) return Number(epoch[1]) * 1000;
  const iso = /resets?(?: at)? (\d{4}-\d{2}-\d{2}T[\d:.]+(?:Z|[+-]\d{2}:?\d{2}))/i.exec(text);
  if (iso) return Date.parse(iso[1]!);
  const relative =
    /(?:try again|retry|resets?) in (?:(\d+)\s*h(?:ours?)?)?\s*(?:(\d+)\s*m(?:in(?:utes?)?)?)?/i
      .exec(text);
  if (relative && (relative[1] || relative[2])) {
    return now + (Number(relative[1] ?? 0) * 60 + Number(relative[2] ?? 0)) * 60_000;
  }
  const clock = /resets?(?: at)? (\d{1,2})(?::(\d{2}))?\s*(am|pm)?/i.exec(text);
  if (!clock) return null;
  let hour = Number(clock[1]);
  const minute = Number(clock[2] ?? 0);
  const meridiem = clock[3]?.toLowerCase();
  if (meridiem === "pm" && hour < 12) hour += 12;
  if (meridiem === "am" && hour === 12) hour = 0;
  if (hour > 23 || minute > 59) return null;
  return nextWallClock(hour, minute, now, timeZone);
}

/** The next instant (today or tomorrow) the local clock shows `hour:minute`. */
function nextWallClock(hour: number, minute: number, now: number, timeZone: string): number {
  const today = localTime(now, timeZone);
  for (const ahead of [0, 1]) {
    const date = new Date(Date.UTC(today.year, today.month - 1, today.day + ahead));
    const candidate = instantOf(
      date.getUTCFullYear(),
      date.getUTCMonth() + 1,
      date.getUTCDate(),
      hour,
      minute,
      timeZone,
    );
    if (candidate > now) return candidate;
  }
  return now;
}
