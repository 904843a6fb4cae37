/**
 * `~/.teleclaude/cron_last_tick.json`: when a runner holding the lock last looked at the
 * schedules, and with which config, so `--list` can tell "no runner ran" from "runners ran but
 * did not start the job".
 */

import { parseTimestamp } from "./state.ts";

/** The last tick a runner made: when, and with which config file. */
export interface LastTick {
  at: number;
  config: string;
}

/**
 * Notes that a runner holding the lock looked at the schedules now. Informational: a plain
 * write, no fsync. False when it could not be written.
 */
export function recordTick(path: string, config: string, now: number): boolean {
  try {
    Deno.writeTextFileSync(path, JSON.stringify({ at: new Date(now).toISOString(), config }), {
      mode: 0o600,
    });
    return true;
  } catch (error) {
    // Only a note for --list: a full disk must not stop the jobs (the state write will say so).
    if (error instanceof Deno.errors.NotCapable) throw error;
    return false;
  }
}

/** The last tick, or null when none was recorded (or the note is unreadable). */
export function readLastTick(path: string): LastTick | null {
  try {
    const value = JSON.parse(Deno.readTextFileSync(path)) as { at?: string; config?: string };
    const at = parseTimestamp(value.at);
    return at !== null && typeof value.config === "string" ? { at, config: value.config } : null;
  } catch {
    return null;
  }
}
