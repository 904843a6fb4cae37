/**
 * Loading a config file: only a regular file, at most `MAX_CONFIG_BYTES`; from the cache when its
 * text has not changed, else through the parser (`parse.ts`, YAML + zod), which is imported only
 * on a cache miss; then the scripts discovered in `jobs/`. The idle tick goes through here
 * (docs/benchmarks.md, "Idle tick").
 */

import { ConfigError, type Problem, StoreError } from "../errors.ts";
import { lazyImport } from "../lazy.ts";
import { basename, dirname, extname, join, resolve } from "../posix_path.ts";
import { describeFsError, OPEN_TIMEOUT_MS, readRegularFile } from "../regular_file.ts";
import { atomicWrite, ensurePrivateDir } from "../store/fs.ts";
import { VERSION } from "../version.ts";
import {
  type Config,
  type CronSettings,
  DEFAULT_NOTIFY,
  DEFAULT_SCRIPT_RETRY,
  DEFAULT_TIMEOUT_SECONDS,
  isJobName,
  type Job,
  type ScriptJob,
} from "./job.ts";
import type * as ParseModule from "./parse.ts";

/** Other modules name file system errors as the config's reader does. */
export { describeFsError };

/** The config a command reads when `--config` does not name one: in the current directory. */
export const DEFAULT_CONFIG_FILE = "teleclaude.yml";

/** A config larger than this is refused: thousands of jobs take a few hundred KiB. */
export const MAX_CONFIG_BYTES = 4 * 1024 * 1024;

/** Bumped whenever the cached shape changes, so an old cache is never trusted. */
const CACHE_FORMAT = 8;

/**
 * The cache file: the YAML text it was made from (so a same-size rewrite within the same second is
 * still a change), the validated config as JSON text, and a SHA-256 over both, so a cache edited
 * by hand (or torn) is never taken for a validated config of this text. The text is compared, not
 * hashed, on every tick: a hash loop in JavaScript wakes V8's optimising compiler and costs the
 * idle tick milliseconds and megabytes, where one native digest costs a fraction of one.
 */
interface CachedConfig {
  format: number;
  version: string;
  yaml: string;
  check: string;
  config: string;
}

/** Where the cache lives (under `root`), and whether this command may write it. */
export interface ConfigCache {
  root: string;
  dir: string;
  write: boolean;
  /**
   * The identity (inode, change time, size) of the cache file as the last tick verified it: the
   * same file unchanged since need not be digested again. A change time cannot be set back by
   * anyone but root, so an edit of the file always shows.
   */
  trusted?: string | null;
}

/** How a config was obtained. */
export interface LoadedConfig {
  config: Config;
  /** The runner logs the config's warnings only for a fresh parse. */
  fromCache: boolean;
  /** Why the cache could not be used, when it could not (the config was parsed instead). */
  cacheProblem: string | null;
  /** Entries of `jobs/` that were skipped (a link to nowhere, unreadable, a name too long). */
  discoveryProblems: Problem[];
  /** The identity of the cache file now verified for this text, for the next tick to trust. */
  cacheIdentity: string | null;
}

/**
 * Reads, validates and returns the config at `path`, using the cache when the text has not
 * changed. Discovered `jobs/` scripts are added on every load. Throws `ConfigError` for anything
 * the user must fix.
 */
export async function loadConfig(path: string, cache: ConfigCache | null): Promise<LoadedConfig> {
  const file = resolve(path);
  // The tick (the one command that writes the cache) opens it synchronously: a bounded open
  // costs the idle tick 0.7 MiB (docs/benchmarks.md, "Idle tick").
  const text = await readConfigText(file, path, cache?.write ? null : OPEN_TIMEOUT_MS);
  const cacheFile = cache === null ? null : join(cache.dir, `config-${shortHash(file)}.json`);
  let cacheProblem: string | null = null;
  let config = cacheFile === null ? null : await readCache(cacheFile, text, cache?.trusted ?? null);
  const fromCache = config !== null;
  if (config === null) {
    const { parseConfig } = await lazyImport<typeof ParseModule>(
      "./parse.ts",
      import.meta.url,
    );
    config = parseConfig(text, { displayName: path, file });
    if (cache?.write && cacheFile !== null) {
      cacheProblem = await writeCache(cache, cacheFile, text, config);
    }
  }
  config.displayName = path;
  const discovered = discoverScriptJobs(config);
  config.jobs.push(...discovered.jobs);
  const cacheIdentity = cacheFile !== null && cacheProblem === null
    ? fileIdentity(cacheFile)
    : null;
  return { config, fromCache, cacheProblem, discoveryProblems: discovered.problems, cacheIdentity };
}

