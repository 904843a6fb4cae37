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

interface JobBase {
  name: string;
  schedule: Schedule;
  timeoutSeconds: number;
  /**
   * Seconds without output after which the job counts as hung; 0 disables the watchdog
   * (the default for script jobs; agent jobs default to 600).
   */
  idleTimeoutSeconds: number;
}

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
}

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
  warnings: Problem[];
}

export const DEFAULT_TIMEOUT_SECONDS = 1800;
export const DEFAULT_IDLE_TIMEOUT_SECONDS = 600;
/** The role an agent job gets when its config names none, and always when the daemon is down. */
export const DEFAULT_ROLE = "admin";

/** A job name: it names a log directory and a state key, so it is kept to a safe alphabet. */
export const JOB_NAME = /^[a-z0-9_-]+$/;
