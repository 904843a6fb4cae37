/**
 * What people read: `--list` (and its JSON), `--dry-run`'s reasons, `--history` and `--logs`.
 * The row and reason builders are pure functions of their arguments; the `show*` commands read
 * the files (never write them) and print.
 */

import {
  AGENT_NAMES,
  type AgentName,
  AGENTS_REPORTING_COST,
  type Budget,
  type Config,
  type Job,
  jobOption,
} from "../config/job.ts";
import { UsageError } from "../errors.ts";
import { counted, print, printable } from "../log.ts";
import type { RunnerPaths } from "../paths.ts";
import { join } from "../posix_path.ts";
import { startProblem } from "../run/preflight.ts";
import { listRunLogs } from "../run/run_logs.ts";
import {
  describeMinutes,
  describeSchedule,
  describeSpan,
  formatLocal,
  isClockTime,
  nextDue,
} from "../schedule.ts";
import { runsOn } from "../computer.ts";
import {
  type Deferral,
  deferralOf,
  dueBy,
  lastRunAsOf,
  nextScheduled,
  offsetOf,
  pendingRetry,
  type Timing,
} from "../select.ts";
import {
  budgetHold,
  describeAmount,
  describeCeiling,
  type Period,
  spendOf,
  spentNow,
} from "../spend.ts";
import { type HistoryEntry, readHistory } from "../store/history.ts";
import { type Telling, tellingLookup } from "../store/outbox.ts";
import {
  type CronState,
  jobEntry,
  type JobState,
  lastRunOf,
  parseTimestamp,
  readState,
} from "../store/state.ts";
import { type LastTick, readLastTick } from "../store/tick_note.ts";

/** What a view shows: which config, which jobs, in which zone. */
export interface ViewRequest {
  config: Config;
  paths: RunnerPaths;
  /** Only this job, when one is named. */
  job: string | null;
  json: boolean;
  force: boolean;
  timeZone: string;
  /** This computer's name, asked only when a job is pinned to computers. */
  computer: () => string;
}

/** `--list`: every job with its schedule, last run, status, next due and notes. */
export function showList(request: ViewRequest): number {
  const { config, paths, timeZone } = request;
  const state = readStateForView(paths.state);
  const now = Date.now();
  const ticks = { last: readLastTick(paths.lastTick), config: config.file };
  const jobs = jobsOf(request);
  const rows = listRows(jobs, state, now, timeZone, {
    ticks,
    computer: request.computer,
    problemOf: (job) => startProblem(job, config.dir, searchPath()),
    told: tellingLookup(paths.outbox, paths.told),
    budget: config.cron.budget,
  });
  if (request.json) print(JSON.stringify(rows, null, 2));
  else if (rows.length === 0) print(`no jobs in ${config.displayName}`);
  else {
    print(listTable(rows, now, timeZone));
    for (const line of spendLines(jobs, state, now, timeZone, config.cron.budget)) print(line);
  }
  return 0;
}

/** `--dry-run`: for each job, whether it is due now and why. */
export function showDryRun(request: ViewRequest): number {
  const state = readStateForView(request.paths.state);
  const now = Date.now();
  const jobs = jobsOf(request);
  for (const job of jobs) {
    // As the tick decides (select.ts): a person naming a pinned job runs it anywhere.
    const byName = request.force && request.job === job.name;
    const here = job.computers === null || byName || runsOn(job, request.computer());
    // Whether the tick would force it (a plain --force runs neither a paused nor an unscheduled
    // job, nor one pinned elsewhere: only naming it does): the selection rule's own answer.
    const selection = { ...request, only: request.job };
    const force = request.force && dueBy(job, state, now, selection) === "forced";
    const problem = startProblem(job, request.config.dir, searchPath());
    print(dueReason(job, state, now, request.timeZone, force, {
      here,
      problem,
      computer: request.computer,
      budget: request.config.cron.budget,
    }));
  }
  if (jobs.length === 0) print(`no jobs in ${request.config.displayName}`);
  return 0;
}

/** The PATH a script's bare program name is looked up on, as the run would. */
const searchPath = () => Deno.env.get("PATH") ?? "";

function jobsOf(request: ViewRequest): Job[] {
  return request.config.jobs.filter((job) => request.job === null || job.name === request.job);
}

