/**
 * What a job is: the validated shape of `teleclaude.yml`'s `jobs:` and `agents:` maps, the names
 * and the defaults. The bottom of the module graph (beside `errors.ts`, whose `Problem` type it
 * uses), so every layer (the parser, the cache, the schedule, the views) can use these names
 * without loading anything else.
 */

import type { Problem } from "../errors.ts";

export const AGENT_NAMES = ["claude", "codex", "gemini"] as const;
export type AgentName = typeof AGENT_NAMES[number];
export const THINKING_MODES = ["fast", "med", "slow", "deep"] as const;
export type ThinkingMode = typeof THINKING_MODES[number];
/** Weekday names as the config writes them; index 0 = Monday, as `Schedule` counts. */
export const WEEKDAY_NAMES = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"] as const;

/** When a job runs. Hours are local wall-clock hours; weekdays count 0 = Monday. */
export type Schedule =
  | { kind: "every"; minutes: number }
  | { kind: "at"; times: string[]; weekdays: number[] | null }
  | { kind: "hourly" }
  | { kind: "daily"; hour: number }
  | { kind: "weekly"; weekday: number; hour: number }
  | { kind: "monthly"; day: number; hour: number }
  | { kind: "unscheduled" };

/** What every job has, whatever its kind. */
export interface JobBase {
  name: string;
  schedule: Schedule;
  timeoutSeconds: number;
  /**
   * Seconds without output after which the job counts as hung; 0 disables the watchdog
   * (the default for script jobs; agent jobs default to 600).
   */
  idleTimeoutSeconds: number;
  /** The most one run's log may hold (its head and tail are kept); null: the default. */
  maxLogBytes: number | null;
  /** The computers whose runner runs it (`computer:`); null: every computer's. */
  computers: string[] | null;
  /** The job's own `notify:`: false mutes it; null takes the runner's settings whole. */
  notify: JobNotify | false | null;
  /** `enabled: false` pauses it: configured and listed, run only when forced by name. */
  enabled: boolean;
  /**
   * Its jitter in minutes (its own `jitter:`, else `cron.jitter`), less than its period; 0: none.
   * Each computer runs it this fixed offset within [0, jitter) after its slot (`schedule.ts`).
   */
  jitterMinutes: number;
  /** What a failed attempt is retried for, how often and how soon (`retry:`). */
  retry: RetryPolicy;
}

/** The outcomes a retry may be asked for (`retry.on`): a passing outage, a hang, a failure. */
export const RETRYABLE_OUTCOMES = ["unavailable", "idle", "failed", "timed_out"] as const;
export type RetryableOutcome = typeof RETRYABLE_OUTCOMES[number];

/**
 * A job's `retry:`. `attempts` counts the regular run too (1: no retry). Attempt N+1 is due
 * `backoff` after attempt N failed, the backoff doubling per attempt up to an hour (or up to the
 * stated backoff, when that is longer). `tell`: whether a person hears of the first failed
 * attempt or only of the last.
 */
export interface RetryPolicy {
  attempts: number;
  backoffMinutes: number;
  on: RetryableOutcome[];
  tell: "first" | "last";
}

/** The most attempts a `retry:` may ask for. */
export const MAX_RETRY_ATTEMPTS = 10;
/** The doubling backoff stops growing here (unless the stated backoff is longer). */
export const MAX_DOUBLED_BACKOFF_MINUTES = 60;
/** The longest `retry.backoff`: a retry later than a day helps nobody. */
export const MAX_BACKOFF_MINUTES = 24 * 60;

/** Agent jobs: a passing outage of the model service (or a hang) is tried again, twice. */
export const DEFAULT_AGENT_RETRY: Readonly<RetryPolicy> = {
  attempts: 3,
  backoffMinutes: 10,
  on: ["unavailable", "idle"],
  tell: "last",
};
/** Script jobs are not retried unless their `retry:` says so. */
export const DEFAULT_SCRIPT_RETRY: Readonly<RetryPolicy> = { ...DEFAULT_AGENT_RETRY, attempts: 1 };
/**
 * A script job that asks for retries (`retry: true`, or a mapping without `on`) is retried on
 * what a script can end in: it is never `unavailable` (that is an agent's word for its service),
 * and `idle` only with an `idle_timeout`.
 */
