/**
 * Text for people: schedules, relative times, the `--list` table and the `--dry-run` reasons.
 * Pure functions of their arguments; `main.ts` prints what they return.
 */

import type { Job, Schedule } from "./config.ts";
import { localTime, nextDue } from "./schedule.ts";
import { type CronState, lastRunOf, type LastTick, parseTimestamp } from "./state.ts";

const WEEKDAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

/** A schedule as a person writes it: `every 10m`, `at 09:00,17:30 mon,wed`, `daily 06:00`. */
export function describeSchedule(schedule: Schedule): string {
  const hour = (value: number) => `${String(value).padStart(2, "0")}:00`;
  switch (schedule.kind) {
    case "every":
      return `every ${describeMinutes(schedule.minutes)}`;
    case "at":
      return `at ${schedule.times.join(",")}${
        schedule.weekdays ? ` ${schedule.weekdays.map((day) => WEEKDAYS[day]).join(",")}` : ""
      }`;
    case "hourly":
      return "hourly";
    case "daily":
      return `daily ${hour(schedule.hour)}`;
    case "weekly":
      return `weekly ${WEEKDAYS[schedule.weekday]} ${hour(schedule.hour)}`;
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

/** One row of `--list`, also its JSON form. */
export interface ListRow {
  name: string;
  type: "agent" | "script";
  schedule: string;
  agent: string | null;
  last_run: string | null;
  last_status: string;
  outcome: string | null;
  last_error: string | null;
  next_due: string | null;
  timeout_seconds: number;
  /** Things worth a look: last run failed, deferred by a usage limit, no run report. */
  flags: string[];
}

/** The `--list` rows for every job, script and agent alike, in config order. */
export function listRows(
  jobs: Job[],
  state: CronState,
  now: number,
  timeZone: string,
  ticks: { last: LastTick | null; config: string } | null = null,
): ListRow[] {
  return jobs.map((job) => {
    const entry = state.jobs[job.name];
    const lastRun = lastRunOf(state, job.name);
    const due = nextDue(job.schedule, lastRun, now, timeZone);
    const deferred = deferredUntil(job, state, now);
    const flags: string[] = [];
    const outcome = entry?.outcome ?? (entry?.last_status === "failed" ? "failed" : null);
    if (outcome && outcome !== "success") flags.push(outcome.replace("_", " "));
    if (deferred !== null) flags.push(`deferred until ${formatLocal(deferred, timeZone)}`);
    if (job.type === "agent" && entry?.last_status === "success" && entry.report_path === null) {
      flags.push("no report");
    }
    const since = overdueSince(job, lastRun, due, deferred, now, timeZone);
    if (since !== null) flags.push(overdueNote(since, ticks, timeZone));
    if (entry?.running) {
      flags.push(
        `running since ${formatLocal(parseTimestamp(entry.running.started) ?? now, timeZone)}`,
      );
    }
    return {
      name: job.name,
      type: job.type,
      schedule: describeSchedule(job.schedule),
      agent: job.type === "agent" ? job.agent : null,
      last_run: lastRun === null ? null : new Date(lastRun).toISOString(),
      last_status: entry?.last_status ?? "never",
      outcome,
      last_error: entry?.last_error ?? null,
      next_due: due === null ? null : new Date(Math.max(due, deferred ?? due)).toISOString(),
      timeout_seconds: job.timeoutSeconds,
      flags,
    };
  });
}

/** Two 5-minute ticks: a job due for longer than this should have run. */
const OVERDUE_AFTER_MS = 2 * 5 * 60_000;

/**
 * When a job that has run before became due, if that was more than two ticks ago and nothing
 * (a usage limit) holds it back: the runner is not running, or not getting to it.
 */
export function overdueSince(
  job: Job,
  lastRun: number | null,
  due: number | null,
  deferred: number | null,
  now: number,
  timeZone: string,
): number | null {
  if (lastRun === null || due === null || due > now || deferred !== null) return null;
  const since = nextDue(job.schedule, lastRun, lastRun + 1, timeZone);
  return since !== null && now - since > OVERDUE_AFTER_MS ? since : null;
}

/** Why an overdue job did not run, as far as the last tick tells. */
function overdueNote(
  since: number,
  ticks: { last: LastTick | null; config: string } | null,
  timeZone: string,
): string {
  const head = `overdue since ${formatLocal(since, timeZone)}`;
  const last = ticks?.last ?? null;
  if (last === null || last.at < since) {
    const when = last === null ? "" : ` (last ${formatLocal(last.at, timeZone)})`;
    return `${head}: no runner has run since${when}; is the service loaded? (--doctor)`;
  }
  if (ticks && last.config !== ticks.config) {
    return `${head}: the runner uses another config: ${last.config}`;
  }
  return `${head}: runners ran (last ${
    formatLocal(last.at, timeZone)
  }) but did not start it; see --history and cron.log`;
}

/** When a usage limit holds this job's agent back, the instant it may run again. */
export function deferredUntil(job: Job, state: CronState, now: number): number | null {
  if (job.type !== "agent") return null;
  const until = parseTimestamp(state.agent_backoff?.[job.agent]?.until);
  return until !== null && until > now ? until : null;
}

/** The `--list` table. */
export function listTable(rows: ListRow[], now: number, timeZone: string): string {
  const header = ["JOB", "TYPE", "SCHEDULE", "LAST RUN", "STATUS", "NEXT DUE", "NOTES"];
  const body = rows.map((row) => {
    const lastRun = row.last_run === null
      ? "never"
      : formatLocal(Date.parse(row.last_run), timeZone);
    const next = row.next_due === null
      ? "-"
      : Date.parse(row.next_due) <= now
      ? "due now"
      : formatLocal(Date.parse(row.next_due), timeZone);
    const type = row.agent ? `agent:${row.agent}` : row.type;
    return [row.name, type, row.schedule, lastRun, row.last_status, next, row.flags.join("; ")];
  });
  return table([header, ...body]);
}

/** Left-aligned columns separated by two spaces, trailing blanks trimmed. */
export function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, column) =>
    Math.max(...rows.map((row) => (row[column] ?? "").length))
  );
  return rows.map((row) =>
    row.map((cell, column) => cell.padEnd(widths[column]!)).join("  ").trimEnd()
  ).join("\n");
}

