/**
 * The doctor on notifications: each channel the config turns on can reach a person (the daemon
 * takes the runner's events and has someone to send them to, a desktop notifier is there, the
 * command is executable), what waits in the outbox, and the metrics file.
 */

import type { Config } from "../../config/job.ts";
import type { Desktop } from "../../notify/channels.ts";
import { adminsOf, callerOf, notificationStore } from "../../notify/daemon_facts.ts";
import { desktopWanted } from "../../notify/notify.ts";
import { dirname, resolve } from "../../posix_path.ts";
import { pathKind } from "../../store/fs.ts";
import { readOutbox } from "../../store/outbox.ts";
import { findProgram, isExecutableFile } from "../../subprocess.ts";
import type { Check, DoctorContext } from "./check.ts";

/** What waiting notifications come to; a refusal of the daemon's is a fail with its fix. */
export async function checkNotify(
  config: Config,
  context: DoctorContext,
  desktop: Desktop,
  checks: Check[],
): Promise<void> {
  const settings = config.cron.notify;
  const on = [
    desktopWanted(settings, desktop) ? "desktop" : null,
    settings.daemon === false ? null : "daemon",
    settings.command === null ? null : "command",
  ].filter(Boolean);
  checks.push({
    name: "notify",
    status: on.length ? "info" : "warn",
    detail: on.length
      ? `failures reach a person through ${on.join(", ")} (on: ${settings.on.join(", ")})`
      : "no channel is on: a failure reaches nobody",
    ...(on.length ? {} : { fix: "turn one on in cron.notify (daemon, desktop or command)" }),
  });
  if (settings.desktop === true && !desktopWanted({ ...settings, desktop: null }, desktop)) {
    checks.push({
      name: "notify desktop",
      status: "fail",
      detail: "cron.notify.desktop is on, but there is no osascript, or no notify-send with a " +
        "session bus, where this runs",
      fix: "install notify-send (libnotify-bin), or turn desktop off",
    });
  }
  if (settings.daemon !== false) await checkDaemonAudience(settings.daemon.email, context, checks);
  if (settings.command !== null) checkCommand(settings.command, config.dir, context, checks);
  checkOutbox(context, checks);
  if (config.cron.metricsFile) checkMetricsFile(config.cron.metricsFile, checks);
}

/** Where to name a person for the daemon: its global config's `people:`. */
const PEOPLE_FIX = "~/.teleclaude/teleclaude.yml (the daemon's people:)";

/**
 * Whether the daemon, when it answers, takes the runner's events and has anyone to send them to:
 * its event store is up, it lets this caller emit (multi-user mode needs a known email; a
 * newcomer may not), and an admin exists (its chat adapters are registered for admins only).
 * Whether an admin has a chat id the daemon does not say over its socket: that is not claimed.
 */
async function checkDaemonAudience(
  email: string | null,
  context: DoctorContext,
  checks: Check[],
): Promise<void> {
  const store = await notificationStore(context.socketPath);
  if (store.state === "unreachable") return; // The daemon check says so.
  if (store.state === "down") {
    checks.push({
      name: "notify daemon",
      status: "fail",
      detail:
        `the daemon's event platform is not running (its notifications list: ${store.why}): ` +
        "it refuses every event (500) until it has Redis",
      fix: "start Redis for the daemon and restart the daemon; events wait in the outbox meanwhile",
    });
    return;
  }
  const caller = await callerOf(context.socketPath, email);
  if (caller !== null && !caller.allowed) {
    const who = email ? `cron.notify.daemon.email (${email})` : "a caller with no email";
    checks.push({
      name: "notify daemon",
      status: "fail",
      detail: `the daemon refuses ${who} (${caller.status}: ${caller.why}): every event would ` +
        "be refused",
      fix: caller.status === 401
        ? `set cron.notify.daemon.email to the email of a person in ${PEOPLE_FIX}`
        : `give that person the role admin, member or contributor in ${PEOPLE_FIX}`,
    });
    return;
  }
  const admins = await adminsOf(context.socketPath);
  if (admins === null) return;
  checks.push(
    admins.length === 0
      ? {
        name: "notify daemon",
        status: "fail",
        detail: "the daemon takes events but has no admin, and it sends notifications to " +
          "admins' chats only: a failure would be listed in its notifications and reach nobody",
        fix: `make someone an admin in ${PEOPLE_FIX}, with a telegram chat_id, discord user_id ` +
          "or whatsapp phone_number in their ~/.teleclaude/people/<name>/teleclaude.yml",
      }
      : {
        name: "notify daemon",
        status: "info",
        detail: `the daemon takes events${caller ? ` (as ${caller.role})` : ""} and sends ` +
          `failures to the chats of ${admins.join(", ")}, where it has a chat id for them (which ` +
          "it does not say; --notify-test shows the notification it makes)",
      },
  );
}

function checkCommand(
  command: string[],
  dir: string,
  context: DoctorContext,
  checks: Check[],
): void {
  const program = command[0]!;
  const found = program.includes("/")
    ? (isExecutableFile(resolve(dir, program)) ? resolve(dir, program) : null)
    : findProgram(program, context.path);
  checks.push(
    found ? { name: "notify command", status: "ok", detail: `${found} is executable` } : {
      name: "notify command",
      status: "fail",
      detail: `${program} is not an executable file${program.includes("/") ? "" : " on PATH"}`,
      fix: "give cron.notify.command a full path to an executable program",
    },
  );
}

function checkOutbox(context: DoctorContext, checks: Check[]): void {
  const { entries, skipped, tooLarge } = readOutbox(context.paths.outbox);
  if (tooLarge) {
    checks.push({
      name: "notify outbox",
      status: "warn",
      detail: `${context.paths.outbox} is larger than any outbox the runner writes (32 MiB)`,
      fix: "the next tick moves it aside (cron_outbox.jsonl.too-large-<time>) and logs it",
    });
    return;
  }
  if (entries.length === 0 && skipped === 0) return;
  // Whether the daemon refuses the runner is asked of the daemon itself (checkDaemonAudience),
  // not read from the errors of what it refused before: a fixed email is then ok at once.
  const oldest = entries[0];
  checks.push({
    name: "notify outbox",
    status: entries.length > 100 || skipped > 0 ? "warn" : "info",
    detail: `${entries.length} notifications wait in ${context.paths.outbox}` +
      (oldest
        ? ` (oldest queued ${oldest.queued}; last error: ${oldest.last_error ?? "none yet"})`
        : "") +
      (skipped > 0 ? `; ${skipped} lines are not notifications` : ""),
  });
}

function checkMetricsFile(file: string, checks: Check[]): void {
  const kind = pathKind(file);
  const parent = pathKind(dirname(file));
  const fine = (kind === "absent" || kind === "file") &&
    (parent === "absent" || parent === "directory");
  checks.push(
    fine
      ? {
        name: "metrics file",
        status: "ok",
        detail: kind === "file"
          ? `${file} is written after every tick`
          : `${file} will be written by the next tick`,
      }
      : {
        name: "metrics file",
        status: "fail",
        detail:
          `${file} (or its directory) is not a regular file (directory) the runner can replace`,
        fix: `remove what is at ${file}, or name another file in cron.metrics_file`,
      },
  );
}
