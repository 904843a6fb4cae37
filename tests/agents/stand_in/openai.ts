/**
 * The OpenAI Responses API (`POST /v1/responses`, SSE) as codex-cli 0.169.0 speaks it, scripted,
 * for a custom provider (`model_providers.<id>`, `wire_api = "responses"`) or the built-in one
 * redirected with `openai_base_url`. What it says about codex was observed by running the pinned
 * CLI against this module.
 *
 * Each scenario is a pure function of the request body and of `callIndex` (how many model requests
 * this server already answered in the run), so "fail twice, then succeed" is a plain `if`.
 *
 * What codex 0.169.0 needs (all checked against the real binary):
 * - SSE frames `event: <type>\ndata: <json>\n\n`; codex reads `type` inside `data`. A response
 *   ends only with `response.completed` or `response.failed`; a stream that stops earlier is
 *   "disconnected" and retried (`stream_max_retries`, `stream_idle_timeout_ms`).
 * - The shell: for models with classic tools (gpt-5.x, and unknown names such as gpt-5.3-codex on
 *   "fallback metadata") the function `exec_command` `{"cmd": "..."}`, answered in the next
 *   request by a `function_call_output` ending in `Output:\n<text>`. The "code mode" models
 *   (gpt-6*, gpt-5.6*) get no top-level tools: an `additional_tools` input item offers the
 *   freeform `exec` tool, which runs JavaScript such as `await tools.exec_command({...})`.
 * - HTTP 5xx and 401 are retried; HTTP 429 is retried after `retry-after`, except with
 *   `error.type` "usage_limit_reached" (or "usage_not_included"), which ends the run at once.
 * - With WebSockets on (the built-in provider, or `supports_websockets = true`) codex first sends
 *   `GET /v1/responses` with `upgrade: websocket`; every scenario refuses it, and codex falls back
 *   to HTTP for the rest of the session.
 *
 * Hanging and stalled answers end when `request.signal` aborts, which server.ts makes happen
 * when it shuts down.
 */

import { gatewayPage } from "./gateway.ts";

export type Scenario = string;

/** Every scenario `handle` knows; any other name is answered like `success_tool`. */
export const SCENARIOS = [
  "success_tool", // shell writes report.md, then "All done."
  "spec_echo", // shell cats the prompt's @file, the answer quotes its first 80 characters
  "env_probe", // shell prints the TELECLAUDE_* variables, the answer quotes them
  "text_only", // one text answer, no tool call (one-shot)
  "commentary", // a commentary message, a tool call, then the final answer
  "long_answer", // a final answer of 100 KB
  "max_turns", // a new tool call on every request, forever
  "transient_then_success", // two 503s, then success_tool
  "overloaded", // 503 on every request
  "overloaded_sse", // response.failed server_is_overloaded
  "rate_limit_minute", // one 429 rate_limit_exceeded (retry-after 1), then success_tool
  "rate_limit_retry_after", // one 429 whose wait (4 s) only the retry-after header states
  "rate_limit_always", // 429 rate_limit_exceeded (retry-after 1) on every request
  "rate_limit_sse", // one response.failed rate_limit_exceeded ("try again in 1.5s"), then success
  "usage_limit", // 429 usage_limit_reached, plan plus, resets in 2h05m; "usage_limit@<plan>" too
  "usage_limit_weekly", // the same, resetting in three days (codex prints a date)
  "usage_limit_no_reset", // the same without resets_at
  "usage_not_included", // 429 usage_not_included
  "quota_exceeded", // response.failed insufficient_quota
  "quota_exceeded_http", // HTTP 429 insufficient_quota: the API's answer to a key without credit
  "auth", // 401 invalid_api_key
  "hang", // never answers the request
  "stall", // 200, response.created, then silence
  "stall_headers", // 200 and headers, then silence
  "websocket_refused", // success_tool; the WebSocket upgrade gets 426
  "websocket_error", // success_tool; the WebSocket upgrade gets 500
  "websocket_hang", // success_tool; the WebSocket upgrade is never answered
] as const;

