/**
 * The three ways an event reaches a person, each on its own: a failing channel never stops
 * another, nor a job. Nothing an event carries is ever read as code: the desktop text and the
 * command's data travel as argv, stdin and environment values, never inside a script or a shell
 * line.
 */

import { daemonRequest } from "../daemon.ts";
import { dirname, resolve } from "../posix_path.ts";
import { ensurePrivateDir, removeIfFileOrLink } from "../store/fs.ts";
import { runProcess } from "../process/spawn.ts";
import { findProgram } from "../subprocess.ts";
import type { CronEvent } from "./events.ts";
import { daemonEnvelopes, type Envelope } from "./envelopes.ts";
import { boundText } from "../process/result.ts";

/**
 * How a delivery went. `holdMs`: do not try again before this long (a refusal, not an outage);
 * `permanent`: never try again (the receiver will refuse this event whatever the time);
 * `reached`: whether the receiver may have acted on it (a daemon that took it, then hung).
 */
export type Delivery =
  | { ok: true }
  | { ok: false; error: string; holdMs: number; permanent?: boolean; reached: boolean };

const delivered: Delivery = { ok: true };

/** A refusal that waiting five minutes will not fix is tried again an hour later. */
const HOLD_REFUSED_MS = 3600_000;

/** How long a "too many requests" waits when it does not say (and the most it may ask). */
const HOLD_THROTTLED_MS = 60_000;

/** How long the daemon has to take an event. */
const DAEMON_TIMEOUT_MS = 5000;

/**
 * The daemon's event platform: the event's envelopes (`envelopes.ts`) posted to `/events/emit`
 * in order; the first that fails fails the delivery, and a retry sends them all again (the
 * daemon drops an escalation it has, and resolving twice is resolving).
 */
export function deliverToDaemon(
  event: CronEvent,
  socketPath: string,
  email: string | null,
): Promise<Delivery> {
  return postEnvelopes(daemonEnvelopes(event), socketPath, email);
}

/** Posts envelopes to `/events/emit`, in order, until one fails. */
export async function postEnvelopes(
  envelopes: Envelope[],
  socketPath: string,
  email: string | null,
): Promise<Delivery> {
  let reached = false;
  for (const body of envelopes) {
    const answer = await daemonRequest(socketPath, {
      method: "POST",
      path: "/events/emit",
      headers: email ? { "X-Telec-Email": email } : {},
      body: JSON.stringify(body),
    }, DAEMON_TIMEOUT_MS);
    if ("error" in answer) {
      return answer.reached
        ? { ok: false, error: `daemon: ${answer.error}`, holdMs: 0, reached: true }
        : { ok: false, error: noDaemon(socketPath, answer.error), holdMs: 0, reached };
    }
    reached = true;
    if (answer.status < 200 || answer.status >= 300) return refusal(answer, reached);
  }
  return delivered;
}

/** No daemon listens: one line a person can act on, not a bare "No such file or directory". */
function noDaemon(socketPath: string, reason: string): string {
  return `no TeleClaude daemon answers on ${socketPath} (${reason}): start it (or point ` +
    `TELECLAUDE_API_SOCKET at it), or set cron.notify.daemon: false`;
}

/** What a non-2xx answer means for the event. */
function refusal(
  answer: { status: number; headers: Record<string, string>; body: string },
  reached: boolean,
): Delivery {
  const said = answer.body.trim().slice(0, 200);
  const error = `daemon answered ${answer.status}${said ? `: ${said}` : ""}`;
  // 5xx: the daemon is unwell (no Redis: 500), the next tick may do. 401/403: not authorised,
  // until a person fixes it (--doctor says how). 429: it asked to wait. Any other answer (422:
  // an envelope it will not take) refuses this event for good.
  if (answer.status >= 500) return { ok: false, error, holdMs: 0, reached };
  if (answer.status === 401 || answer.status === 403) {
    return { ok: false, error, holdMs: HOLD_REFUSED_MS, reached };
  }
  if (answer.status === 429) {
    return { ok: false, error, holdMs: retryAfterMs(answer.headers["retry-after"]), reached };
  }
  return { ok: false, error, holdMs: 0, permanent: true, reached };
}

/** A `Retry-After` (seconds, or a date) as a wait, within an hour. */
function retryAfterMs(header: string | undefined): number {
  if (header === undefined) return HOLD_THROTTLED_MS;
  const seconds = /^\d+$/.test(header.trim())
    ? Number(header.trim())
    : (Date.parse(header) - Date.now()) / 1000;
  if (!Number.isFinite(seconds)) return HOLD_THROTTLED_MS;
  return Math.min(Math.max(seconds * 1000, 0), HOLD_REFUSED_MS);
}

/** Where the desktop can be told, and how. */
export interface Desktop {
  os: typeof Deno.build.os;
  /** Where osascript or notify-send are looked for. */
  path: string;
  /** Linux only: whether a session bus is there to carry the notice. */
  sessionBus: boolean;
}

