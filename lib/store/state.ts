/**
 * `~/.teleclaude/cron_state.json`: the last outcome of every job, in the format of the Python
 * original so existing files keep working:
 *   {"jobs": {NAME: {"last_run": ISO-8601, "last_status": "success"|"failed"|"never",
 *                    "last_error": string|null, ...extra fields}}}
 * What is read is checked field by field, as the config is: a field of the wrong type is dropped
 * and reported, never trusted, and the file as it was is kept aside. Every write is atomic and
 * keeps the last state with no run in flight as `.bak`.
 *
 * The shape of a history line (`cron_history.jsonl`) is here too, not in `history.ts`: a job's
 * entry holds its last run's line until that line is in the history (`history_pending`), and
 * `history.ts` reads this module's timestamps.
 */

import { dirname } from "../posix_path.ts";
import {
  atomicWrite,
  ensurePrivateDir,
  isDiskFull,
  pathKind,
  removeIfFileOrLink,
  storeFailure,
} from "./fs.ts";

/** The three statuses the Python original knows; finer outcomes go in `outcome`. */
export type LastStatus = "success" | "failed" | "never";

/** How a run ended. `success` and `failed` are the plain cases. */
export const OUTCOMES = [
  "success",
  "failed",
  "timed_out",
  "idle",
  "interrupted",
  "usage_limit",
  "max_turns",
  "budget",
  "auth",
  "untrusted",
  // The model service was overloaded, failing or unreachable and the agent gave up: transient.
  "unavailable",
] as const;
export type Outcome = typeof OUTCOMES[number];

/** A run in progress, recorded before waiting on it so a crash of the runner is detected. */
export interface RunningRecord {
  started: string;
  /** The job's process group (== pid of the process the runner spawned). */
  pgid: number;
  runner_pid: number;
  log_path?: string;
}

/** One finished run, as a line of `cron_history.jsonl`. */
export interface HistoryEntry {
  job: string;
  type: "agent" | "script";
  agent?: string;
  started: string;
  finished: string;
  duration_ms: number;
  status: string;
  exit_code: number | null;
  error: string | null;
  log_path: string | null;
  report_path?: string | null;
  usage?: Record<string, number>;
  /** For a run of a series of attempts (a retry, or a failure retried): which one, of how many. */
  attempt?: number;
  attempts?: number;
  /** When the next attempt is due, if one was scheduled. */
  retry_at?: string;
}

/** Whether a value read from a file is a history line, checked field by field. */
export function isHistoryEntry(value: unknown): value is HistoryEntry {
  if (!isObject(value)) return false;
  return typeof value.job === "string" && (value.type === "agent" || value.type === "script") &&
    parseTimestamp(value.started) !== null && parseTimestamp(value.finished) !== null &&
    typeof value.duration_ms === "number" && Number.isFinite(value.duration_ms) &&
    typeof value.status === "string" &&
    (value.exit_code === null || Number.isSafeInteger(value.exit_code)) &&
    (value.error === null || typeof value.error === "string") &&
    (value.log_path === null || typeof value.log_path === "string") &&
    (value.agent === undefined || typeof value.agent === "string") &&
    [value.attempt, value.attempts].every((n) => n === undefined || Number.isSafeInteger(n)) &&
    (value.retry_at === undefined || parseTimestamp(value.retry_at) !== null);
}

/** One job's entry. Fields after `last_error` are ours; the Python original ignores them. */
export interface JobState {
  last_run: string | null;
  last_status: LastStatus;
  last_error: string | null;
  outcome?: Outcome;
  duration_ms?: number;
  exit_code?: number | null;
  log_path?: string | null;
  message?: string | null;
  items_processed?: number | null;
  report_path?: string | null;
  running?: RunningRecord;
  usage?: Record<string, number>;
  /** When its last successful run started. */
  last_success?: string | null;
  /** Non-successful runs since the last success (a usage limit is not counted: not its fault). */
  failures?: number;
  /** Runs by outcome, ever (the metrics' counters). */
  runs?: Record<string, number>;
  /** The last notification of the current failure streak: when, and at which count. */
  notified?: Notified;
  /** When the current failure streak's first run started: its incident's id is made of it. */
  first_failure?: string;
  /** The next attempt of a failed run, when one is scheduled (`run/retry.ts`). */
  retry?: PendingRetry;
  /** Runs that were retries of a failed attempt, ever (the metrics' counter). */
  retries?: number;
  /**
   * When the runner first saw the job, for a clock-time job that has not run yet: it waits for
   * its first slot after this (`select.ts`).
   */
  first_seen?: string;
  /** What its runs spent, ever, per agent (the metrics' counters; `run/record.ts` adds to it). */
  spent?: Record<string, Spent>;
  /**
   * The history line of the last run, saved with its outcome in one atomic write and dropped at
   * a save after the line is in the history: a runner killed in between leaves it here, and the
   * next tick appends it unless the history already holds that run (`run/history_line.ts`).
   */
  history_pending?: HistoryEntry;
  [extra: string]: unknown;
}

