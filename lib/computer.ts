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

/** Asks for this computer's name once, on first use. */
export function computerOnce(ask: () => ComputerName = () => thisComputer()): () => string {
  let name: string | null = null;
  return () => (name ??= ask().name);
}

/** Whether `job` runs on the computer named `computer`: it names none, or names this one. */
export function runsOn(job: Pick<Job, "computers">, computer: string): boolean {
  const here = computer.toLowerCase();
  return job.computers === null || job.computers.some((name) => name.toLowerCase() === here);
}
