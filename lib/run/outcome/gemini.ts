/**
 * Gemini CLI's `stream-json` events, as 0.61.0 prints them (captured in
 * tests/testdata/streams/gemini/). The final `result` event has a status; what went wrong is in
 * its `error` or in the `error` event before it, and much is said only by the exit code
 * (`classify.ts`). Loop detection stops a run early yet reports `status: "success"`.
 */

import {
  type AgentEvent,
  type AgentFacts,
  type AgentReader,
  errorText,
  eventReader,
  MAX_ANSWER_CHARS,
  noFacts,
  numberAt,
  objectAt,
  type ResetReader,
  textOf,
} from "./facts.ts";

/**
 * A reader of one gemini run. Gemini prints no turn events: a model turn is counted at its first
 * answer or tool call, since gemini prints every tool call of a turn before any of its results.
 */
export function geminiReader(statedReset: ResetReader): AgentReader {
  const facts = noFacts();
  let lastError: string | null = null;
  let inTurn = false;
  const modelSpoke = () => {
    if (!inTurn) facts.usage.turns = (facts.usage.turns ?? 0) + 1;
    inTurn = true;
  };
  return eventReader(facts, (event) => {
    switch (event.type) {
      case "error": {
        const message = textOf(event.message) ?? "error";
        if (/loop detected/i.test(message)) facts.stoppedEarly = message;
        else lastError = message;
        return false;
      }
      case "message":
        // Deltas are pieces of one answer, spaces included: joined as they come, up to a
        // bound (an answer is for runOnce; a job that talks for hours must not hold it all).
        if (event.role === "assistant" && typeof event.content === "string") {
          modelSpoke();
          const answer = (facts.answer ?? "") + event.content;
          facts.answer = answer.length > MAX_ANSWER_CHARS
            ? answer.slice(-MAX_ANSWER_CHARS)
            : answer;
        }
        return true;
      case "tool_use":
        modelSpoke();
        return true;
      case "tool_result":
        inTurn = false;
        return true;
      case "result":
        readResult(facts, event, lastError, statedReset);
        return true;
      default:
        return event.type === "init";
    }
  });
}

function readResult(
  facts: AgentFacts,
  event: AgentEvent,
  lastError: string | null,
  statedReset: ResetReader,
): void {
  const stats = objectAt(event, "stats");
  for (const key of ["input_tokens", "output_tokens"] as const) {
    const value = numberAt(stats, key);
    if (value !== undefined) facts.usage[key] = value;
  }
  facts.finished = event.status === "success" && facts.stoppedEarly === null;
  if (event.status !== "error") return;
  facts.failed = true;
  // An invalid stream ends with a result that has no `error`: the `error` event said it.
  const words = textOf(objectAt(event, "error")?.message) ?? lastError ??
    "gemini reported an error";
  facts.error = errorText(words);
  if (NO_CONNECTION.test(words)) facts.unavailable = true;
  else readQuota(facts, words, statedReset);
}

/**
 * A service gemini could not reach, or whose answer broke off, once its retries were spent: the
 * words its HTTP client gives a refused or reset connection ("fetch failed") and a stream cut or
 * silent past its body timeout ("terminated"). A 5xx is said by its exit code (classify.ts).
 */
const NO_CONNECTION = /^\[API Error: (?:exception TypeError: )?(?:fetch failed|terminated)\b/;

/** Gemini's words for a spent quota (its exit code 173, HTTP 429, says it too: classify.ts). */
const QUOTA =
  /exhausted your daily quota|exceeded your current quota|resource has been exhausted|quota exceeded/i;

/** The wait the API asked for, in the words gemini passes on. */
const STATED_WAIT = /(?:Please retry in|Suggested retry after) (\d+(?:\.\d+)?)s\b/;

/**
 * The longest wait gemini retries by itself (its MAX_RETRYABLE_DELAY_SECONDS): a quota that lifts
 * sooner is a per-minute limit, which it already retried before it gave up.
 */
const RETRIED_WAIT_SECONDS = 300;

function readQuota(facts: AgentFacts, words: string, statedReset: ResetReader): void {
  if (!QUOTA.test(words)) return;
  const wait = STATED_WAIT.exec(words);
  if (wait && Number(wait[1]) <= RETRIED_WAIT_SECONDS) facts.unavailable = true;
  else facts.limit = { resetsAt: statedReset(words), text: words };
}
