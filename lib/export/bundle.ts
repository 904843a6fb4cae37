/**
 * What travels to the cluster in the ConfigMap: the config, cut down to what the runner reads, and
 * the files the runner needs beside it: each agent job's spec doc, each script job's program and
 * the files its arguments name, and the same for the notify command. Everything else must be in
 * the image. Files are found first (their size from the file system), so a file too large for a
 * ConfigMap is refused before a byte of it is read; then read, each within the bound. Reads the
 * disk; writes nothing.
 */

import { stringify } from "yaml";
import { specDocPath } from "../agents.ts";
import { AGENT_NAMES, type Job, THINKING_MODES } from "../config/job.ts";
import { describeFsError } from "../config/load.ts";
import { KNOWN_JOB_KEYS } from "../config/parse.ts";
import { ConfigError, type Problem } from "../errors.ts";
import { isAbsolute, join, normalize } from "../posix_path.ts";
import { CONFIG_KEY } from "./names.ts";

/** The most a ConfigMap may hold: Kubernetes refuses larger objects. */
export const MAX_CONFIG_MAP_BYTES = 1024 * 1024;

/** What the ConfigMap's volume places beside the config in the container. */
export type BundledFile =
  /** `path` is relative to the config's directory; mode 0755 when `executable`, else 0644. */
  | { kind: "file"; path: string; bytes: Uint8Array; executable: boolean }
  /** The config itself, named by an argument: the cluster's config (the runner's part) goes there. */
  | { kind: "config"; path: string };

/** A file the runner needs, found beside the config but not read yet. */
export interface FoundFile {
  path: string;
  size: number;
  executable: boolean;
  /** The config file itself: it never travels whole, the cluster's config takes its place. */
  isConfig: boolean;
  /** Who names it: a job (its name), or the notify command (null); and in which field. */
  owner: string | null;
  field: string;
}

/** What one job (or the notify command) needs, or what keeps it from travelling. */
export interface Found {
  files: FoundFile[];
  /** `field` is relative to the owner: `script`, `job`, or for the notify command `command`. */
  problems: { field: string; message: string }[];
  notes: string[];
}

/** The config file as the file system knows it: a path naming it by any name is the config. */
export interface ConfigIdentity {
  dev: number;
  ino: number | null;
}

/** The config's identity, to recognise it behind another name or a link. */
export function configIdentity(file: string): ConfigIdentity {
  const info = Deno.statSync(file);
  return { dev: info.dev, ino: info.ino };
}

/** The files `job` needs beside the config in `dir`. */
export function jobFiles(job: Job, dir: string, config: ConfigIdentity): Found {
  const found: Found = { files: [], problems: [], notes: [] };
  if (job.type === "agent") {
    const path = specDocPath(job.spec);
    const file = findInside(dir, path, config);
    if (typeof file === "string") {
      found.problems.push({
        field: "job",
        message: `its spec doc ${path} ${file}: the job cannot run without it (write the doc, ` +
          `or name the right one)`,
      });
    } else {
      found.files.push({ ...file, path, executable: false, owner: job.name, field: "job" });
    }
    return found;
  }
  commandFiles(
    job.command,
    dir,
    config,
    { owner: job.name, field: "script", fromDir: true },
    found,
  );
  return found;
}

/**
 * The files of the notify command (`cron.notify.command`), which the runner runs as a script
 * job's program: relative to the config's directory when it has a `/`, else from PATH.
 */
export function notifyFiles(command: string[], dir: string, config: ConfigIdentity): Found {
  const found: Found = { files: [], problems: [], notes: [] };
  commandFiles(command, dir, config, { owner: null, field: "command", fromDir: false }, found);
  return found;
}

interface CommandPlace {
  owner: string | null;
  field: string;
  /** Whether a bare program name is looked for beside the config first (script jobs). */
  fromDir: boolean;
}

function commandFiles(
  command: string[],
  dir: string,
  config: ConfigIdentity,
  place: CommandPlace,
  found: Found,
): void {
  programFile(command[0]!, dir, config, place, found);
  // Arguments naming files beside the config (`python3 jobs/sync.py`) travel with the program.
  for (const argument of command.slice(1)) {
    if (isAbsolute(argument) || escapes(argument) || argument.startsWith("-")) continue;
    const path = normalize(argument);
    const file = findInside(dir, path, config);
    if (typeof file === "string") continue;
    if (file.isConfig) {
      found.notes.push(
        `its argument ${argument} is the config: in the cluster that file holds only the ` +
          `runner's part of it`,
      );
    } else if (path === CONFIG_KEY) {
      found.problems.push({ field: place.field, message: hiddenByConfig(argument) });
      continue;
    }
    found.files.push({ ...file, path, owner: place.owner, field: place.field });
  }
}

