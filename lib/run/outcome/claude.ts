/** Claude Code's `stream-json` events: the final `result` event carries the facts. */

import { type AgentEvent, type AgentFacts, numberAt, objectAt, textOf } from "./facts.ts";

/** Reads one claude event; a later `result` replaces an earlier one. */
export function readClaudeEvent(facts: AgentFacts, event: AgentEvent): void {
  if (event.type !== "result") return;
  const tokens = objectAt(event, "usage");
  facts.usage = {
    ...defined("turns", numberAt(event, "num_turns")),
    ...defined("cost_usd", numberAt(event, "total_cost_usd")),
    ...defined("input_tokens", numberAt(tokens, "input_tokens")),
    ...defined("output_tokens", numberAt(tokens, "output_tokens")),
  };
  const subtype = typeof event.subtype === "string" ? event.subtype : "";
  facts.maxTurns = subtype === "error_max_turns";
  facts.reportedError = event.is_error === true || subtype.startsWith("error");
  facts.error = facts.reportedError ? textOf(event.result) ?? textOf(subtype) : null;
}

function defined<K extends string>(key: K, value: number | undefined): { [P in K]?: number } {
  return value === undefined ? {} : { [key]: value } as { [P in K]: number };
}
