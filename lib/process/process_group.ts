/**
 * A job's process group: signalling it, stopping it (TERM, grace, KILL) and telling whether it is
 * still alive, or still the job's at all. Every job leads its own group (`setsid`), so the whole
 * tree it starts (shells, MCP servers, grandchildren) is stopped together.
 */

import { commandOutput } from "../subprocess.ts";

/** First and longest pause between two looks at a group that is going away. */
const FIRST_POLL_MS = 5;
const LONGEST_POLL_MS = 250;

/**
 * Stops a whole process group: SIGTERM, up to `graceMs` for it to go, then SIGKILL.
 * Returns once the group is gone (or a second after SIGKILL, whichever is first).
 */
export async function stopGroup(pgid: number, graceMs: number): Promise<void> {
  if (!signalGroup(pgid, "SIGTERM")) return;
  if (await waitGone(pgid, graceMs)) return;
  signalGroup(pgid, "SIGKILL");
  await waitGone(pgid, 1000);
}

/**
 * Waits for a group to be gone, looking often at first (most jobs exit on SIGTERM within
 * milliseconds) and then less often: a job that ignores SIGTERM would otherwise make us fork `ps`
 * a hundred times a second for the whole grace period.
 */
async function waitGone(pgid: number, withinMs: number): Promise<boolean> {
  const deadline = performance.now() + withinMs;
  for (const pause of pollPauses(withinMs)) {
    if (!(await groupAlive(pgid))) return true;
    const left = deadline - performance.now();
    if (left <= 0) break;
    await new Promise((resolve) => setTimeout(resolve, Math.min(pause, left)));
  }
  return !(await groupAlive(pgid));
}

/** The pauses between looks at a dying group over `withinMs`: 5 ms, doubling, at most 250 ms. */
export function* pollPauses(withinMs: number): Generator<number> {
  let pause = FIRST_POLL_MS;
  for (let total = 0; total < withinMs;) {
    yield pause;
    total += pause;
    pause = Math.min(pause * 2, LONGEST_POLL_MS);
  }
}

/** Whether `pgid` may be signalled at all: never init's group, never a negative or zero id. */
export function isSignallableGroup(pgid: number): boolean {
  // kill(-0) is the caller's own group and kill(-1) every process of the user: never.
  return Number.isSafeInteger(pgid) && pgid > 1;
}

/** Sends a signal to every process of a group; false when the group no longer exists. */
export function signalGroup(pgid: number, signal: Deno.Signal): boolean {
  if (!isSignallableGroup(pgid)) throw new Error(`refusing to signal process group ${pgid}`);
  try {
    Deno.kill(-pgid, signal);
    return true;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return false;
    throw error;
  }
}

/**
 * Whether any live process is left in the group. A signal probe answers for most cases, but a
 * zombie (exited, not yet reaped by init) still receives signals, so when the probe says yes,
 * `ps` decides whether any member is more than a zombie. (Deno grants /proc only with
 * --allow-all, and macOS has none, so ps it is.)
 */
export async function groupAlive(pgid: number): Promise<boolean> {
  if (!isSignallableGroup(pgid)) return false;
  try {
    // SIGCONT is harmless to a running process; Deno has no signal 0.
    Deno.kill(-pgid, "SIGCONT");
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return false;
    if (error instanceof Deno.errors.PermissionDenied) return true;
    throw error;
  }
  const listing = await commandOutput("ps", ["-A", "-o", "pgid=,stat="]);
  if (listing === null || !listing.success) return true;
  return listing.stdout.split("\n").some((line) => {
    const [group, stat] = line.trim().split(/\s+/);
    return Number(group) === pgid && !stat?.startsWith("Z");
  });
}

/**
 * Whether the live process group `pgid` is the one a job started at `startedMs` created, and not
 * an unrelated group that reuses the number. The system never reuses a group's id while the group
 * exists, so a group whose leader is gone is still ours; a live leader must have started within a
 * few seconds of the recorded start. When `ps` cannot tell, the answer is no: leaving a stray
 * group alone is recoverable, killing someone else's processes is not.
 */
export async function isJobGroup(pgid: number, startedMs: number): Promise<boolean> {
  const leader = await commandOutput("ps", ["-o", "lstart=", "-p", String(pgid)]);
  if (leader === null) return false;
  // ps exits 1 and prints nothing when no process has that pid: the leader is gone.
  if (!leader.success && leader.stdout.trim() === "") return true;
  return leaderStartedAt(leader.stdout, startedMs);
}

/** Whether `ps -o lstart=` text names a start within 5 s of `startedMs` (lstart has 1 s steps). */
export function leaderStartedAt(lstart: string, startedMs: number): boolean {
  const parsed = Date.parse(lstart.trim());
  return !Number.isNaN(parsed) && Math.abs(parsed - startedMs) < 5000;
}

/** The process group of `pid`, as `ps` tells it; null when it cannot tell. */
export async function processGroupOf(pid: number): Promise<number | null> {
  const output = await commandOutput("ps", ["-o", "pgid=", "-p", String(pid)]);
  const pgid = Number(output?.stdout.trim());
  return output?.success && Number.isSafeInteger(pgid) && pgid > 0 ? pgid : null;
}
