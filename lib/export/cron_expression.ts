/**
 * A job's schedule in the form a Kubernetes CronJob takes: cron expressions. Pure. A schedule maps
 * only when the cron expression fires at the instants the runner's own due rule (`schedule.ts`)
 * runs the job; otherwise the reason is given, for the export to report at the field's place.
 */

import type { Job, Schedule } from "../config/job.ts";
import { describeSchedule, jitterOffset } from "../schedule.ts";

/**
 * A cron schedule's fields in cron's own numbering (months 1–12, day of week 0 = Sunday), each a
 * sorted list of the values it fires on; null is `*`.
 */
export interface CronFields {
  minute: number[];
  hour: number[] | null;
  dayOfMonth: number[] | null;
  month: number[] | null;
  dayOfWeek: number[] | null;
}

/** One CronJob's worth of a job's schedule. */
export interface CronSchedule {
  fields: CronFields;
  /**
   * Evaluated in UTC, not in the job's zone: an interval (`every`, `hourly`) counts elapsed time,
   * and in a zone's clock change a two-hourly expression would fire twice in the repeated hour
   * and wait three hours over the skipped one.
   */
  utc: boolean;
  /** Tells apart the CronJobs of a job whose times need more than one expression: `0730`. */
  part: string | null;
}

/** What a schedule becomes. */
export type CronMapping =
  | { kind: "cron"; schedules: CronSchedule[] }
  /** Found in `jobs/` with no config entry: it runs only when a person starts it. */
  | { kind: "unscheduled" }
  /** `field` is relative to the job (`when.every`); `reason` says why and what to use instead. */
  | { kind: "unmappable"; field: string; reason: string };

/** The intervals that divide the hour or the day evenly, as the messages list them. */
const EVEN_INTERVALS = "1m–6m, 10m, 12m, 15m, 20m, 30m, 1h–4h, 6h, 8h, 12h or 1d";

/**
 * The cron schedules that fire when the runner runs a job with this schedule, shifted by a jitter
 * offset (minutes; null: no jitter), as the runner shifts it (`schedule.ts`): clock-time slots by
 * that much wall-clock time, an interval's grid by that much from the hour or the day.
 */
export function cronSchedules(
  schedule: Schedule,
  offsetMinutes: number | null = null,
): CronMapping {
  const offset = offsetMinutes ?? 0;
  switch (schedule.kind) {
    case "every":
      return everyMapping(
        schedule.minutes,
        describeSchedule(schedule).slice("every ".length),
        offset,
      );
    case "hourly":
      return everyMapping(60, "1h", offset);
    case "daily":
      return slotsMapping([{ minute: schedule.hour * 60, weekdays: null, day: null }], offset);
    case "weekly":
      return slotsMapping(
        [{ minute: schedule.hour * 60, weekdays: [schedule.weekday], day: null }],
        offset,
      );
    case "monthly":
      // The runner moves day 29–31 to the last day of a shorter month; cron would skip the month.
      if (schedule.day > 28) {
        return {
          kind: "unmappable",
          field: "preferred_day",
          reason: `${schedule.day} cannot be exported: in shorter months the runner runs on the ` +
            `last day instead, which a cron schedule cannot say (use a day from 1 to 28)`,
        };
      }
      return slotsMapping(
        [{ minute: schedule.hour * 60, weekdays: null, day: schedule.day }],
        offset,
      );
    case "at":
      return slotsMapping(
        schedule.times.map((time) => ({
          minute: Number(time.slice(0, 2)) * 60 + Number(time.slice(3)),
          weekdays: schedule.weekdays,
          day: null,
        })),
        offset,
      );
    case "unscheduled":
      return { kind: "unscheduled" };
  }
}

/**
 * A job's cron schedules on a cluster: its schedule shifted by the jitter offset the cluster
 * gives it, the job name's own (`jitterOffset` of a computer with no name): a pod has no computer
 * of its own, and the offset must be the same on every export.
 */
export function jobCronSchedules(job: Job): CronMapping {
  return cronSchedules(job.schedule, clusterOffset(job));
}

/** The jitter offset (minutes) a job's CronJobs run at; null when it has no jitter. */
export function clusterOffset(job: Job): number | null {
  return jitterOffset(job.name, "", job.jitterMinutes);
}

