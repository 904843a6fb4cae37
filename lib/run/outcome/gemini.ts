/** Gemini CLI's `stream-json` events: the final `result` event carries status and stats. */

import { type AgentEvent, type AgentFacts, numberAt, objectAt, textOf } from "./facts.ts";

/** Reads one gemini event. */
export function readGeminiEvent(facts: AgentFacts, event: AgentEvent): void {
  if (event.type !== "result") return;
  const stats = objectAt(event, "stats");
  const input = numberAt(stats, "input_tokens");
  const output = numberAt(stats, "output_tokens");
  if (input !== undefined) facts.usage.input_tokens = input;
  if (output !== undefined) facts.usage.output_tokens = output;
  if (event.status === "error") {
    facts.reportedError = true;
    facts.error = textOf(objectAt(event, "error")?.message) ?? "gemini reported an error";
  }
}