/** The paths this API serves; WebSocket upgrades arrive on the Responses path too. */
export const ROUTES: RegExp[] = [/^\/v1\/responses$/, /^\/v1\/models$/];

/** When `usage_limit` says the limit resets: in 2 h 5 min (codex prints a clock time). */
export const USAGE_LIMIT_RESET_SECONDS = 2 * 3600 + 5 * 60;
/** When `usage_limit_weekly` says it resets: in 3 days 1 h (codex prints a date and time). */
export const WEEKLY_RESET_SECONDS = 3 * 86400 + 3600;

/** A model request, the thing `callIndex` counts (not a WebSocket probe, not /models). */
export function isModelCall(request: Request): boolean {
  return request.method === "POST" && new URL(request.url).pathname.endsWith("/responses");
}

/** A WebSocket upgrade of the Responses endpoint. */
export function isWebSocketUpgrade(request: Request): boolean {
  return request.headers.get("upgrade")?.toLowerCase() === "websocket";
}

/** Answers one request of `scenario`; `callIndex` counts the model calls answered before it. */
export function handle(
  request: Request,
  bodyText: string,
  scenario: Scenario,
  callIndex: number,
): Response | Promise<Response> {
  const path = new URL(request.url).pathname;
  // codex 0.169 never asked for the model list in these tests; answer an empty one if it does.
  if (path.endsWith("/models")) return json(200, { object: "list", data: [] });
  if (isWebSocketUpgrade(request)) return refuseWebSocket(request.signal, scenario);
  if (!isModelCall(request)) return json(404, { error: { message: `no route ${path}` } });

  const body = parseBody(bodyText);
  const plan = /^usage_limit(?:@(\w+))?$/.exec(scenario);
  if (plan) return usageLimit(USAGE_LIMIT_RESET_SECONDS, plan[1] ?? "plus");
  switch (scenario) {
    case "spec_echo":
      return specEcho(body, callIndex);
    case "env_probe":
      return envProbe(body, callIndex);
    case "text_only":
      return respond(message("ANSWER: 42"));
    case "commentary":
      return callIndex === 0
        ? respond(message("Let me look.", { phase: "commentary" }), shellCall("true", 0, body))
        : respond(message("FINAL: 42", { phase: "final_answer" }));
    case "long_answer":
      return respond(message("x".repeat(99) + "\n", { repeat: 1024 }));
    case "max_turns":
      // codex exec has no turn cap: only the caller's timeout ends this.
      return respond(shellCall(`echo turn ${callIndex}`, callIndex, body));
    case "transient_then_success":
      return callIndex < 2 ? serverError(503) : successTool(body, callIndex - 2);
    case "overloaded":
      return serverError(503);
    case "overloaded_sse":
      return failed("server_is_overloaded", "Our servers are currently overloaded.");
    case "rate_limit_minute":
      return callIndex === 0 ? rateLimited(1, true) : successTool(body, callIndex - 1);
    case "rate_limit_always":
      return rateLimited(1, true);
    case "rate_limit_retry_after":
      return callIndex === 0 ? rateLimited(4, false) : successTool(body, callIndex - 1);
    case "rate_limit_sse":
      return callIndex === 0
        ? failed(
          "rate_limit_exceeded",
          "Rate limit reached for gpt-5.3-codex on tokens per min (TPM): Limit 30000, " +
            "Used 30000, Requested 100. Please try again in 1.5s.",
        )
        : successTool(body, callIndex - 1);
    case "usage_limit_weekly":
      return usageLimit(WEEKLY_RESET_SECONDS, "plus");
    case "usage_limit_no_reset":
      return usageLimit(null, "plus");
    case "usage_not_included":
      return json(429, { error: { type: "usage_not_included", message: "Usage not included" } });
    case "quota_exceeded":
      return failed(
        "insufficient_quota",
        "You exceeded your current quota, please check your plan and billing details.",
      );
    case "quota_exceeded_http":
      return json(429, {
        error: {
          message: "You exceeded your current quota, please check your plan and billing details.",
          type: "insufficient_quota",
          param: null,
          code: "insufficient_quota",
        },
      });
    case "auth":
      return json(401, {
        error: {
          message: "Incorrect API key provided: sk-test. You can find your API key at " +
            "https://platform.openai.com/account/api-keys.",
          type: "invalid_request_error",
          param: null,
          code: "invalid_api_key",
        },
      });
    case "hang":
      // No status line ever: codex has no timeout for this wait (stream_idle_timeout_ms starts
      // only once headers arrived).
      return untilAborted(request.signal);
    case "stall":
      return stalled(request.signal, true);
    case "stall_headers":
      return stalled(request.signal, false);
    default:
      return successTool(body, callIndex);
  }
}

