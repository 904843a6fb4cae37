/**
 * When a usage limit resets, as an agent states it in words (structured resets, claude's epoch,
 * are read by the readers themselves). The wordings of the pinned CLIs:
 * - claude: `resets 11:50am (UTC)`, `resets Nov 29, 9:38am (Europe/Berlin)`: a local time in the
 *   zone it names;
 * - codex: `try again at 10:39 AM.`, `try again at Nov 29th, 2026 10:46 AM.`: a local time of
 *   the process's zone, to the minute (so a minute is added: it rounds the seconds away);
 * - gemini: `Please retry in 3600s.`, `Suggested retry after 2s.`;
 * and older ones: an epoch after `limit reached|`, an ISO time, `try again in 2h 30m`.
 * Pure: `now` and the zone place a wall-clock time on the calendar.
 */

import { instantOf, localTime } from "../../schedule.ts";

/** The reset time stated in a usage-limit message (epoch ms); null when none is stated. */
export function statedReset(text: string, now: number, timeZone: string): number | null {
  return epochReset(text) ?? isoReset(text) ?? relativeReset(text, now) ??
    clockReset(text, now, timeZone);
}

function epochReset(text: string): number | null {
  // Older claude versions: "Claude AI usage limit reached|<epoch seconds>".
  const epoch = /limit reached\|(\d{10})\b/i.exec(text);
  return epoch ? Number(epoch[1]) * 1000 : null;
}

function isoReset(text: string): number | null {
  const iso = /(?:resets?|try again)(?: at)? (\d{4}-\d{2}-\d{2}T[\d:.]+(?:Z|[+-]\d{2}:?\d{2}))/i
    .exec(text);
  if (!iso) return null;
  const instant = Date.parse(iso[1]!);
  return Number.isFinite(instant) ? instant : null;
}

function relativeReset(text: string, now: number): number | null {
  const seconds = /(?:retry|try again) (?:in|after) (\d+(?:\.\d+)?)\s*s\b/i.exec(text);
  if (seconds) return now + Math.ceil(Number(seconds[1]) * 1000);
  const span =
    /(?:try again|retry|resets?) in (?:(\d+)\s*h(?:ours?)?)?\s*(?:(\d+)\s*m(?:in(?:utes?)?)?)?/i
      .exec(text);
  if (!span || !(span[1] || span[2])) return null;
  return now + (Number(span[1] ?? 0) * 60 + Number(span[2] ?? 0)) * 60_000;
}

const MONTHS = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"];
const CLOCK = new RegExp(
  "(resets?(?: at)?|try again at) " +
    "(?:([a-z]{3})[a-z]* (\\d{1,2})(?:st|nd|rd|th)?,? (?:(\\d{4}) )?)?" + // Nov 29th, 2026
    "(\\d{1,2})(?::(\\d{2}))?\\s*(am|pm)?" + // 10:46 AM
    "(?:\\s*\\(([^)]+)\\))?", // (Europe/Berlin)
  "i",
);

/** A stated wall-clock time: the next such instant, in the zone the text names or ours. */
function clockReset(text: string, now: number, timeZone: string): number | null {
  const match = CLOCK.exec(text);
  if (!match) return null;
  const [, lead, monthName, dayText, yearText, hourText, minuteText, meridiem, named] = match;
  let hour = Number(hourText);
  const minute = Number(minuteText ?? 0);
  if (meridiem?.toLowerCase() === "pm" && hour < 12) hour += 12;
  if (meridiem?.toLowerCase() === "am" && hour === 12) hour = 0;
  if (hour > 23 || minute > 59) return null;
  const zone = named && isZone(named) ? named : timeZone;
  // Codex states minutes only, rounding the seconds away: a minute later is never too early.
  const slack = /try again at/i.test(lead!) ? 60_000 : 0;
  const month = monthName ? MONTHS.indexOf(monthName.toLowerCase()) + 1 : 0;
  if (monthName && month === 0) return null;
  const at = month
    ? onDate(Number(yearText ?? 0), month, Number(dayText), hour, minute, now, zone)
    : nextWallClock(hour, minute, now, zone);
  return at === null ? null : at + slack;
}

function isZone(name: string): boolean {
  try {
    new Intl.DateTimeFormat("en-US", { timeZone: name });
    return true;
  } catch {
    return false;
  }
}

/** A date with no year is this year's, or next year's when this year's has passed. */
function onDate(
  year: number,
  month: number,
  day: number,
  hour: number,
  minute: number,
  now: number,
  zone: string,
): number | null {
  if (day < 1 || day > 31) return null;
  const thisYear = year || localTime(now, zone).year;
  const at = instantOf(thisYear, month, day, hour, minute, zone);
  return year || at > now ? at : instantOf(thisYear + 1, month, day, hour, minute, zone);
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
