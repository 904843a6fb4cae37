/** What every doctor check shares: a check's shape, what it looks at, and small helpers. */

import type { Desktop } from "../../notify/channels.ts";
import type { RunnerPaths } from "../../paths.ts";
import { commandOutput, isUnreachablePath } from "../../subprocess.ts";

/** One line of the checklist. */
export interface Check {
  name: string;
  /** `warn`: probably a mistake, yet it stops nothing, so the doctor still exits 0. */
  status: "ok" | "fail" | "warn" | "info";
  detail: string;
  fix?: string;
}

/** What the doctor looks at. `os` is a parameter so both service kinds can be tested anywhere. */
export interface DoctorContext {
  configPath: string;
  paths: RunnerPaths;
  os: typeof Deno.build.os;
  /** PATH of the current environment: where agent CLIs are looked for "from this shell". */
  path: string;
  /** Where the service tools (launchctl, plutil, systemctl, id) are looked for. */
  toolPath: string;
  socketPath: string;
  /** The environment the doctor judges (the agents' own switches: IS_SANDBOX, CODEX_HOME, …). */
  env: Readonly<Record<string, string>>;
  /** Where desktop notices could be shown from here. */
  desktop: Desktop;
}

/** A service tool's answer, found on the context's tool PATH; null when it is not installed. */
export async function tool(
  context: DoctorContext,
  name: string,
  args: string[],
): Promise<{ success: boolean; output: string } | null> {
  const result = await commandOutput(name, args, { path: context.toolPath });
  return result && { success: result.success, output: (result.stdout + result.stderr).trim() };
}

export function isDirectory(path: string): boolean {
  try {
    return Deno.statSync(path).isDirectory;
  } catch (error) {
    if (isUnreachablePath(error)) return false;
    throw error;
  }
}

export function exists(path: string): boolean {
  try {
    Deno.statSync(path);
    return true;
  } catch (error) {
    if (isUnreachablePath(error)) return false;
    throw error;
  }
}
