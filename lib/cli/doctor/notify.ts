/**
 * The doctor on notifications: each channel the config turns on can reach a person (the daemon
 * has not refused events, a desktop notifier is there, the command is executable), what waits in
 * the outbox, and the metrics file.
 */

import type { Config } from "../../config/job.ts";
import type { Desktop } from "../../notify/channels.ts";
import { desktopWanted } from "../../notify/notify.ts";
import { dirname, resolve } from "../../posix_path.ts";
import { pathKind } from "../../store/fs.ts";
import { readOutbox } from "../../store/outbox.ts";
import { findProgram, isExecutableFile } from "../../subprocess.ts";
import type { Check, DoctorContext } from "./check.ts";

/** What waiting notifications come to; a refusal of the daemon's is a fail with its fix. */
export function checkNotify(
  config: Config,
  context: DoctorContext,
  desktop: Desktop,
  checks: Check[],
): void {
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
  if (settings.command !== null) checkCommand(settings.command, config.dir, context, checks);
  checkOutbox(context, checks);
  if (config.cron.metricsFile) checkMetricsFile(config.cron.metricsFile, checks);
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
  const refused = entries.filter((entry) =>
    /^daemon answered 40[13]\b/.test(entry.last_error ?? "")
  );
  if (refused.length > 0) {
    checks.push({
      name: "notify daemon",
      status: "fail",
      detail: `the daemon refused ${refused.length} events: ${refused.at(-1)!.last_error}`,
      fix: "set cron.notify.daemon.email to an address the daemon knows (sent as X-Telec-Email), " +
        "or turn the daemon channel off (daemon: false); refused events are tried again hourly",
    });
  }
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
