/** Codex's `exec --json` events: usage adds up over `turn.completed`; failures come as events. */

import { type AgentEvent, type AgentFacts, numberAt, objectAt, textOf } from "./facts.ts";

/** Reads one codex event. */
export function readCodexEvent(facts: AgentFacts, event: AgentEvent): void {
  if (event.type === "turn.completed") {
    const tokens = objectAt(event, "usage");
    const add = (key: "input_tokens" | "output_tokens") => {
      const value = numberAt(tokens, key);
      if (value !== undefined) facts.usage[key] = (facts.usage[key] ?? 0) + value;
    };
    facts.usage.turns = (facts.usage.turns ?? 0) + 1;
    add("input_tokens");
    add("output_tokens");
  }
  if (event.type === "turn.failed" || event.type === "error") {
    facts.reportedError = true;
    facts.error = textOf(objectAt(event, "error")?.message) ?? textOf(event.message) ??
      facts.error;
  }
}