const ANY: CronFields = { minute: [0], hour: null, dayOfMonth: null, month: null, dayOfWeek: null };

/** The config counts weekdays from Monday = 0; cron from Sunday = 0. */
function cronWeekday(weekday: number): number {
  return (weekday + 1) % 7;
}

/**
 * An interval maps when it divides the hour or the day: the runner then runs the job at the
 * aligned instants too (each one interval after the last run, once the first run is aligned; with
 * a jitter, at the grid's points moved by the offset, which is less than the interval).
 */
function everyMapping(minutes: number, written: string, offset: number): CronMapping {
  const utc = (fields: CronFields): CronMapping => ({
    kind: "cron",
    schedules: [{ fields, utc: true, part: null }],
  });
  if (minutes < 60 && 60 % minutes === 0) {
    return utc({ ...ANY, minute: steps(offset, 59, minutes) });
  }
  if (minutes % 60 === 0 && minutes <= 1440 && 1440 % minutes === 0) {
    return utc({
      ...ANY,
      minute: [offset % 60],
      hour: steps(Math.floor(offset / 60), 23, minutes / 60),
    });
  }
  return {
    kind: "unmappable",
    field: "when.every",
    reason: `"${written}" cannot be exported: a CronJob fires at clock times and has no "since ` +
      `the last run" schedule, so an interval must divide the hour or the day evenly (use ` +
      `${EVEN_INTERVALS})`,
  };
}

/** One wall-clock slot of a day: its minute of the day, and the days it is on (null: every). */
interface Slot {
  minute: number;
  /** Weekdays as the config counts them (0 = Monday). */
  weekdays: number[] | null;
  day: number | null;
}

/**
 * Slots shifted by a jitter offset, as few expressions as say them exactly: a slot the offset
 * carries past midnight moves to the next day (the next weekday, the next day of the month).
 */
function slotsMapping(slots: Slot[], offset: number): CronMapping {
  const byDays = new Map<
    string,
    { times: number[]; weekdays: number[] | null; day: number | null }
  >();
  for (const slot of slots) {
    const shifted = slot.minute + offset;
    const carry = Math.floor(shifted / 1440);
    const weekdays = slot.weekdays?.map((weekday) => (weekday + carry) % 7) ?? null;
    const day = slot.day === null ? null : slot.day + carry;
    if (day !== null && day > 28) {
      return {
        kind: "unmappable",
        field: "jitter",
        reason: `cannot be exported with day ${slot.day}: the jitter moves its run past midnight ` +
          `into day ${day}, which in a shorter month the runner finds on the 1st of the next, and ` +
          `a cron schedule cannot say that (use a day from 1 to 27, or a smaller jitter)`,
      };
    }
    const key = `${weekdays?.join(",")}|${day}`;
    const group = byDays.get(key) ?? { times: [], weekdays, day };
    group.times.push(shifted % 1440);
    byDays.set(key, group);
  }
  const schedules = [...byDays.values()].flatMap((group) => timesMapping(group.times, group));
  schedules.sort((a, b) => firstMinuteOfDay(a.fields) - firstMinuteOfDay(b.fields));
  return {
    kind: "cron",
    schedules: schedules.map((schedule) => ({
      ...schedule,
      part: schedules.length === 1
        ? null
        : pad(schedule.fields.hour![0]!) + pad(schedule.fields.minute[0]!),
    })),
  };
}

function steps(first: number, last: number, step: number): number[] {
  const values: number[] = [];
  for (let value = first; value <= last; value += step) values.push(value);
  return values;
}

/**
 * Times of the same days as few expressions as say them exactly: the times that share a minute
 * share an expression's hour list, and minutes with the same hours share one expression
 * (`0,30 9,17`).
 */