/** The state as views see it: a corrupt file is reported, never moved or rewritten. */
function readStateForView(path: string): CronState {
  const read = readState(path);
  if (read.kind === "corrupt") {
    print(
      `warning: ${path} is corrupt (${read.reason}); showing ${
        read.recoveredFrom === "backup" ? "its last good copy (.bak)" : "no history"
      }. The next run moves it aside.`,
      "stderr",
    );
  }
  return read.state;
}

/** `--history [NAME]`: the latest runs, newest first. */
export async function showHistory(
  paths: RunnerPaths,
  options: { job: string | null; limit: number; json: boolean },
): Promise<number> {
  const { entries, skipped, truncated } = await readHistory(paths.history, {
    job: options.job,
    limit: options.limit,
  });
  for (const file of truncated) {
    print(
      `warning: ${file} is larger than any history the runner writes: only its end was read`,
      "stderr",
    );
  }
  if (skipped > 0) {
    print(
      `warning: ${counted(skipped, "line")} of ${paths.history} ${
        skipped === 1 ? "is not a run" : "are not runs"
      } (torn or foreign): skipped`,
      "stderr",
    );
  }
  if (options.json) {
    print(JSON.stringify(entries, null, 2));
    return 0;
  }
  if (entries.length === 0) {
    print(options.job ? `no runs of ${options.job} recorded yet` : "no runs recorded yet");
    return 0;
  }
  const rows = entries.map((entry) => [
    entry.started.replace("T", " ").slice(0, 19),
    entry.job,
    entry.agent ? `agent:${entry.agent}` : entry.type,
    // A job with retries: which attempt this run was.
    entry.attempt === undefined
      ? entry.status
      : `${entry.status} (attempt ${entry.attempt} of ${entry.attempts})`,
    `${(entry.duration_ms / 1000).toFixed(1)} s`,
    spendCell(entry),
    entry.exit_code === null ? "-" : String(entry.exit_code),
    entry.error ?? "",
  ]);
  const header = ["STARTED (UTC)", "JOB", "TYPE", "STATUS", "DURATION", "SPEND", "EXIT", "ERROR"];
  print(table([header, ...rows]));
  return 0;
}

/** What a run spent, as its agent reported it: its cost where it reports one, else its tokens. */
function spendCell(entry: HistoryEntry): string {
  const spend = spendOf(entry.usage);
  if (spend === null) return "-";
  if (spend.usd !== null) return describeAmount("usd", spend.usd);
  return describeAmount("tokens", spend.tokens ?? 0);
}

/**
 * `--logs NAME [--run N]`: the output of a job's Nth latest run, as it was written. `job` is a
 * job's name (`flags.ts` refuses anything else), so the folder read is always under the logs.
 */
export async function showLogs(paths: RunnerPaths, job: string, run: number): Promise<number> {
  const dir = join(paths.logs, job);
  const names = listRunLogs(dir).reverse();
  const name = names[run - 1];
  if (!name) {
    throw new UsageError(
      names.length
        ? `${job} has ${counted(names.length, "run log")}; --run ${run} is past the oldest`
        : `no run logs for ${job} (${jobsWithLogs(paths.logs)})`,
    );
  }
  print(`# ${dir}/${name}`, "stderr");
  // Streamed, not read whole: a log may be large. The output is the job's own, as it wrote it.
  const file = await Deno.open(`${dir}/${name}`, { read: true });
  await file.readable.pipeTo(Deno.stdout.writable, { preventClose: true });
  return 0;
}

/** The jobs that have run logs, for a person who named one that has none. */
function jobsWithLogs(logs: string): string {
  let names: string[];
  try {
    names = [...Deno.readDirSync(logs)]
      .filter((entry) => entry.isDirectory && listRunLogs(join(logs, entry.name)).length > 0)
      .map((entry) => entry.name)
      .sort();
  } catch (error) {
    // No logs folder (or not a folder): no job has logs to name; the message says the rest.
    if (error instanceof Deno.errors.NotCapable) throw error;
    names = [];
  }
  return names.length ? `jobs with run logs: ${names.join(", ")}` : `no job has run logs yet`;
}

