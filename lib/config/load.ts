/**
 * Loading a config file: from the cache when the file has not changed, else through the parser
 * (`parse.ts`, YAML + zod), which is imported only on a cache miss; then the scripts discovered
 * in `jobs/`. The idle tick goes through here (docs/benchmarks.md, "Idle tick").
 */

import { ConfigError } from "../errors.ts";
import { lazyImport } from "../lazy.ts";
import { basename, dirname, extname, join, resolve } from "../posix_path.ts";
import { atomicWriteSync } from "../store/fs.ts";
import { VERSION } from "../version.ts";
import { type Config, DEFAULT_TIMEOUT_SECONDS, JOB_NAME, type ScriptJob } from "./job.ts";

/** Bumped whenever the cached shape changes, so an old cache is never trusted. */
const CACHE_FORMAT = 2;

interface CachedConfig {
  format: number;
  version: string;
  /** The config file's size, mtime, ctime, inode and device when it was parsed. */
  key: string;
  config: Config;
}

/** Where the cache lives, and whether this command may write it (views only read it). */
export interface ConfigCache {
  dir: string;
  write: boolean;
}

/** How a config was obtained; the runner logs warnings only for a fresh parse. */
export interface LoadedConfig {
  config: Config;
  fromCache: boolean;
}

/**
 * Reads, validates and returns the config at `path`, using the cache when the file has not
 * changed. Discovered `jobs/` scripts are added on every load. Throws `ConfigError` for anything
 * the user must fix.
 */
export async function loadConfig(path: string, cache: ConfigCache | null): Promise<LoadedConfig> {
  const file = resolve(path);
  const info = statConfig(file, path);
  // Any write to the file changes its ctime and mtime; neither the idle tick's time nor its memory
  // is spent reading or hashing the text when it has not changed.
  const key = [info.size, info.mtime?.getTime(), info.ctime?.getTime(), info.ino, info.dev].join(
    ":",
  );
  const cacheFile = cache === null ? null : join(cache.dir, `config-${shortHash(file)}.json`);
  let config = cacheFile === null ? null : readCache(cacheFile, key);
  const fromCache = config !== null;
  if (config === null) {
    const text = Deno.readTextFileSync(file);
    const { parseConfig } = await lazyImport<typeof import("./parse.ts")>(
      "./parse.ts",
      import.meta.url,
    );
    config = parseConfig(text, { displayName: path, file });
    if (cacheFile !== null && cache?.write) {
      writeCache(cacheFile, { format: CACHE_FORMAT, version: VERSION, key, config });
    }
  }
  config.displayName = path;
  config.jobs.push(...discoverScriptJobs(config));
  return { config, fromCache };
}

function statConfig(file: string, displayName: string): Deno.FileInfo {
  let info: Deno.FileInfo;
  try {
    info = Deno.statSync(file);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound || error instanceof Deno.errors.NotADirectory) {
      throw new ConfigError({
        file: displayName,
        message: "config file not found (pass --config PATH to use another one)",
      });
    }
    throw error;
  }
  if (info.isDirectory) {
    throw new ConfigError({ file: displayName, message: "is a directory, not a config file" });
  }
  return info;
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
    atomicWriteSync(cacheFile, JSON.stringify(cached));
  } catch (error) {
    // The cache is an optimisation; a read-only ~/.teleclaude must not stop a run.
    if (
      !(error instanceof Deno.errors.PermissionDenied || error instanceof Deno.errors.NotCapable)
    ) {
      throw error;
    }
  }
}

/**
 * Executable files in the `jobs/` folder beside the config that have no config entry. They are
 * listed with schedule "unscheduled" and run only with `--force --job NAME` (the Python
 * original's rule: a job with no config entry never runs on its own).
 */
export function discoverScriptJobs(config: Config): ScriptJob[] {
  const folder = join(config.dir, "jobs");
  if (!hasJobsFolder(config.dir)) return [];
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
  const known = new Set(config.jobs.map((job) => job.name));
  // A file a configured script job already runs is that job, not a discovery.
  const configured = new Set(
    config.jobs.filter((job) => job.type === "script").map((job) =>
      resolve(config.dir, job.command[0]!)
    ),
  );
  const found: ScriptJob[] = [];
  // Code-point order: localeCompare would load ICU's collator into the idle tick.
  for (const entry of entries.sort((a, b) => a.name < b.name ? -1 : a.name > b.name ? 1 : 0)) {
    if (entry.name.startsWith(".") || entry.name.startsWith("_")) continue;
    const name = basename(entry.name, extname(entry.name));
    const path = join(folder, entry.name);
    if (known.has(name) || configured.has(path) || !JOB_NAME.test(name)) continue;
    const info = Deno.statSync(path);
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

/**
 * Whether the config's directory has a `jobs` entry. Looked up by listing the directory rather
 * than by reading a missing `jobs/` and catching the error: most configs have no `jobs/` folder,
 * and the throw alone costs the idle tick 0.3 ms.
 */
function hasJobsFolder(dir: string): boolean {
  for (const entry of Deno.readDirSync(dir)) {
    if (entry.name === "jobs") return entry.isDirectory || entry.isSymlink;
  }
  return false;
}

/**
 * A 53-bit hash of a string (cyrb53) with its length, as hex: names a config path's cache file.
 * Not cryptographic and not needed to be: it only keeps two configs' caches apart, and a plain
 * JavaScript loop costs the idle tick nothing, where `crypto.subtle` is async and loads more.
 */
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