/** Dollars (0 for an agent that reports no cost) and tokens. */
export interface Spent {
  usd: number;
  tokens: number;
}

/** What an agent's runs spent in one period: `of` names it, a day `2026-12-01` or a month `2026-12`. */
export interface SpendTally extends Spent {
  of: string;
}

/**
 * An agent's spend in the day and the month of its latest run, in the runner's zone (a tally of
 * an earlier period counts as nothing spent in this one), and the periods in which a person was
 * told its budget was reached. Written by `run/record.ts` (the tally) and `run/hold.ts` (told),
 * read by `spend.ts`.
 */
export interface AgentSpend {
  day?: SpendTally;
  month?: SpendTally;
  told?: { day?: string; month?: string };
}

/** A retry that is due: attempt `attempt` (2 for the first retry) from `at` on. */
export interface PendingRetry {
  attempt: number;
  at: string;
}

/** A notification told, so a failing job is told again only after `repeat`. */
export interface Notified {
  at: string;
  failures: number;
  /** How many times this streak was told (absent in older files: once). */
  told?: number;
  /** The escalation the daemon was last sent for it, to be resolved by the recovery. */
  escalation_id?: string;
}

/** An agent held back by a usage limit. */
export interface Backoff {
  until: string;
  attempts: number;
}

/**
 * The whole file. `jobs`, `agent_backoff` and `spend` have no prototype: a job named
 * `constructor` is a name like any other. Unknown top-level fields are kept as they are.
 */
export interface CronState {
  jobs: Record<string, JobState>;
  /** Agents held back by a usage limit, with the instant they may run again. */
  agent_backoff?: Record<string, Backoff>;
  /** What each agent spent this day and this month, for its `cron.budget`. */
  spend?: Record<string, AgentSpend>;
  [extra: string]: unknown;
}

/** The result of reading the state file. `problems` lists the fields that were dropped. */
export type StateRead =
  | { kind: "ok"; state: CronState; problems: string[] }
  | { kind: "missing"; state: CronState; problems: [] }
  | {
    kind: "corrupt";
    state: CronState;
    reason: string;
    recoveredFrom: "backup" | "empty";
    problems: string[];
  };

/** A map keyed by names from files: no prototype, so no name can reach Object.prototype. */
export function nameMap<T>(entries: Iterable<[string, T]> = []): Record<string, T> {
  const map = Object.create(null) as Record<string, T>;
  for (const [key, value] of entries) map[key] = value;
  return map;
}

/** An empty state. */
export function emptyState(): CronState {
  return { jobs: nameMap() };
}

/**
 * Parses a timestamp from the state file: epoch ms, or null for anything that is not a time
 * JavaScript can hold. Naive timestamps, as older Python versions wrote, are UTC: JavaScript's
 * Date would read them as local time, so a `Z` is appended first.
 */
export function parseTimestamp(text: unknown): number | null {
  if (typeof text !== "string" || text === "") return null;
  const naive = /^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?$/.test(text);
  const value = Date.parse(naive ? `${text.replace(" ", "T")}Z` : text);
  return Number.isFinite(value) ? value : null;
}

/** A job's entry, if it has one. */
export function jobEntry(state: CronState, job: string): JobState | undefined {
  return Object.hasOwn(state.jobs, job) ? state.jobs[job] : undefined;
}

/** A job's entry in the state, created empty the first time. */
export function entryOf(state: CronState, name: string): JobState {
  const existing = jobEntry(state, name);
  if (existing) return existing;
  const entry: JobState = { last_run: null, last_status: "never", last_error: null };
  // Defined, not assigned: a job named __proto__ must become an entry, not a prototype.
  setEntry(state, name, entry);
  return entry;
}

/** Sets a job's whole entry (a name like `__proto__` included: defined, not assigned). */
export function setEntry(state: CronState, name: string, entry: JobState): void {
  Object.defineProperty(state.jobs, name, {
    value: entry,
    enumerable: true,
    writable: true,
    configurable: true,
  });
}

