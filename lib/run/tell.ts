/**
 * The tell step: what the runner does with the event of a run just recorded, after the record
 * step has queued it (`notify/notify.ts` keeps the order: queued in the outbox, the state saved
 * with `notified`, then the desktop notice and the outbox sent). All of one runner's telling goes
 * through one `Teller`, one thing at a time: the outbox is read, sent and rewritten by a flush,
 * and an event queued by another lane in the middle of that would be written over, and lost.
 */

import type { CronEvent } from "../notify/events.ts";
import {
  announce,
  contextFor,
  newContext,
  type NotifyContext,
  queueEvent,
} from "../notify/notify.ts";

/** What telling needs of the runner (`contextFor`'s key: one context per tick). */
type TellingRunner = Parameters<typeof contextFor>[0];

/**
 * A lane runner tells with a fresh context every tick's worth of time (the service starts a tick
 * every 5 minutes): a channel that failed is asked again, and what waits gets a new sending
 * budget, as the ticks it stands in for would have given them.
 */
export const TICK_INTERVAL_MS = 5 * 60_000;

export class Teller {
  private chain: Promise<unknown> = Promise.resolve();
  private context: NotifyContext | null = null;
  private since = 0;

  /**
   * `renewMs`: how long one context serves (null: the whole tick, sharing the tick's own:
   * `contextFor`, so what failed before the jobs started stays known).
   */
  constructor(
    private readonly options: TellingRunner,
    private readonly clock: () => number,
    private readonly renewMs: number | null,
  ) {}

  /** Queues `event` in the outbox after whatever telling is under way; false when it could not. */
  queue(event: CronEvent): Promise<boolean> {
    return this.serially(() => queueEvent(event, this.current()));
  }

  /**
   * Shows and sends `event` (`queued`: whether `queue` took it) after what is under way; whether
   * it is kept or reached a channel (`notify.ts` `announce`).
   */
  announce(event: CronEvent, queued: boolean): Promise<boolean> {
    return this.serially(() => announce(event, this.current(), queued));
  }

  /** Resolves once everything asked of the teller so far is done. */
  async drained(): Promise<void> {
    await this.chain;
  }

  private current(): NotifyContext {
    const now = this.clock();
    if (this.context === null) {
      [this.context, this.since] = [contextFor(this.options, this.clock), now];
    } else if (this.renewMs !== null && now - this.since >= this.renewMs) {
      const { config, paths, socketPath, log } = this.options;
      this.context = newContext(config.cron.notify, paths, config.dir, socketPath, log, this.clock);
      this.since = now;
    }
    return this.context;
  }

  private serially<T>(step: () => Promise<T>): Promise<T> {
    const next = this.chain.then(step);
    // Telling never throws (notify.ts logs its errors); a bug in it must not stall the rest.
    this.chain = next.catch(() => {});
    return next;
  }
}
