/**
 * Gemini's turn cap. Gemini CLI has no flag for it, only the setting `model.maxSessionTurns`; a
 * system settings file named by GEMINI_CLI_SYSTEM_SETTINGS_PATH sets it for one run. That file
 * replaces the machine's own system settings for the run, so it starts from them (an
 * administrator's policies stay) and adds the cap. Gemini 0.61.0 reads it only when root owns it
 * and every folder above it and none is writable by group or others; otherwise it skips it with a
 * "Security Warning" on stderr, and the machine's own system settings are then not read either.
 * So the file is written only where gemini would read it (`honouredByGemini`); everywhere else
 * (any user but root, any home under a folder others may write) gemini keeps its system settings,
 * and the runner's own count of gemini's turns (`turnGuard` in execute.ts) holds it to the cap.
 */

import { dirname, join } from "../posix_path.ts";
import { MAX_AGENT_FILE_BYTES, readRegularFile } from "../regular_file.ts";
import { atomicWrite, ensurePrivateDir } from "../store/fs.ts";

/** Where gemini reads its system settings when GEMINI_CLI_SYSTEM_SETTINGS_PATH does not say. */
function systemSettingsPath(os: typeof Deno.build.os): string {
  return os === "darwin"
    ? "/Library/Application Support/GeminiCli/settings.json"
    : "/etc/gemini-cli/settings.json";
}

/**
 * Whether gemini would read a system settings file in `dir`: `dir` and every folder above it
 * owned by root and writable by no one else (gemini 0.61.0's own rule). A folder that cannot be
 * looked at counts as no.
 */
export function honouredByGemini(dir: string): boolean {
  for (let at = dir;; at = dirname(at)) {
    try {
      const info = Deno.statSync(at);
      if (info.uid !== 0 || info.mode === null || (info.mode & 0o022) !== 0) return false;
    } catch {
      return false;
    }
    if (at === "/") return true;
  }
}

/**
 * Writes `<root>/agents/gemini-<job>.json`: the current system settings with the turn cap, and
 * returns its path; null (nothing read, nothing written) where gemini would not read it. Absent
 * system settings (the usual case) start from nothing; system settings that cannot be read (a
 * FIFO, a directory, too large) are a problem naming them: gemini itself stops on them. Throws
 * what `atomicWrite` throws for the runner's own paths.
 */
export async function writeGeminiTurnCap(
  root: string,
  job: string,
  maxTurns: number,
): Promise<{ path: string | null; problem?: never } | { path?: never; problem: string }> {
  if (!honouredByGemini(root)) return { path: null };
  const named = Deno.env.get("GEMINI_CLI_SYSTEM_SETTINGS_PATH");
  const source = named || systemSettingsPath(Deno.build.os);
  const read = await readRegularFile(source, MAX_AGENT_FILE_BYTES);
  if (read.kind === "refused") {
    const which = named
      ? "gemini's system settings (GEMINI_CLI_SYSTEM_SETTINGS_PATH)"
      : "gemini's system settings";
    return { problem: `${which} ${source}: ${read.reason}` };
  }
  let settings: Record<string, unknown> = {};
  try {
    const parsed: unknown = read.kind === "text" ? JSON.parse(read.text) : {};
    if (parsed !== null && typeof parsed === "object" && !Array.isArray(parsed)) {
      settings = parsed as Record<string, unknown>;
    }
  } catch {
    // Not a JSON object: there is nothing of it to keep, so the cap alone is written.
  }
  const model = (settings.model ?? {}) as Record<string, unknown>;
  settings.model = { ...model, maxSessionTurns: maxTurns };
  const dir = join(root, "agents");
  ensurePrivateDir(dir, root);
  const path = join(dir, `gemini-${job}.json`);
  atomicWrite(path, new TextEncoder().encode(`${JSON.stringify(settings, null, 2)}\n`));
  return { path };
}
