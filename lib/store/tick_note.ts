/**
 * `~/.teleclaude/cron_last_tick.json`: when a runner holding the lock last looked at the
 * schedules, and with which config, so `--list` can tell "no runner ran" from "runners ran but
 * did not start the job".
 */

import { atomicWrite, pathKind } from "./fs.ts";
import { parseTimestamp } from "./state.ts";

/** The last tick a runner made: when, and with which config file. */
export interface LastTick {
  at: number;
  config: string;
}

/**
 * Notes that a runner holding the lock looked at the schedules now. Informational: no fsync.
 * Returns why it could not be written, or null.
 */
export function recordTick(path: string, config: string, now: number): string | null {
  const note = JSON.stringify({ at: new Date(now).toISOString(), config });
  try {
    atomicWrite(path, new TextEncoder().encode(note), { sync: false });
    return null;
  } catch (error) {
    // Only a note for --list: a full disk must not stop the jobs (the state write will say so).
    if (error instanceof Deno.errors.NotCapable) throw error;
    return error instanceof Error ? error.message : String(error);
  }
}

/** The last tick, or null when none was recorded (or the note is not one). */
export function readLastTick(path: string): LastTick | null {
  if (pathKind(path) !== "file") return null;
  try {
    const value = JSON.parse(Deno.readTextFileSync(path)) as { at?: unknown; config?: unknown };
    const at = parseTimestamp(value?.at);
    return at !== null && typeof value.config === "string" ? { at, config: value.config } : null;
  } catch {
    return null;
  }
}
