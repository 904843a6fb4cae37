/** The doctor on `~/.teleclaude`: modes, the state, the logs, the lock, the last tick. */

import type { RunnerPaths } from "../../paths.ts";
import { dirname, resolve } from "../../posix_path.ts";
import { inspectRunnerLock } from "../../store/lock.ts";
import { StoreError } from "../../errors.ts";
import { pathKind } from "../../store/fs.ts";
import { CLOCK_SKEW_MS, lastRunOf, readState } from "../../store/state.ts";
import { readLastTick } from "../../store/tick_note.ts";
import { counted } from "../../log.ts";
import { commandOutput } from "../../subprocess.ts";
import { type Check, type DoctorContext, isDirectory } from "./check.ts";

/**
 * `~/.teleclaude` and the state readable by nobody else. Passing through the directory (`x`, what
 * node_exporter needs to reach the metrics' own directory) lists and reads nothing: it is allowed.
 */
export function checkPrivateModes(paths: RunnerPaths, checks: Check[]): void {
  const loose: { what: string; fix: string }[] = [];
  const checked = [[paths.root, 0o700, 0o066], [paths.state, 0o600, 0o077]] as const;
  for (const [path, wanted, forbidden] of checked) {
    try {
      const mode = Deno.statSync(path).mode! & 0o777;
      if (mode & forbidden) {
        loose.push({
          what: `${path} is ${mode.toString(8)}, open to others`,
          fix: `chmod ${wanted.toString(8)} ${path}`,
        });
      }
    } catch (error) {
      if (!(error instanceof Deno.errors.NotFound)) throw error;
    }
  }
  checks.push(
    loose.length
      ? {
        name: "permissions",
        status: "fail",
        detail: loose.map((entry) => entry.what).join("; "),
        fix: loose.map((entry) => entry.fix).join("; "),
      }
      : {
        name: "permissions",
        status: "ok",
        detail: `${paths.root} and its state are private to you`,
      },
  );
}

export function checkState(paths: RunnerPaths, checks: Check[]): void {
  const read = readState(paths.state);
  const future = Object.keys(read.state.jobs).filter((name) =>
    (lastRunOf(read.state, name) ?? 0) > Date.now() + CLOCK_SKEW_MS
  );
  if (future.length > 0) {
    checks.push({
      name: "clock",
      status: "info",
      detail: `last runs recorded in the future (${
        future.join(", ")
      }): the clock or the zone was moved back; each waits one interval from now`,
    });
  }
  if (read.kind === "ok" && read.problems.length > 0) {
    checks.push({
      name: "state",
      status: "fail",
      detail: `${paths.state} has fields of the wrong type: ${read.problems.join("; ")}`,
      fix: "the next run drops them and keeps the file as it was beside it (.invalid-*)",
    });
    return;
  }
  if (read.kind === "corrupt") {
    checks.push({
      name: "state",
      status: "fail",
      detail: `${paths.state} is corrupt: ${read.reason}`,
      fix: "the next run moves it aside and goes on from the .bak copy; run the runner once",
    });
  } else {
    checks.push({
      name: "state",
      status: "ok",
      detail: read.kind === "missing"
        ? "no state yet (nothing has run)"
        : `${counted(Object.keys(read.state.jobs).length, "job")} recorded`,
    });
  }
}

export async function checkWritable(
  name: string,
  dir: string,
  mayCreate: boolean,
  checks: Check[],
): Promise<void> {
  // When the runner creates the directory itself, the nearest existing ancestor decides.
  let probe = dir;
  while (mayCreate && !isDirectory(probe) && probe !== "/") probe = dirname(probe);
  const writable = isDirectory(probe) && await testWritable(probe);
  checks.push(
    writable ? { name, status: "ok", detail: `${dir} is writable` } : {
      name,
      status: "fail",
      detail: `${dir} ${isDirectory(dir) || mayCreate ? "is not writable" : "does not exist"}`,
      fix: mayCreate
        ? `chmod u+w ${probe}`
        : `sudo mkdir -p ${dir} && sudo chown $(id -un) ${dir}   (launchd fails the job with exit 78 and no message otherwise)`,
    },
  );
}

/** Whether this user may write `path` (`test -w` asks the kernel, ACLs and all). */
async function testWritable(path: string): Promise<boolean> {
  return (await commandOutput("test", ["-w", path]))?.success ?? false;
}

export async function checkLock(paths: RunnerPaths, checks: Check[]): Promise<void> {
  let lock: Awaited<ReturnType<typeof inspectRunnerLock>>;
  try {
    lock = await inspectRunnerLock(paths.lock);
  } catch (error) {
    if (!(error instanceof StoreError)) throw error;
    checks.push({ name: "lock", status: "fail", detail: error.message, fix: "move it away" });
    return;
  }
  checks.push(
    lock.held
      ? {
        name: "lock",
        status: "ok",
        detail: `held by a running runner (pid ${lock.holderPid ?? "unknown"}) since ${
          lock.since?.toISOString() ?? "?"
        }`,
      }
      : { name: "lock", status: "ok", detail: "free" },
  );
}

export function checkLastTick(context: DoctorContext, checks: Check[]): void {
  const tick = readLastTick(context.paths.lastTick);
  const config = resolve(context.configPath);
  checks.push({
    name: "last tick",
    status: "info",
    detail: tick === null
      ? "no runner has taken the lock yet"
      : `a runner last looked at the schedules at ${new Date(tick.at).toISOString()}${
        tick.config === config ? "" : `, with another config: ${tick.config}`
      }`,
  });
}

/**
 * Each of the runner's own paths is what the runner makes there, or absent: a link, a directory
 * where a file belongs (or the reverse) or a FIFO stops every run with exit 2.
 */
export function checkRunnerPaths(paths: RunnerPaths, checks: Check[]): void {
  const expected: [string, "file" | "directory"][] = [
    [paths.root, "directory"],
    [paths.state, "file"],
    [`${paths.state}.bak`, "file"],
    [paths.lock, "file"],
    [paths.lastTick, "file"],
    [paths.history, "file"],
    [paths.outbox, "file"],
    [paths.configProblem, "file"],
    [paths.cache, "directory"],
    [paths.logs, "directory"],
  ];
  const wrong: string[] = [];
  for (const [path, kind] of expected) {
    const found = pathKind(path);
    // ~/.teleclaude itself may be a link the user made (to another disk, say).
    const fine = found === "absent" || found === kind ||
      (path === paths.root && found === "symlink");
    if (!fine) {
      wrong.push(
        `${path} is ${
          found === "other" ? "a FIFO, socket or device" : `a ${found}`
        }, not a ${kind}`,
      );
    }
  }
  checks.push(
    wrong.length
      ? {
        name: "runner files",
        status: "fail",
        detail: wrong.join("; "),
        fix: "move these away: the runner never writes through a link or into something else",
      }
      : {
        name: "runner files",
        status: "ok",
        detail: `everything in ${paths.root} is the runner's own kind`,
      },
  );
}
