/**
 * Telling people: an event goes to the desktop at once (or never) and, through the outbox, to
 * the daemon and the command: queued first, then sent, what could not be sent kept for the next
 * tick (oldest first, each with its idempotency key), dropped after a week or past 1,000 entries,
 * each drop logged. A channel that is down is tried once per tick, not once per event.
 */

import type { Config, NotifySettings } from "../config/job.ts";
import type { Logger } from "../log.ts";
import { join } from "../posix_path.ts";
import type { RunnerPaths } from "../paths.ts";
import { StoreError } from "../errors.ts";
import { ensurePrivateDir, storeFailure } from "../store/fs.ts";
import {
  type OutboxEntry,
  pruneOutbox,
  type QueuedChannel,
  queueEntries,
  readOutbox,
  rewriteOutbox,
} from "../store/outbox.ts";
import {
  deliverToCommand,
  deliverToDaemon,
  deliverToDesktop,
  type Delivery,
  type Desktop,
  desktopCommand,
} from "./channels.ts";
import type { CronEvent } from "./events.ts";

/** What telling needs. */
export interface NotifyContext {
  settings: NotifySettings;
  paths: RunnerPaths;
  /** The config's directory: the command's working directory. */
  configDir: string;
  socketPath: string;
  desktop: Desktop;
  log: Logger;
  now: () => number;
}

/** The context of a runner working on `config`. */
export function contextFor(
  run: { config: Config; paths: RunnerPaths; socketPath: string; log: Logger },
  now: () => number = Date.now,
): NotifyContext {
  return {
    settings: run.config.cron.notify,
    paths: run.paths,
    configDir: run.config.dir,
    socketPath: run.socketPath,
    desktop: desktopFromEnv(),
    log: run.log,
    now,
  };
}

/** The desktop as this process's environment describes it. */
export function desktopFromEnv(): Desktop {
  const runtime = Deno.env.get("XDG_RUNTIME_DIR");
  let bus = Boolean(Deno.env.get("DBUS_SESSION_BUS_ADDRESS"));
  if (!bus && runtime) {
    try {
      bus = Deno.statSync(join(runtime, "bus")).isSocket === true;
    } catch {
      bus = false;
    }
  }
  return { os: Deno.build.os, path: Deno.env.get("PATH") ?? "", sessionBus: bus };
}

/** The channels an event waits for in the outbox, as the settings turn them on. */
export function queuedChannels(settings: NotifySettings): QueuedChannel[] {
  const channels: QueuedChannel[] = [];
  if (settings.daemon !== false) channels.push("daemon");
  if (settings.command !== null) channels.push("command");
  return channels;
}

/** Whether a desktop notice is to be shown: asked for, or by default where one can be. */
export function desktopWanted(settings: NotifySettings, desktop: Desktop): boolean {
  return settings.desktop ?? desktopCommand("", "", desktop) !== null;
}

/** Tells `event` through every channel that is on. */
export async function notify(event: CronEvent, context: NotifyContext): Promise<void> {
  const { settings, log } = context;
  if (desktopWanted(settings, context.desktop)) {
    const shown = await deliverToDesktop(event, context.desktop);
    report(log, "desktop", event, shown, false);
  }
  const now = new Date(context.now()).toISOString();
  const entries: OutboxEntry[] = queuedChannels(settings).map((channel) => ({
    channel,
    event: event as unknown as OutboxEntry["event"],
    queued: now,
    attempts: 0,
    next: now,
    last_error: null,
  }));
  if (entries.length === 0) return;
  try {
    ensurePrivateDir(context.paths.root, context.paths.root);
    await queueEntries(context.paths.outbox, entries);
  } catch (error) {
    const failure = storeFailure(context.paths.outbox, error);
    if (!(failure instanceof StoreError)) throw failure;
    // Not queued: sent once now, and lost if that fails. Said in the log.
    log.warn("outbox_not_written", { path: context.paths.outbox, error: failure.message });
    for (const entry of entries) {
      report(log, entry.channel, event, await deliver(entry, context), false);
    }
    return;
  }
  await flushOutbox(context);
}

/** Sends what waits in the outbox and is due, oldest first; keeps what could not be sent. */
export async function flushOutbox(context: NotifyContext): Promise<void> {
  const { paths, log } = context;
  const path = paths.outbox;
  try {
    const read = readOutbox(path);
    if (read.skipped > 0) log.warn("outbox_lines_skipped", { path, count: read.skipped });
    const now = context.now();
    const { kept, dropped } = pruneOutbox(read.entries, now);
    for (const { entry, reason } of dropped) logDropped(log, entry, reason);
    const remaining = await sendDue(kept, context, now);
    const changed = dropped.length > 0 || read.skipped > 0 ||
      remaining.length !== read.entries.length || remaining.some((entry) => entry.attempts > 0);
    if (changed) rewriteOutbox(path, remaining);
  } catch (error) {
    const failure = storeFailure(path, error);
    if (!(failure instanceof StoreError)) throw failure;
    log.warn("outbox_not_written", { path, error: failure.message });
  }
}

async function sendDue(
  entries: OutboxEntry[],
  context: NotifyContext,
  now: number,
): Promise<OutboxEntry[]> {
  const remaining: OutboxEntry[] = [];
  const down = new Set<QueuedChannel>();
  for (const entry of entries) {
    if (!queuedChannels(context.settings).includes(entry.channel)) {
      logDropped(context.log, entry, `the ${entry.channel} channel is turned off`);
      continue;
    }
    if (Date.parse(entry.next) > now || down.has(entry.channel)) {
      remaining.push(entry);
      continue;
    }
    const delivery = await deliver(entry, context);
    report(context.log, entry.channel, entry.event as unknown as CronEvent, delivery, true);
    if (delivery.ok) continue;
    // One failure per channel per tick: a channel that is down is not asked once per event.
    down.add(entry.channel);
    entry.attempts++;
    entry.last_error = delivery.error;
    entry.next = new Date(now + Math.max(delivery.holdMs, backoffMs(entry.attempts))).toISOString();
    remaining.push(entry);
  }
  return remaining;
}

/** After repeated failures, wait longer: 10 min from the third, doubling, at most an hour. */
function backoffMs(attempts: number): number {
  return attempts < 3 ? 0 : Math.min(10 * 60_000 * 2 ** (attempts - 3), 3600_000);
}

function deliver(entry: OutboxEntry, context: NotifyContext): Promise<Delivery> {
  const event = entry.event as unknown as CronEvent;
  const { settings } = context;
  if (entry.channel === "daemon") {
    const email = settings.daemon === false ? null : settings.daemon.email;
    return deliverToDaemon(event, context.socketPath, email);
  }
  return deliverToCommand(event, {
    command: settings.command!,
    dir: context.configDir,
    logPath: join(context.paths.root, "logs", "notify-command.log"),
    root: context.paths.root,
  });
}

function report(
  log: Logger,
  channel: string,
  event: CronEvent,
  delivery: Delivery,
  queued: boolean,
): void {
  const fields = { channel, event: event.event, job: event.job ?? undefined };
  if (delivery.ok) log.info("notified", fields);
  else log.warn("notify_failed", { ...fields, error: delivery.error, kept: queued || undefined });
}

function logDropped(log: Logger, entry: OutboxEntry, reason: string): void {
  log.warn("notification_dropped", {
    channel: entry.channel,
    event: entry.event.event,
    id: entry.event.id,
    reason,
    last_error: entry.last_error ?? undefined,
  });
}
