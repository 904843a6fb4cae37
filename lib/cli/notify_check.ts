/**
 * `--notify-test`: a test event through every channel the config turns on, each tried once and
 * its result said; nothing is queued. Exit 1 when a channel that is on failed.
 */

import type { Config } from "../config/job.ts";
import { print } from "../log.ts";
import { join } from "../posix_path.ts";
import type { RunnerPaths } from "../paths.ts";
import {
  deliverToCommand,
  deliverToDaemon,
  deliverToDesktop,
  type Delivery,
  type Desktop,
} from "../notify/channels.ts";
import { testEvent } from "../notify/events.ts";
import { desktopWanted } from "../notify/notify.ts";

/** Where the test event is sent from. */
export interface NotifyCheck {
  config: Config;
  paths: RunnerPaths;
  socketPath: string;
  desktop: Desktop;
  host: string;
}

/** Sends the test event; prints one line per channel; returns the exit code. */
export async function sendTestNotification(check: NotifyCheck): Promise<number> {
  const { config, paths } = check;
  const settings = config.cron.notify;
  const event = testEvent(config.file, check.host, Date.now());
  const lines: [string, Delivery | string][] = [];
  lines.push([
    "desktop",
    desktopWanted(settings, check.desktop)
      ? await deliverToDesktop(event, check.desktop)
      : settings.desktop === false
      ? "off (cron.notify.desktop: false)"
      : "off: no osascript here, or no notify-send with a session bus",
  ]);
  lines.push([
    "daemon",
    settings.daemon === false
      ? "off (cron.notify.daemon: false)"
      : await deliverToDaemon(event, check.socketPath, settings.daemon.email),
  ]);
  if (settings.command === null) {
    lines.push(["command", "off (no cron.notify.command)"]);
  } else {
    lines.push([
      "command",
      await deliverToCommand(event, {
        command: settings.command,
        dir: config.dir,
        logPath: join(paths.root, "logs", "notify-test-command.log"),
        root: paths.root,
      }),
    ]);
  }
  for (const [channel, result] of lines) {
    print(
      typeof result === "string"
        ? `--   ${channel}: ${result}`
        : result.ok
        ? `ok   ${channel}: delivered`
        : `FAIL ${channel}: ${result.error}`,
    );
  }
  return lines.some(([, result]) => typeof result !== "string" && !result.ok) ? 1 : 0;
}