/**
 * The `cron:` settings to tell a config problem with: the broken config's own section when that
 * section alone is valid, else those of the last config that loaded here (its cache, verified),
 * else the defaults. Never throws: it is asked while reporting another error.
 */
export async function settingsForBrokenConfig(
  path: string,
  cacheDir: string,
): Promise<CronSettings> {
  const file = resolve(path);
  try {
    const text = await readConfigText(file, path, OPEN_TIMEOUT_MS);
    const { parseCronSection } = await lazyImport<typeof ParseModule>(
      "./parse.ts",
      import.meta.url,
    );
    const own = parseCronSection(text, { displayName: path, file });
    if (own) return own;
  } catch {
    // Unreadable, or not YAML at all: the last config that loaded decides.
  }
  const cached = await lastLoadedConfig(join(cacheDir, `config-${shortHash(file)}.json`));
  return cached?.cron ?? { notify: { ...DEFAULT_NOTIFY }, metricsFile: null, budget: {} };
}

/** The config a cache file holds, whatever text it was made from, when its digest holds. */
async function lastLoadedConfig(cacheFile: string): Promise<Config | null> {
  try {
    const cached = JSON.parse(Deno.readTextFileSync(cacheFile)) as CachedConfig;
    if (cached.format !== CACHE_FORMAT || typeof cached.config !== "string") return null;
    if (cached.check !== await digest(cached.yaml, cached.config)) return null;
    return JSON.parse(cached.config) as Config;
  } catch {
    return null;
  }
}

/**
 * The config's text: a regular file of at most `MAX_CONFIG_BYTES`, judged as it was opened
 * (`readRegularFile`): a FIFO or a device can neither hang nor flood the reader.
 */
async function readConfigText(
  file: string,
  displayName: string,
  openTimeoutMs: number | null,
): Promise<string> {
  const read = await readRegularFile(file, MAX_CONFIG_BYTES, openTimeoutMs);
  if (read.kind === "text") return read.text;
  // Only someone who did not name a config is told how to.
  const message = read.kind === "absent"
    ? `config file not found${
      displayName === DEFAULT_CONFIG_FILE
        ? ` in ${dirname(file)} (pass --config PATH to use another one)`
        : ` (${file})`
    }`
    : read.reason;
  throw new ConfigError({ file: displayName, message });
}

async function readCache(
  cacheFile: string,
  yaml: string,
  trusted: string | null,
): Promise<Config | null> {
  const identity = fileIdentity(cacheFile);
  if (identity === null) return null;
  try {
    const cached = JSON.parse(Deno.readTextFileSync(cacheFile)) as CachedConfig;
    const current = cached.format === CACHE_FORMAT && cached.version === VERSION &&
      cached.yaml === yaml && typeof cached.config === "string";
    // The digest is verified once per version of the cache file, not on every tick.
    if (current && (identity === trusted || cached.check === await digest(yaml, cached.config))) {
      return JSON.parse(cached.config) as Config;
    }
  } catch {
    // An unreadable or foreign cache file only means we parse the config again.
  }
  return null;
}

/** A regular file's inode, change time and size; null for anything else (or nothing). */
function fileIdentity(path: string): string | null {
  try {
    const info = Deno.lstatSync(path);
    return info.isFile ? `${info.ino}:${info.ctime?.getTime()}:${info.size}` : null;
  } catch {
    return null;
  }
}

/** SHA-256 (hex) of a config's YAML text and its validated JSON, together. */
async function digest(yaml: string, config: string): Promise<string> {
  const bytes = new TextEncoder().encode(`${yaml}\u0000${config}`);
  const hash = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
  return Array.from(hash, (byte) => byte.toString(16).padStart(2, "0")).join("");
}

