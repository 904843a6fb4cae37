/**
 * What an agent run really did, read from the end of its machine-readable event stream as well as
 * its exit code: an exit code alone lies (claude can exit 0 with `is_error: true`; a usage limit
 * exits 1 and would be retried every five minutes). Pure functions over text.
 */

import type { AgentName } from "./config.ts";
import { instantOf, localTime } from "./schedule.ts";

/** The verdict on an agent run, with whatever the agent reported about itself. */
export interface AgentVerdict {
  outcome: "success" | "failed" | "max_turns" | "usage_limit";
  /** The agent's own error text, when it gave one. */
  error: string | null;
  /** For usage limits: when the agent says the limit resets (epoch ms), if it says. */
  resetsAt: number | null;
  usage: RunUsage;
}

/** Turns, tokens and cost, where the agent reports them. */
export interface RunUsage {
  turns?: number;
  input_tokens?: number;
  output_tokens?: number;
  cost_usd?: number;
}

type Event = Record<string, unknown>;

/** Parses the JSON lines of a stream's tail, skipping anything that is not a JSON object. */
export function parseEvents(tail: string): Event[] {
  const events: Event[] = [];
  for (const line of tail.split("\n")) {
    const trimmed = line.trim();
    if (!trimmed.startsWith("{")) continue;
    try {
      const value: unknown = JSON.parse(trimmed);
      if (value !== null && typeof value === "object" && !Array.isArray(value)) {
        events.push(value as Event);
      }
    } catch {
      // A partial first line of the tail, or plain text on stdout: not an event.
    }
  }
  return events;
}

const USAGE_LIMIT =
  /(usage limit|hit your limit|rate limit|quota exceeded|resource_exhausted|too many requests)/i;

/**
 * Reads the verdict from an agent's output tail and exit code. `now` and `timeZone` place a
 * stated reset time ("resets 3pm") on the calendar.
 */
export function agentVerdict(
  agent: AgentName,
  exitCode: number,
  outputTail: string,
  now: number,
  timeZone: string,
): AgentVerdict {
  const events = parseEvents(outputTail);
  const usage: RunUsage = {};
  let error: string | null = null;
  let maxTurns = false;
  let reportedError = false;

  if (agent === "claude") {
    const result = events.findLast((event) => event.type === "result");
    if (result) {
      if (typeof result.num_turns === "number") usage.turns = result.num_turns;
      if (typeof result.total_cost_usd === "number") usage.cost_usd = result.total_cost_usd;
      const tokens = result.usage as Record<string, unknown> | undefined;
      if (typeof tokens?.input_tokens === "number") usage.input_tokens = tokens.input_tokens;
      if (typeof tokens?.output_tokens === "number") usage.output_tokens = tokens.output_tokens;
      maxTurns = result.subtype === "error_max_turns";
      reportedError = result.is_error === true ||
        (typeof result.subtype === "string" && result.subtype.startsWith("error"));
      if (reportedError) error = textOf(result.result) ?? textOf(result.subtype);
    }
  } else if (agent === "codex") {
    for (const event of events) {
      if (event.type === "turn.completed") {
        usage.turns = (usage.turns ?? 0) + 1;
        const tokens = event.usage as Record<string, unknown> | undefined;
        if (typeof tokens?.input_tokens === "number") {
          usage.input_tokens = (usage.input_tokens ?? 0) + tokens.input_tokens;
        }
        if (typeof tokens?.output_tokens === "number") {
          usage.output_tokens = (usage.output_tokens ?? 0) + tokens.output_tokens;
        }
      }
      if (event.type === "turn.failed" || event.type === "error") {
        reportedError = true;
        error = textOf((event.error as Event | undefined)?.message) ?? textOf(event.message) ??
          error;
      }
    }
  } else {
    const result = events.findLast((event) => event.type === "result");
    if (result) {
      const stats = result.stats as Record<string, unknown> | undefined;
      if (typeof stats?.input_tokens === "number") usage.input_tokens = stats.input_tokens;
      if (typeof stats?.output_tokens === "number") usage.output_tokens = stats.output_tokens;
      if (result.status === "error") {
        reportedError = true;
        error = textOf((result.error as Event | undefined)?.message) ?? "gemini reported an error";
      }
    }
    // gemini exits 53 when the turn limit is exceeded.
    maxTurns = exitCode === 53;
  }

  const lastText = error ?? lastLines(outputTail, 5);
  if ((reportedError || exitCode !== 0) && USAGE_LIMIT.test(lastText)) {
    return {
      outcome: "usage_limit",
      error: firstLine(lastText),
      resetsAt: statedReset(lastText, now, timeZone),
      usage,
    };
  }
  if (maxTurns) {
    return {
      outcome: "max_turns",
      error: error ?? "stopped at the turn limit",
      resetsAt: null,
      usage,
    };
  }
  if (reportedError) {
    return {
      outcome: "failed",
      error: firstLine(error ?? `${agent} reported an error`),
      resetsAt: null,
      usage,
    };
  }
  if (exitCode !== 0) {
    return {
      outcome: "failed",
      error: `${agent} exited with code ${exitCode}`,
      resetsAt: null,
      usage,
    };
  }
  return { outcome: "success", error: null, resetsAt: null, usage };
}

