/**
 * `--notify-test`: a test event through every channel the config turns on, each tried once and
 * its result said; nothing is queued. Exit 1 when a channel that is on failed. For the daemon,
 * "delivered" is what the daemon's own notifications list shows: the test escalation became a
 * notification, at the level its chat adapters send, and was then resolved.
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
  postEnvelopes,
} from "../notify/channels.ts";
import { adminsOf, awaitNotification } from "../notify/daemon_facts.ts";
import { resolutionOf } from "../notify/envelopes.ts";
import { type CronEvent, testEvent } from "../notify/events.ts";
import { desktopWanted } from "../notify/notify.ts";

/** Where the test event is sent from. */
export interface NotifyCheck {
  config: Config;
  paths: RunnerPaths;
  socketPath: string;
  desktop: Desktop;
  host: string;
}

/** How one channel's test went: ok, failed, or off (with why). */
type Outcome = { status: "ok" | "FAIL" | "--"; text: string };

/** How long the daemon has to make a notification of the test (it processes events a moment after taking them). */
const NOTIFICATION_WAIT_MS = 10_000;

/** Sends the test event; prints one line per channel; returns the exit code. */
export async function sendTestNotification(check: NotifyCheck): Promise<number> {
  const { config, paths } = check;
  const settings = config.cron.notify;
  const event = testEvent(config.file, check.host, Date.now());
  const lines: [string, Outcome][] = [];
  lines.push([
    "desktop",
    desktopWanted(settings, check.desktop)
      ? said(await deliverToDesktop(event, check.desktop))
      : settings.desktop === false
      ? off("cron.notify.desktop: false")
      : off("no osascript here, or no notify-send with a session bus"),
  ]);
  lines.push([
    "daemon",
    settings.daemon === false
      ? off("cron.notify.daemon: false")
      : await testDaemon(event, check.socketPath, settings.daemon.email),
  ]);
  lines.push([
    "command",
    settings.command === null ? off("no cron.notify.command") : said(
      await deliverToCommand(event, {
        command: settings.command,
        dir: config.dir,
        logPath: join(paths.root, "logs", "notify-test-command.log"),
        root: paths.root,
      }),
    ),
  ]);
  for (const [channel, { status, text }] of lines) print(`${status.padEnd(4)} ${channel}: ${text}`);
  return lines.some(([, outcome]) => outcome.status === "FAIL") ? 1 : 0;
}

function off(why: string): Outcome {
  return { status: "--", text: `off (${why})` };
}

function said(delivery: Delivery): Outcome {
  return delivery.ok
    ? { status: "ok", text: "delivered" }
    : { status: "FAIL", text: delivery.error };
}

/**
 * The test escalation posted, looked for in the daemon's notifications, then resolved; what the
 * daemon will do with it (send it to its admins' chats) said as far as the daemon says it.
 */
async function testDaemon(
  event: CronEvent,
  socketPath: string,
  email: string | null,
): Promise<Outcome> {
  const id = event.escalation_id!;
  const posted = await deliverToDaemon(event, socketPath, email);
  if (!posted.ok) return { status: "FAIL", text: posted.error };
  const made = await awaitNotification(socketPath, id, () => true, NOTIFICATION_WAIT_MS);
  if ("why" in made) {
    return {
      status: "FAIL",
      text: `the daemon took the test escalation but made no notification of it (${made.why})`,
    };
  }
  const admins = await adminsOf(socketPath);
  const resolved = await postEnvelopes([resolutionOf(event, id)], socketPath, email);
  const closed = resolved.ok
    ? await awaitNotification(
      socketPath,
      id,
      (row) => row.agent_status === "resolved",
      NOTIFICATION_WAIT_MS,
    )
    : { why: resolved.error };
  const done = "why" in closed ? `; resolving it failed: ${closed.why}` : "; resolved again";
  const made_ = `notification #${made.id} made at level ${made.level}`;
  if (admins?.length === 0) {
    return {
      status: "FAIL",
      text: `${made_}, but the daemon has no admin, and it sends notifications to admins' ` +
        `chats only: it reached nobody's chat (it is in its notifications list)${done}`,
    };
  }
  const who = admins
    ? `the daemon sends it to the Telegram, Discord or WhatsApp of ${admins.join(", ")} ` +
      "(whichever it has an id for; that it does not say)"
    : "who gets it, the daemon did not say (GET /api/people)";
  return { status: "ok", text: `${made_}: ${who}${done}` };
}
