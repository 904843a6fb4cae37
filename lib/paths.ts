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

/**
 * Refuses a home or socket path that the runner's permission flags cannot name. Deno's lists
 * (`--allow-write=A,B`) split on every comma and have no escape (Deno 2.9.6: `,,` is an empty
 * path), and scripts/permission-flags.sh prints one flag per line, so a comma or a newline in
 * either path leaves the runner without write access to its own files: every tick would stop
 * with NotCapable, or every agent job fail on the socket. The flag script refuses the same
 * paths; this holds for a runner whose flags were made before it did. A string test: it runs on
 * every tick.
 */
export function checkGrantable(home: string, socket: string): void {
  for (const [name, value] of [["HOME", home], ["TELECLAUDE_API_SOCKET", socket]] as const) {
    const bad = value.includes(",") ? "a comma" : value.includes("\n") ? "a newline" : null;
    if (bad) {
      throw new UsageError(
        `${name} ${JSON.stringify(value)} has ${bad}, which the runner's permission flags ` +
          `cannot carry (Deno splits its lists on commas; the flags are one per line), so it ` +
          `could not write there: use a ${name} without commas or newlines`,
      );
    }
  }
}