/** The start of a job's last run as epoch milliseconds, or null. */
export function lastRunOf(state: CronState, job: string): number | null {
  return parseTimestamp(jobEntry(state, job)?.last_run);
}

const isObject = (value: unknown): value is Record<string, unknown> =>
  value !== null && typeof value === "object" && !Array.isArray(value);
const isCount = (value: unknown) =>
  typeof value === "number" && Number.isSafeInteger(value) && value >= 0;
const STATUSES: readonly unknown[] = ["success", "failed", "never"];
/** The fields that are a string or null. */
const TEXT_FIELDS = ["last_error", "log_path", "message", "report_path"] as const;

/**
 * What is wrong with one field of a job entry, or null when it is fine (or absent). Plain code
 * on purpose: this runs for every job on every tick (docs/benchmarks.md, "Idle tick").
 */
function fieldProblem(field: string, value: unknown): string | null {
  switch (field) {
    case "last_run":
      return value === null || parseTimestamp(value) !== null ? null : "a timestamp or null";
    case "last_status":
      return STATUSES.includes(value) ? null : "a status";
    case "outcome":
      return (OUTCOMES as readonly unknown[]).includes(value) ? null : "an outcome";
    case "duration_ms":
      return isCount(value) ? null : "a whole number of milliseconds";
    case "exit_code":
      return value === null || Number.isSafeInteger(value) ? null : "an exit code or null";
    case "items_processed":
      return value === null || isCount(value) ? null : "a count or null";
    case "running":
      return isRunningRecord(value) ? null : "a running record";
    case "usage":
      return isObject(value) && Object.values(value).every(Number.isFinite) ? null : "usage";
    case "last_success":
      return value === null || parseTimestamp(value) !== null ? null : "a timestamp or null";
    case "failures":
      return isCount(value) ? null : "a count";
    case "runs":
      return isObject(value) && Object.values(value).every(isCount) ? null : "counts by outcome";
    case "notified":
      return isObject(value) && parseTimestamp(value.at) !== null && isCount(value.failures) &&
          (value.told === undefined || isCount(value.told)) &&
          (value.escalation_id === undefined || typeof value.escalation_id === "string")
        ? null
        : "a notification record";
    case "retry":
      return isObject(value) && parseTimestamp(value.at) !== null && isCount(value.attempt) &&
          (value.attempt as number) >= 2
        ? null
        : "a retry record";
    case "retries":
      return isCount(value) ? null : "a count";
    case "first_failure":
    case "first_seen":
      return parseTimestamp(value) !== null ? null : "a timestamp";
    case "spent":
      return isObject(value) && Object.values(value).every(isSpent) ? null : "spend by agent";
    case "history_pending":
      return isHistoryEntry(value) ? null : "a history line";
    default:
      return value === null || typeof value === "string" ? null : "a string or null";
  }
}

/** The fields `fieldProblem` checks; others are kept as they are (the Python original's, ours). */
const CHECKED = new Set([
  "last_run",
  "last_status",
  "outcome",
  "duration_ms",
  "exit_code",
  "items_processed",
  "running",
  "usage",
  "last_success",
  "failures",
  "runs",
  "notified",
  "first_failure",
  "retry",
  "retries",
  "first_seen",
  "spent",
  "history_pending",
  ...TEXT_FIELDS,
]);

function isSpent(value: unknown): value is Spent {
  return isObject(value) && typeof value.usd === "number" && Number.isFinite(value.usd) &&
    value.usd >= 0 && isCount(value.tokens);
}

/** A day's (`2026-12-01`) or a month's (`2026-12`) tally. */
const PERIOD_KEYS = { day: /^\d{4}-\d{2}-\d{2}$/, month: /^\d{4}-\d{2}$/ } as const;

function isTally(value: unknown, period: keyof typeof PERIOD_KEYS): boolean {
  const of = isSpent(value) ? (value as Spent & { of?: unknown }).of : undefined;
  return typeof of === "string" && PERIOD_KEYS[period].test(of);
}

function isToldRecord(value: unknown): boolean {
  return isObject(value) &&
    Object.entries(value).every(([period, key]) =>
      (period === "day" || period === "month") && typeof key === "string" &&
      PERIOD_KEYS[period].test(key)
    );
}

function isRunningRecord(value: unknown): boolean {
  return isObject(value) && parseTimestamp(value.started) !== null &&
    Number.isSafeInteger(value.pgid) && Number.isSafeInteger(value.runner_pid) &&
    (value.log_path === undefined || typeof value.log_path === "string");
}

/**
 * One job's entry with every field of the wrong type dropped (and reported). `raw` is freshly
 * parsed, so it is checked in place: nothing is copied when all is well, the common case.
 */
