/**
 * What the runner can learn from the TeleClaude daemon over its socket, and no more (its routes
 * at InstruktAI/TeleClaude 451f0fb89): who it takes the runner for (`GET /auth/whoami`, the same
 * check `/events/emit` makes), who its people are and which are admins (`GET /api/people`), and
 * which notifications it made (`GET /api/notifications`). Whether an admin has a Telegram,
 * Discord or WhatsApp id, and whether the daemon has those adapters on, it does not say: those
 * live in its own config files, which the runner does not read.
 */

import { type DaemonAnswer, daemonRequest } from "../daemon.ts";

/** How long one question may take. */
const ASK_TIMEOUT_MS = 3000;

/** Roles that may emit events (the daemon's clearance "telec events emit"). */
const EMITTERS = new Set(["admin", "member", "contributor"]);

/** The daemon's answer as JSON, or why there is none (`{ status }` for a non-2xx answer). */
async function askJson(
  socketPath: string,
  path: string,
  email: string | null,
  maxBytes?: number,
): Promise<{ json: unknown } | { status: number; said: string } | { error: string }> {
  const answer: DaemonAnswer = await daemonRequest(
    socketPath,
    {
      method: "GET",
      path,
      headers: email ? { "X-Telec-Email": email } : {},
    },
    ASK_TIMEOUT_MS,
    maxBytes,
  );
  if ("error" in answer) return { error: answer.error };
  if (answer.status < 200 || answer.status >= 300) {
    return { status: answer.status, said: answer.body.trim().slice(0, 200) };
  }
  try {
    return { json: JSON.parse(answer.body) };
  } catch {
    return { error: `not JSON: ${JSON.stringify(answer.body.slice(0, 80))}` };
  }
}

/** Whether the daemon lets this caller emit events, and as whom; null when it cannot say. */
export type Caller =
  | { allowed: true; role: string }
  | { allowed: false; status: number; why: string }
  | null;

/** Who the daemon takes a caller with `email` for (`/auth/whoami`). */
export async function callerOf(socketPath: string, email: string | null): Promise<Caller> {
  const answer = await askJson(socketPath, "/auth/whoami", email);
  if ("status" in answer && (answer.status === 401 || answer.status === 403)) {
    return { allowed: false, status: answer.status, why: answer.said };
  }
  if (!("json" in answer)) return null;
  const role = (answer.json as { role?: unknown } | null)?.role;
  if (typeof role !== "string") return null;
  return EMITTERS.has(role)
    ? { allowed: true, role }
    : { allowed: false, status: 403, why: `the daemon gives it the role ${role}` };
}

/** The daemon's people, by role; null when it does not say. */
/**
 * The names of the daemon's admins, the only people its Telegram, Discord and WhatsApp adapters
 * send to; null when it does not say (`GET /api/people`).
 */
export async function adminsOf(socketPath: string): Promise<string[] | null> {
  const people = await peopleOf(socketPath);
  return people?.filter((person) => person.role === "admin").map((person) => person.name) ?? null;
}

export async function peopleOf(
  socketPath: string,
): Promise<{ name: string; role: string }[] | null> {
  const answer = await askJson(socketPath, "/api/people", null);
  if (!("json" in answer) || !Array.isArray(answer.json)) return null;
  return answer.json.filter((person) =>
    typeof person?.name === "string" && typeof person?.role === "string"
  );
}

/** A notification row as the daemon lists it (the fields the runner reads). */
export interface NotificationRow {
  id: number;
  level: number;
  agent_status: string;
  /** The event's payload, parsed. */
  payload: Record<string, unknown>;
}

/**
 * Whether the daemon's notifications list is there: `up`; `down` (it answered, with an error: no
 * event store, which means no Redis and every event refused); `missing` (an older daemon without
 * the route); `unreachable` (no daemon answers).
 */
export type NotificationStore = { state: "up" } | {
  state: "down" | "missing" | "unreachable";
  why: string;
};

/** Asks the daemon's notifications list whether it is there (`?limit=1`). */
export async function notificationStore(socketPath: string): Promise<NotificationStore> {
  const answer = await askJson(socketPath, "/api/notifications?limit=1", null);
  if ("json" in answer) return { state: "up" };
  if ("status" in answer) {
    return {
      state: answer.status === 404 ? "missing" : "down",
      why: `it answered ${answer.status}${answer.said ? `: ${answer.said}` : ""}`,
    };
  }
  return { state: "unreachable", why: answer.error };
}

/**
 * The newest of the daemon's `cron` notifications with this escalation id, waited for until
 * `until` returns true of it (the daemon processes an event a moment after taking it) or the
 * deadline passes; the last answer's reason when it never came.
 */
export async function awaitNotification(
  socketPath: string,
  escalationId: string,
  until: (row: NotificationRow) => boolean,
  timeoutMs: number,
): Promise<NotificationRow | { why: string }> {
  const deadline = performance.now() + timeoutMs;
  let why = `no notification of it within ${timeoutMs / 1000} s`;
  while (performance.now() < deadline) {
    const answer = await askJson(
      socketPath,
      "/api/notifications?domain=cron&limit=20",
      null,
      1 << 20,
    );
    if ("json" in answer && Array.isArray(answer.json)) {
      const row = answer.json.map(rowOf).find((row) => row?.payload.escalation_id === escalationId);
      if (row && until(row)) return row;
    } else if ("status" in answer) {
      return { why: `GET /api/notifications answered ${answer.status}: ${answer.said}` };
    } else if ("error" in answer) {
      why = answer.error;
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return { why };
}

function rowOf(value: unknown): NotificationRow | null {
  const row = value as Record<string, unknown> | null;
  if (typeof row?.id !== "number" || typeof row.payload !== "string") return null;
  try {
    return {
      id: row.id,
      level: Number(row.level),
      agent_status: String(row.agent_status),
      payload: JSON.parse(row.payload),
    };
  } catch {
    return null;
  }
}