/**
 * Why a job is or is not due, in one line:
 * `nightly: due: last run 3 min ago, every 10m: due in 7 min` or `due now (never ran)`.
 */
export function dueReason(
  job: Job,
  state: CronState,
  now: number,
  timeZone: string,
  force: boolean,
): string {
  const lastRun = lastRunOf(state, job.name);
  const schedule = describeSchedule(job.schedule);
  const last = lastRun === null ? "never ran" : `last run ${describeSpan(now - lastRun)} ago`;
  if (job.schedule.kind === "unscheduled") {
    return force
      ? `${job.name}: would run (forced; discovered in jobs/ with no config entry)`
      : `${job.name}: not scheduled (discovered in jobs/; run it with --force --job ${job.name})`;
  }
  const deferred = deferredUntil(job, state, now);
  if (deferred !== null && !force) {
    return `${job.name}: ${last}, ${schedule}: deferred until ${
      formatLocal(deferred, timeZone)
    } (usage limit of ${job.type === "agent" ? job.agent : ""})`;
  }
  const due = nextDue(job.schedule, lastRun, now, timeZone);
  if (force) return `${job.name}: ${last}, ${schedule}: would run (forced)`;
  if (due === null) return `${job.name}: ${last}, ${schedule}: no next run`;
  if (due <= now) return `${job.name}: ${last}, ${schedule}: due now`;
  const at = due - now < 12 * 3600_000
    ? `in ${describeSpan(due - now)}`
    : `at ${formatLocal(due, timeZone)}`;
  return `${job.name}: ${last}, ${schedule}: due ${at}`;
}
