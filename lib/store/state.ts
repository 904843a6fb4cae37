/**
 * `~/.teleclaude/cron_state.json`: the last outcome of every job, in the format of the Python
 * original so existing files keep working:
 *   {"jobs": {NAME: {"last_run": ISO-8601, "last_status": "success"|"failed"|"never",
 *                    "last_error": string|null, ...extra fields}}}
 * Every write is atomic (temp file, fsync, rename) and keeps the previous file as `.bak`.
 */

import { atomicWrite } from "./fs.ts";

/** The three statuses the Python original knows; finer outcomes go in `outcome`. */
export type LastStatus = "success" | "failed" | "never";

/** How a run ended. `success` and `failed` are the plain cases. */
export type Outcome =
  | "success"
  | "failed"
  | "timed_out"
  | "idle"
  | "interrupted"
  | "usage_limit"
  | "max_turns";

/** A run in progress, recorded before waiting on it so a crash of the runner is detected. */
export interface RunningRecord {
  started: string;
  /** The job's process group (== pid of the process the runner spawned). */
  pgid: number;
  runner_pid: number;
  log_path?: string;
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
  /** Do not start this job's agent again before this instant (usage limits). */
  deferred_until?: string | null;
  [extra: string]: unknown;
}

/** The whole file. Unknown top-level fields are kept as they are. */
export interface CronState {
  jobs: Record<string, JobState>;
  /** Agents held back by a usage limit, with the instant they may run again. */
  agent_backoff?: Record<string, { until: string; attempts: number }>;
  [extra: string]: unknown;
}

/** The result of reading the state file. */
export type StateRead =
  | { kind: "ok"; state: CronState }
  | { kind: "missing"; state: CronState }
  | { kind: "corrupt"; state: CronState; reason: string; recoveredFrom: "backup" | "empty" };

/** An empty state. */
export function emptyState(): CronState {
  return { jobs: {} };
}

/**
 * Parses a timestamp from the state file. Naive timestamps, as older Python versions wrote, are
 * UTC: JavaScript's Date would read them as local time, so a `Z` is appended first.
 */
export function parseTimestamp(text: string | null | undefined): number | null {
  if (!text) return null;
  const naive = /^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?$/.test(text);
  const value = Date.parse(naive ? `${text.replace(" ", "T")}Z` : text);
  return Number.isNaN(value) ? null : value;
}

/** The start of a job's last run as epoch milliseconds, or null. */
export function lastRunOf(state: CronState, job: string): number | null {
  return parseTimestamp(state.jobs[job]?.last_run);
}

/** Parses state text; throws a plain Error with the reason when it is not a state file. */
export function parseState(text: string): CronState {
  const value: unknown = JSON.parse(text);
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    throw new Error("the top level is not an object");
  }
  const jobs = (value as { jobs?: unknown }).jobs ?? {};
  if (jobs === null || typeof jobs !== "object" || Array.isArray(jobs)) {
    throw new Error(`"jobs" is not an object`);
  }
  for (const [name, entry] of Object.entries(jobs)) {
    if (entry === null || typeof entry !== "object" || Array.isArray(entry)) {
      throw new Error(`jobs.${name} is not an object`);
    }
    const lastRun = (entry as JobState).last_run;
    if (lastRun !== null && lastRun !== undefined && parseTimestamp(lastRun) === null) {
      throw new Error(`jobs.${name}.last_run ${JSON.stringify(lastRun)} is not a timestamp`);
    }
  }
  return { ...(value as CronState), jobs: jobs as Record<string, JobState> };
}

function readIfExists(path: string): string | null {
  try {
    // Synchronous: this is on the idle tick (docs/benchmarks.md, "Idle tick").
    return Deno.readTextFileSync(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return null;
    throw error;
  }
}

/**
 * Reads the state file without changing anything on disk (`--list`, `--dry-run`). A corrupt file
 * is reported in the result and the last good copy (`.bak`) or an empty state stands in for it.
 */
export function readState(path: string): StateRead {
  const text = readIfExists(path);
  if (text === null) return { kind: "missing", state: emptyState() };
  try {
    return { kind: "ok", state: parseState(text) };
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    const backup = readIfExists(`${path}.bak`);
    if (backup !== null) {
      try {
        return { kind: "corrupt", state: parseState(backup), reason, recoveredFrom: "backup" };
      } catch {
        // The backup is no better: start empty.
      }
    }
    return { kind: "corrupt", state: emptyState(), reason, recoveredFrom: "empty" };
  }
}

/**
 * Reads the state for a run, holding the runner lock: a corrupt file is moved aside to
 * `<path>.corrupt-<timestamp>` (never dropped) and its path returned for the log.
 */
export async function loadStateForRun(
  path: string,
  now: Date,
): Promise<StateRead & { movedTo?: string }> {
  const read = readState(path);
  if (read.kind !== "corrupt") return read;
  const stamp = now.toISOString().replace(/[:.]/g, "-");
  const movedTo = `${path}.corrupt-${stamp}`;
  await Deno.rename(path, movedTo);
  return { ...read, movedTo };
}

/**
 * Writes the state atomically (`atomicWrite`), first hard-linking the old file to `.bak` so the
 * last good copy survives a bad write. The directory is 0700 and the file 0600.
 */
export async function saveState(path: string, state: CronState): Promise<void> {
  const bytes = new TextEncoder().encode(`${JSON.stringify(state, null, 2)}\n`);
  await atomicWrite(path, bytes, () => keepBackup(path));
}

async function keepBackup(path: string): Promise<void> {
  const backupTemp = `${path}.bak.tmp-${Deno.pid}`;
  try {
    await Deno.remove(backupTemp).catch(() => {});
    await Deno.link(path, backupTemp);
    await Deno.rename(backupTemp, `${path}.bak`);
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
}