function checkJobEntry(name: string, raw: unknown, problems: string[]): JobState | null {
  if (!isObject(raw)) {
    problems.push(`jobs.${name}: ${preview(raw)} is not an entry: dropped`);
    return null;
  }
  for (const field in raw) {
    if (!CHECKED.has(field)) continue;
    const what = fieldProblem(field, raw[field]);
    if (what === null) continue;
    problems.push(`jobs.${name}.${field}: ${preview(raw[field])} is not ${what}: dropped`);
    delete raw[field];
  }
  raw.last_run ??= null;
  raw.last_error ??= null;
  raw.last_status ??= raw.last_run === null ? "never" : "failed";
  return raw as JobState;
}

/**
 * A top-level map keyed by agent (`agent_backoff`, `spend`), each entry checked by `entry`, which
 * reports what it drops and returns null for an entry dropped whole.
 */
function checkAgentMap<T>(
  raw: unknown,
  field: string,
  problems: string[],
  entry: (agent: string, value: unknown) => T | null,
): Record<string, T> | undefined {
  if (raw === undefined) return undefined;
  const map = nameMap<T>();
  if (!isObject(raw)) {
    problems.push(`${field}: ${preview(raw)} is not a mapping: dropped`);
    return map;
  }
  for (const [agent, value] of Object.entries(raw)) {
    const checked = entry(agent, value);
    if (checked !== null) map[agent] = checked;
  }
  return map;
}

function checkBackoff(raw: unknown, problems: string[]): Record<string, Backoff> | undefined {
  return checkAgentMap(raw, "agent_backoff", problems, (agent, value) => {
    if (isObject(value) && parseTimestamp(value.until) !== null && isCount(value.attempts)) {
      return { until: value.until as string, attempts: value.attempts as number };
    }
    problems.push(`agent_backoff.${agent}: ${preview(value)} is not a back-off: dropped`);
    return null;
  });
}

/**
 * The spend tallies, each agent's field checked on its own: a bad one is dropped (that period
 * then counts from nothing) and reported, the rest kept.
 */
function checkSpend(raw: unknown, problems: string[]): Record<string, AgentSpend> | undefined {
  return checkAgentMap(raw, "spend", problems, (agent, value) => {
    if (!isObject(value)) {
      problems.push(`spend.${agent}: ${preview(value)} is not a tally: dropped`);
      return null;
    }
    const entry: Record<string, unknown> = {};
    for (const [field, of] of Object.entries(value)) {
      const ok = field === "told"
        ? isToldRecord(of)
        : (field === "day" || field === "month") && isTally(of, field);
      if (ok) {
        entry[field] = of;
        continue;
      }
      const what = spendField(field);
      problems.push(`spend.${agent}.${field}: ${preview(of)} is not ${what}: dropped`);
    }
    return entry as AgentSpend;
  });
}

function spendField(field: string): string {
  if (field === "day") return "a day's tally ({of: YYYY-MM-DD, usd, tokens})";
  if (field === "month") return "a month's tally ({of: YYYY-MM, usd, tokens})";
  return field === "told" ? "a record of the periods told" : "a field of a tally";
}

