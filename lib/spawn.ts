/**
 * Runs one job's process: in its own process group, output copied to a log file, stopped as a
 * whole group on timeout, on silence or on request, and swept after it exits (agent CLIs are
 * known to leave MCP servers behind). Outcomes that are normal for a job come back as a
 * discriminated result, never as a throw.
 */

import { writeAll } from "./state.ts";

/** What to run and how long to let it. */
export interface SpawnRequest {
  command: string;
  args: string[];
  cwd: string;
  /** Added to the runner's own environment, which is passed through. */
  env: Record<string, string>;
  /** Written to the child's stdin, which is then closed; null closes stdin at once. */
  stdin: string | null;
  /** Output (stdout and stderr) is appended here. */
  logPath: string;
  timeoutMs: number;
  /** Time between SIGTERM and SIGKILL when stopping the group. */
  graceMs: number;
  /** Stop the job after this long without output; 0 disables. */
  idleTimeoutMs: number;
  /** Aborting stops the job; the abort reason (a signal name) is reported back. */
  stop?: AbortSignal;
  /** Called once the process exists, before waiting on it (the runner records it as running). */
  onStart?: (pid: number) => Promise<void> | void;
}

/** How the process ended. `output` is the tail of what it printed. */
export type SpawnResult =
  | { kind: "exited"; code: number } & RunFacts
  | { kind: "signalled"; signal: string } & RunFacts
  | { kind: "timed-out"; afterMs: number } & RunFacts
  | { kind: "idle"; afterMs: number } & RunFacts
  | { kind: "interrupted"; signal: string } & RunFacts
  | { kind: "spawn-failed"; error: string } & RunFacts;

/** Facts about every run, whatever its end. */
export interface RunFacts {
  pid: number | null;
  durationMs: number;
  /** The last part of stdout (for a script's JSON result line or an agent's result event). */
  stdoutTail: string;
  /** The last part of stdout and stderr together (for the runner's log on failure). */
  outputTail: string;
}

/** Why the runner stopped a job, when it did. */
type EndReason =
  | { kind: "timed-out" | "idle"; afterMs: number }
  | { kind: "interrupted"; signal: string };

const TAIL_CHARS = 64 * 1024;
const POLL_MS = 10;
/** How long to wait for the output pipes to close after the group is gone. */
const PIPE_DRAIN_MS = 2000;

/** Runs a process to its end under the request's limits. */
export async function runProcess(request: SpawnRequest): Promise<SpawnResult> {
  const started = performance.now();
  const log = await Deno.open(request.logPath, { append: true, create: true, mode: 0o600 });
  const output = new OutputSink(log);
  const facts = (pid: number | null): RunFacts => ({
    pid,
    durationMs: Math.round(performance.now() - started),
    stdoutTail: output.stdoutTail,
    outputTail: output.combinedTail,
  });

  let child: Deno.ChildProcess;
  try {
    child = new Deno.Command(request.command, {
      args: request.args,
      cwd: request.cwd,
      env: request.env,
      stdin: request.stdin === null ? "null" : "piped",
      stdout: "piped",
      stderr: "piped",
      // setsid(): the job leads its own process group, so the whole tree can be signalled.
      detached: true,
    }).spawn();
  } catch (error) {
    await output.close();
    const reason = error instanceof Deno.errors.NotFound
      ? `${request.command}: no such file or directory`
      : error instanceof Deno.errors.PermissionDenied
      ? `${request.command}: permission denied (is it executable?)`
      : `${request.command}: ${error instanceof Error ? error.message : String(error)}`;
    return { kind: "spawn-failed", error: reason, ...facts(null) };
  }
  const pgid = child.pid;
  const pumps = Promise.all([
    output.pump(child.stdout, "stdout"),
    output.pump(child.stderr, "stderr"),
  ]);
  pumps.catch(() => {}); // Awaited in drain(); see the note on `stopping`.
  if (request.stdin !== null) void feedStdin(child, request.stdin);

  let ended: EndReason | null = null;
  let stopping: Promise<void> | null = null;
  const stopAll = (reason: EndReason) => {
    if (ended) return;
    ended = reason;
    stopping = stopGroup(pgid, request.graceMs);
    // Awaited below; marked handled now so a failure cannot crash the runner from a timer.
    stopping.catch(() => {});
  };
  const timers: ReturnType<typeof setTimeout>[] = [];
  timers.push(
    setTimeout(() => stopAll({ kind: "timed-out", afterMs: request.timeoutMs }), request.timeoutMs),
  );
  if (request.idleTimeoutMs > 0) {
    const every = Math.max(POLL_MS, Math.min(1000, request.idleTimeoutMs / 4));
    timers.push(setInterval(() => {
      if (performance.now() - output.lastOutputAt >= request.idleTimeoutMs) {
        stopAll({ kind: "idle", afterMs: request.idleTimeoutMs });
      }
    }, every));
  }
  const onAbort = () =>
    stopAll({ kind: "interrupted", signal: String(request.stop?.reason ?? "SIGTERM") });
  if (request.stop?.aborted) onAbort();
  request.stop?.addEventListener("abort", onAbort);

  try {
    try {
      await request.onStart?.(pgid);
    } catch (error) {
      // The job must not outlive a runner that could not record it (a full disk, say).
      await stopGroup(pgid, request.graceMs);
      await child.status;
      throw error;
    }
    const status = await child.status;
    for (const timer of timers) clearTimeout(timer);
    if (stopping) await stopping;
    // Sweep what the job left in its group before waiting for the pipes: a grandchild holding
    // stdout open would otherwise keep us waiting forever.
    if (await groupAlive(pgid)) await stopGroup(pgid, request.graceMs);
    await drain(pumps, child);
    // Assigned in the timer and abort callbacks, which TypeScript's narrowing cannot see.
    const result = ended as EndReason | null;
    if (result) return { ...result, ...facts(pgid) };
    if (status.signal) return { kind: "signalled", signal: status.signal, ...facts(pgid) };
    return { kind: "exited", code: status.code, ...facts(pgid) };
  } finally {
    for (const timer of timers) clearTimeout(timer);
    request.stop?.removeEventListener("abort", onAbort);
    await output.close();
  }
}

