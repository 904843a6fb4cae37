/**
 * What an agent reported about its own run, gathered line by line from its machine-readable
 * output as it streams, by one reader per agent (`claude.ts`, `codex.ts`, `gemini.ts`), and
 * judged by `classify.ts`. Structured fields come first; text patterns only where the agent
 * offers nothing else.
 */

import { boundText, type RunUsage } from "../../process/result.ts";

export type { RunUsage };

/** The facts one run's events told. */
export interface AgentFacts {
  usage: RunUsage;
  /** The agent's own final word that the run completed (claude's result, codex's turn). */
  finished: boolean;
  /** The agent said the run failed. */
  failed: boolean;
  /** The agent's own words for what went wrong, in full (several lines when it wrote several). */
  error: string | null;
  /** A usage or quota limit of the account: no retry helps before it resets. */
  limit: { resetsAt: number | null; text: string } | null;
  maxTurns: boolean;
  budget: boolean;
  /** Not logged in, a bad key: no retry helps until a person acts. */
  auth: boolean;
  /**
   * The model service would not serve the run for now and the agent gave up retrying: overloaded
   * (claude's 529, gemini's 503), failing (5xx), unreachable (a refused or dropped connection, no
   * answer in time) or holding requests back per minute (a 429 that is not the account's usage
   * limit, however the agent's exit code words it). A retry minutes later helps; nothing is
   * deferred.
   */
  unavailable: boolean;
  /**
   * The agent's words for the try it is retrying, when the service answered that try with an
   * outage (a 5xx, an overload, a 429, a refused connection) rather than silence; cleared by
   * progress. A run stopped for making no progress while it is set was kept waiting by a service
   * that said it was unavailable, not by one that hung (`idleVerdict` in classify.ts).
   */
  retryingOutage: string | null;
  /** The agent stopped on its own before finishing (gemini's loop detection). */
  stoppedEarly: string | null;
  /**
   * Trouble the agent retried (a transient error, a per-minute limit): worth a note, no more. The
   * last `MAX_RETRY_NOTES`, each bounded (`noteRetry`); `retryCount` counts them all.
   */
  retries: string[];
  retryCount: number;
  /** The last answer the agent gave (for `runOnce`). */
  answer: string | null;
  /** How many of the agent's events (JSON objects) its output held. */
  events: number;
}

/** One machine-readable event: a JSON object on a line of its own. */
export type AgentEvent = Record<string, unknown>;

/** When a limit stated in words resets (epoch ms); null when the words say no time. */
export type ResetReader = (text: string) => number | null;

/** Reads an agent's stdout line by line. */
export interface AgentReader {
  /** Takes one line; true when it shows the agent making progress (for the idle watchdog). */
  line(text: string): boolean;
  /** The facts so far. */
  readonly facts: AgentFacts;
}

/** Facts before any event. */
export function noFacts(): AgentFacts {
  return {
    usage: {},
    finished: false,
    failed: false,
    error: null,
    limit: null,
    maxTurns: false,
    budget: false,
    auth: false,
    unavailable: false,
    retryingOutage: null,
    stoppedEarly: null,
    retries: [],
    retryCount: 0,
    answer: null,
    events: 0,
  };
}

/**
 * A reader that hands each event of the output to `read`, which says whether it is progress, and
 * keeps count of the events. (It is given only lines shaped like events: `process/output.ts`.)
 */
export function eventReader(
  facts: AgentFacts,
  read: (event: AgentEvent) => boolean,
): AgentReader {
  return {
    facts,
    line(text) {
      const event = eventOf(text);
      if (event !== null) {
        facts.events++;
        return read(event);
      }
      return false;
    },
  };
}

/** The event a line holds, or null for anything that is not a JSON object. */
export function eventOf(line: string): AgentEvent | null {
  const trimmed = line.trim();
  if (!trimmed.startsWith("{")) return null;
  try {
    const value: unknown = JSON.parse(trimmed);
    return value !== null && typeof value === "object" && !Array.isArray(value)
      ? value as AgentEvent
      : null;
  } catch {
    return null;
  }
}

/** A non-empty string, trimmed; null for anything else. */
export function textOf(value: unknown): string | null {
  return typeof value === "string" && value.trim() ? value.trim() : null;
}

/** A field of an event that is itself an object; null when it is not. */
export function objectAt(event: AgentEvent | null | undefined, key: string): AgentEvent | null {
  const value = event?.[key];
  return value !== null && typeof value === "object" && !Array.isArray(value)
    ? value as AgentEvent
    : null;
}

/** A number field, or undefined. */
export function numberAt(event: AgentEvent | null, key: string): number | undefined {
  const value = event?.[key];
  return typeof value === "number" && Number.isFinite(value) ? value : undefined;
}

/** How many of an agent's retry notes are kept: the last ones, enough to say what it met. */
const MAX_RETRY_NOTES = 10;

/**
 * Notes a retry the agent made: counted, and its words kept among the last few, bounded; an agent
 * that retries a thousand times with a megabyte of words each holds a few KiB here.
 */
export function noteRetry(facts: AgentFacts, note: string): void {
  facts.retryCount++;
  facts.retries.push(errorText(note));
  if (facts.retries.length > MAX_RETRY_NOTES) facts.retries.shift();
}

/** The most of an agent's answer kept (its end): more than any one-shot answer, never a log. */
export const MAX_ANSWER_CHARS = 4 * 1024 * 1024;

/**
 * An agent's error text as recorded: trimmed, and bounded as every error is (`boundText`: its
 * start and its end, enough for its own words, never a whole log).
 */
export function errorText(text: string): string {
  return boundText(text.trim());
}
