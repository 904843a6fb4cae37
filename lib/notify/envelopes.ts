/**
 * What the runner sends the TeleClaude daemon, written from the daemon's own event catalog
 * (InstruktAI/TeleClaude at commit 451f0fb89: `teleclaude/events/schemas/notification.py`,
 * `cartridges/dedup.py`, `cartridges/notification.py`, `delivery/*.py`). An event type with no
 * schema there is stored and reaches nobody, so the runner sends only the two types that make a
 * person's notification:
 *
 * - `notification.escalation` creates a notification; the daemon's chat adapters send it to each
 *   admin's Telegram, Discord or WhatsApp when it is new and its level, as posted, is 2 or more.
 *   Its dedup key is its payload's `escalation_id`, kept for good (a resolved notification
 *   included): a repeated id is dropped, so a second copy of an event never makes a second
 *   notification, and a reminder needs an id of its own.
 * - `notification.resolution` marks the newest notification of its `escalation_id` resolved (the
 *   notifications list and the web UI show it closed). The chat adapters send only what is new:
 *   a resolution reaches no chat.
 *
 * The envelope's own `idempotency_key` is not sent: the daemon drops it on arrival.
 */

import type { CronEvent } from "./events.ts";

/** One `POST /events/emit` body. */
export interface Envelope {
  event: "notification.escalation" | "notification.resolution";
  source: "teleclaude-cron";
  /** 3 (business): a person must act; 2 (workflow): progress; 1 (operational): no chat. */
  level: 1 | 2 | 3;
  domain: "cron";
  entity: string;
  description: string;
  payload: Record<string, unknown>;
}

/**
 * The envelopes one event is sent as, in order; none when the daemon has nothing to do with it
 * (a recovery of a failure that was never escalated).
 *
 * | event | envelopes |
 * |---|---|
 * | `job.failed`, `config.invalid`, `test` | an escalation at level 3; a reminder also resolves the escalation it supersedes |
 * | `job.recovered`, `config.fixed` | the resolution of the escalation last told |
 * | `job.deferred`, `job.succeeded` | an escalation at level 1 (listed, sent to no chat: nothing to act on), resolved at once |
 * | `budget.reached` | an escalation at level 2 (sent to the admins' chats: told once per period, and a person may raise the ceiling), resolved at once (the runner lifts it by itself when the period ends) |
 */
export function daemonEnvelopes(event: CronEvent): Envelope[] {
  const id = event.escalation_id ?? olderEscalationId(event);
  if (id === null) return [];
  switch (event.event) {
    case "job.failed":
    case "config.invalid":
    case "test":
      return [
        envelope(event, "notification.escalation", 3, { escalation_id: id, reason: event.summary }),
        ...(event.supersedes === null ? [] : [
          envelope(event, "notification.resolution", 2, {
            escalation_id: event.supersedes,
            superseded_by: id,
          }),
        ]),
      ];
    case "job.recovered":
    case "config.fixed":
      return [envelope(event, "notification.resolution", 2, { escalation_id: id })];
    case "job.deferred":
    case "job.succeeded":
      return [
        envelope(event, "notification.escalation", 1, { escalation_id: id, reason: event.summary }),
        envelope(event, "notification.resolution", 2, { escalation_id: id }),
      ];
    case "budget.reached":
      return [
        envelope(event, "notification.escalation", 2, { escalation_id: id, reason: event.summary }),
        envelope(event, "notification.resolution", 2, { escalation_id: id }),
      ];
  }
}

/**
 * The escalation of a failure an older runner queued before escalations had ids: one of its own
 * (its run's start), so it still reaches a person. Its recovery has nothing to resolve.
 */
function olderEscalationId(event: CronEvent): string | null {
  if (event.event !== "job.failed" && event.event !== "config.invalid") return null;
  return `cron/${event.host}/${event.job ?? "config"}/${event.started ?? event.at}`;
}

function envelope(
  event: CronEvent,
  type: Envelope["event"],
  level: Envelope["level"],
  fields: Record<string, unknown>,
): Envelope {
  return {
    event: type,
    source: "teleclaude-cron",
    level,
    domain: "cron",
    entity: event.job ?? entityOf(event),
    description: event.summary,
    payload: { ...event, ...fields },
  };
}

/** What an event about no job is about, as the daemon's `entity`. */
function entityOf(event: CronEvent): string {
  if (event.event === "budget.reached") return `budget/${event.agent}`;
  return event.event === "test" ? "test" : "config";
}

/** The resolution of an escalation (`--notify-test` closes its test with it). */
export function resolutionOf(event: CronEvent, escalationId: string): Envelope {
  return envelope(event, "notification.resolution", 2, { escalation_id: escalationId });
}
