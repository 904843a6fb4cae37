/**
 * Gemini's turn cap. Gemini CLI has no flag for it, only the setting `model.maxSessionTurns`; a
 * system settings file named by GEMINI_CLI_SYSTEM_SETTINGS_PATH sets it for one run. That file
 * replaces the machine's own system settings for the run, so it starts from them (an
 * administrator's policies stay) and adds the cap. Gemini 0.61.0 reads it only when root owns it
 * and every folder above it and none is writable by group or others; otherwise it skips it with a
 * "Security Warning" on stderr, and the runner's own count of gemini's turns (`turnGuard` in
 * execute.ts) is what holds gemini to the cap.
 */

import { join } from "../posix_path.ts";
import { atomicWrite, ensurePrivateDir } from "../store/fs.ts";

/** Where gemini reads its system settings when GEMINI_CLI_SYSTEM_SETTINGS_PATH does not say. */
function systemSettingsPath(os: typeof Deno.build.os): string {
  return os === "darwin"
    ? "/Library/Application Support/GeminiCli/settings.json"
    : "/etc/gemini-cli/settings.json";
}

/**
 * Writes `<root>/agents/gemini-<job>.json`: the current system settings with the turn cap, and
 * returns its path. An unreadable or absent system settings file starts from nothing.
 */
export function writeGeminiTurnCap(root: string, job: string, maxTurns: number): string {
  const source = Deno.env.get("GEMINI_CLI_SYSTEM_SETTINGS_PATH") ||
    systemSettingsPath(Deno.build.os);
  let settings: Record<string, unknown> = {};
  try {
    const parsed: unknown = JSON.parse(Deno.readTextFileSync(source));
    if (parsed !== null && typeof parsed === "object" && !Array.isArray(parsed)) {
      settings = parsed as Record<string, unknown>;
    }
  } catch {
    // No system settings (the usual case), or none we can read: the cap alone.
  }
  const model = (settings.model ?? {}) as Record<string, unknown>;
  settings.model = { ...model, maxSessionTurns: maxTurns };
  const dir = join(root, "agents");
  ensurePrivateDir(dir, root);
  const path = join(dir, `gemini-${job}.json`);
  atomicWrite(path, new TextEncoder().encode(`${JSON.stringify(settings, null, 2)}\n`));
  return path;
}
