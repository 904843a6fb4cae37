/** Where the runner keeps its files. Everything lives under `~/.teleclaude`; `HOME` decides `~`. */

import { UsageError } from "./errors.ts";
import { join } from "./posix_path.ts";

/** The default daemon socket; `TELECLAUDE_API_SOCKET` overrides it. */
export const DEFAULT_API_SOCKET = "/tmp/teleclaude-api.sock";

/** The file paths of one runner installation, all derived from one home directory. */
export interface RunnerPaths {
  home: string;
  root: string;
  state: string;
  lock: string;
  logs: string;
  cache: string;
  history: string;
  reports: string;
  /** When a runner last took the lock and looked at the schedules, and with which config. */
  lastTick: string;
  /** Notifications not yet delivered. */
  outbox: string;
  /** The config problem last told (a config that would not load), and when; empty once fixed. */
  configProblem: string;
  /** What became of each job's latest notification on each channel. */
  told: string;
}

/** Paths under `<home>/.teleclaude`. */
export function runnerPaths(home: string): RunnerPaths {
  const root = join(home, ".teleclaude");
  return {
    home,
    root,
    state: join(root, "cron_state.json"),
    lock: join(root, "cron_runner.pid"),
    logs: join(root, "logs", "cron"),
    cache: join(root, "cache"),
    history: join(root, "cron_history.jsonl"),
    reports: join(root, "jobs"),
    lastTick: join(root, "cron_last_tick.json"),
    outbox: join(root, "cron_outbox.jsonl"),
    configProblem: join(root, "cron_config_problem.json"),
    told: join(root, "cron_told.json"),
  };
}

/** The home directory from the environment; a missing `HOME` is a usage error, not a guess. */
export function homeFromEnv(): string {
  const home = Deno.env.get("HOME");
  if (!home) {
    throw new UsageError("HOME is not set; the runner keeps its state under $HOME/.teleclaude");
  }
  return home;
}

/** The daemon socket path from `TELECLAUDE_API_SOCKET`, else the default. */
export function apiSocketFromEnv(): string {
  return Deno.env.get("TELECLAUDE_API_SOCKET") || DEFAULT_API_SOCKET;
}