function timesMapping(
  times: number[],
  days: { weekdays: number[] | null; day: number | null },
): CronSchedule[] {
  const hoursByMinute = new Map<number, number[]>();
  for (const time of times) {
    const [hour, minute] = [Math.floor(time / 60), time % 60];
    hoursByMinute.set(minute, [...hoursByMinute.get(minute) ?? [], hour]);
  }
  const minutesByHours = new Map<string, { minutes: number[]; hours: number[] }>();
  for (const [minute, hours] of hoursByMinute) {
    hours.sort((a, b) => a - b);
    const group = minutesByHours.get(hours.join(",")) ?? { minutes: [], hours };
    group.minutes.push(minute);
    minutesByHours.set(hours.join(","), group);
  }
  const dayOfWeek = days.weekdays === null
    ? null
    : days.weekdays.map(cronWeekday).sort((a, b) => a - b);
  const dayOfMonth = days.day === null ? null : [days.day];
  return [...minutesByHours.values()].map(({ minutes, hours }) => ({
    fields: {
      ...ANY,
      minute: minutes.sort((a, b) => a - b),
      hour: hours,
      dayOfMonth,
      dayOfWeek,
    },
    utc: false,
    part: null,
  }));
}

function firstMinuteOfDay(fields: CronFields): number {
  return fields.hour![0]! * 60 + fields.minute[0]!;
}

function pad(value: number): string {
  return String(value).padStart(2, "0");
}

/**
 * The five fields as cron writes them: `*`, a list with ranges (`1-5`), or for minutes and hours
 * a step over the whole range when it saves a list of three or more. Day fields never get a
 * step: to cron a stepped day field no longer counts as "any day".
 */
export function cronExpression(fields: CronFields): string {
  return [
    cronField(fields.minute, 0, 59, true),
    cronField(fields.hour, 0, 23, true),
    cronField(fields.dayOfMonth, 1, 31, false),
    cronField(fields.month, 1, 12, false),
    cronField(fields.dayOfWeek, 0, 6, false),
  ].join(" ");
}

function cronField(values: number[] | null, first: number, last: number, steps: boolean): string {
  if (values === null) return "*";
  const step = values.length > 2 && steps ? values[1]! - values[0]! : 0;
  const everyStep = step > 0 && values[0] === first &&
    values.every((value, index) => value === first + index * step) &&
    values.at(-1)! + step > last;
  if (everyStep) return step === 1 ? "*" : `*/${step}`;
  // Runs of three or more consecutive values as a range: `1-5`, not `1,2,3,4,5`.
  const runs: number[][] = [];
  for (const value of values) {
    const run = runs.at(-1);
    if (run && run.at(-1)! + 1 === value) run.push(value);
    else runs.push([value]);
  }
  return runs.map((run) => run.length >= 3 ? `${run[0]}-${run.at(-1)}` : run.join(",")).join(",");
}

const MINUTES_A_DAY = 24 * 60;

/**
 * The longest wait between two consecutive firings, in minutes, clock changes aside; null for a
 * schedule restricted to certain months (only the placeholder of an unscheduled job is).
 */
export function longestGapMinutes(fields: CronFields): number | null {
  if (fields.month !== null) return null;
  // A day of the month recurs after at most 31 days (none is past 28, see cronSchedules).
  if (fields.dayOfMonth !== null) return 31 * MINUTES_A_DAY;
  const hours = fields.hour ?? steps(0, 23, 1);
  const days = fields.dayOfWeek ?? steps(0, 6, 1);
  const firings = days.flatMap((day) =>
    hours.flatMap((hour) => fields.minute.map((minute) => (day * 24 + hour) * 60 + minute))
  ).sort((a, b) => a - b);
  const week = 7 * MINUTES_A_DAY;
  let longest = firings[0]! + week - firings.at(-1)!;
  for (let index = 1; index < firings.length; index++) {
    longest = Math.max(longest, firings[index]! - firings[index - 1]!);
  }
  return longest;
}

/** Whether the fields fire at a wall-clock minute (the fields of a UTC `Date` read as local). */
export function firesAt(fields: CronFields, wall: Date): boolean {
  const has = (values: number[] | null, value: number) => values === null || values.includes(value);
  const dayOfMonth = has(fields.dayOfMonth, wall.getUTCDate());
  const dayOfWeek = has(fields.dayOfWeek, wall.getUTCDay());
  // Cron's rule: with both day fields restricted, either one will do.
  const day = fields.dayOfMonth !== null && fields.dayOfWeek !== null
    ? dayOfMonth || dayOfWeek
    : dayOfMonth && dayOfWeek;
  return day && has(fields.minute, wall.getUTCMinutes()) && has(fields.hour, wall.getUTCHours()) &&
    has(fields.month, wall.getUTCMonth() + 1);
}
