/**
 * A cron evaluator for the tests, written apart from lib/ so the export's expressions are checked
 * by something that did not make them. It reads the five-field syntax Kubernetes takes (numbers,
 * `*`, `a-b`, `/n` steps, lists; day of week 0–7, 7 = Sunday), refuses anything else, and fires
 * at every instant whose wall clock in the zone matches: a time the clocks skip never fires, a
 * time they repeat fires twice. That is what the Kubernetes controller does in zones whose clocks
 * change by whole hours at a time other than midnight; where they do not (Lord Howe's 30 minutes,
 * Beirut's midnight, Chatham's 03:45) its cron library, robfig/cron v3, differs, and
 * tests/export/robfig_test.ts runs that library itself.
 */

/** Each field's allowed values, and whether the day fields were `*` (cron's day rule needs it). */
export interface ParsedCron {
  minute: Set<number>;
  hour: Set<number>;
  dayOfMonth: Set<number>;
  month: Set<number>;
  dayOfWeek: Set<number>;
  anyDayOfMonth: boolean;
  anyDayOfWeek: boolean;
}

const RANGES: [number, number][] = [[0, 59], [0, 23], [1, 31], [1, 12], [0, 7]];

/** Parses an expression; throws an Error naming the field for anything Kubernetes would refuse. */
export function parseCron(expression: string): ParsedCron {
  const fields = expression.split(" ");
  if (fields.length !== 5 || fields.some((field) => field === "")) {
    throw new Error(`"${expression}" does not have five fields separated by single spaces`);
  }
  const [minute, hour, dayOfMonth, month, dayOfWeek] = fields.map((field, index) =>
    parseField(field, ...RANGES[index]!)
  ) as [Set<number>, Set<number>, Set<number>, Set<number>, Set<number>];
  if (dayOfWeek.delete(7)) dayOfWeek.add(0);
  return {
    minute,
    hour,
    dayOfMonth,
    month,
    dayOfWeek,
    // As Kubernetes' parser: only a bare `*` counts as "any day" (a step does not).
    anyDayOfMonth: fields[2] === "*",
    anyDayOfWeek: fields[4] === "*",
  };
}

function parseField(field: string, low: number, high: number): Set<number> {
  const values = new Set<number>();
  for (const part of field.split(",")) {
    const match = /^(\*|(\d+)(?:-(\d+))?)(?:\/(\d+))?$/.exec(part);
    if (!match) throw new Error(`"${field}": "${part}" is not cron syntax`);
    // `5/15` means 5-59/15 to Kubernetes and is easily misread: the export never writes it.
    if (match[4] !== undefined && match[2] !== undefined && match[3] === undefined) {
      throw new Error(`"${field}": "${part}" is a step from a single value`);
    }
    const first = match[1] === "*" ? low : Number(match[2]);
    const last = match[1] === "*" ? high : match[3] !== undefined ? Number(match[3]) : first;
    const step = match[4] === undefined ? 1 : Number(match[4]);
    if (first < low || last > high || first > last || step < 1) {
      throw new Error(`"${field}": "${part}" is outside ${low}-${high}`);
    }
    for (let value = first; value <= last; value += step) values.add(value);
  }
  return values;
}

const MINUTE = 60_000;
const QUARTER_HOUR = 15 * MINUTE;
const offsets = new Map<string, number>();
const formats = new Map<string, Intl.DateTimeFormat>();

/** The zone's offset east of UTC (ms), from Intl, once per quarter hour (every change is on one). */
export function offsetAt(instant: number, timeZone: string): number {
  const bucket = Math.floor(instant / QUARTER_HOUR) * QUARTER_HOUR;
  const key = `${timeZone} ${bucket}`;
  const known = offsets.get(key);
  if (known !== undefined) return known;
  let format = formats.get(timeZone);
  if (format === undefined) {
    format = new Intl.DateTimeFormat("en-US", {
      timeZone,
      hourCycle: "h23",
      year: "numeric",
      month: "numeric",
      day: "numeric",
      hour: "numeric",
      minute: "numeric",
    });
    formats.set(timeZone, format);
  }
  const parts = format.formatToParts(bucket);
  const get = (type: string) => Number(parts.find((part) => part.type === type)!.value);
  const offset = Date.UTC(get("year"), get("month") - 1, get("day"), get("hour"), get("minute")) -
    bucket;
  offsets.set(key, offset);
  return offset;
}

/** Every instant in [from, to) at which `expression` fires in `timeZone`. */
export function cronInstants(
  expression: string,
  timeZone: string,
  from: number,
  to: number,
): number[] {
  const cron = parseCron(expression);
  const instants: number[] = [];
  let bucket = NaN;
  let offset = 0;
  for (let instant = Math.ceil(from / MINUTE) * MINUTE; instant < to; instant += MINUTE) {
    if (Math.floor(instant / QUARTER_HOUR) !== bucket) {
      bucket = Math.floor(instant / QUARTER_HOUR);
      offset = offsetAt(instant, timeZone);
    }
    const wall = new Date(instant + offset);
    const byMonthDay = cron.dayOfMonth.has(wall.getUTCDate());
    const byWeekday = cron.dayOfWeek.has(wall.getUTCDay());
    // Cron's day rule: when both day fields are restricted, either one will do.
    const day = cron.anyDayOfMonth || cron.anyDayOfWeek
      ? byMonthDay && byWeekday
      : byMonthDay || byWeekday;
    if (!day || !cron.hour.has(wall.getUTCHours()) || !cron.month.has(wall.getUTCMonth() + 1)) {
      // Offsets are whole quarter hours, so the wall-clock hour holds to the quarter's end.
      instant = (bucket + 1) * QUARTER_HOUR - MINUTE;
      continue;
    }
    if (cron.minute.has(wall.getUTCMinutes())) instants.push(instant);
  }
  return instants;
}