// ---------------------------------------------------------------- scripts

type Body = { input?: InputItem[]; tools?: { name?: string }[] };
type InputItem = { type?: string; role?: string; output?: unknown; content?: unknown };

/** First a shell call that writes report.md, then the final text. */
function successTool(body: Body, step: number): Response {
  if (step === 0) return respond(shellCall("printf 'done\\n' > report.md", 0, body));
  return respond(message("All done."));
}

/**
 * Reads the `@path` the prompt mentions with the shell (codex exec sends the prompt as typed and
 * does not inline @-mentions), writes report.md, then quotes the first 80 characters it read.
 */
function specEcho(body: Body, step: number): Response {
  if (step === 0) {
    const spec = /@(\S+?\.md)\b/.exec(userText(body))?.[1] ?? "MISSING.md";
    return respond(shellCall(`cat '${spec}' && printf 'done\\n' > report.md`, 0, body));
  }
  return respond(message(`Spec starts: ${lastToolOutput(body).slice(0, 80)}`));
}

/** Shows whether the job's TELECLAUDE_* variables reach the shell tool. */
function envProbe(body: Body, step: number): Response {
  if (step === 0) return respond(shellCall("env | grep '^TELECLAUDE_' | sort", 0, body));
  return respond(message(`Env: ${lastToolOutput(body).trim()}`));
}

// ---------------------------------------------------------------- error answers

/** Refuses a WebSocket upgrade: 426 normally; a 500, or no answer, when the scenario says. */
function refuseWebSocket(signal: AbortSignal, scenario: Scenario): Response | Promise<Response> {
  if (scenario === "websocket_hang") return untilAborted(signal);
  if (scenario === "websocket_error") return serverError(500);
  return json(426, { error: { message: "Upgrade Required" } });
}

/**
 * The service overloaded or failing, in the API's words: 500 "The server had an error while
 * processing your request", 503 "The server is overloaded or not ready yet." (the errors OpenAI
 * documents); a 502, 504 or 529 from the gateway in front of it.
 */
export function outage(status: 500 | 502 | 503 | 504 | 529): Response {
  switch (status) {
    case 500:
      return json(500, {
        error: {
          message: "The server had an error while processing your request. Sorry about that!",
          type: "server_error",
          param: null,
          code: null,
        },
      });
    case 503:
      return json(503, {
        error: {
          message: "The server is overloaded or not ready yet.",
          type: "server_error",
          param: null,
          code: null,
        },
      });
    default:
      return gatewayPage(status);
  }
}

function serverError(status: number): Response {
  return json(status, {
    error: { message: "The server is overloaded. Please retry.", type: "server_error" },
  });
}

/** A per-minute rate limit: 429 without `usage_limit_reached`; codex waits `retry-after`. */
function rateLimited(seconds: number, hintInMessage: boolean): Response {
  const hint = hintInMessage ? ` Please try again in ${seconds}s.` : "";
  return json(429, {
    error: {
      message: `Rate limit reached for requests per min (RPM).${hint}`,
      type: "requests",
      code: "rate_limit_exceeded",
    },
  }, { "retry-after": String(seconds), "retry-after-ms": String(seconds * 1000) });
}

