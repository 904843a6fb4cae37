/**
 * The validated shape of the `jobs:` map of `teleclaude.yml`, and loading it from a file.
 *
 * Parsing (YAML + zod, in `config_parse.ts`) is the expensive part of a tick, so a validated
 * config is cached as JSON under `~/.teleclaude/cache`, keyed by the file's size, mtime, ctime and
 * inode (and the runner's version); the parser is imported only when the cache misses.
 */

import { basename, dirname, extname, join, resolve } from "./posix_path.ts";
import { ConfigError, type Problem } from "./errors.ts";
import { VERSION } from "./version.ts";

export const AGENT_NAMES = ["claude", "codex", "gemini"] as const;
export type AgentName = typeof AGENT_NAMES[number];
export const THINKING_MODES = ["fast", "med", "slow", "deep"] as const;
export type ThinkingMode = typeof THINKING_MODES[number];

/** When a job runs. Hours are local wall-clock hours; weekdays count 0 = Monday. */
export type Schedule =
  | { kind: "every"; minutes: number }
  | { kind: "at"; times: string[]; weekdays: number[] | null }
  | { kind: "hourly" }
  | { kind: "daily"; hour: number }
  | { kind: "weekly"; weekday: number; hour: number }
  | { kind: "monthly"; day: number; hour: number }
  | { kind: "unscheduled" };

interface JobBase {
  name: string;
  schedule: Schedule;
  timeoutSeconds: number;
  /**
   * Seconds without output after which the job counts as hung; 0 disables the watchdog
   * (the default for script jobs; agent jobs default to 600).
   */
  idleTimeoutSeconds: number;
}

/** A job that spawns an agent CLI on the spec doc `docs/project/spec/jobs/<spec>.md`. */
export interface AgentJob extends JobBase {
  type: "agent";
  spec: string;
  agent: AgentName;
  thinkingMode: ThinkingMode;
  /** Role used when the daemon is healthy; `admin` otherwise. */
  role: string;
  maxTurns: number | null;
  maxBudgetUsd: number | null;
}

/** A job that runs a program directly. `command[0]` is relative to the config's directory. */
export interface ScriptJob extends JobBase {
  type: "script";
  command: string[];
  /** Found in the `jobs/` folder with no config entry: listed, run only when forced by name. */
  discovered: boolean;
}

export type Job = AgentJob | ScriptJob;

/** Per-agent overrides from the top-level `agents:` key. */
export interface AgentOverride {
  binary?: string;
  models?: Partial<Record<ThinkingMode, string>>;
}

/** A validated config. `jobs` keeps the order of the file. */
export interface Config {
  /** Absolute path of the config file. */
  file: string;
  /** The name used in messages (as the user passed it). */
  displayName: string;
  /** The config's directory: working directory of every job, root of the spec docs. */
  dir: string;
  jobs: Job[];
  agents: Partial<Record<AgentName, AgentOverride>>;
  warnings: Problem[];
}

export const DEFAULT_TIMEOUT_SECONDS = 1800;
export const DEFAULT_IDLE_TIMEOUT_SECONDS = 600;

/** Bumped whenever the cached shape changes, so an old cache is never trusted. */
const CACHE_FORMAT = 2;

interface CachedConfig {
  format: number;
  version: string;
  /** The config file's size, mtime, ctime, inode and device when it was parsed. */
  key: string;
  config: Config;
}

/** How a config was obtained; the runner logs warnings only for a fresh parse. */
export interface LoadedConfig {
  config: Config;
  fromCache: boolean;
}

/**
 * Reads, validates and returns the config at `path`, using the cache in `cacheDir` when the
 * file's content has not changed. Discovered `jobs/` scripts are added on every load.
 * Throws `ConfigError` for anything the user must fix.
 */
export async function loadConfig(path: string, cacheDir: string | null): Promise<LoadedConfig> {
  const file = resolve(path);
  let info: Deno.FileInfo;
  try {
    info = Deno.statSync(file);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound || error instanceof Deno.errors.NotADirectory) {
      throw new ConfigError({
        file: path,
        message: "config file not found (pass --config PATH to use another one)",
      });
    }
    throw error;
  }
  if (info.isDirectory) {
    throw new ConfigError({ file: path, message: "is a directory, not a config file" });
  }
  // Any write to the file changes its ctime and mtime; neither the idle tick's time nor its memory
  // is spent reading or hashing the text when it has not changed.
  const key = [info.size, info.mtime?.getTime(), info.ctime?.getTime(), info.ino, info.dev].join(
    ":",
  );
  const cacheFile = cacheDir === null ? null : join(cacheDir, `config-${shortHash(file)}.json`);
  let config = cacheFile === null ? null : readCache(cacheFile, key);
  const fromCache = config !== null;
  if (config === null) {
    const text = Deno.readTextFileSync(file);
    const { parseConfig } = await import("./config_parse.ts");
    config = parseConfig(text, { displayName: path, file });
    if (cacheFile !== null) {
      writeCache(cacheFile, { format: CACHE_FORMAT, version: VERSION, key, config });
    }
  }
  config.displayName = path;
  config.jobs.push(...discoverScriptJobs(config));
  return { config, fromCache };
}

