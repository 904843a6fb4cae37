/**
 * Telling people: an event is queued in the outbox for the daemon and the command before the
 * run's record is saved (a runner killed after that sends it on the next tick; the daemon drops a
 * second copy of an escalation), then shown on the desktop at once (or never), then sent. Each
 * channel is a queue: oldest first, and nothing overtakes an entry that is held back, so a
 * recovery never arrives before its failure — not even when the outbox cannot be written. A
 * channel that fails is not asked again in the same tick, and a tick's sending stops after a
 * time budget, so due jobs start on time. What waits is collapsed per job and channel
 * (`queue.ts`); an entry is dropped, and the drop logged, when its channel refuses it for good,
 * after 24 failed tries, after a week held, or past 1,000 entries. What became of each event is
 * kept for `--list` (`cron_told.json`). Nothing here stops a job: an error in telling is logged,
 * never thrown.
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
  type Receipt,
  recordReceipts,
  rewriteOutbox,
  settleFutureEntries,
} from "../store/outbox.ts";
import {
  deliverToCommand,
  deliverToDaemon,
  deliverToDesktop,
  type Delivery,
  type Desktop,
  desktopCommand,
} from "./channels.ts";
import { daemonEnvelopes } from "./envelopes.ts";
import { type CronEvent, eventFromOutbox } from "./events.ts";
import { collapseQueue } from "./queue.ts";

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

/**
 * The most one flush spends sending what waits (a slow daemon, a queue of hundreds): then the
 * rest waits for the next flush, and the due jobs start. Each flush has its own (the one before
 * the jobs, and the one after each job that has something to tell), so a job that fails late in
 * a tick is told then, not hours later. One delivery begun in time may run past it.
 */
export const FLUSH_BUDGET_MS = 5000;

/** One context per tick (per options object), so what failed once stays known for the tick. */
const contexts = new WeakMap<object, NotifyContext>();

/** The context of a runner working on `config`. */
export function contextFor(
  run: { config: Config; paths: RunnerPaths; socketPath: string; log: Logger },
  now: () => number = Date.now,
): NotifyContext {
  let context = contexts.get(run);
  if (context === undefined) {
    context = newContext(
      run.config.cron.notify,
      run.paths,
      run.config.dir,
      run.socketPath,
      run.log,
      now,
    );
    contexts.set(run, context);
  }
  return context;
}

/** A context for one tick's telling. */
export function newContext(
  settings: NotifySettings,
  paths: RunnerPaths,
  configDir: string,
  socketPath: string,
  log: Logger,
  now: () => number = Date.now,
): NotifyContext {
  return {
    settings,
    paths,
    configDir,
    socketPath,
    desktop: desktopFromEnv(),
    log,
    now,
    down: new Set(),
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
function queuedChannels(settings: NotifySettings): QueuedChannel[] {
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
 * disk), and then `announce` tries once more, and sends it unqueued only where nothing waits.
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
      return storeWarning(context, "outbox_not_written", context.paths.outbox, error, false);
    }
  }, false);
}

/**
 * Shows the desktop notice, then sends what waits (the event with it, or after it). Whether the
 * event is kept in the outbox or reached a channel: false when neither (the outbox could not take
 * it, and no channel could be sent it at once), so its caller can take back that it was told.
 */
export async function announce(
  event: CronEvent,
  context: NotifyContext,
  queued: boolean,
): Promise<boolean> {
  return await safely(context, async () => {
    if (desktopWanted(context.settings, context.desktop)) {
      const delivery = await deliverToDesktop(event, context.desktop);
      report(context.log, "desktop", event, delivery, false);
      saveReceipts(context, [receiptOf(event, "desktop", context, delivery)]);
    }
    // The state saved since may have freed the space the outbox needed (saveOrFree).
    if (!queued) queued = await queueEvent(event, context);
    const waiting = await flushOutbox(context);
    return queued || await sendUnqueued(event, context, waiting);
  }, true);
}

/**
 * An event the outbox could not take, sent at once where its channel has nothing waiting; where
 * it has, sending it would overtake what waits (a recovery before its failure), so it is not
 * sent, and that is logged. Whether a channel took it.
 */
async function sendUnqueued(
  event: CronEvent,
  context: NotifyContext,
  waiting: OutboxEntry[],
): Promise<boolean> {
  const receipts: Receipt[] = [];
  for (const entry of entriesOf(event, context)) {
    if (waiting.some((queued) => queued.channel === entry.channel)) {
      context.log.error("notification_not_sent", {
        channel: entry.channel,
        event: event.event,
        job: event.job ?? undefined,
        reason: "the outbox cannot be written and older notifications wait for this channel: " +
          "sending this one now would overtake them",
      });
      continue;
    }
    // A channel that failed this tick is not asked again in it (a hanging command: 30 s each).
    if (context.down.has(entry.channel)) continue;
    const delivery = await deliver(entry, context);
    report(context.log, entry.channel, event, delivery, false);
    receipts.push(receiptOf(event, entry.channel, context, delivery));
    if (!delivery.ok) context.down.add(entry.channel);
  }
  saveReceipts(context, receipts);
  return receipts.some((receipt) => receipt.delivered);
}