/**
 * The ChatGPT-plan usage limit: HTTP 429 with `error.type` "usage_limit_reached". codex prints
 * `resets_at` (epoch seconds) as a local time ("try again at 11:39 AM.") and words the message by
 * `plan_type` ("none" leaves it out). The x-codex-* headers are the rate-limit snapshot the real
 * service sends; codex does not print them.
 */
function usageLimit(resetInSeconds: number | null, planType: string): Response {
  const now = Math.floor(Date.now() / 1000);
  const resetsAt = now + (resetInSeconds ?? USAGE_LIMIT_RESET_SECONDS);
  const error: Record<string, unknown> = {
    type: "usage_limit_reached",
    message: "The usage limit has been reached",
  };
  if (planType !== "none") error.plan_type = planType;
  if (resetInSeconds !== null) {
    error.resets_at = resetsAt;
    error.resets_in_seconds = resetInSeconds;
  }
  return json(429, { error }, {
    "x-codex-primary-used-percent": "100.0",
    "x-codex-primary-window-minutes": "300",
    "x-codex-primary-reset-at": String(resetsAt),
    "x-codex-primary-reset-after-seconds": String(resetsAt - now),
    "x-codex-secondary-used-percent": "40.0",
    "x-codex-secondary-window-minutes": "10080",
    "x-codex-secondary-reset-at": String(now + 3 * 86400),
  });
}

/** Never answers; gives up (with a 499 nobody reads) only once `signal` aborts. */
function untilAborted(signal: AbortSignal): Promise<Response> {
  return new Promise((resolve) => {
    const give = () => resolve(new Response(null, { status: 499 }));
    if (signal.aborted) give();
    else signal.addEventListener("abort", give, { once: true });
  });
}

/**
 * 200 and SSE headers (and `response.created` if asked), then silence; the stream closes only
 * once `signal` aborts.
 */
function stalled(signal: AbortSignal, sendCreated: boolean): Response {
  const start = sendCreated ? frame(created(newId("resp"))) : "";
  const stream = new ReadableStream<Uint8Array>({
    start(controller) {
      if (start) controller.enqueue(new TextEncoder().encode(start));
      signal.addEventListener("abort", () => closeQuietly(controller), { once: true });
    },
  });
  return new Response(stream, { headers: { "content-type": "text/event-stream" } });
}

function closeQuietly(controller: ReadableStreamDefaultController<Uint8Array>): void {
  try {
    controller.close();
  } catch {
    // Already closed or errored by the runtime when the client went away.
  }
}

// ---------------------------------------------------------------- SSE responses

type Event = { type: string } & Record<string, unknown>;

/** One output item of a response, with the text deltas streamed before it is done. */
interface OutputItem {
  item: Record<string, unknown>;
  /** The item as announced by `response.output_item.added`. */
  started: Record<string, unknown>;
  deltas: string[];
}

/** A whole successful response: created, each item (added, deltas, done), completed. */
function respond(...items: OutputItem[]): Response {
  const id = newId("resp");
  const events: Event[] = [created(id)];
  items.forEach(({ item, started, deltas }, index) => {
    events.push({ type: "response.output_item.added", output_index: index, item: started });
    for (const delta of deltas) {
      events.push({
        type: "response.output_text.delta",
        item_id: item.id,
        output_index: index,
        content_index: 0,
        delta,
      });
    }
    events.push({ type: "response.output_item.done", output_index: index, item });
  });
  events.push({
    type: "response.completed",
    response: { id, object: "response", status: "completed", usage: USAGE },
  });
  return sse(events);
}

/** A response the service gave up on (`response.failed` with an error code). */
function failed(code: string, text: string): Response {
  const id = newId("resp");
  return sse([created(id), {
    type: "response.failed",
    response: { id, object: "response", status: "failed", error: { code, message: text } },
  }]);
}