/**
 * A program: a path relative to the config travels (mode 0755); a bare name comes from the
 * image's PATH unless (for a script job) a file of that name is beside the config.
 */
function programFile(
  program: string,
  dir: string,
  config: ConfigIdentity,
  place: CommandPlace,
  found: Found,
): void {
  const outside = `: only the config's directory travels to the cluster (in the ConfigMap), so ` +
    `put the program beside the config and name it relative to it, or install it in the image ` +
    `and name it without a path`;
  const refuse = (message: string) => found.problems.push({ field: place.field, message });
  if (isAbsolute(program)) return void refuse(`"${program}" is a path on this machine${outside}`);
  if (escapes(program)) {
    return void refuse(`"${program}" is outside the config's directory${outside}`);
  }
  const file = place.fromDir || program.includes("/")
    ? findInside(dir, normalize(program), config)
    : "is not beside the config";
  if (typeof file !== "string") {
    const path = normalize(program);
    if (file.isConfig) return void refuse(`"${program}" is the config, not a program`);
    if (path === CONFIG_KEY) return void refuse(hiddenByConfig(program));
    found.files.push({ ...file, path, executable: true, owner: place.owner, field: place.field });
  } else if (program.includes("/")) {
    refuse(`"${program}" ${file} beside the config`);
  } else {
    found.notes.push(`${program} is not beside the config: it must be on the image's PATH`);
  }
}

/** The cluster's config is mounted at `teleclaude.yml`: another file cannot be there too. */
function hiddenByConfig(named: string): string {
  return `"${named}" is where the cluster's config is placed, and it is not this config: ` +
    `rename the file`;
}

function escapes(path: string): boolean {
  const normal = normalize(path);
  return normal === ".." || normal.startsWith("../");
}

/** A regular file's size and mode, or what is wrong with it, in words. Reads none of it. */
function findInside(
  dir: string,
  path: string,
  config: ConfigIdentity,
): { size: number; executable: boolean; isConfig: boolean } | string {
  try {
    const info = Deno.statSync(join(dir, path));
    if (!info.isFile) return "is not a regular file";
    return {
      size: info.size,
      executable: ((info.mode ?? 0) & 0o111) !== 0,
      isConfig: info.ino !== null && info.dev === config.dev && info.ino === config.ino,
    };
  } catch (error) {
    if (error instanceof Deno.errors.NotFound || error instanceof Deno.errors.NotADirectory) {
      return "does not exist";
    }
    return `cannot be read (${describeFsError(error)})`;
  }
}

/** Where the export reports a problem with one found file: at the field that names it. */
export type Locate = (file: FoundFile, message: string) => Problem;

/**
 * The found files' bytes, once their sizes show that they fit in a ConfigMap beside `configBytes`
 * of config; each is read within that bound (it may have grown since). Throws a located
 * `ConfigError` (exit 2) when they do not fit, or when a file cannot be read.
 */
