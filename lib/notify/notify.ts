/**
 * Telling people: an event is queued in the outbox for the daemon and the command before the
 * run's record is saved (a runner killed after that sends it on the next tick; the idempotency
 * key lets the daemon drop a second copy), then shown on the desktop at once (or never), then
 * sent. Each channel is a queue: oldest first, and nothing overtakes an entry that is held back,
 * so a recovery never arrives before its failure. A channel that fails is not asked again in the
 * same tick. An entry is dropped, and the drop logged, when its channel refuses it for good, after
 * 24 failed tries, after a week, or past 1,000 entries. Nothing here stops a job: an error in
 * telling is logged, never thrown.
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
  /** Channels that failed in this tick: not asked again until the next. */
  down: Set<QueuedChannel>;
}

/** One context per tick (per options object), so what failed once stays known for the tick. */
const contexts = new WeakMap<object, NotifyContext>();

/** The context of a runner working on `config`. */
export function contextFor(
  run: { config: Config; paths: RunnerPaths; socketPath: string; log: Logger },
  now: () => number = Date.now,
): NotifyContext {
  let context = contexts.get(run);
  if (context === undefined) {
    context = {
      settings: run.config.cron.notify,
      paths: run.paths,
      configDir: run.config.dir,
      socketPath: run.socketPath,
      desktop: desktopFromEnv(),
      log: run.log,
      now,
      down: new Set(),
    };
    contexts.set(run, context);
  }
  return context;
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

/** Tells `event` through every channel that is on: queued, shown, sent. */
export async function notify(event: CronEvent, context: NotifyContext): Promise<void> {
  await announce(event, context, await queueEvent(event, context));
}

/**
 * Queues `event` for the daemon and the command; false when the outbox cannot be written (a full
 * disk), and then `announce` sends it once, unqueued.
 */
export async function queueEvent(event: CronEvent, context: NotifyContext): Promise<boolean> {
  const entries = entriesOf(event, context);
  if (entries.length === 0) return true;
  return await safely(context, async () => {
    try {
      ensurePrivateDir(context.paths.root, context.paths.root);
      await queueEntries(context.paths.outbox, entries);
      return true;
    } catch (error) {
      const failure = storeFailure(context.paths.outbox, error);
      if (!(failure instanceof StoreError)) throw failure;
      context.log.warn("outbox_not_written", {
        path: context.paths.outbox,
        error: failure.message,
      });
      return false;
    }
  }, false);
}

/** Shows the desktop notice, then sends what waits (or, not queued, the event itself once). */
export async function announce(
  event: CronEvent,
  context: NotifyContext,
  queued: boolean,
): Promise<void> {
  await safely(context, async () => {
    if (desktopWanted(context.settings, context.desktop)) {
      report(context.log, "desktop", event, await deliverToDesktop(event, context.desktop), false);
    }
    if (queued) return await flushOutbox(context);
    for (const entry of entriesOf(event, context)) {
      report(context.log, entry.channel, event, await deliver(entry, context), false);
    }
  }, undefined);
}

function entriesOf(event: CronEvent, context: NotifyContext): OutboxEntry[] {
  const now = new Date(context.now()).toISOString();
  return queuedChannels(context.settings).map((channel) => ({
    channel,
    event: event as unknown as OutboxEntry["event"],
    queued: now,
    attempts: 0,
    next: now,
    last_error: null,
  }));
}

/** Runs `telling`; an error in it is logged, and `otherwise` returned: telling never stops a job. */
async function safely<T>(
  context: NotifyContext,
  telling: () => Promise<T>,
  otherwise: T,
): Promise<T> {
  try {
    return await telling();
  } catch (error) {
    context.log.error("notify_error", {
      error: error instanceof Error ? error.stack : String(error),
    });
    return otherwise;
  }
}

/** Sends what waits in the outbox and is due, each channel oldest first; keeps the rest. */
export async function flushOutbox(context: NotifyContext): Promise<void> {
  const { paths, log } = context;
  const path = paths.outbox;
  await safely(context, async () => {
    try {
      const read = readOutbox(path);
      if (read.tooLarge) return setAside(path, log);
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
  }, undefined);
}

/** An outbox larger than any the runner writes is moved aside whole, and said. */
function setAside(path: string, log: Logger): void {
  const aside = `${path}.too-large-${new Date().toISOString().replaceAll(":", "")}`;
  Deno.renameSync(path, aside);
  log.error("outbox_too_large", { path, moved_to: aside });
}

/** The most tries of one entry; then it is dropped, and the drop logged. */
const MAX_ATTEMPTS = 24;

async function sendDue(
  entries: OutboxEntry[],
  context: NotifyContext,
  now: number,
): Promise<OutboxEntry[]> {
  const remaining: OutboxEntry[] = [];
  // A channel whose oldest entry waits holds the newer ones back: its order is kept.
  const waiting = new Set<QueuedChannel>(context.down);
  for (const entry of entries) {
    if (!queuedChannels(context.settings).includes(entry.channel)) {
      logDropped(context.log, entry, `the ${entry.channel} channel is turned off`);
      continue;
    }
    if (waiting.has(entry.channel) || Date.parse(entry.next) > now) {
      waiting.add(entry.channel);
      remaining.push(entry);
      continue;
    }
    const delivery = await deliver(entry, context);
    report(context.log, entry.channel, entry.event as unknown as CronEvent, delivery, true);
    if (delivery.ok) continue;
    entry.attempts++;
    entry.last_error = delivery.error;
    if (delivery.permanent || entry.attempts >= MAX_ATTEMPTS) {
      logDropped(
        context.log,
        entry,
        delivery.permanent ? "refused for good" : `${MAX_ATTEMPTS} tries failed`,
      );
      continue;
    }
    entry.next = new Date(now + Math.max(delivery.holdMs, backoffMs(entry.attempts))).toISOString();
    context.down.add(entry.channel);
    waiting.add(entry.channel);
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
