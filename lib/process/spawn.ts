/**
 * Runs one job's process: in its own process group, output copied to a log file, stopped as a
 * whole group on timeout, on silence or on request, and swept after it exits (agent CLIs are
 * known to leave MCP servers behind). Outcomes that are normal for a job come back as a
 * discriminated result, never as a throw.
 */

import { isAbsolute, resolve } from "../posix_path.ts";
import { openForAppend } from "../store/fs.ts";
import { findProgram } from "../subprocess.ts";
import { OutputSink } from "./output.ts";
import { groupAlive, stopGroup } from "./process_group.ts";

/** What to run and how long to let it. */
export interface SpawnRequest {
  command: string;
  args: string[];
  cwd: string;
  /** Added to the runner's own environment, which is passed through. */
  env: Record<string, string>;
  /** Written to the child's stdin, which is then closed; null closes stdin at once. */
  stdin: string | null;
  /** Output (stdout and stderr) is appended here, at most `maxLogBytes` of it. */
  logPath: string;
  maxLogBytes: number;
  /**
   * Each complete stdout line as it arrives (an agent's event reader), true for progress. With
   * it, the idle watchdog counts progress only: a retry notice every few minutes from an agent
   * whose API hangs is not a sign of life.
   */
  onStdoutLine?: (line: string) => boolean;
  /** How much of stdout's end `stdoutTail` keeps (default 64 KiB). */
  stdoutTailBytes?: number;
  timeoutMs: number;
  /** Time between SIGTERM and SIGKILL when stopping the group. */
  graceMs: number;
  /** Stop the job after this long without output; 0 disables. */
  idleTimeoutMs: number;
  /** Aborting stops the job; the abort reason (a signal name) is reported back. */
  stop?: AbortSignal;
  /**
   * Called once the process exists, before it may run (the runner records it as running). With
   * it, the program starts behind a gate (`GATE`) that opens only once this has returned: a
   * runner that dies or fails before then leaves nothing running.
   */
  onStart?: (pid: number) => Promise<void> | void;
}

/** How the process ended. */
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
  /** The last part of stdout (for a script's JSON result line). */
  stdoutTail: string;
  /** The last part of stderr (where agents say why they could not start). */
  stderrTail: string;
  /** The last part of stdout and stderr together (for the runner's log on failure). */
  outputTail: string;
  /** Why the run log is incomplete (a full disk), or null. */
  logProblem: string | null;
}

/** Why the runner stopped a job, when it did. */
type EndReason =
  | { kind: "timed-out" | "idle"; afterMs: number }
  | { kind: "interrupted"; signal: string };

/** How long to wait for the output pipes to close after the group is gone. */
const PIPE_DRAIN_MS = 2000;

/** Runs a process to its end under the request's limits. */
export async function runProcess(request: SpawnRequest): Promise<SpawnResult> {
  const started = performance.now();
  const output = new OutputSink(openForAppend(request.logPath), {
    maxLogBytes: request.maxLogBytes,
    ...(request.onStdoutLine ? { onStdoutLine: request.onStdoutLine } : {}),
    ...(request.stdoutTailBytes ? { stdoutTailBytes: request.stdoutTailBytes } : {}),
  });
  const facts = (pid: number | null): RunFacts => ({
    pid,
    durationMs: Math.round(performance.now() - started),
    stdoutTail: output.stdoutTail,
    stderrTail: output.stderrTail,
    outputTail: output.combinedTail,
    logProblem: output.logProblem,
  });
  const gated = request.onStart !== undefined;
  const child = startChild(request, gated);
  if (typeof child === "string") {
    output.close();
    return { kind: "spawn-failed", error: child, ...facts(null) };
  }
  const pgid = child.pid;
  const pumps = Promise.all([
    output.pump(child.stdout, "stdout"),
    output.pump(child.stderr, "stderr"),
  ]);
  pumps.catch(() => {}); // Awaited in drain(); marked handled so it cannot crash us meanwhile.
  if (!gated && request.stdin !== null) void feedStdin(child, request.stdin);
  const watchdog = new Watchdog(request, pgid, output);
  try {
    if (gated) {
      try {
        await request.onStart!(pgid);
      } catch (error) {
        // Not recorded (a full disk, say): the gate is closed unopened, and the job never runs.
        void feedStdin(child, "");
        await child.status;
        throw error;
      }
      // Asked to stop meanwhile: the watchdog is stopping the gate; it is not opened.
      void feedStdin(child, request.stop?.aborted ? "" : `go\n${request.stdin ?? ""}`);
    }
    const status = await child.status;
    const ended = await watchdog.finish();
    // Sweep what the job left in its group before waiting for the pipes: a grandchild holding
    // stdout open would otherwise keep us waiting forever.
    if (await groupAlive(pgid)) await stopGroup(pgid, request.graceMs);
    await drain(pumps, output);
    output.close();
    if (ended) return { ...ended, ...facts(pgid) };
    if (status.signal) return { kind: "signalled", signal: status.signal, ...facts(pgid) };
    return { kind: "exited", code: status.code, ...facts(pgid) };
  } finally {
    watchdog.dispose();
    output.close();
  }
}