export const ASKED_SCRIPT_RETRY: Readonly<RetryPolicy> = {
  ...DEFAULT_AGENT_RETRY,
  on: ["failed", "timed_out", "idle"],
};

/** A job that spawns an agent CLI on the spec doc `docs/project/spec/jobs/<spec>.md`. */
export interface AgentJob extends JobBase {
  type: "agent";
  spec: string;
  agent: AgentName;
  thinkingMode: ThinkingMode;
  /** Role used when the daemon is healthy; `admin` otherwise. */
  role: string;
  maxTurns: number | null;
  maxBudgetUsd: number | null;
}

/** A job that runs a program directly. `command[0]` is relative to the config's directory. */
export interface ScriptJob extends JobBase {
  type: "script";
  command: string[];
  /** Found in the `jobs/` folder with no config entry: listed, run only when forced by name. */
  discovered: boolean;
}

export type Job = AgentJob | ScriptJob;

/** Per-agent overrides from the top-level `agents:` key. */
export interface AgentOverride {
  binary?: string;
  models?: Partial<Record<ThinkingMode, string>>;
  /** How many of its jobs may run at once (`agents.<name>.concurrency`); absent: 1. */
  concurrency?: number;
}

/** What a person is told about (`notify.on`). */
export const NOTIFY_ON = ["failure", "recovery", "deferred", "config", "success"] as const;
export type NotifyOn = typeof NOTIFY_ON[number];

/** A job's `notify:` when it is a mapping: what it overrides of the runner's settings. */
export interface JobNotify {
  on: NotifyOn[] | null;
  repeatMs: number | null;
}

/** The runner's `cron.notify`: what is told, how often a failure is repeated, and where. */
export interface NotifySettings {
  on: NotifyOn[];
  /** A job still failing is told again after this long, with its count of failures. */
  repeatMs: number;
  /** A desktop notification; null: where the machine can show one (the default). */
  desktop: boolean | null;
  /** The daemon's event platform (`POST /events/emit`); false turns it off. */
  daemon: { email: string | null } | false;
  /** A program given each event on stdin, run without a shell; null: none. */
  command: string[] | null;
}

/**
 * The agents whose runs report what they cost in dollars (claude's `total_cost_usd`); the others
 * report tokens only, so a dollar ceiling for them could never be reached.
 */
export const AGENTS_REPORTING_COST: readonly AgentName[] = ["claude"];

/**
 * One agent's `cron.budget`: ceilings on what its runs spend per day and per month in the runner's
 * zone, in dollars (agents in `AGENTS_REPORTING_COST`) or tokens; null: no such ceiling.
 */
export interface Budget {
  dailyUsd: number | null;
  monthlyUsd: number | null;
  dailyTokens: number | null;
  monthlyTokens: number | null;
}

/** The top-level `cron:` section: settings of the runner itself. */
export interface CronSettings {
  notify: NotifySettings;
  /** Where Prometheus text-format metrics are written after every tick; null: nowhere. */
  metricsFile: string | null;
  /** Spend ceilings per agent (`cron.budget`); an agent not named has none. */
  budget: Partial<Record<AgentName, Budget>>;
  /**
   * How many jobs the runner holding the lock runs at once (`cron.concurrency`); absent when the
   * config does not say: 1, one job at a time (`runnerConcurrency`).
   */
  concurrency?: number;
}

/** The most `cron.concurrency` and `agents.<name>.concurrency` may be. */
export const MAX_CONCURRENCY = 64;

/**
 * Every job's timeout added up: the longest a tick may take, the limit the service's backstop
 * (systemd's `TimeoutStartSec`) is made of, which a lane runner keeps within (`run/lanes.ts`).
 */
export function totalTimeoutSeconds(jobs: readonly Pick<JobBase, "timeoutSeconds">[]): number {
  return jobs.reduce((sum, job) => sum + job.timeoutSeconds, 0);
}

/**
 * The limit the systemd service is installed with (`TimeoutStartSec`): every job's timeout added
 * up, and ten minutes for starting, recording and telling. init.sh writes it; the doctor fails
 * when the config has since grown past the one installed.
 */
export function serviceLimitSeconds(jobs: readonly Pick<JobBase, "timeoutSeconds">[]): number {
  return totalTimeoutSeconds(jobs) + 600;
}