/** One row of `--list`, also its JSON form. */
export interface ListRow {
  name: string;
  type: "agent" | "script";
  schedule: string;
  agent: string | null;
  /** The computers it runs on (`computer:`); null: every computer. */
  computers: string[] | null;
  /** False for a paused job (`enabled: false`): no tick runs it. */
  enabled: boolean;
  /** This computer's jitter offset of the job in minutes; null: it has no jitter. */
  jitter_offset_minutes: number | null;
  last_run: string | null;
  last_status: string;
  outcome: string | null;
  last_error: string | null;
  /** When it runs next: its schedule (jitter included), an earlier retry, or after a deferral. */
  next_due: string | null;
  /** What holds its agent back (a usage limit, a budget reached), until when; null: nothing. */
  deferred: { reason: Deferral["reason"]; until: string } | null;
  /**
   * What its agent spent today and this month, in the runner's zone (`usd` null for an agent that
   * reports no cost); null for a script job.
   */
  agent_spend: Record<"today" | "month", { usd: number | null; tokens: number }> | null;
  /** Why the job cannot start (its spec doc or program is missing); null when it can. */
  start_problem: string | null;
  /** The retry scheduled after a failed attempt: its number, of how many, and when. */
  retry: { attempt: number; of: number; at: string } | null;
  /** The run in progress (its start and process group), as its running record says; null: none. */
  running: { started: string; pgid: number } | null;
  timeout_seconds: number;
  /** Things worth a look: last run failed, deferred by a usage limit, no run report. */
  flags: string[];
}

/** What a `--list` row says besides the job and its state; each has a quiet default. */
interface RowContext {
  /** The last tick and the config this view is of, for the overdue notes. */
  ticks?: { last: LastTick | null; config: string } | null;
  /** This computer's name, for jobs pinned to computers. */
  computer?: () => string;
  /** Why the job cannot start (its spec doc or program is missing); null when it can. */
  problemOf?: (job: Job) => string | null;
  /** What became of a job's notification decided at `at` (`told` only when delivered). */
  told?: (job: string, at: string) => Telling;
  /** The budgets (`cron.budget`) that may hold an agent's jobs back. */
  budget?: Partial<Record<AgentName, Budget>>;
}

/** The `--list` rows for every job, script and agent alike, in config order. */
export function listRows(
  jobs: Job[],
  state: CronState,
  now: number,
  timeZone: string,
  seen: RowContext = {},
): ListRow[] {
  const {
    ticks = null,
    computer = () => "",
    problemOf = () => null,
    told = () => "not told" as Telling,
    budget = {},
  } = seen;
  const timing = { timeZone, computer };
  return jobs.map((job) => {
    const problem = problemOf(job);
    const entry = jobEntry(state, job.name);
    const lastRun = lastRunAsOf(state, job.name, now);
    const retry = job.enabled ? pendingRetry(job, entry) : null;
    const due = job.enabled ? nextRun(nextScheduled(job, state, now, timing), retry) : null;
    const deferral = deferralOf(job, state, now, { budget, timeZone });
    const deferred = deferral?.until ?? null;
    const outcome = entry?.outcome ?? (entry?.last_status === "failed" ? "failed" : null);
    const recorded = lastRunOf(state, job.name);
    const offset = offsetOf(job, computer);
    return {
      name: job.name,
      type: job.type,
      schedule: scheduleText(job, offset),
      agent: job.type === "agent" ? job.agent : null,
      computers: job.computers,
      enabled: job.enabled,
      jitter_offset_minutes: offset,
      last_run: recorded === null ? null : new Date(recorded).toISOString(),
      last_status: entry?.last_status ?? "never",
      outcome,
      last_error: entry?.last_error ?? null,
      next_due: due === null ? null : new Date(Math.max(due, deferred ?? due)).toISOString(),
      deferred: deferral &&
        { reason: deferral.reason, until: new Date(deferral.until).toISOString() },
      agent_spend: job.type === "agent" ? agentSpend(job.agent, state, now, timeZone) : null,
      start_problem: problem,
      retry: retry && retryRow(job, retry),
      running: entry?.running ? { started: entry.running.started, pgid: entry.running.pgid } : null,
      timeout_seconds: job.timeoutSeconds,
      flags: job.computers === null || runsOn(job, computer())
        ? [
          ...(problem === null ? [] : [problem]),
          ...rowFlags(job, state, { now, timing, due, deferral, lastRun, ticks, told }),
        ]
        : [`not this computer (${computer()})`],
    };
  });
}

/** A row's schedule: as written, its jitter offset here, the computers it is pinned to. */
function scheduleText(job: Job, offset: number | null): string {
  return describeSchedule(job.schedule) +
    (offset === null ? "" : ` +${describeMinutes(offset)}`) +
    (job.computers ? ` on ${job.computers.join(", ")}` : "");
}

