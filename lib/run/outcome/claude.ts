/**
 * Claude Code's `stream-json` (and one-shot `json`) events, as 2.1.332 prints them (captured in
 * tests/testdata/streams/claude/). The final `result` event carries the verdict; a usage limit
 * also comes as a `rate_limit_event` and on the assistant event, with the reset as an epoch.
 */

import {
  type AgentEvent,
  type AgentFacts,
  type AgentReader,
  errorText,
  eventOf,
  noFacts,
  numberAt,
  objectAt,
  type ResetReader,
  textOf,
} from "./facts.ts";

/** A reader of one claude run. */
export function claudeReader(statedReset: ResetReader): AgentReader {
  const facts = noFacts();
  return {
    facts,
    line(text) {
      const event = eventOf(text);
      if (event === null) return false;
      switch (event.type) {
        case "system":
          return readSystem(facts, event);
        case "rate_limit_event":
          readRateLimit(facts, objectAt(event, "rate_limit_info"));
          return false;
        case "assistant":
          readAssistant(facts, event);
          return true;
        case "result":
          readResult(facts, event, statedReset);
          return true;
        default:
          return event.type === "user";
      }
    },
  };
}

/** `init` is the agent starting; `api_retry` a retry it makes: worth a note, not progress. */
function readSystem(facts: AgentFacts, event: AgentEvent): boolean {
  if (event.subtype !== "api_retry") return event.subtype === "init";
  const status = numberAt(event, "error_status");
  facts.retries.push(`${textOf(event.error) ?? "error"}${status ? ` (${status})` : ""}`);
  return false;
}

/**
 * A rejected rate limit with a window (`five_hour`, `seven_day`, ...) is the account's usage limit;
 * without one it is the server limiting requests ("not your usage limit"), which claude retries.
 */
function readRateLimit(facts: AgentFacts, info: AgentEvent | null): void {
  if (info?.status !== "rejected" || !textOf(info.rateLimitType)) return;
  const resetsAt = numberAt(info, "resetsAt");
  facts.limit = {
    resetsAt: resetsAt === undefined ? null : resetsAt * 1000,
    text: facts.limit?.text ?? `usage limit (${info.rateLimitType})`,
  };
}

function readAssistant(facts: AgentFacts, event: AgentEvent): void {
  if (event.api_error !== "usage_limit_reached") return;
  const info = objectAt(objectAt(event, "api_error_params"), "rate_limit_info");
  const resetsAt = numberAt(info, "resetsAt") ?? null;
  const content = objectAt(event, "message")?.content;
  const words = Array.isArray(content)
    ? content.map((part) => textOf((part as AgentEvent)?.text)).filter(Boolean).join("\n")
    : null;
  facts.limit = {
    resetsAt: resetsAt === null ? facts.limit?.resetsAt ?? null : resetsAt * 1000,
    text: words || facts.limit?.text || "usage limit reached",
  };
}

function readResult(facts: AgentFacts, event: AgentEvent, statedReset: ResetReader): void {
  const tokens = objectAt(event, "usage");
  const add = (key: "turns" | "cost_usd" | "input_tokens" | "output_tokens", value?: number) => {
    if (value !== undefined) facts.usage[key] = value;
  };
  add("turns", numberAt(event, "num_turns"));
  add("cost_usd", numberAt(event, "total_cost_usd"));
  add("input_tokens", numberAt(tokens, "input_tokens"));
  add("output_tokens", numberAt(tokens, "output_tokens"));
  const subtype = textOf(event.subtype) ?? "";
  facts.failed = event.is_error === true || subtype.startsWith("error");
  facts.finished = !facts.failed;
  facts.maxTurns = subtype === "error_max_turns";
  facts.budget = subtype === "error_max_budget_usd";
  // Error results have no `result`: their words are in `errors[]`.
  const errors = Array.isArray(event.errors) ? event.errors.map(textOf).filter(Boolean) : [];
  const words = textOf(event.result) ?? (errors.length ? errors.join("\n") : null);
  if (facts.finished) {
    facts.answer = words;
    return;
  }
  facts.error = errorText(words ?? subtype);
  const status = numberAt(event, "api_error_status");
  facts.auth = status === 401 || status === 403 ||
    /^(Invalid API key|Not logged in|OAuth token has expired)/.test(words ?? "");
  readLimitInWords(facts, event, words, statedReset);
}

/** The wording of a usage limit, when the structured events did not say it. */
const USAGE_LIMIT_WORDS = /You['’]ve hit your [\w -]*limit|usage limit reached/i;

function readLimitInWords(
  facts: AgentFacts,
  event: AgentEvent,
  words: string | null,
  statedReset: ResetReader,
): void {
  const stated = event.api_error === "usage_limit_reached" ||
    (words !== null && USAGE_LIMIT_WORDS.test(words) && !/not your usage limit/i.test(words));
  if (!stated && facts.limit === null) return;
  facts.limit = {
    resetsAt: facts.limit?.resetsAt ?? (words ? statedReset(words) : null),
    text: words ?? facts.limit?.text ?? "usage limit reached",
  };
}