function readCache(cacheFile: string, key: string): Config | null {
  try {
    const cached = JSON.parse(Deno.readTextFileSync(cacheFile)) as CachedConfig;
    if (cached.format === CACHE_FORMAT && cached.version === VERSION && cached.key === key) {
      return cached.config;
    }
  } catch {
    // A missing, unreadable or foreign cache file only means we parse the config again.
  }
  return null;
}

function writeCache(cacheFile: string, cached: CachedConfig): void {
  try {
    Deno.mkdirSync(dirname(cacheFile), { recursive: true, mode: 0o700 });
    const temp = `${cacheFile}.tmp-${Deno.pid}`;
    Deno.writeTextFileSync(temp, JSON.stringify(cached), { mode: 0o600 });
    Deno.renameSync(temp, cacheFile);
  } catch (error) {
    // The cache is an optimisation; a read-only ~/.teleclaude must not stop --list.
    if (
      !(error instanceof Deno.errors.PermissionDenied || error instanceof Deno.errors.NotCapable)
    ) {
      throw error;
    }
  }
}

/**
 * Executable files in the `jobs/` folder beside the config that have no config entry. They are
 * listed with schedule "unscheduled" and run only with `--force --job NAME` (the seed's rule: a
 * job with no config entry never runs on its own).
 */
export function discoverScriptJobs(config: Config): ScriptJob[] {
  const folder = join(config.dir, "jobs");
  const known = new Set(config.jobs.map((job) => job.name));
  // A file a configured script job already runs is that job, not a discovery.
  const configured = new Set(
    config.jobs.filter((job) => job.type === "script").map((job) =>
      resolve(config.dir, job.command[0]!)
    ),
  );
  const found: ScriptJob[] = [];
  // Looked up in the config's directory rather than by reading a missing jobs/ and catching the
  // error: most configs have no jobs/ folder, and the throw alone costs the idle tick 0.3 ms.
  let hasFolder = false;
  for (const entry of Deno.readDirSync(config.dir)) {
    if (entry.name !== "jobs") continue;
    hasFolder = entry.isDirectory || entry.isSymlink;
    break;
  }
  if (!hasFolder) return [];
  let entries: Deno.DirEntry[];
  try {
    entries = [...Deno.readDirSync(folder)];
  } catch (error) {
    // A jobs symlink to nowhere, or to a file.
    if (error instanceof Deno.errors.NotFound || error instanceof Deno.errors.NotADirectory) {
      return [];
    }
    throw error;
  }
  // Code-point order: localeCompare would load ICU's collator into the idle tick.
  for (const entry of entries.sort((a, b) => a.name < b.name ? -1 : a.name > b.name ? 1 : 0)) {
    if (entry.name.startsWith(".") || entry.name.startsWith("_")) continue;
    const name = basename(entry.name, extname(entry.name));
    if (
      known.has(name) || configured.has(join(folder, entry.name)) || !/^[a-z0-9_-]+$/.test(name)
    ) continue;
    const info = Deno.statSync(join(folder, entry.name));
    if (!info.isFile || info.mode === null || (info.mode & 0o111) === 0) continue;
    known.add(name);
    found.push({
      name,
      type: "script",
      command: [join("jobs", entry.name)],
      discovered: true,
      schedule: { kind: "unscheduled" },
      timeoutSeconds: DEFAULT_TIMEOUT_SECONDS,
      idleTimeoutSeconds: 0,
    });
  }
  return found;
}

/** A 53-bit hash of a string (cyrb53) with its length, as hex: names a config path's cache file. */
export function shortHash(text: string): string {
  let h1 = 0xdeadbeef ^ text.length;
  let h2 = 0x41c6ce57 ^ text.length;
  for (let index = 0; index < text.length; index++) {
    const code = text.charCodeAt(index);
    h1 = Math.imul(h1 ^ code, 2654435761);
    h2 = Math.imul(h2 ^ code, 1597334677);
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507) ^ Math.imul(h2 ^ (h2 >>> 13), 3266489909);
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507) ^ Math.imul(h1 ^ (h1 >>> 13), 3266489909);
  const hash = 4294967296 * (2097151 & h2) + (h1 >>> 0);
  return `${text.length.toString(16)}-${hash.toString(16)}`;
}
