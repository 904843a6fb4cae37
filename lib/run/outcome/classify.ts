/**
 * What an agent run really did, decided from what the agent reported about itself (its event
 * stream, read by one reader per agent) as well as its exit code: an exit code alone lies (claude
 * can exit 0 with `is_error: true`; a usage limit exits 1 and would be retried every five
 * minutes). Pure functions over text.
 */

import type { AgentName } from "../../config/job.ts";
import { readClaudeEvent } from "./claude.ts";
import { readCodexEvent } from "./codex.ts";
import {
  type AgentEvent,
  type AgentFacts,
  type EventReader,
  noFacts,
  type RunUsage,
} from "./facts.ts";
import { readGeminiEvent } from "./gemini.ts";
import { statedReset } from "./reset.ts";

/** The verdict on an agent run, with whatever the agent reported about itself. */
export interface AgentVerdict {
  outcome: "success" | "failed" | "max_turns" | "usage_limit";
  /** The agent's own error text, when it gave one. */
  error: string | null;
  /** For usage limits: when the agent says the limit resets (epoch ms), if it says. */
  resetsAt: number | null;
  usage: RunUsage;
}

const READERS: Record<AgentName, EventReader> = {
  claude: readClaudeEvent,
  codex: readCodexEvent,
  gemini: readGeminiEvent,
};

/** Parses the JSON lines of a stream's tail, skipping anything that is not a JSON object. */
export function parseEvents(tail: string): AgentEvent[] {
  const events: AgentEvent[] = [];
  for (const line of tail.split("\n")) {
    const trimmed = line.trim();
    if (!trimmed.startsWith("{")) continue;
    try {
      const value: unknown = JSON.parse(trimmed);
      if (value !== null && typeof value === "object" && !Array.isArray(value)) {
        events.push(value as AgentEvent);
      }
    } catch {
      // A partial first line of the tail, or plain text on stdout: not an event.
    }
  }
  return events;
}

/** The facts of a run, from its agent's events. */
export function readFacts(agent: AgentName, events: AgentEvent[]): AgentFacts {
  const facts = noFacts();
  for (const event of events) READERS[agent](facts, event);
  return facts;
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
  const facts = readFacts(agent, parseEvents(outputTail));
  // gemini says it only by its exit code: 53 is "turn limit exceeded".
  if (agent === "gemini" && exitCode === 53) facts.maxTurns = true;
  const { usage, error, reportedError } = facts;
  const lastText = error ?? lastLines(outputTail, 5);
  const verdict = (outcome: AgentVerdict["outcome"], text: string | null, resetsAt = null) => ({
    outcome,
    error: text,
    resetsAt: resetsAt as number | null,
    usage,
  });
  if ((reportedError || exitCode !== 0) && USAGE_LIMIT.test(lastText)) {
    return {
      ...verdict("usage_limit", firstLine(lastText)),
      resetsAt: statedReset(lastText, now, timeZone),
    };
  }
  if (facts.maxTurns) return verdict("max_turns", error ?? "stopped at the turn limit");
  if (reportedError) return verdict("failed", firstLine(error ?? `${agent} reported an error`));
  if (exitCode !== 0) return verdict("failed", `${agent} exited with code ${exitCode}`);
  return verdict("success", null);
}

function firstLine(text: string): string {
  return (text.split("\n").find((line) => line.trim()) ?? text).trim().slice(0, 500);
}

function lastLines(text: string, count: number): string {
  return text.trimEnd().split("\n").slice(-count).join("\n");
}