function preview(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

/**
 * Parses state text. Throws a plain Error with the reason when it is not a state file at all;
 * otherwise returns the state with every bad field dropped, and what was dropped.
 */
export function parseState(text: string): { state: CronState; problems: string[] } {
  const value: unknown = JSON.parse(text);
  if (!isObject(value)) throw new Error("the top level is not an object");
  const jobs = value.jobs ?? {};
  if (!isObject(jobs)) throw new Error(`"jobs" is not an object`);
  const problems: string[] = [];
  const checked = nameMap<JobState>();
  for (const [name, raw] of Object.entries(jobs)) {
    const entry = checkJobEntry(name, raw, problems);
    if (entry) checked[name] = entry;
  }
  const state: CronState = { ...value, jobs: checked };
  const backoff = checkBackoff(value.agent_backoff, problems);
  if (backoff === undefined) delete state.agent_backoff;
  else state.agent_backoff = backoff;
  const spend = checkSpend(value.spend, problems);
  if (spend === undefined) delete state.spend;
  else state.spend = spend;
  return { state, problems };
}

/** The state file's text; null when there is none. A path that is not a file is an error. */
function readIfExists(path: string): string | null {
  const kind = pathKind(path);
  if (kind === "absent") return null;
  // Synchronous: this is on the idle tick (docs/benchmarks.md, "Idle tick").
  if (kind === "file") return Deno.readTextFileSync(path);
  throw new Error(`${path} is not a regular file`);
}

/**
 * Reads the state file without changing anything on disk (`--list`, `--dry-run`). A corrupt file
 * is reported in the result and the last good copy (`.bak`) or an empty state stands in for it.
 */
export function readState(path: string): StateRead {
  let text: string | null;
  try {
    text = readIfExists(path);
    if (text === null) return { kind: "missing", state: emptyState(), problems: [] };
    return { kind: "ok", ...parseState(text) };
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    try {
      const backup = readIfExists(`${path}.bak`);
      if (backup !== null) {
        return { kind: "corrupt", ...parseState(backup), reason, recoveredFrom: "backup" };
      }
    } catch {
      // The backup is no better: start empty.
    }
    return { kind: "corrupt", state: emptyState(), reason, recoveredFrom: "empty", problems: [] };
  }
}

/**
 * Reads the state for a run, holding the runner lock. A corrupt file is moved aside to
 * `<path>.corrupt-<timestamp>`; a file with bad fields is copied aside to
 * `<path>.invalid-<timestamp>` and rewritten without them, once. Nothing is ever dropped unkept.
 */
export function loadStateForRun(path: string, now: Date): StateRead & { keptAt?: string } {
  const read = readState(path);
  const stamp = now.toISOString().replace(/[:.]/g, "-");
  if (read.kind === "corrupt") {
    if (pathKind(path) !== "file") return read;
    const keptAt = `${path}.corrupt-${stamp}`;
    Deno.renameSync(path, keptAt);
    return { ...read, keptAt };
  }
  if (read.kind === "ok" && read.problems.length > 0) {
    const keptAt = `${path}.invalid-${stamp}`;
    Deno.copyFileSync(path, keptAt);
    saveState(path, read.state);
    return { ...read, keptAt };
  }
  return read;
}

/** Whether a state has a run in flight (a `running` record). */
function hasRunInFlight(state: CronState): boolean {
  return Object.values(state.jobs).some((entry) => entry.running !== undefined);
}

/**
 * Whether a runner that stopped left something for this tick to settle: a run in flight, or a
 * run whose history line may not be in the history yet (`history_pending`). One pass over the
 * entries: this is on the idle tick.
 */
export function hasUnsettledRun(state: CronState): boolean {
  return Object.values(state.jobs).some((entry) =>
    entry.running !== undefined || entry.history_pending !== undefined
  );
}

/**
 * Writes the state atomically. The file being replaced becomes `.bak` only when it had no run in
 * flight, so `.bak` is always the last state at rest: recovering from it never turns a finished
 * run into an interrupted one. The directory is 0700 and the file 0600.
 */
export function saveState(path: string, state: CronState): void {
  ensurePrivateDir(dirname(path), dirname(path));
  const bytes = new TextEncoder().encode(`${JSON.stringify(state, null, 2)}\n`);
  atomicWrite(path, bytes, { beforeRename: () => keepBackupIfAtRest(path) });
}

function keepBackupIfAtRest(path: string): void {
  if (pathKind(path) !== "file") return;
  try {
    if (hasRunInFlight(parseState(Deno.readTextFileSync(path)).state)) return;
  } catch {
    return; // Not a state at all: not worth keeping as the last good copy.
  }
  const backupTemp = `${path}.bak.tmp-${Deno.pid}`;
  try {
    removeIfFileOrLink(backupTemp);
    Deno.linkSync(path, backupTemp);
    Deno.renameSync(backupTemp, `${path}.bak`);
  } catch (error) {
    removeIfFileOrLink(backupTemp);
    // A full disk stays itself, for the caller that frees room; anything else names the `.bak`.
    if (isDiskFull(error)) throw error;
    throw storeFailure(`${path}.bak`, error);
  }
}

/** How far ahead of now a last run may be before the clock counts as moved back. */
export const CLOCK_SKEW_MS = 5 * 60_000;

/**
 * Runs recorded as starting in the future: the clock (or the zone) was moved back since. Each is
 * set to now, so the job waits one interval from here rather than until that future instant.
 * Returns the names of the jobs it changed.
 */
export function settleFutureRuns(state: CronState, now: number): string[] {
  const moved: string[] = [];
  for (const [name, entry] of Object.entries(state.jobs)) {
    const lastRun = parseTimestamp(entry.last_run);
    if (lastRun !== null && lastRun > now + CLOCK_SKEW_MS) {
      entry.last_run = new Date(now).toISOString();
      moved.push(name);
    }
  }
  return moved;
}
