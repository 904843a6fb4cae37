/**
 * What travels to the cluster in the ConfigMap: the config, cut down to what the runner reads, and
 * the files its jobs need beside it: each agent job's spec doc, each script job's program and the
 * files its arguments name. Everything else a job touches must be in the image. Reads the disk;
 * writes nothing.
 */

import { stringify } from "yaml";
import { specDocPath } from "../agents.ts";
import { AGENT_NAMES, type Job } from "../config/job.ts";
import { describeFsError } from "../config/load.ts";
import { isAbsolute, join, normalize } from "../posix_path.ts";

/** A file placed beside the config in the container. */
export interface BundledFile {
  /** Relative to the config's directory, as the ConfigMap volume places it. */
  path: string;
  bytes: Uint8Array;
  /** Mounted with mode 0755 (a program, or a file that is executable here), else 0644. */
  executable: boolean;
}

/** A job's files, or what keeps them from travelling (`field` relative to the job). */
export interface JobFiles {
  files: BundledFile[];
  problems: { field: string; message: string }[];
  notes: string[];
}

/** The files `job` needs beside the config in `dir`. */
export function jobFiles(job: Job, dir: string): JobFiles {
  const found: JobFiles = { files: [], problems: [], notes: [] };
  if (job.type === "agent") {
    const path = specDocPath(job.spec);
    const file = readInside(dir, path);
    if (typeof file === "string") {
      found.problems.push({
        field: "job",
        message: `its spec doc ${path} ${file}: the job cannot run without it (write the doc, ` +
          `or name the right one)`,
      });
    } else {
      found.files.push({ path, bytes: file.bytes, executable: false });
    }
    return found;
  }
  programFile(job.command[0]!, dir, found);
  // Arguments naming files beside the config (`python3 jobs/sync.py`) travel with the program.
  for (const argument of job.command.slice(1)) {
    if (isAbsolute(argument) || escapes(argument) || argument.startsWith("-")) continue;
    const file = readInside(dir, normalize(argument));
    if (typeof file !== "string") found.files.push({ path: normalize(argument), ...file });
  }
  return found;
}

/**
 * A script job's program: a path relative to the config travels (mode 0755); a bare name with no
 * file of that name beside the config comes from the image's PATH, as the runner resolves it.
 */
function programFile(program: string, dir: string, found: JobFiles): void {
  const outside = `: only the config's directory travels to the cluster (in the ConfigMap), so ` +
    `put the program beside the config and name it relative to it, or install it in the image ` +
    `and name it without a path`;
  if (isAbsolute(program)) {
    found.problems.push({
      field: "script",
      message: `"${program}" is a path on this machine${outside}`,
    });
    return;
  }
  if (escapes(program)) {
    found.problems.push({
      field: "script",
      message: `"${program}" is outside the config's directory${outside}`,
    });
    return;
  }
  const file = readInside(dir, normalize(program));
  if (typeof file !== "string") {
    found.files.push({ path: normalize(program), bytes: file.bytes, executable: true });
  } else if (program.includes("/")) {
    found.problems.push({ field: "script", message: `"${program}" ${file} beside the config` });
  } else {
    found.notes.push(`${program} is not beside the config: it must be on the image's PATH`);
  }
}

function escapes(path: string): boolean {
  const normal = normalize(path);
  return normal === ".." || normal.startsWith("../");
}

/** A regular file's bytes and whether it is executable, or what is wrong with it, in words. */
function readInside(
  dir: string,
  path: string,
): { bytes: Uint8Array; executable: boolean } | string {
  const full = join(dir, path);
  try {
    const info = Deno.statSync(full);
    if (!info.isFile) return "is not a regular file";
    return { bytes: Deno.readFileSync(full), executable: ((info.mode ?? 0) & 0o111) !== 0 };
  } catch (error) {
    if (error instanceof Deno.errors.NotFound || error instanceof Deno.errors.NotADirectory) {
      return "does not exist";
    }
    return `cannot be read (${describeFsError(error)})`;
  }
}

/** The config's top-level keys the runner reads; the others belong to other components. */
const RUNNER_KEYS = ["jobs", "agents", "cron"];

/**
 * The config as the cluster gets it: only the keys the runner reads, so other components' settings
 * (and any secret among them) stay home, and of `agents:` only the models: an agent's `binary`
 * names a file on this machine, and in the image the agent is on PATH.
 */
export function clusterConfig(root: unknown, source: string): { text: string; notes: string[] } {
  const notes: string[] = [];
  const kept: Record<string, unknown> = {};
  const top = isMapping(root) ? root : {};
  for (const key of Object.keys(top).filter((key) => RUNNER_KEYS.includes(key))) {
    kept[key] = key === "agents" ? agentModels(top[key], notes) : top[key];
  }
  if (kept.cron !== undefined && kept.cron !== null) {
    notes.push(
      "the cron: section travels as it is: a program or path it names must exist in the image",
    );
  }
  const header = `# The runner's part of ${source} (teleclaude-cron --export kubernetes).\n`;
  return { text: header + stringify(kept, { lineWidth: 0, aliasDuplicateObjects: false }), notes };
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
    if (override.models !== undefined) kept[name] = { models: override.models };
  }
  return kept;
}

function isMapping(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}
