/**
 * This computer's name, as a job's `computer:` names it: `TELECLAUDE_COMPUTER` when set, else
 * the short host name (macOS: `scutil --get LocalHostName`, the name the Sharing settings show;
 * elsewhere the host name up to its first dot). Names compare ignoring case, as host names do.
 */

import type { Job } from "./config/job.ts";

/** A computer's name and where it came from (for `--doctor`). */
export interface ComputerName {
  name: string;
  source: string;
}

/** This computer's name. Spawns `scutil` on macOS: ask only when a pinned job needs it. */
export function thisComputer(
  override = Deno.env.get("TELECLAUDE_COMPUTER"),
  os: typeof Deno.build.os = Deno.build.os,
): ComputerName {
  if (override?.trim()) return { name: override.trim(), source: "TELECLAUDE_COMPUTER" };
  if (os === "darwin") {
    const local = localHostName();
    if (local) return { name: local, source: "scutil --get LocalHostName" };
  }
  return { name: Deno.hostname().split(".")[0]!, source: "the host name" };
}

function localHostName(): string | null {
  try {
    const output = new Deno.Command("/usr/sbin/scutil", {
      args: ["--get", "LocalHostName"],
      stdin: "null",
      stdout: "piped",
      stderr: "null",
    }).outputSync();
    const name = new TextDecoder().decode(output.stdout).trim();
    return output.success && name ? name : null;
  } catch {
    return null;
  }
}

/** A computer's name as a tick remembers it (`cron_last_tick.json`), and since when. */
export interface RememberedComputer {
  name: string;
  at: number;
}

/** How long a remembered name stands before it is asked again (a Mac may be renamed). */
export const REMEMBER_COMPUTER_MS = 3600_000;

/** This computer's name, asked at most once, and what of it the tick note should remember. */
export interface ComputerSource {
  (): string;
  /** The name to remember: asked in this process, or remembered and still fresh; else null. */
  note(): RememberedComputer | null;
  /** Whether the name was asked in this process (the tick note then remembers it anew). */
  asked(): boolean;
}

/**
 * This computer's name, asked on first use only: TELECLAUDE_COMPUTER when set, else a name a tick
 * remembered within the hour, else asked (on macOS that spawns scutil: an idle tick on a Mac that
 * is not a pinned job's computer would pay for it every five minutes).
 */
export function computerOnce(
  ask: () => ComputerName = () => thisComputer(),
  remembered: RememberedComputer | null = null,
  now = Date.now(),
): ComputerSource {
  const fresh = remembered !== null && now - remembered.at < REMEMBER_COMPUTER_MS &&
      now >= remembered.at
    ? remembered
    : null;
  let name: string | null = null;
  let asked: RememberedComputer | null = null;
  const source = () => {
    if (name !== null) return name;
    const override = Deno.env.get("TELECLAUDE_COMPUTER")?.trim();
    if (override) return (name = override);
    if (fresh) return (name = fresh.name);
    asked = { name: ask().name, at: now };
    return (name = asked.name);
  };
  return Object.assign(source, { note: () => asked ?? fresh, asked: () => asked !== null });
}

/**
 * Whether `job` runs on the computer named `computer`: it names none, or names this one. Names
 * compare ignoring case and anything from the first dot (`mini.local` is `mini`).
 */
export function runsOn(job: Pick<Job, "computers">, computer: string): boolean {
  const here = shortName(computer);
  return job.computers === null || job.computers.some((name) => shortName(name) === here);
}

/** A computer's name as names compare: ignoring case and anything from the first dot. */
export function shortName(name: string): string {
  return name.split(".")[0]!.toLowerCase();
}
