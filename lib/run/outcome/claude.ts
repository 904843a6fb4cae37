/**
 * Claude Code's `stream-json` (and one-shot `json`) events, as 2.1.332 prints them (captured in
 * tests/testdata/streams/claude/). The final `result` event carries the verdict; a usage limit
 * also comes as a `rate_limit_event` and on the assistant event, with the reset as an epoch. An
 * API error is said on its assistant event too, with claude's own kind of it (`error`:
 * `server_error` for a 5xx, an overload, a refused connection or no answer in time;
 * `rate_limit`; `authentication_failed`; ...).
 */

import {
  type AgentEvent,
  type AgentFacts,
  type AgentReader,
  errorText,
  eventReader,
  noFacts,
  noteRetry,
  numberAt,
  objectAt,
  type ResetReader,
  textOf,
} from "./facts.ts";

/** A reader of one claude run. */
export function claudeReader(statedReset: ResetReader): AgentReader {
  const facts = noFacts();
  // The kind of API error claude said last (its assistant event's `error`).
  const apiError = { kind: null as string | null, detail: null as string | null };
  return eventReader(facts, (event) => {
    switch (event.type) {
      case "system":
        return readSystem(facts, event);
      case "rate_limit_event":
        readRateLimit(facts, objectAt(event, "rate_limit_info"));
        return false;
      case "assistant":
        facts.retryingOutage = null;
        apiError.kind = event.is_api_error_message === true ? textOf(event.error) : null;
        apiError.detail = textOf(event.api_error);
        readAssistant(facts, event);
        return true;
      case "result":
        readResult(facts, event, statedReset);
        if (facts.failed && !facts.limit) facts.unavailable = unavailable(event, apiError);
        return true;
      default:
        if (event.type === "user") facts.retryingOutage = null;
        return event.type === "user";
    }
  });
}

/**
 * `init` is the agent starting; `api_retry` a retry it makes: worth a note, not progress. A retry
 * of a 5xx, an overload or a 429 is a retry of an unavailable service; `unknown` (no status) is
 * also what claude says of a try that got no answer, so it proves nothing.
 */
function readSystem(facts: AgentFacts, event: AgentEvent): boolean {
  if (event.subtype !== "api_retry") return event.subtype === "init";
  const status = numberAt(event, "error_status");
  const note = `${textOf(event.error) ?? "error"}${status ? ` (${status})` : ""}`;
  noteRetry(facts, note);
  const outage = isOutageStatus(status) || OUTAGE_KINDS.has(textOf(event.error) ?? "");
  facts.retryingOutage = outage ? note : null;
  return false;
}

/** A 5xx, or a 429 that is not a usage limit (those are read before): the service, for now. */
function isOutageStatus(status: number | undefined): boolean {
  return status !== undefined && (status >= 500 || status === 429);
}

/** Claude's kinds of API error that say the service would not serve the request for now. */
const OUTAGE_KINDS = new Set(["server_error", "overloaded", "rate_limit"]);

/**
 * Kinds of connection error claude also files under `server_error` that a retry does not mend:
 * a certificate nobody trusts, a gateway answering something that is not the API.
 */
const NEEDS_A_PERSON = new Set([
  "tls_untrusted_ca",
  "tls_cert_signature_failure",
  "gateway_content_type",
]);

/**
 * Whether the failed result is the service being unavailable: a 5xx or 429 status (a usage limit
 * was ruled out before), or claude's own kind of the error that ended the run.
 */
function unavailable(
  result: AgentEvent,
  apiError: { kind: string | null; detail: string | null },
): boolean {
  const status = numberAt(result, "api_error_status");
  if (status !== undefined) return isOutageStatus(status);
  return apiError.kind !== null && OUTAGE_KINDS.has(apiError.kind) &&
    !NEEDS_A_PERSON.has(apiError.detail ?? "");
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