async function feedStdin(child: Deno.ChildProcess, text: string): Promise<void> {
  const writer = child.stdin.getWriter();
  try {
    await writer.write(new TextEncoder().encode(text));
    await writer.close();
  } catch {
    // The child exited or closed stdin without reading it: its exit status tells the story.
  }
}

async function drain(pumps: Promise<unknown>, child: Deno.ChildProcess): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timedOut = new Promise<"timeout">((resolve) =>
    timer = setTimeout(() => resolve("timeout"), PIPE_DRAIN_MS)
  );
  const first = await Promise.race([pumps.then(() => "done" as const), timedOut]);
  clearTimeout(timer);
  if (first === "timeout") {
    // A process that left the group (setsid) still holds the pipe; stop reading it.
    await Promise.allSettled([child.stdout.cancel(), child.stderr.cancel()]);
  }
}

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

async function waitGone(pgid: number, withinMs: number): Promise<boolean> {
  const deadline = performance.now() + withinMs;
  while (performance.now() < deadline) {
    if (!(await groupAlive(pgid))) return true;
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
  return !(await groupAlive(pgid));
}

/** Sends a signal to every process of a group; false when the group no longer exists. */
export function signalGroup(pgid: number, signal: Deno.Signal): boolean {
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
 * --allow-all, so ps it is.)
 */
export async function groupAlive(pgid: number): Promise<boolean> {
  try {
    // SIGCONT is harmless to a running process; Deno has no signal 0.
    Deno.kill(-pgid, "SIGCONT");
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return false;
    if (error instanceof Deno.errors.PermissionDenied) return true;
    throw error;
  }
  const listing = await ps(["-A", "-o", "pgid=,stat="]);
  if (listing === null) return true;
  return listing.split("\n").some((line) => {
    const [group, stat] = line.trim().split(/\s+/);
    return Number(group) === pgid && !stat?.startsWith("Z");
  });
}

/**
 * Whether the live process group `pgid` is the one a job started at `startedMs` created, and not
 * an unrelated group that reuses the number. The system never reuses a group's id while the group
 * exists, so a group whose leader is gone is still ours; a live leader must have started within a
 * few seconds of the recorded start.
 */
export async function isJobGroup(pgid: number, startedMs: number): Promise<boolean> {
  const leaderStart = await ps(["-o", "lstart=", "-p", String(pgid)]);
  if (!leaderStart) return true;
  const parsed = Date.parse(leaderStart.trim());
  // lstart has one-second resolution.
  return Number.isNaN(parsed) || Math.abs(parsed - startedMs) < 5000;
}

/** Runs `ps` with the given arguments; its stdout, or null when ps failed or found nothing. */
async function ps(args: string[]): Promise<string | null> {
  try {
    const output = await new Deno.Command("ps", {
      args,
      stdout: "piped",
      stderr: "null",
      stdin: "null",
    }).output();
    const text = new TextDecoder().decode(output.stdout);
    return output.success && text.trim() ? text : null;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return null;
    throw error;
  }
}

/** Copies both output streams into the log file, keeping the tails and the time of last output. */
class OutputSink {
  stdoutTail = "";
  combinedTail = "";
  lastOutputAt = performance.now();
  private writing: Promise<void> = Promise.resolve();
  private closed = false;

  constructor(private readonly file: Deno.FsFile) {}

  async pump(stream: ReadableStream<Uint8Array>, name: "stdout" | "stderr"): Promise<void> {
    const decoder = new TextDecoder();
    try {
      for await (const chunk of stream) {
        this.lastOutputAt = performance.now();
        // Writes are chained so stdout and stderr chunks never interleave mid-chunk.
        this.writing = this.writing.then(() =>
          this.closed ? undefined : writeAll(this.file, chunk)
        );
        const text = decoder.decode(chunk, { stream: true });
        if (name === "stdout") this.stdoutTail = (this.stdoutTail + text).slice(-TAIL_CHARS);
        this.combinedTail = (this.combinedTail + text).slice(-TAIL_CHARS);
      }
    } catch (error) {
      // A cancelled read (see drain) ends the copy; anything else is a real failure.
      if (
        !(error instanceof Deno.errors.Interrupted || error instanceof DOMException ||
          error instanceof TypeError)
      ) {
        throw error;
      }
    }
  }

  async close(): Promise<void> {
    await this.writing;
    if (this.closed) return;
    this.closed = true;
    this.file.close();
  }
}