/**
 * The gate a recorded job starts behind: a POSIX shell, leader of the job's new process group,
 * that waits for the line `go` on stdin and only then becomes the job (`exec` keeps its pid, so
 * the group the running record names is the job's). The runner sends that line, then the job's
 * own stdin, once the running record is on disk. A runner killed before that closes the pipe by
 * dying: `read` meets the end of stdin and the shell exits without starting anything. So no job
 * runs unrecorded, and a later tick never starts a second copy beside an orphan. (`read` takes
 * a pipe one byte at a time, so the job's stdin starts right after the line.)
 */
const GATE = 'IFS= read -r go && [ "$go" = go ] && exec "$0" "$@"; exit 125';

/** Spawns the child in a group of its own; the reason as text when it could not start. */
function startChild(request: SpawnRequest, gated: boolean): Deno.ChildProcess | string {
  let command = request.command;
  let args = request.args;
  if (gated) {
    // The shell would start anything; whether the program can start is asked first, so that a
    // missing program is "could not start", as it is without the gate, not the shell's exit 127.
    const program = gateProgram(request);
    if ("error" in program) return program.error;
    [command, args] = ["/bin/sh", ["-c", GATE, program.path, ...request.args]];
  }
  try {
    return new Deno.Command(command, {
      args,
      cwd: request.cwd,
      env: request.env,
      stdin: gated || request.stdin !== null ? "piped" : "null",
      stdout: "piped",
      stderr: "piped",
      // setsid(): the job leads its own process group, so the whole tree can be signalled.
      detached: true,
    }).spawn();
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) {
      return `${request.command}: no such file or directory`;
    }
    if (error instanceof Deno.errors.PermissionDenied) {
      return `${request.command}: permission denied (is it executable?)`;
    }
    return `${request.command}: ${error instanceof Error ? error.message : String(error)}`;
  }
}

/**
 * The absolute path the gate is to `exec`: the program as `Deno.Command` would find it (a path
 * relative to the job's directory, or a name on the job's PATH); why it cannot start, otherwise.
 */
function gateProgram(request: SpawnRequest): { path: string } | { error: string } {
  const { command, cwd } = request;
  const named = command.includes("/") ? resolve(cwd, command) : command;
  const path = request.env.PATH ?? Deno.env.get("PATH") ?? "";
  const found = findProgram(named, path);
  if (found !== null) return { path: isAbsolute(found) ? found : resolve(cwd, found) };
  let kind: "file" | "directory" | null = null;
  try {
    const info = command.includes("/") ? Deno.statSync(named) : null;
    kind = info?.isDirectory ? "directory" : info ? "file" : null;
  } catch {
    kind = null;
  }
  return {
    error: kind === "file"
      ? `${command}: permission denied (is it executable?)`
      : kind === "directory"
      ? `${command}: is a directory, not a program`
      : `${command}: no such file or directory`,
  };
}

/**
 * The limits on a running job: its timeout, its idle timeout and the runner's stop request. The
 * first to trip stops the whole group and is remembered as the reason the job ended.
 */
class Watchdog {
  private ended: EndReason | null = null;
  private stopping: Promise<void> | null = null;
  private readonly timers: ReturnType<typeof setTimeout>[] = [];
  private readonly onAbort: () => void;

  constructor(
    private readonly request: SpawnRequest,
    private readonly pgid: number,
    output: OutputSink,
  ) {
    const { timeoutMs, idleTimeoutMs, stop } = request;
    this.timers.push(
      setTimeout(() => this.trip({ kind: "timed-out", afterMs: timeoutMs }), timeoutMs),
    );
    if (idleTimeoutMs > 0) {
      const every = Math.max(10, Math.min(1000, idleTimeoutMs / 4));
      this.timers.push(setInterval(() => {
        if (performance.now() - output.lastSignAt >= idleTimeoutMs) {
          this.trip({ kind: "idle", afterMs: idleTimeoutMs });
        }
      }, every));
    }
    this.onAbort = () =>
      this.trip({ kind: "interrupted", signal: String(stop?.reason ?? "SIGTERM") });
    if (stop?.aborted) this.onAbort();
    stop?.addEventListener("abort", this.onAbort);
  }

  private trip(reason: EndReason): void {
    if (this.ended) return;
    this.ended = reason;
    this.stopping = stopGroup(this.pgid, this.request.graceMs);
    // Awaited in finish(); marked handled now so a failure cannot crash the runner from a timer.
    this.stopping.catch(() => {});
  }

  /** Once the child has exited: stops the timers, waits for a stop in progress, says why. */
  async finish(): Promise<EndReason | null> {
    this.dispose();
    if (this.stopping) await this.stopping;
    return this.ended;
  }

  dispose(): void {
    for (const timer of this.timers) clearTimeout(timer);
    this.request.stop?.removeEventListener("abort", this.onAbort);
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

async function drain(pumps: Promise<unknown>, output: OutputSink): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timedOut = new Promise<"timeout">((resolve) =>
    timer = setTimeout(() => resolve("timeout"), PIPE_DRAIN_MS)
  );
  const first = await Promise.race([pumps.then(() => "done" as const), timedOut]);
  clearTimeout(timer);
  if (first === "timeout") {
    // A process that left the group (setsid) still holds the pipe; stop reading it.
    await output.cancel();
  }
}