/** Writes the cache; returns why it could not (the cache is an optimisation: never fatal). */
async function writeCache(
  cache: ConfigCache,
  cacheFile: string,
  yaml: string,
  config: Config,
): Promise<string | null> {
  const text = JSON.stringify(config);
  const cached: CachedConfig = {
    format: CACHE_FORMAT,
    version: VERSION,
    yaml,
    check: await digest(yaml, text),
    config: text,
  };
  try {
    ensurePrivateDir(cache.dir, cache.root);
    atomicWrite(cacheFile, new TextEncoder().encode(JSON.stringify(cached)), { sync: false });
    return null;
  } catch (error) {
    if (error instanceof StoreError) return error.message;
    return `${cacheFile}: ${describeFsError(error)}`;
  }
}

/** Executable files of `jobs/` with no config entry, and the entries that had to be skipped. */
export interface Discovery {
  jobs: ScriptJob[];
  problems: Problem[];
}

/**
 * Executable files in the `jobs/` folder beside the config that have no config entry. They are
 * listed with schedule "unscheduled" and run only with `--force --job NAME` (the Python
 * original's rule: a job with no config entry never runs on its own). An entry that cannot be
 * looked at (a link to nowhere, a loop, no permission) is skipped with a problem, never fatal.
 */
export function discoverScriptJobs(config: Config): Discovery {
  const found: Discovery = { jobs: [], problems: [] };
  const folder = join(config.dir, "jobs");
  const problem = (path: string, message: string) => found.problems.push({ file: path, message });
  let entries: Deno.DirEntry[];
  try {
    if (!hasJobsFolder(config.dir)) return found;
    entries = [...Deno.readDirSync(folder)];
  } catch (error) {
    // A jobs link to nowhere or to a file is no folder; anything else is worth saying.
    if (error instanceof Deno.errors.NotFound || error instanceof Deno.errors.NotADirectory) {
      return found;
    }
    problem(folder, `cannot be listed: ${describeFsError(error)}; its scripts are not discovered`);
    return found;
  }
  const known = new Set(config.jobs.map((job) => job.name));
  // A file a configured script job already runs is that job, not a discovery.
  const configured = new Set(
    config.jobs.flatMap((job: Job) =>
      job.type === "script" ? [resolve(config.dir, job.command[0]!)] : []
    ),
  );
  // Code-point order: localeCompare would load ICU's collator into the idle tick.
  for (const entry of entries.sort((a, b) => a.name < b.name ? -1 : a.name > b.name ? 1 : 0)) {
    if (entry.name.startsWith(".") || entry.name.startsWith("_")) continue;
    const name = basename(entry.name, extname(entry.name));
    const path = join(folder, entry.name);
    if (known.has(name) || configured.has(path) || !/^[a-z0-9_-]+$/.test(name)) continue;
    let info: Deno.FileInfo;
    try {
      info = Deno.statSync(path);
    } catch (error) {
      problem(path, `skipped: ${describeFsError(error)} (a link to nowhere or a link loop?)`);
      continue;
    }
    if (!info.isFile || info.mode === null || (info.mode & 0o111) === 0) continue;
    if (!isJobName(name)) {
      problem(path, "skipped: its name is too long to be a job name (at most 100 characters)");
      continue;
    }
    known.add(name);
    found.jobs.push(discoveredJob(name, entry.name));
  }
  return found;
}

function discoveredJob(name: string, fileName: string): ScriptJob {
  return {
    name,
    type: "script",
    command: [join("jobs", fileName)],
    discovered: true,
    schedule: { kind: "unscheduled" },
    timeoutSeconds: DEFAULT_TIMEOUT_SECONDS,
    idleTimeoutSeconds: 0,
    maxLogBytes: null,
    computers: null,
    notify: null,
    enabled: true,
    jitterMinutes: 0,
    retry: { ...DEFAULT_SCRIPT_RETRY },
  };
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
 * Not cryptographic and not needed to be: it keeps two configs' caches apart, and a plain
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