export function readBundle(
  found: FoundFile[],
  dir: string,
  configBytes: number,
  locate: Locate,
): BundledFile[] {
  checkSize(found, configBytes + sumOfSizes(found), locate);
  const files: BundledFile[] = [];
  const problems: Problem[] = [];
  for (const file of found) {
    if (file.isConfig) {
      files.push({ kind: "config", path: file.path });
      continue;
    }
    const bytes = readBounded(join(dir, file.path), MAX_CONFIG_MAP_BYTES);
    if (typeof bytes === "string") problems.push(locate(file, `"${file.path}" ${bytes}`));
    else files.push({ kind: "file", path: file.path, bytes, executable: file.executable });
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return files;
}

/**
 * Throws a located `ConfigError` when a ConfigMap of `bytes` (as encoded, when known) is more than
 * Kubernetes keeps, at the place of the largest file in it.
 */
export function checkSize(found: FoundFile[], bytes: number, locate: Locate): void {
  if (bytes <= MAX_CONFIG_MAP_BYTES) return;
  const files = [...new Map(found.filter((file) => !file.isConfig).map((file) => [file.path, file]))
    .values()].sort((a, b) => b.size - a.size);
  const limit = "a ConfigMap holds at most 1 MiB";
  const largest = files[0];
  if (largest === undefined) {
    throw new ConfigError({
      message: `the cluster's config is ${describeBytes(bytes)}, and ${limit}`,
    });
  }
  if (largest.size > MAX_CONFIG_MAP_BYTES) {
    throw new ConfigError(locate(
      largest,
      `"${largest.path}" is ${
        describeBytes(largest.size)
      } (${largest.size} bytes), and ${limit}: ` +
        `install it in the image and name it by its path there, or have the job fetch it`,
    ));
  }
  const others = files.length - 1;
  const rest = others === 0 ? "" : ` and ${others} other file${others === 1 ? "" : "s"}`;
  const total = describeBytes(bytes);
  throw new ConfigError(locate(
    largest,
    `"${largest.path}" (${describeBytes(largest.size)}), with the config${rest}, makes the ` +
      `ConfigMap ${total} as Kubernetes stores it, and ${limit}: install the largest files in ` +
      `the image and name them by their paths there`,
  ));
}

/** The bytes of the files, each path counted once; the config's aliases hold none of their own. */
function sumOfSizes(files: FoundFile[]): number {
  const sizes = new Map(
    files.filter((file) => !file.isConfig).map((file) => [file.path, file.size]),
  );
  return [...sizes.values()].reduce((sum, size) => sum + size, 0);
}

/** Sizes in words: `600 MiB`, `700.5 KiB`, `12 bytes`. */
export function describeBytes(bytes: number): string {
  const unit = (size: number, name: string) => `${size.toFixed(1).replace(/\.0$/, "")} ${name}`;
  if (bytes >= 1024 * 1024) return unit(bytes / 1024 / 1024, "MiB");
  if (bytes >= 1024) return unit(bytes / 1024, "KiB");
  return `${bytes} bytes`;
}

/** A regular file's bytes, at most `limit` of them, or what is wrong, in words. */
function readBounded(path: string, limit: number): Uint8Array | string {
  let file: Deno.FsFile;
  try {
    file = Deno.openSync(path, { read: true });
  } catch (error) {
    return `cannot be read (${describeFsError(error)})`;
  }
  try {
    // What was found may have been swapped or grown since: only a regular file is read, and
    // never more than it held when opened (one byte more tells that it is still growing).
    const info = file.statSync();
    if (!info.isFile) return "is not a regular file";
    if (info.size > limit) return `is larger than ${describeBytes(limit)} now`;
    const buffer = new Uint8Array(info.size + 1);
    let length = 0;
    while (length < buffer.length) {
      const count = file.readSync(buffer.subarray(length));
      if (count === null) break;
      length += count;
    }
    if (length > info.size) return "grew while the export read it: export again once it is written";
    return buffer.subarray(0, length);
  } catch (error) {
    return `cannot be read (${describeFsError(error)})`;
  } finally {
    file.close();
  }
}

/** The config's top-level keys the runner reads; the others belong to other components. */
const RUNNER_KEYS = ["jobs", "agents", "cron"];

/**
 * The config as the cluster gets it: only the keys the runner reads, so other components' settings
 * (and any secret among them) stay home: of each job only the runner's fields (the runner warns
 * that the others may be another component's), and of `agents:` only the models: an agent's
 * `binary` names a file on this machine, and in the image the agent is on PATH.
 */
export function clusterConfig(root: unknown, source: string): { text: string; notes: string[] } {
  const notes: string[] = [];
  const kept: Record<string, unknown> = {};
  const top = isMapping(root) ? root : {};
  for (const key of Object.keys(top).filter((key) => RUNNER_KEYS.includes(key))) {
    kept[key] = key === "agents"
      ? agentModels(top[key], notes)
      : key === "jobs"
      ? runnerJobs(top[key], notes)
      : top[key];
  }
  const header = `# The runner's part of ${source} (teleclaude-cron --export kubernetes).\n`;
  return { text: header + stringify(kept, { lineWidth: 0, aliasDuplicateObjects: false }), notes };
}

function runnerJobs(jobs: unknown, notes: string[]): Record<string, unknown> {
  const kept: Record<string, unknown> = {};
  if (!isMapping(jobs)) return kept;
  for (const [name, fields] of Object.entries(jobs)) {
    if (!isMapping(fields)) {
      kept[name] = fields;
      continue;
    }
    const own = Object.entries(fields).filter(([key]) => KNOWN_JOB_KEYS.includes(key));
    for (const key of Object.keys(fields).filter((key) => !KNOWN_JOB_KEYS.includes(key))) {
      notes.push(
        `jobs.${name}.${key} is left out of the cluster's config: the runner does not read it`,
      );
    }
    kept[name] = Object.fromEntries(own);
  }
  return kept;
}

function agentModels(agents: unknown, notes: string[]): Record<string, unknown> {
  const kept: Record<string, unknown> = {};
  if (!isMapping(agents)) return kept;
  for (const name of AGENT_NAMES) {
    const override = agents[name];
    if (!isMapping(override)) continue;
    if (override.binary !== undefined) {
      notes.push(
        `agents.${name}.binary is left out of the cluster's config: it names a file on this ` +
          `machine, and the image has ${name} on its PATH`,
      );
    }
    if (isMapping(override.models)) {
      const models = override.models;
      kept[name] = {
        models: Object.fromEntries(
          THINKING_MODES.flatMap((mode) =>
            models[mode] === undefined ? [] : [[mode, models[mode]]]
          ),
        ),
      };
    }
  }
  return kept;
}

function isMapping(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}