function entriesOf(event: CronEvent, context: NotifyContext): OutboxEntry[] {
  const now = new Date(context.now()).toISOString();
  return queuedChannels(context.settings)
    // The daemon gets only what its catalog makes a notification of (`envelopes.ts`).
    .filter((channel) => channel !== "daemon" || daemonEnvelopes(event).length > 0)
    .map((channel) => ({
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

/**
 * Sends what waits in the outbox and is due, each channel oldest first, within one flush's
 * budget (`FLUSH_BUDGET_MS`); keeps the rest. Returns what still waits (also when the file could not be rewritten).
 */
export async function flushOutbox(context: NotifyContext): Promise<OutboxEntry[]> {
  const { paths, log } = context;
  const ends = performance.now() + FLUSH_BUDGET_MS;
  const path = paths.outbox;
  return await safely(context, async () => {
    let read;
    try {
      read = readOutbox(path);
      if (read.tooLarge) {
        setAside(path, log);
        return [];
      }
    } catch (error) {
      return storeWarning(context, "outbox_not_written", path, error, []);
    }
    // Every channel failed this tick: nothing can be sent, so the file is not rewritten per job
    // (a storm's tick would rewrite it fifty times); the next tick collapses and sends it. (With
    // every channel turned off, what waits is dropped below, saying why.)
    const on = queuedChannels(context.settings);
    if (on.length > 0 && on.every((channel) => context.down.has(channel))) return read.entries;
    const now = context.now();
    const entries = checkedEntries(read.entries, read.skipped, context);
    const moved = settleFutureEntries(entries, now);
    const { kept, dropped } = pruneOutbox(entries, now);
    const receipts = dropped.map(({ entry, reason }) => dropReceipt(entry, reason, context));
    const { kept: queue, folded } = collapseQueue(kept);
    if (folded > 0) log.info("outbox_collapsed", { path, folded, waiting: queue.length });
    const sent = await sendDue(queue, context, now, ends);
    receipts.push(...sent.receipts);
    const changed = moved || folded > 0 || sent.changed || dropped.length > 0 ||
      read.skipped > 0 || entries.length !== read.entries.length;
    try {
      if (changed) rewriteOutbox(path, sent.remaining);
    } catch (error) {
      storeWarning(context, "outbox_not_written", path, error, undefined);
    }
    saveReceipts(context, receipts);
    return sent.remaining;
  }, []);
}

/** A store failure (a full disk) in telling: a warning, then `otherwise`; anything else thrown. */
export function storeWarning<T>(
  context: Pick<NotifyContext, "log">,
  event: string,
  path: string,
  error: unknown,
  otherwise: T,
): T {
  const failure = storeFailure(path, error);
  if (!(failure instanceof StoreError)) throw failure;
  context.log.warn(event, { path, error: failure.message });
  return otherwise;
}

/** The entries whose events a channel can send; the others are skipped, counted and said. */
function checkedEntries(
  entries: OutboxEntry[],
  skippedLines: number,
  context: NotifyContext,
): OutboxEntry[] {
  const problems: string[] = [];
  const checked = entries.filter((entry) => {
    const event = eventFromOutbox(entry.event);
    if (typeof event === "string") problems.push(`${entry.event.id}: ${event}`);
    else entry.event = event as unknown as OutboxEntry["event"];
    return typeof event !== "string";
  });
  const count = skippedLines + problems.length;
  if (count > 0) {
    context.log.warn("outbox_lines_skipped", {
      path: context.paths.outbox,
      count,
      first_problem: problems[0],
    });
  }
  return checked;
}

/** An outbox larger than any the runner writes is moved aside whole, and said. */
function setAside(path: string, log: Logger): void {
  const aside = `${path}.too-large-${new Date().toISOString().replaceAll(":", "")}`;
  Deno.renameSync(path, aside);
  log.error("outbox_too_large", { path, moved_to: aside });
}

/** The most tries of one entry; then it is dropped, and the drop logged. */
const MAX_ATTEMPTS = 24;

/** Sends what is due, oldest first per channel, starting no delivery after `ends`. */
async function sendDue(
  entries: OutboxEntry[],
  context: NotifyContext,
  now: number,
  ends: number,
): Promise<{ remaining: OutboxEntry[]; receipts: Receipt[]; changed: boolean }> {
  const remaining: OutboxEntry[] = [];
  const receipts: Receipt[] = [];
  let changed = false;
  // A channel whose oldest entry waits holds the newer ones back: its order is kept.
  const waiting = new Set<QueuedChannel>(context.down);
  let postponed = 0;
  for (const entry of entries) {
    if (!queuedChannels(context.settings).includes(entry.channel)) {
      receipts.push(dropReceipt(entry, `the ${entry.channel} channel is turned off`, context));
      changed = true;
      continue;
    }
    if (waiting.has(entry.channel) || Date.parse(entry.next) > now) {
      waiting.add(entry.channel);
      remaining.push(entry);
      continue;
    }
    if (performance.now() >= ends) {
      postponed++;
      remaining.push(entry);
      continue;
    }
    const event = entry.event as unknown as CronEvent;
    const delivery = await deliver(entry, context);
    changed = true;
    report(context.log, entry.channel, event, delivery, true);
    if (delivery.ok) {
      receipts.push(receiptOf(event, entry.channel, context, delivery));
      continue;
    }
    const kept = failedTry(entry, delivery, now, context);
    if (kept === null) receipts.push(receiptOf(event, entry.channel, context, delivery));
    else {
      context.down.add(entry.channel);
      waiting.add(entry.channel);
      remaining.push(kept);
    }
  }
  if (postponed > 0) {
    context.log.info("notify_postponed", {
      waiting: postponed,
      reason: `this flush's ${FLUSH_BUDGET_MS / 1000} s for sending what waits are spent`,
    });
  }
  return { remaining, receipts, changed };
}

/** The entry after a failed try, or null when it is dropped (refused for good, or tried out). */
function failedTry(
  entry: OutboxEntry,
  delivery: Extract<Delivery, { ok: false }>,
  now: number,
  context: NotifyContext,
): OutboxEntry | null {
  entry.attempts++;
  entry.last_error = delivery.error;
  if (delivery.reached) entry.reached = true;
  if (delivery.permanent || entry.attempts >= MAX_ATTEMPTS) {
    logDropped(
      context.log,
      entry,
      delivery.permanent ? "refused for good" : `${MAX_ATTEMPTS} tries failed`,
    );
    return null;
  }
  entry.next = new Date(now + Math.max(delivery.holdMs, backoffMs(entry.attempts))).toISOString();
  return entry;
}

/** After repeated failures, wait longer: 10 min from the third, doubling, at most an hour. */
function backoffMs(attempts: number): number {
  return attempts < 3 ? 0 : Math.min(10 * 60_000 * 2 ** (attempts - 3), 3600_000);
}

/** One try of one entry; an error in the channel is a failed try, never a stalled queue. */
async function deliver(entry: OutboxEntry, context: NotifyContext): Promise<Delivery> {
  const event = entry.event as unknown as CronEvent;
  const { settings } = context;
  try {
    if (entry.channel === "daemon") {
      const email = settings.daemon === false ? null : settings.daemon.email;
      return await deliverToDaemon(event, context.socketPath, email);
    }
    return await deliverToCommand(event, {
      command: settings.command!,
      dir: context.configDir,
      logPath: join(context.paths.root, "logs", "notify-command.log"),
      root: context.paths.root,
    });
  } catch (error) {
    if (error instanceof Deno.errors.NotCapable) throw error;
    return { ok: false, error: String(error), holdMs: 0, reached: true };
  }
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
    event: entry.event.event as string,
    id: entry.event.id,
    reason,
    last_error: entry.last_error ?? undefined,
  });
}

function receiptOf(
  event: CronEvent,
  channel: Receipt["channel"],
  context: NotifyContext,
  delivery: Delivery,
): Receipt {
  return {
    subject: event.job ?? "config",
    id: event.id,
    kind: event.event,
    at: event.at,
    channel,
    delivered: delivery.ok,
    when: new Date(context.now()).toISOString(),
    ...(delivery.ok ? {} : { reason: delivery.error }),
  };
}

/** An entry dropped unsent (held a week, past the most kept, its channel off): logged. */
function dropReceipt(entry: OutboxEntry, reason: string, context: NotifyContext): Receipt {
  logDropped(context.log, entry, reason);
  const dropped = { ok: false, error: reason, holdMs: 0, reached: false } as const;
  return receiptOf(entry.event as unknown as CronEvent, entry.channel, context, dropped);
}

/**
 * What became of each job's failures, for `--list` (which says of a failure streak's last telling
 * whether it was told): only `job.failed` keeps a receipt, so a later deferral or success of the
 * job cannot take its place. Informational, so a failure to write it is a warning.
 */
function saveReceipts(context: NotifyContext, receipts: Receipt[]): void {
  try {
    recordReceipts(context.paths.told, receipts.filter((receipt) => receipt.kind === "job.failed"));
  } catch (error) {
    storeWarning(context, "receipts_not_written", context.paths.told, error, undefined);
  }
}