/** A row's pending retry: which attempt, of how many, and when. */
function retryRow(job: Job, retry: { attempt: number; at: number }): ListRow["retry"] {
  return { attempt: retry.attempt, of: job.retry.attempts, at: new Date(retry.at).toISOString() };
}

/** The earlier of the next scheduled run and a pending retry. */
function nextRun(scheduled: number | null, retry: { at: number } | null): number | null {
  if (retry === null) return scheduled;
  return scheduled === null ? retry.at : Math.min(scheduled, retry.at);
}

/** The notes of a `--list` row: what is worth a look. */
function rowFlags(
  job: Job,
  state: CronState,
  at: {
    now: number;
    timing: Timing;
    due: number | null;
    deferral: Deferral | null;
    lastRun: { at: number | null; future: boolean };
    ticks: { last: LastTick | null; config: string } | null;
    told: (job: string, at: string) => Telling;
  },
): string[] {
  const { now, deferral } = at;
  const deferred = deferral?.until ?? null;
  const { timeZone } = at.timing;
  const entry = jobEntry(state, job.name);
  const flags: string[] = job.enabled ? [] : ["paused (enabled: false)"];
  const outcome = entry?.outcome ?? (entry?.last_status === "failed" ? "failed" : null);
  if (outcome && outcome !== "success") flags.push(outcome.replace("_", " "));
  const retry = job.enabled ? pendingRetry(job, entry) : null;
  if (retry) {
    flags.push(
      `retry ${retry.attempt} of ${job.retry.attempts} at ${clockTime(retry.at, now, timeZone)}`,
    );
  }
  if (deferral !== null) {
    const why = deferral.reason === "budget" ? " (budget)" : "";
    flags.push(`deferred until ${formatLocal(deferral.until, timeZone)}${why}`);
  }
  if (job.type === "agent" && entry?.last_status === "success" && entry.report_path === null) {
    flags.push("no report");
  }
  if (at.lastRun.future) flags.push("last run recorded in the future: clock moved back?");
  if (at.lastRun.at === null && at.due !== null && isClockTime(job.schedule)) {
    flags.push(`first run at ${formatLocal(at.due, timeZone)}`);
  }
  const since = overdueSince(job, at.lastRun.at, at.due, deferred, now, at.timing);
  if (since !== null) flags.push(overdueNote(since, at.ticks, timeZone));
  if (entry?.running) {
    flags.push(
      `running since ${formatLocal(parseTimestamp(entry.running.started) ?? now, timeZone)}`,
    );
  }
  flags.push(...notifyFlags(job, entry, timeZone, at.told));
  return flags;
}

/** A time as a note says it: `03:20` today, `2026-11-27 03:20` on another day. */
function clockTime(instant: number, now: number, timeZone: string): string {
  const [when, today] = [formatLocal(instant, timeZone), formatLocal(now, timeZone)];
  return when.slice(0, 10) === today.slice(0, 10) ? when.slice(11) : when;
}

/**
 * What a person was told of the job's failures (`notify`): `told` once a channel delivered it,
 * `queued` while it waits, `not told` when it was dropped or never sent; and whether it is muted.
 */
function notifyFlags(
  job: Job,
  entry: JobState | undefined,
  timeZone: string,
  telling: (job: string, at: string) => Telling,
): string[] {
  if (job.notify === false) return ["notifications off"];
  const flags: string[] = [];
  const told = entry?.notified;
  if (told) {
    const at = formatLocal(parseTimestamp(told.at)!, timeZone).slice(-5);
    flags.push(`${telling(job.name, told.at)} ${at} (${ordinal(told.failures)} failure)`);
  }
  if ((entry?.failures ?? 0) > 1) flags.push(`${entry!.failures} failures in a row`);
  return flags;
}

function ordinal(n: number): string {
  const tens = n % 100;
  const suffix = tens >= 11 && tens <= 13 ? "th" : ["th", "st", "nd", "rd"][n % 10] ?? "th";
  return `${n}${suffix}`;
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
  timing: Timing,
): number | null {
  if (lastRun === null || due === null || due > now || deferred !== null) return null;
  const offset = offsetOf(job, timing.computer);
  const since = nextDue(job.schedule, lastRun, lastRun + 1, timing.timeZone, offset);
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
      ? row.start_problem === null ? "due now" : "cannot start"
      : formatLocal(Date.parse(row.next_due), timeZone);
    const type = row.agent ? `agent:${row.agent}` : row.type;
    return [row.name, type, row.schedule, lastRun, row.last_status, next, row.flags.join("; ")];
  });
  return table([header, ...body]);
}