/**
 * The reset time stated in a usage-limit message: "resets 3pm", "resets at 15:00",
 * "try again in 2h 30m", or an ISO timestamp. Null when none is stated.
 */
export function statedReset(text: string, now: number, timeZone: string): number | null {
  // Older claude versions: "Claude AI usage limit reached|<epoch seconds>".
  const epoch = /limit reached\|(\d{10})\b/i.exec(text);
  if (epoch) return Number(epoch[1]) * 1000;
  const iso = /resets?(?: at)? (\d{4}-\d{2}-\d{2}T[\d:.]+(?:Z|[+-]\d{2}:?\d{2}))/i.exec(text);
  if (iso) return Date.parse(iso[1]!);
  const relative =
    /(?:try again|retry|resets?) in (?:(\d+)\s*h(?:ours?)?)?\s*(?:(\d+)\s*m(?:in(?:utes?)?)?)?/i
      .exec(text);
  if (relative && (relative[1] || relative[2])) {
    return now + (Number(relative[1] ?? 0) * 60 + Number(relative[2] ?? 0)) * 60_000;
  }
  const clock = /resets?(?: at)? (\d{1,2})(?::(\d{2}))?\s*(am|pm)?/i.exec(text);
  if (!clock) return null;
  let hour = Number(clock[1]);
  const minute = Number(clock[2] ?? 0);
  const meridiem = clock[3]?.toLowerCase();
  if (meridiem === "pm" && hour < 12) hour += 12;
  if (meridiem === "am" && hour === 12) hour = 0;
  if (hour > 23 || minute > 59) return null;
  return nextWallClock(hour, minute, now, timeZone);
}

function nextWallClock(hour: number, minute: number, now: number, timeZone: string): number {
  const today = localTime(now, timeZone);
  for (const ahead of [0, 1]) {
    const date = new Date(Date.UTC(today.year, today.month - 1, today.day + ahead));
    const candidate = instantOf(
      date.getUTCFullYear(),
      date.getUTCMonth() + 1,
      date.getUTCDate(),
      hour,
      minute,
      timeZone,
    );
    if (candidate > now) return candidate;
  }
  return now;
}

function textOf(value: unknown): string | null {
  return typeof value === "string" && value.trim() ? value.trim() : null;
}

function firstLine(text: string): string {
  return (text.split("\n").find((line) => line.trim()) ?? text).trim().slice(0, 500);
}

function lastLines(text: string, count: number): string {
  return text.trimEnd().split("\n").slice(-count).join("\n");
}

/** Exponential back-off for a usage limit with no stated reset: 15 min doubling to 4 h. */
export function usageBackoffMs(attempt: number): number {
  return Math.min(15 * 60_000 * 2 ** Math.max(0, attempt - 1), 4 * 3600_000);
}
