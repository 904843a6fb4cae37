/**
 * What an agent reported about its own run, gathered event by event from its machine-readable
 * output by the reader for that agent (`claude.ts`, `codex.ts`, `gemini.ts`) and judged by
 * `classify.ts`.
 */

/** Turns, tokens and cost, where the agent reports them. */
export interface RunUsage {
  turns?: number;
  input_tokens?: number;
  output_tokens?: number;
  cost_usd?: number;
}

/** The facts one run's events told. */
export interface AgentFacts {
  usage: RunUsage;
  /** The agent said the run failed (claude `is_error`, codex `turn.failed`, gemini `error`). */
  reportedError: boolean;
  /** The agent's own error text, when it gave one. */
  error: string | null;
  /** The agent stopped at its turn limit. */
  maxTurns: boolean;
}

/** One machine-readable event: a JSON object on a line of its own. */
export type AgentEvent = Record<string, unknown>;

/** Folds one event into the facts. */
export type EventReader = (facts: AgentFacts, event: AgentEvent) => void;

/** Facts before any event. */
export function noFacts(): AgentFacts {
  return { usage: {}, reportedError: false, error: null, maxTurns: false };
}

/** A non-empty string, trimmed; null for anything else. */
export function textOf(value: unknown): string | null {
  return typeof value === "string" && value.trim() ? value.trim() : null;
}

/** A field of an event that is itself an object; null when it is not. */
export function objectAt(event: AgentEvent, key: string): AgentEvent | null {
  const value = event[key];
  return value !== null && typeof value === "object" && !Array.isArray(value)
    ? value as AgentEvent
    : null;
}

/** A number field, or undefined. */
export function numberAt(event: AgentEvent | null, key: string): number | undefined {
  const value = event?.[key];
  return typeof value === "number" && Number.isFinite(value) ? value : undefined;
}