/** Left-aligned columns separated by two spaces, trailing blanks trimmed. */
export function table(rows: string[][]): string {
  const cells = rows.map((row) => row.map(printable));
  const widths = cells[0]!.map((_, column) =>
    Math.max(...cells.map((row) => (row[column] ?? "").length))
  );
  return cells.map((row) =>
    row.map((cell, column) => cell.padEnd(widths[column]!)).join("  ").trimEnd()
  ).join("\n");
}

/**
 * Why a job is or is not due, in one line:
 * `nightly: last run 3 min ago, every 10m: due in 7 min` or `…: due now`. `force` is whether
 * the tick would force this job (a paused one only when it is named). A job that cannot start
 * (`seen.problem`: its spec doc or program is missing) is never "due now".
 */
export function dueReason(
  job: Job,
  state: CronState,
  now: number,
  timeZone: string,
  force: boolean,
  seen: {
    here?: boolean;
    problem?: string | null;
    computer?: () => string;
    budget?: Partial<Record<AgentName, Budget>>;
  } = {},
): string {
  const { here = true, problem = null, computer = () => "", budget = {} } = seen;
  const running = jobEntry(state, job.name)?.running;
  if (running) {
    const since = formatLocal(parseTimestamp(running.started) ?? now, timeZone);
    return `${job.name}: running (pid ${running.pgid}, since ${since})`;
  }
  if (job.schedule.kind === "unscheduled") {
    return force
      ? `${job.name}: would run (forced; discovered in jobs/ with no config entry)`
      : `${job.name}: not scheduled (discovered in jobs/; run it with --force ${
        jobOption(job.name)
      })`;
  }
  if (!job.enabled && !force) {
    return `${job.name}: paused (enabled: false): no tick runs it (run it with --force ${
      jobOption(job.name)
    })`;
  }
  const offset = offsetOf(job, computer);
  const schedule = describeSchedule(job.schedule) +
    (offset === null ? "" : ` +${describeMinutes(offset)} jitter`);
  if (!here) {
    return `${job.name}: ${schedule} on ${job.computers?.join(", ")}: not this computer's job ` +
      `(run it here with --force ${jobOption(job.name)})`;
  }
  const { at: lastRun, future } = lastRunAsOf(state, job.name, now);
  const last = future
    ? "last run recorded in the future (clock moved back?)"
    : lastRun === null
    ? "never ran"
    : `last run ${describeSpan(now - lastRun)} ago`;
  const deferral = deferralOf(job, state, now, { budget, timeZone });
  if (deferral !== null && !force) {
    return `${job.name}: ${last}, ${schedule}: ${deferralNote(job, deferral, timeZone)}`;
  }
  const head = `${job.name}: ${last}, ${schedule}`;
  const timing = { timeZone, computer };
  const dueNow = dueBy(job, state, now, { ...timing, force: false, only: null }) !== null;
  if (problem !== null && (force || dueNow)) return `${head}: cannot start: ${problem}`;
  if (force) return `${head}: would run (forced${job.enabled ? "" : "; paused"})`;
  const when = whenDue(job, state, now, timing);
  return `${head}: ${when}${problem === null ? "" : ` (it cannot start: ${problem})`}`;
}

/** Why a job waits: `deferred until … (budget): claude spent $4.00 of its daily budget of $3.00`. */
function deferralNote(job: Job, deferral: Deferral, timeZone: string): string {
  const head = `deferred until ${formatLocal(deferral.until, timeZone)}`;
  const agent = job.type === "agent" ? job.agent : "";
  if (deferral.reason === "usage limit") return `${head} (usage limit of ${agent})`;
  const { unit, spent } = deferral.budget;
  return `${head} (budget): ${agent} spent ${describeAmount(unit, spent)} of its ${
    describeCeiling(deferral.budget)
  }`;
}