/** Token usage of every response; codex adds them up per turn in `turn.completed`. */
const USAGE = {
  input_tokens: 1200,
  input_tokens_details: { cached_tokens: 200 },
  output_tokens: 34,
  output_tokens_details: { reasoning_tokens: 8 },
  total_tokens: 1234,
};

function created(id: string): Event {
  return { type: "response.created", response: { id, object: "response", status: "in_progress" } };
}

/** An assistant message, streamed as `repeat` equal deltas; `phase` as the gpt-6 models send. */
function message(text: string, options: { repeat?: number; phase?: string } = {}): OutputItem {
  const deltas = Array<string>(options.repeat ?? 1).fill(text);
  const base = {
    type: "message",
    id: newId("msg"),
    role: "assistant",
    ...(options.phase ? { phase: options.phase } : {}),
  };
  return {
    started: { ...base, status: "in_progress", content: [] },
    item: {
      ...base,
      status: "completed",
      content: [{ type: "output_text", text: deltas.join(""), annotations: [] }],
    },
    deltas,
  };
}

/**
 * A shell command as the model would call it: the `exec_command` function when codex offers it,
 * otherwise code mode's freeform `exec` tool running JavaScript that calls `tools.exec_command`.
 */
function shellCall(cmd: string, n: number, body: Body): OutputItem {
  const args = { cmd, yield_time_ms: 5000 };
  const item = offersExecCommand(body)
    ? {
      type: "function_call",
      id: `fc_${n}`,
      call_id: `call_${n}`,
      name: "exec_command",
      arguments: JSON.stringify(args),
      status: "completed",
    }
    : {
      type: "custom_tool_call",
      id: `ctc_${n}`,
      call_id: `call_${n}`,
      name: "exec",
      input: `const r = await tools.exec_command(${JSON.stringify(args)});\ntext(r);`,
      status: "completed",
    };
  return { item, started: item, deltas: [] };
}

function offersExecCommand(body: Body): boolean {
  return (body.tools ?? []).some((tool) => tool.name === "exec_command");
}

function frame(event: Event): string {
  return `event: ${event.type}\ndata: ${JSON.stringify(event)}\n\n`;
}

function sse(events: Event[]): Response {
  return new Response(events.map(frame).join(""), {
    headers: { "content-type": "text/event-stream" },
  });
}

function json(status: number, value: unknown, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(value), {
    status,
    headers: { "content-type": "application/json", ...headers },
  });
}

function newId(prefix: string): string {
  return `${prefix}_${crypto.randomUUID().replaceAll("-", "").slice(0, 16)}`;
}

// ---------------------------------------------------------------- request reading

function parseBody(bodyText: string): Body {
  try {
    return JSON.parse(bodyText) as Body;
  } catch {
    return {};
  }
}

/** The last user message (the prompt), as JSON text. */
function userText(body: Body): string {
  const users = (body.input ?? []).filter((item) => item.role === "user");
  return JSON.stringify(users.at(-1)?.content ?? "");
}

/**
 * What the last shell command printed, from the tool result codex sent back: a
 * `function_call_output` string ending in `Output:\n<text>`, or (code mode) a
 * `custom_tool_call_output` whose items include the JSON `exec_command` result `{output: ...}`.
 */
function lastToolOutput(body: Body): string {
  const results = (body.input ?? []).filter((item) =>
    item.type === "function_call_output" || item.type === "custom_tool_call_output"
  );
  const output = results.at(-1)?.output;
  if (typeof output === "string") return output.split("\nOutput:\n").at(-1) ?? output;
  for (const part of Array.isArray(output) ? output : []) {
    try {
      const parsed = JSON.parse((part as { text?: string }).text ?? "");
      if (typeof parsed?.output === "string") return parsed.output;
    } catch {
      // The "Script completed ..." header item, not the result.
    }
  }
  return JSON.stringify(output ?? "");
}
