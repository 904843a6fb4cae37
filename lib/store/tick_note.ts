/**
 * `~/.teleclaude/cron_last_tick.json`: when a runner holding the lock last looked at the
 * schedules, and with which config, so `--list` can tell "no runner ran" from "runners ran but
 * did not start the job"; and which config cache it had verified, so the next tick need not
 * verify it again (lib/config/load.ts).
 */

import { atomicWrite, pathKind } from "./fs.ts";
import { parseTimestamp } from "./state.ts";

/** The last tick a runner made. */
export interface LastTick {
  at: number;
  /** The config file it ran. */
  config: string;
  /** The identity of the config cache file it verified (`loadConfig`), or null. */
  cache: string | null;
  /** This computer's name as last asked, and when (`computer.ts`); null when not known. */
  computer?: { name: string; at: number } | null;
}

/**
 * Notes that a runner holding the lock looked at the schedules now. Informational: no fsync.
 * Returns why it could not be written, or null.
 */
export function recordTick(path: string, tick: LastTick): string | null {
  const note = JSON.stringify({
    ...tick,
    at: new Date(tick.at).toISOString(),
    computer: tick.computer
      ? { name: tick.computer.name, at: new Date(tick.computer.at).toISOString() }
      : null,
  });
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
    const value = JSON.parse(Deno.readTextFileSync(path)) as Record<string, unknown> | null;
    const at = parseTimestamp(value?.at);
    if (at === null || typeof value?.config !== "string") return null;
    const computer = value.computer as Record<string, unknown> | null | undefined;
    const computerAt = parseTimestamp(computer?.at);
    return {
      at,
      config: value.config,
      cache: typeof value.cache === "string" ? value.cache : null,
      computer: typeof computer?.name === "string" && computerAt !== null
        ? { name: computer.name, at: computerAt }
        : null,
    };
  } catch {
    return null;
  }
}
