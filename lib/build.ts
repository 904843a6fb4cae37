/**
 * Which source an installed runner was made from. A build is the SHA-256 over the runtime files
 * of a source tree (`main.ts`, everything in `lib/`, the runner's own Deno config,
 * `deno.runtime.json` and `deno.runtime.lock`: scripts/runtime_config.ts, and the two scripts an
 * install bakes in, `scripts/permission-flags.sh` and `scripts/launcher.sh`): a changed module,
 * dependency pin or flag is another build. init.sh stamps the build into the copy it installs
 * (`lib/version.ts`, by scripts/stage.ts); `--version` says it, `--doctor` compares it with the
 * source tree.
 */

import { join } from "./posix_path.ts";
import { INSTALLED, type InstallStamp, VERSION } from "./version.ts";

/** How many hex digits of a build are shown (and are enough to tell two builds apart). */
export const SHORT_BUILD = 12;

/**
 * The runtime files of a source tree, relative to it, sorted: what a build is made of. The two
 * scripts are what an install bakes in beside the code (the permission flags, the source form's
 * launcher): a change to either is another build, so `--version` and `--doctor` say the
 * installed copy no longer matches.
 */
export function runtimeFiles(root: string): string[] {
  const files = [
    "deno.runtime.json",
    "deno.runtime.lock",
    "main.ts",
    "scripts/launcher.sh",
    "scripts/permission-flags.sh",
  ];
  const walk = (dir: string) => {
    for (const entry of Deno.readDirSync(join(root, dir))) {
      if (entry.name.startsWith(".")) continue; // an editor's swap file is not the runner
      const path = `${dir}/${entry.name}`;
      if (entry.isDirectory) walk(path);
      else if (entry.isFile) files.push(path);
    }
  };
  walk("lib");
  return files.sort();
}

/** The build of the source tree at `root` (64 hex digits). */
export async function buildId(root: string): Promise<string> {
  const encoder = new TextEncoder();
  const parts: Uint8Array[] = [];
  for (const file of runtimeFiles(root)) {
    const bytes = Deno.readFileSync(join(root, file));
    parts.push(encoder.encode(`${file}\0${bytes.length}\0`), bytes);
  }
  const whole = new Uint8Array(parts.reduce((sum, part) => sum + part.length, 0));
  let offset = 0;
  for (const part of parts) {
    whole.set(part, offset);
    offset += part.length;
  }
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", whole));
  return [...digest].map((byte) => byte.toString(16).padStart(2, "0")).join("");
}

/** The source tree this runner is, or was installed from. */
export function sourceRoot(stamp: InstallStamp | null = INSTALLED): string {
  if (stamp) return stamp.source;
  return decodeURIComponent(new URL("..", import.meta.url).pathname).replace(/\/$/, "");
}

/** The build of a source tree, or why it cannot be read (a checkout moved or deleted). */
export async function treeBuild(
  root: string,
): Promise<{ build: string } | { problem: string }> {
  try {
    return { build: await buildId(root) };
  } catch (error) {
    if (error instanceof Deno.errors.NotFound || error instanceof Deno.errors.NotADirectory) {
      // The tree itself, or one file of what a build is made of (an older checkout's).
      return isDirectory(root)
        ? { problem: `${root} lacks a file a build is made of: ${error.message}` }
        : { problem: `${root} is gone` };
    }
    if (error instanceof Deno.errors.PermissionDenied) {
      return { problem: `${root} cannot be read` };
    }
    throw error;
  }
}

function isDirectory(path: string): boolean {
  try {
    return Deno.statSync(path).isDirectory;
  } catch {
    return false;
  }
}

/**
 * What `--version` prints. A source tree says its version only; an installed runner also says
 * its form and build, and whether the tree it was installed from still is that build.
 */
export async function versionLine(stamp: InstallStamp | null = INSTALLED): Promise<string> {
  if (!stamp) return `teleclaude-cron ${VERSION}`;
  const form = stamp.form === "source" ? "source form" : "compiled";
  const tree = await treeBuild(stamp.source);
  const match = "problem" in tree
    ? tree.problem
    : tree.build === stamp.build
    ? `matches ${stamp.source}`
    : `${stamp.source} has changed since (now build ${tree.build.slice(0, SHORT_BUILD)})`;
  return `teleclaude-cron ${VERSION} (${form}, build ${
    stamp.build.slice(0, SHORT_BUILD)
  }; ${match})`;
}

/** What a `--version` line says; null when it is not one of this runner's. */
export interface VersionFacts {
  version: string;
  /** `tree`: a source tree, not an installed copy (or one installed before builds were stamped). */
  form: "compiled" | "source" | "tree";
  /** The first SHORT_BUILD hex digits; null for a tree. */
  build: string | null;
}

export function parseVersionLine(line: string): VersionFacts | null {
  const match = /^teleclaude-cron (\S+)(?: \((compiled|source form), build ([0-9a-f]+);.*\))?$/
    .exec(line.trim());
  if (!match) return null;
  return {
    version: match[1]!,
    form: match[2] === undefined ? "tree" : match[2] === "compiled" ? "compiled" : "source",
    build: match[3] ?? null,
  };
}
