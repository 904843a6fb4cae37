/**
 * The time zone schedules are computed in: the one the OS uses for this process. JavaScript's
 * `Date` follows `TZ` only when it names a zoneinfo zone; a POSIX `TZ` (`<+1030>-10:30`,
 * `CET-1CEST,M3.5.0,M10.5.0/3`), which the C library honours, and a misspelt one both silently
 * become UTC there. So a POSIX `TZ` is parsed here and honoured, and a `TZ` that is neither is
 * replaced by the system's zone, with a note that says so.
 */

/** The process's own zone, as `Date` knows it (no `Intl` needed: docs/benchmarks.md). */
export const LOCAL_TIME_ZONE = "local";

/** The zone to compute schedules in, and what was wrong with `TZ`, if anything. */
export interface RunnerZone {
  /** `LOCAL_TIME_ZONE`, an IANA name, or `posix:<TZ>` (see `posixOffset`). */
  zone: string;
  note: string | null;
}

/** Where zone files live on macOS and Linux alike (macOS links it to /var/db/timezone). */
const ZONEINFO = "/usr/share/zoneinfo";
const ZONE_NAME = /^[A-Za-z0-9_+-]+(?:\/[A-Za-z0-9_+-]+)*$/;

/** The zone of this process, from `TZ` and the system. */
export function runnerTimeZone(tz = Deno.env.get("TZ")): RunnerZone {
  if (tz === undefined || tz === "") return { zone: LOCAL_TIME_ZONE, note: null };
  const name = tz.startsWith(":") ? tz.slice(1) : tz;
  if (ZONE_NAME.test(name) && isZoneFile(name)) return { zone: LOCAL_TIME_ZONE, note: null };
  if (parsePosixZone(name) !== null) return { zone: `posix:${name}`, note: null };
  const system = systemZoneName();
  return {
    zone: system ?? "UTC",
    note: `TZ=${JSON.stringify(tz)} is not a time zone (neither a zoneinfo name nor a POSIX ` +
      `rule); schedules use ${system ? `the system's zone, ${system}` : "UTC"}`,
  };
}

/** A zone as people read it: `Europe/Amsterdam`, or `TZ=<+1030>-10:30`. */
export function zoneName(zone: RunnerZone, tz = Deno.env.get("TZ")): string {
  if (zone.zone === LOCAL_TIME_ZONE) {
    return tz ? tz.replace(/^:/, "") : systemZoneName() ?? "the system's zone";
  }
  return zone.zone.startsWith("posix:") ? `TZ=${zone.zone.slice("posix:".length)}` : zone.zone;
}

function isZoneFile(name: string): boolean {
  try {
    return Deno.statSync(`${ZONEINFO}/${name}`).isFile;
  } catch {
    return false;
  }
}

/** The system's zone as an IANA name, from the /etc/localtime link; null when it cannot tell. */
export function systemZoneName(): string | null {
  try {
    const target = Deno.readLinkSync("/etc/localtime");
    const match = /zoneinfo\/(.+)$/.exec(target);
    return match && ZONE_NAME.test(match[1]!) ? match[1]! : null;
  } catch {
    return null;
  }
}

/** A POSIX TZ rule: standard offset, and the daylight offset with when it starts and ends. */
export interface PosixZone {
  /** Offsets east of UTC, in ms (POSIX writes them west: `EST5` is -5 h). */
  standard: number;
  daylight: { offset: number; start: Transition; end: Transition } | null;
}

/** `Mm.w.d/time`: the d-th weekday (0 = Sunday) of week w (5 = last) of month m, at a time. */
interface Transition {
  month: number;
  week: number;
  day: number;
  /** Seconds after local midnight (may be negative or past 24 h). */
  time: number;
}

const NAME = "(<[^>]+>|[A-Za-z]{3,})";
const OFFSET = "([+-]?\\d{1,2}(?::\\d{2}){0,2})";
const RULE = "M(\\d{1,2})\\.(\\d)\\.(\\d)(?:/([+-]?\\d{1,3}(?::\\d{2}){0,2}))?";
const POSIX = new RegExp(`^${NAME}${OFFSET}(?:${NAME}${OFFSET}?(?:,${RULE},${RULE})?)?$`);

/** Parses a POSIX TZ string; null when it is not one (or uses the rare J/n rule forms). */
export function parsePosixZone(text: string): PosixZone | null {
  const match = POSIX.exec(text);
  if (!match) return null;
  const standard = (0 - seconds(match[2]!)) * 1000;
  if (match[3] === undefined) return { standard, daylight: null };
  const offset = match[4] === undefined ? standard + 3600_000 : (0 - seconds(match[4])) * 1000;
  // With no rule, the C library uses the US rule.
  const start = match[5] ? transition(match.slice(5, 9)) : transition(["3", "2", "0", undefined]);
  const end = match[9] ? transition(match.slice(9, 13)) : transition(["11", "1", "0", undefined]);
  if (start === null || end === null) return null;
  return { standard, daylight: { offset, start, end } };
}

function seconds(text: string): number {
  const sign = text.startsWith("-") ? -1 : 1;
  const [hours = 0, minutes = 0, secs = 0] = text.replace(/^[+-]/, "").split(":").map(Number);
  return sign * (hours * 3600 + minutes * 60 + secs);
}

function transition([month, week, day, time]: (string | undefined)[]): Transition | null {
  const value = {
    month: Number(month),
    week: Number(week),
    day: Number(day),
    time: time === undefined ? 7200 : seconds(time),
  };
  const valid = value.month >= 1 && value.month <= 12 && value.week >= 1 && value.week <= 5 &&
    value.day <= 6;
  return valid ? value : null;
}

const parsed = new Map<string, PosixZone | null>();

/** The offset east of UTC (ms) of a `posix:<TZ>` zone at `instant`. */
export function posixOffset(zone: string, instant: number): number {
  const text = zone.slice("posix:".length);
  let rule = parsed.get(text);
  if (rule === undefined) parsed.set(text, rule = parsePosixZone(text));
  if (!rule) return 0;
  if (!rule.daylight) return rule.standard;
  const { offset, start, end } = rule.daylight;
  const year = new Date(instant + rule.standard).getUTCFullYear();
  // The rule's times are local: the start in standard time, the end in daylight time.
  const begins = transitionAt(year, start) - rule.standard;
  const ends = transitionAt(year, end) - offset;
  const inDaylight = begins < ends
    ? instant >= begins && instant < ends
    : !(instant >= ends && instant < begins);
  return inDaylight ? offset : rule.standard;
}

/** The wall-clock instant (as if UTC) a transition names in `year`. */
function transitionAt(year: number, rule: Transition): number {
  const first = new Date(Date.UTC(year, rule.month - 1, 1)).getUTCDay();
  let day = 1 + (rule.day - first + 7) % 7 + (rule.week - 1) * 7;
  const last = new Date(Date.UTC(year, rule.month, 0)).getUTCDate();
  while (day > last) day -= 7;
  return Date.UTC(year, rule.month - 1, day) + rule.time * 1000;
}