/** The program and argv that show a desktop notice; null where there is no way to. */
export function desktopCommand(
  title: string,
  body: string,
  desktop: Desktop,
): { program: string; args: string[] } | null {
  if (desktop.os === "darwin") {
    const program = findProgram("osascript", desktop.path);
    // The script is fixed; the text arrives as its arguments, so no quote can end a string.
    return program === null ? null : {
      program,
      args: [
        "-e",
        "on run argv",
        "-e",
        "display notification (item 2 of argv) with title (item 1 of argv)",
        "-e",
        "end run",
        title,
        body,
      ],
    };
  }
  const program = desktop.sessionBus ? findProgram("notify-send", desktop.path) : null;
  return program === null ? null : {
    program,
    args: ["--app-name=teleclaude-cron", "--", title, body],
  };
}

/**
 * A desktop notice, shown now or never (a notice hours late is noise). An argument cannot hold a
 * NUL (the notifier would not start): one in a job's words is written `\\0`.
 */
export async function deliverToDesktop(event: CronEvent, desktop: Desktop): Promise<Delivery> {
  const command = desktopCommand(
    `teleclaude-cron: ${event.event}`,
    withoutNul(event.summary),
    desktop,
  );
  if (command === null) {
    return {
      ok: false,
      error: "no desktop notifier (osascript, or notify-send and a session bus)",
      holdMs: 0,
      reached: false,
    };
  }
  try {
    const output = await new Deno.Command(command.program, {
      args: command.args,
      stdin: "null",
      stdout: "null",
      stderr: "piped",
      signal: AbortSignal.timeout(10_000),
    }).output();
    if (output.success) return delivered;
    const said = new TextDecoder().decode(output.stderr).trim().slice(0, 200);
    return {
      ok: false,
      error: `${command.program} exited ${output.code}: ${said}`,
      holdMs: 0,
      reached: true,
    };
  } catch (error) {
    return {
      ok: false,
      error: `${command.program}: ${(error as Error).message}`,
      holdMs: 0,
      reached: false,
    };
  }
}

function withoutNul(text: string): string {
  return text.replaceAll("\0", "\\0");
}

/** The most one environment value takes: far below the 128 KiB a single one may have. */
const MAX_ENV_VALUE_CHARS = 4096;

/**
 * The event's main fields for the command's environment. An environment value cannot hold a NUL
 * (the program would not start): one in a job's error is written `\0`; stdin has it as it is.
 * Each value is bounded, whatever an older outbox holds.
 */
function commandEnv(event: CronEvent): Record<string, string> {
  const fields: Record<string, string | null> = {
    TELECLAUDE_CRON_EVENT: event.event,
    TELECLAUDE_CRON_JOB: event.job,
    TELECLAUDE_CRON_OUTCOME: event.outcome,
    TELECLAUDE_CRON_ERROR: event.error,
    TELECLAUDE_CRON_LOG: event.log_path,
    TELECLAUDE_CRON_SUMMARY: event.summary,
  };
  return Object.fromEntries(
    Object.entries(fields).map((
      [name, value],
    ) => [name, boundText(withoutNul(value ?? ""), MAX_ENV_VALUE_CHARS)]),
  );
}

/** What the command channel runs with. */
export interface CommandTarget {
  command: string[];
  /** The config's directory: the command's working directory and what a relative program is in. */
  dir: string;
  /** Where its output goes (the last delivery's only), under `root` (~/.teleclaude). */
  logPath: string;
  root: string;
}

/** The longest a notification command may take; then its process group is stopped. */
export const COMMAND_TIMEOUT_MS = 30_000;

/**
 * The command: the event JSON on stdin and its main fields in the environment, no shell, its own
 * process group, stopped after 30 s.
 */
export async function deliverToCommand(event: CronEvent, target: CommandTarget): Promise<Delivery> {
  const [program, ...args] = target.command;
  if (!program) {
    return { ok: false, error: "no command to run", holdMs: 0, permanent: true, reached: false };
  }
  try {
    ensurePrivateDir(dirname(target.logPath), target.root);
    removeIfFileOrLink(target.logPath);
  } catch (error) {
    return {
      ok: false,
      error: `its log ${target.logPath}: ${(error as Error).message}`,
      holdMs: 0,
      reached: false,
    };
  }
  const result = await runProcess({
    command: program.includes("/") ? resolve(target.dir, program) : program,
    args,
    cwd: target.dir,
    env: commandEnv(event),
    stdin: `${JSON.stringify(event)}\n`,
    logPath: target.logPath,
    maxLogBytes: 64 * 1024,
    timeoutMs: COMMAND_TIMEOUT_MS,
    graceMs: 2000,
    idleTimeoutMs: 0,
  });
  if (result.kind === "exited" && result.code === 0) return delivered;
  const said = result.outputTail.trim().split("\n").slice(-3).join(" | ").slice(0, 300);
  const how = result.kind === "exited"
    ? `exited ${result.code}`
    : result.kind === "timed-out"
    ? `stopped after ${COMMAND_TIMEOUT_MS / 1000} s`
    : result.kind === "spawn-failed"
    ? `could not start: ${result.error}`
    : result.kind;
  return {
    ok: false,
    error: `${target.command[0]} ${how}${said ? `: ${said}` : ""}`,
    holdMs: 0,
    reached: result.kind !== "spawn-failed",
  };
}