/** When a job that is neither forced nor held back runs: by its schedule, or by a retry. */
function whenDue(job: Job, state: CronState, now: number, timing: Timing): string {
  const entry = jobEntry(state, job.name);
  const retry = pendingRetry(job, entry);
  const why = dueBy(job, state, now, { ...timing, force: false, only: null });
  const retried = retry &&
    `retry ${retry.attempt} of ${job.retry.attempts} (${
      (entry?.outcome ?? "failed").replace("_", " ")
    } is retried)`;
  if (why === "schedule") return "due now";
  if (why === "retry") return `due now: ${retried}`;
  const scheduled = nextScheduled(job, state, now, timing);
  if (retry && (scheduled === null || retry.at < scheduled)) {
    return `${retried} due ${inOrAt(retry.at, now, timing.timeZone)}`;
  }
  if (scheduled === null) return "no next run";
  const soon = scheduled - now < IN_OR_AT_MS;
  // A jittered job's real time is said, unless "at …" says it already.
  const when = inOrAt(scheduled, now, timing.timeZone) +
    (offsetOf(job, timing.computer) === null || !soon
      ? ""
      : ` (${formatLocal(scheduled, timing.timeZone)})`);
  if (isClockTime(job.schedule) && lastRunOf(state, job.name) === null) {
    return `first run ${when}: a new job waits for its first slot (--force ${
      jobOption(job.name)
    } runs it now)`;
  }
  return `due ${when}`;
}

/** Sooner than this, a time is said as `in 3 h`; later, as the date and time. */
const IN_OR_AT_MS = 12 * 3600_000;

function inOrAt(instant: number, now: number, timeZone: string): string {
  return instant - now < IN_OR_AT_MS
    ? `in ${describeSpan(instant - now)}`
    : `at ${formatLocal(instant, timeZone)}`;
}

/** What an agent spent today and this month, as `--list --json` gives it. */
function agentSpend(
  agent: AgentName,
  state: CronState,
  now: number,
  timeZone: string,
): NonNullable<ListRow["agent_spend"]> {
  const spent = spentNow(state, agent, now, timeZone);
  const usd = (period: Period) => AGENTS_REPORTING_COST.includes(agent) ? spent[period].usd : null;
  return {
    today: { usd: usd("day"), tokens: spent.day.tokens },
    month: { usd: usd("month"), tokens: spent.month.tokens },
  };
}

/**
 * `--list`'s last lines: what each agent of the listed jobs (or with a budget) spent today, and
 * this month where a monthly ceiling is set, against its ceilings; a budget reached says until
 * when its jobs wait. Cost for an agent that reports one, tokens for the others (and for any
 * agent with a token ceiling).
 */
function spendLines(
  jobs: Job[],
  state: CronState,
  now: number,
  timeZone: string,
  budget: Partial<Record<AgentName, Budget>>,
): string[] {
  const used = new Set(jobs.flatMap((job) => job.type === "agent" ? [job.agent] : []));
  return AGENT_NAMES.filter((agent) => used.has(agent) || budget[agent] !== undefined)
    .map((agent) => {
      const ceilings = budget[agent];
      const spent = spentNow(state, agent, now, timeZone);
      const amounts = (period: Period, usd: number | null, tokens: number | null) =>
        [
          AGENTS_REPORTING_COST.includes(agent) ? ofCeiling("usd", spent[period].usd, usd) : null,
          !AGENTS_REPORTING_COST.includes(agent) || tokens !== null
            ? ofCeiling("tokens", spent[period].tokens, tokens)
            : null,
        ].filter((part) => part !== null).join(" and ");
      const today = amounts("day", ceilings?.dailyUsd ?? null, ceilings?.dailyTokens ?? null);
      const monthly = ceilings === undefined ||
          (ceilings.monthlyUsd === null && ceilings.monthlyTokens === null)
        ? ""
        : `, ${amounts("month", ceilings.monthlyUsd, ceilings.monthlyTokens)} this month`;
      const hold = budgetHold(agent, ceilings, state, now, timeZone);
      const reached = hold === null ? "" : `: ${describeCeiling(hold)} reached, its jobs wait ` +
        `until ${formatLocal(hold.until, timeZone)}`;
      return `spend: ${agent} ${today} today${monthly}${reached}`;
    });
}

/** `$2.40`, or `$2.40 of $3.00` against a ceiling. */
function ofCeiling(unit: "usd" | "tokens", spent: number, ceiling: number | null): string {
  const amount = describeAmount(unit, spent);
  if (ceiling === null) return amount;
  // `2,468 of 2,000,000 tokens`: the unit once.
  return `${amount.replace(/ tokens$/, "")} of ${describeAmount(unit, ceiling)}`;
}