/** How many jobs run at once: `cron.concurrency`, 1 unless set. */
export function runnerConcurrency(cron: CronSettings): number {
  return cron.concurrency ?? 1;
}

/**
 * How many jobs of one agent run at once: `agents.<name>.concurrency`, 1 unless set (two jobs of
 * one agent share one account's usage limit).
 */
export function agentConcurrency(config: Pick<Config, "agents">, agent: AgentName): number {
  return config.agents[agent]?.concurrency ?? 1;
}

export const DEFAULT_NOTIFY: Readonly<NotifySettings> = {
  on: ["failure", "recovery", "deferred", "config"],
  repeatMs: 24 * 3600_000,
  desktop: null,
  daemon: { email: null },
  command: null,
};

/** A validated config. `jobs` keeps the order of the file. */
export interface Config {
  /** Absolute path of the config file. */
  file: string;
  /** The name used in messages (as the user passed it). */
  displayName: string;
  /** The config's directory: working directory of every job, root of the spec docs. */
  dir: string;
  jobs: Job[];
  agents: Partial<Record<AgentName, AgentOverride>>;
  cron: CronSettings;
  warnings: Problem[];
}

export const DEFAULT_TIMEOUT_SECONDS = 1800;
export const DEFAULT_IDLE_TIMEOUT_SECONDS = 600;
/** The role an agent job gets when its config names none, and always when the daemon is down. */
export const DEFAULT_ROLE = "admin";

/** A job name: it names a log directory and a state key, so it is kept to a safe alphabet. */
export const JOB_NAME = /^[a-z0-9_-]+$/;
/** Long enough for any name a person writes, short enough for every file system's file names. */
export const MAX_JOB_NAME = 100;

/** A computer's name as `computer:` writes it: a host name's alphabet, compared ignoring case. */
export const COMPUTER_NAME = /^[A-Za-z0-9](?:[A-Za-z0-9._-]{0,62})$/;

/** A duration as the config writes one: `10m`, `2h`, `1d`. */
const DURATION = /^(\d+)([mhd])$/;

/** The minutes of a duration (`10m`, `2h`, `1d`); null when it is not one or is zero. */
export function durationMinutes(text: string): number | null {
  const match = DURATION.exec(text.trim());
  const count = match ? Number(match[1]) : 0;
  if (!match || count < 1) return null;
  return count * { m: 1, h: 60, d: 1440 }[match[2] as "m" | "h" | "d"];
}

/** Whether `name` can be a job's name. */
export function isJobName(name: string): boolean {
  return name.length <= MAX_JOB_NAME && JOB_NAME.test(name);
}

/**
 * The option naming a job in every command the runner writes (a hint, a CronJob's args): one
 * argument, `--job=NAME`, which reads right for any job name; a name may start with `-`, and
 * `--job -x` is taken for two options.
 */
export function jobOption(name: string): string {
  return `--job=${name}`;
}

/**
 * A spec doc name: letters, digits, `-` and `_`, with `/` between subfolders; never `..`, never a
 * leading `/` (it must stay inside `docs/project/spec/jobs/`), never a newline (it goes into the
 * prompt).
 */
export const SPEC_NAME = /^[A-Za-z0-9_-]+(?:\/[A-Za-z0-9_-]+)*$/;

/** The longest `timeout` and `idle_timeout`: a week (timers overflow past 24.8 days). */
export const MAX_TIMEOUT_SECONDS = 7 * 24 * 3600;
/** The longest `every`: a year; longer intervals overflow nothing but help nobody. */
export const MAX_EVERY_MINUTES = 366 * 24 * 60;
/** A run's log keeps at most this much by default: its head and its tail. */
export const DEFAULT_MAX_LOG_BYTES = 10 * 1024 * 1024;
/** What `max_log_size` may be set to. */
export const MIN_LOG_BYTES = 64 * 1024;
export const MAX_LOG_BYTES = 1024 * 1024 * 1024;

/**
 * Splits `script: path arg "quoted arg"` into argv without a shell: whitespace separates,
 * single and double quotes group.
 */
export function splitCommand(text: string): string[] {
  const words: string[] = [];
  const pattern = /"([^"]*)"|'([^']*)'|(\S+)/g;
  for (const match of text.matchAll(pattern)) words.push(match[1] ?? match[2] ?? match[3]!);
  return words;
}
