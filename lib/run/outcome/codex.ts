/**
 * Codex's `exec --json` events, as 0.169.0 prints them (captured in
 * tests/testdata/streams/codex/). `turn.completed` is success and `turn.failed` failure; a
 * top-level `error` event is often only a retry it recovers from ("Reconnecting... 1/5 (…)"),
 * never a verdict on its own. A usage limit is said only in words, with the reset as a local
 * clock time ("try again at 10:39 AM"); so is an unavailable service (codex's own messages for
 * the errors it retries, `codex-rs/core/src/error.rs`).
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

/** A reader of one codex run. */
export function codexReader(statedReset: ResetReader): AgentReader {
  const facts = noFacts();
  let lastError: string | null = null;
  return eventReader(facts, (event) => {
    switch (event.type) {
      case "error": {
        const message = textOf(event.message) ?? "error";
        if (RECONNECTING.test(message)) readReconnecting(facts, message);
        else lastError = message;
        return false;
      }
      case "turn.completed":
        readTurnCompleted(facts, objectAt(event, "usage"));
        return true;
      case "turn.failed":
        readTurnFailed(facts, textOf(objectAt(event, "error")?.message) ?? lastError, statedReset);
        return true;
      case "item.started":
      case "item.completed":
        facts.retryingOutage = null;
        readItem(facts, objectAt(event, "item"));
        return true;
      default:
        return event.type === "thread.started" || event.type === "turn.started";
    }
  });
}

/** A retry codex makes of a dropped or refused stream: "Reconnecting... 1/5 (<why>)". */
const RECONNECTING = /^Reconnecting\.\.\. \d+\/\d+ \(([\s\S]*)\)$|^Reconnecting\.\.\./;
/** A stream that went silent: the service hung (the idle watchdog's case), it did not refuse. */
const SILENT = /idle timeout|timed out/i;

function readReconnecting(facts: AgentFacts, message: string): void {
  noteRetry(facts, message);
  const why = RECONNECTING.exec(message)?.[1] ?? "";
  facts.retryingOutage = UNAVAILABLE.test(why) && !SILENT.test(why) ? message : null;
}

function readTurnCompleted(facts: AgentFacts, tokens: AgentEvent | null): void {
  facts.finished = !facts.failed;
  facts.usage.turns = (facts.usage.turns ?? 0) + 1;
  for (const key of ["input_tokens", "output_tokens"] as const) {
    const value = numberAt(tokens, key);
    if (value !== undefined) facts.usage[key] = (facts.usage[key] ?? 0) + value;
  }
}

/**
 * An `agent_message` is the answer. (An `error` item is a notice that changes nothing, such as
 * "Model metadata for `…` not found": neither a failure nor a retry.)
 */
function readItem(facts: AgentFacts, item: AgentEvent | null): void {
  if (item?.type === "agent_message") facts.answer = textOf(item.text) ?? facts.answer;
}

/** Words of the account's usage limit or spent quota: no retry helps until it resets. */
const USAGE_LIMIT = /You['’]ve hit your usage limit|Quota exceeded\. Check your plan/i;
/** Words that need a person: a bad or missing key, a plan that does not include codex. */
const NEEDS_A_PERSON =
  /401 Unauthorized|Incorrect API key|invalid_api_key|Missing environment variable|not logged in|please log in|upgrade to Plus: https/i;
/**
 * Codex's words for the errors it retries as transient (its `CodexErr` messages): a 500
 * (`InternalServerError`), an overload (`ServerOverloaded`), a refused or broken connection, a
 * stream that dropped or stalled, a 5xx it did not recognise, and its retries used up on a 5xx or
 * a 429 that was not a usage limit (`RetryLimit`).
 */
const UNAVAILABLE = new RegExp(
  "^(?:" + [
    "We[’']re currently experiencing high demand",
    "Selected model is at capacity",
    "Connection failed: ",
    "Error while reading the server response: ",
    "stream disconnected before completion: ",
    "unexpected status 5\\d\\d ",
    "exceeded retry limit, last status: (?:429|5\\d\\d) ",
  ].join("|") + ")",
);

function readTurnFailed(facts: AgentFacts, words: string | null, statedReset: ResetReader): void {
  facts.failed = true;
  facts.finished = false;
  const message = words ?? "codex reported a failed turn";
  facts.error = errorText(message);
  if (USAGE_LIMIT.test(message)) facts.limit = { resetsAt: statedReset(message), text: message };
  else if (NEEDS_A_PERSON.test(message)) facts.auth = true;
  else if (UNAVAILABLE.test(message)) facts.unavailable = true;
}
