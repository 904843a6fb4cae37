/**
 * The Anthropic Messages API as Claude Code 2.1.332 calls it (`POST /v1/messages?beta=true`,
 * streamed as SSE), scripted: each scenario answers the way the real API does in one situation
 * (success with a tool call, overload, usage limit, hang, ...), so the real `claude` CLI can be
 * driven through every outcome teleclaude-cron must recognise. What it says about claude was
 * observed by running the pinned CLI against this module.
 *
 * How a scenario knows where it is: the conversation itself. Claude re-sends the whole history
 * on every request, so the number of `tool_result` blocks in `messages` says how many tool
 * calls already ran. `callIndex` (model requests this API already answered) is used only where
 * the history cannot tell, i.e. "fail N times, then succeed".
 *
 * Hanging and stalled answers end when `request.signal` aborts, which server.ts makes happen
 * when it shuts down.
 */

import { gatewayPage } from "./gateway.ts";

export type Scenario = string;

/**
 * The URL paths this API serves (claude appends `?beta=true`, which is not part of the path).
 * `/api/hello` is claude's connectivity probe (`HEAD`), sent only without
 * CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC.
 */
export const ROUTES: RegExp[] = [
  /^\/v1\/messages$/,
  /^\/v1\/messages\/count_tokens$/,
  /^\/api\/hello$/,
];

/** Every scenario `handle` knows, for runners and tests. */
export const SCENARIOS = [
  "success_tool",
  "spec_echo",
  "env_role",
  "transient_then_success",
  "overloaded",
  "server_error",
  "rate_limit_minute",
  "server_throttle",
  "usage_limit_5h",
  "usage_limit_weekly",
  "usage_limit_minimal",
  "max_turns",
  "budget",
  "long_answer",
  "hang",
  "stall",
  "auth",
  "plain_text",
] as const;

/** What the stand-in answers with when a scenario has nothing special to say. */
export const FINAL_TEXT = "All done.";

// ---------------------------------------------------------------------------------------------
// Entry point

/** A model turn (what `callIndex` counts), as opposed to a token count or connectivity probe. */
export function isModelCall(request: Request): boolean {
  return request.method === "POST" && new URL(request.url).pathname === "/v1/messages";
}

/** Answers one request of `scenario`; `callIndex` counts the model calls answered before it. */
export function handle(
  request: Request,
  bodyText: string,
  scenario: Scenario,
  callIndex: number,
): Response | Promise<Response> {
  const path = new URL(request.url).pathname;
  if (path === "/api/hello") return new Response(null, { status: 200 });
  if (path === "/v1/messages/count_tokens") {
    // Rough count; claude only uses it to size context, the exact number never matters.
    return Response.json({ input_tokens: Math.max(1, Math.ceil(bodyText.length / 4)) });
  }
  if (path !== "/v1/messages" || request.method !== "POST") {
    return apiError(404, "not_found_error", `stand-in does not serve ${request.method} ${path}`);
  }
  const body = parseBody(bodyText);
  if (body === null) return apiError(400, "invalid_request_error", "body is not JSON");
  return answer(request, body, scenario, callIndex);
}

function answer(
  request: Request,
  body: MessagesBody,
  scenario: Scenario,
  callIndex: number,
): Response | Promise<Response> {
  const reply = (turn: Turn, usage?: Partial<Usage>) => messageResponse(body, turn, usage);
  switch (scenario) {
    case "success_tool":
      return reply(writeReportThenFinish(body));
    case "spec_echo":
      return reply(specEcho(body));
    case "env_role":
      // Proves the job's env reaches the agent's own shell: the file holds the variable's value.
      return reply(
        toolResultCount(body) === 0
          ? bash('echo "$TELECLAUDE_JOB_ROLE" > role.txt', "Record the job role")
          : text(FINAL_TEXT),
      );
    case "transient_then_success":
      // Two 529s first: claude retries them itself, then the run goes on as success_tool.
      return callIndex < 2 ? overloaded() : reply(writeReportThenFinish(body));
    case "overloaded":
      return overloaded();
    case "server_error":
      return outage(500);
    case "rate_limit_minute":
      return callIndex < 1 ? perMinuteRateLimit(1) : reply(writeReportThenFinish(body));
    case "server_throttle":
      // A 429 without any unified (subscription) headers: not the account's usage limit.
      return perMinuteRateLimit(1);
    case "usage_limit_5h":
      return usageLimit("five_hour", Math.floor(Date.now() / 1000) + 2 * 3600);
    case "usage_limit_weekly":
      return usageLimit("seven_day", Math.floor(Date.now() / 1000) + 3 * 86400);
    case "usage_limit_minimal":
      // Only the three headers claude needs to word a usage limit (proves which ones matter).
      return apiError(
        429,
        "rate_limit_error",
        "This request would exceed your account's rate limit. Please try again later.",
        {
          "anthropic-ratelimit-unified-status": "rejected",
          "anthropic-ratelimit-unified-reset": String(Math.floor(Date.now() / 1000) + 2 * 3600),
          "anthropic-ratelimit-unified-representative-claim": "five_hour",
        },
      );
    case "max_turns":
      // Never finishes: every answer is one more tool call, so only a turn cap stops it.
      return reply(bash(`echo turn ${toolResultCount(body) + 1}`, "Print the turn number"));
    case "budget":
      // A million input tokens per call costs dollars at any list price, so any small
      // --max-budget-usd trips after the first call; the tool call keeps the run wanting more.
      return reply(bash("echo spending", "Print a word"), { input_tokens: 1_000_000 });
    case "long_answer":
      return reply(text(longText(100 * 1024)));
    case "hang":
      return hang(request);
    case "stall":
      return stall(request, body);
    case "auth":
      return apiError(401, "authentication_error", "invalid x-api-key");
    case "plain_text":
      return reply(text(FINAL_TEXT));
    default:
      return apiError(400, "invalid_request_error", `stand-in: unknown scenario ${scenario}`);
  }
}

// ---------------------------------------------------------------------------------------------
// Scenario steps

/** First call: a Bash tool call writing report.md; once its result is back: the final text. */
function writeReportThenFinish(body: MessagesBody): Turn {
  return toolResultCount(body) === 0
    ? bash("echo done > report.md", "Write the report file")
    : text(FINAL_TEXT);
}

/**
 * Like writeReportThenFinish, but the final text quotes the first 80 characters of the file
 * content claude showed the model: either an @-mention claude inlined itself (as a
 * "Result of calling the Read tool:" reminder in the first user message) or the result of a
 * Read tool call. When neither is there yet, the model asks for the Read itself.
 */
function specEcho(body: MessagesBody): Turn {
  const done = toolResultCount(body);
  const content = readContent(body);
  if (content === null && done === 0) {
    const mention = /@(\S+\.md)\b/.exec(userText(body));
    if (mention) return { kind: "tool", name: "Read", input: { file_path: mention[1] } };
  }
  if (!hasBashResult(body)) return bash("echo done > report.md", "Write the report file");
  return text(`${FINAL_TEXT} Spec starts: ${(content ?? "<nothing read>").slice(0, 80)}`);
}

// ---------------------------------------------------------------------------------------------
// Error answers, shaped like the real API's

/** `{"type":"error","error":{...}}` with the given status and headers. */
function apiError(
  status: number,
  type: string,
  message: string,
  headers: Record<string, string> = {},
): Response {
  return Response.json(
    { type: "error", error: { type, message }, request_id: requestId() },
    { status, headers: { "request-id": requestId(), ...headers } },
  );
}

function overloaded(): Response {
  return apiError(529, "overloaded_error", "Overloaded");
}

/**
 * The service overloaded or failing, as the API answers: 529 `overloaded_error`, 500
 * `api_error`, 504 `timeout_error` (the errors the API documents). A 502 or 503 comes from a
 * gateway in front of it, as an HTML page rather than the API's JSON.
 */
export function outage(status: 500 | 502 | 503 | 504 | 529): Response {
  switch (status) {
    case 529:
      return overloaded();
    case 500:
      return apiError(500, "api_error", "Internal server error");
    case 504:
      return apiError(504, "timeout_error", "Request timeout");
    default:
      return gatewayPage(status);
  }
}

/** A plain 429 (API key per-minute limit): no unified headers, a short retry-after. */
function perMinuteRateLimit(retryAfterSeconds: number): Response {
  return apiError(
    429,
    "rate_limit_error",
    "This request would exceed the rate limit for your organization of 50 requests per minute.",
    {
      "retry-after": String(retryAfterSeconds),
      "anthropic-ratelimit-requests-limit": "50",
      "anthropic-ratelimit-requests-remaining": "0",
      "anthropic-ratelimit-requests-reset": new Date(Date.now() + retryAfterSeconds * 1000)
        .toISOString(),
    },
  );
}

/**
 * A subscription usage limit, as the API tells claude.ai subscribers: 429 with the
 * `anthropic-ratelimit-unified-*` headers. claude reads `-status: rejected`, the
 * `-representative-claim` (which limit: five_hour | seven_day | seven_day_opus | ...) and
 * `-reset` (epoch seconds) and prints "You've hit your 5-hour limit · resets 10:23am (UTC)".
 * It only does so for subscribers (CLAUDE_CODE_OAUTH_TOKEN); with an API key the same response
 * is "API Error: Request rejected (429) · ...".
 */
function usageLimit(claim: "five_hour" | "seven_day", resetEpochSeconds: number): Response {
  const window = claim === "five_hour" ? "5h" : "7d";
  const reset = String(resetEpochSeconds);
  return apiError(
    429,
    "rate_limit_error",
    "This request would exceed your account's rate limit. Please try again later.",
    {
      "anthropic-ratelimit-unified-status": "rejected",
      "anthropic-ratelimit-unified-reset": reset,
      "anthropic-ratelimit-unified-representative-claim": claim,
      [`anthropic-ratelimit-unified-${window}-status`]: "rejected",
      [`anthropic-ratelimit-unified-${window}-reset`]: reset,
      [`anthropic-ratelimit-unified-${window}-utilization`]: "1.0",
      "anthropic-ratelimit-unified-fallback": "unavailable",
      "anthropic-ratelimit-unified-overage-status": "rejected",
      "anthropic-ratelimit-unified-overage-disabled-reason": "org_level_disabled",
    },
  );
}

/** Accepts the request and never answers; lets go only when `request.signal` aborts. */
function hang(request: Request): Promise<Response> {
  return new Promise((resolve) => {
    const give = () => resolve(new Response(null, { status: 499 }));
    if (request.signal.aborted) give();
    else request.signal.addEventListener("abort", give, { once: true });
  });
}

/**
 * Starts a normal stream, sends a few bytes of text, then goes silent until `request.signal`
 * aborts. claude answers a stalled stream by retrying once without streaming; that request hangs.
 */
function stall(request: Request, body: MessagesBody): Response | Promise<Response> {
  if (!body.stream) return hang(request);
  const start = sse("message_start", { type: "message_start", message: emptyMessage(body) }) +
    sse("content_block_start", {
      type: "content_block_start",
      index: 0,
      content_block: { type: "text", text: "" },
    }) +
    sse("content_block_delta", {
      type: "content_block_delta",
      index: 0,
      delta: { type: "text_delta", text: "Working on it" },
    });
  const stream = new ReadableStream<Uint8Array>({
    start(controller) {
      controller.enqueue(new TextEncoder().encode(start));
      request.signal.addEventListener("abort", () => {
        try {
          controller.close();
        } catch {
          // Already closed by the runtime when the client went away.
        }
      });
    },
  });
  return new Response(stream, { headers: SSE_HEADERS });
}

// ---------------------------------------------------------------------------------------------
// Successful answers: one assistant turn, streamed (SSE) or as one JSON message

type Turn =
  | { kind: "text"; text: string }
  | { kind: "tool"; name: string; input: Record<string, unknown> };

interface Usage {
  input_tokens: number;
  output_tokens: number;
  cache_creation_input_tokens: number;
  cache_read_input_tokens: number;
}

function text(value: string): Turn {
  return { kind: "text", text: value };
}

function bash(command: string, description: string): Turn {
  return { kind: "tool", name: "Bash", input: { command, description } };
}

const SSE_HEADERS = { "content-type": "text/event-stream", "cache-control": "no-cache" };

function messageResponse(body: MessagesBody, turn: Turn, usage: Partial<Usage> = {}): Response {
  const fullUsage: Usage = {
    input_tokens: 100,
    output_tokens: 20,
    cache_creation_input_tokens: 0,
    cache_read_input_tokens: 0,
    ...usage,
  };
  const block = turn.kind === "text"
    ? { type: "text", text: turn.text }
    : { type: "tool_use", id: toolUseId(), name: turn.name, input: turn.input };
  const stopReason = turn.kind === "text" ? "end_turn" : "tool_use";
  const headers = { "request-id": requestId() };
  if (!body.stream) {
    return Response.json(
      { ...emptyMessage(body), content: [block], stop_reason: stopReason, usage: fullUsage },
      { headers },
    );
  }
  return new Response(sseTurn(body, block, stopReason, fullUsage), {
    headers: { ...SSE_HEADERS, ...headers },
  });
}

/** The SSE event sequence of one assistant message with one content block. */
function sseTurn(
  body: MessagesBody,
  block: Record<string, unknown>,
  stopReason: string,
  usage: Usage,
): string {
  const isText = block.type === "text";
  const events = [
    sse("message_start", {
      type: "message_start",
      message: { ...emptyMessage(body), usage: { ...usage, output_tokens: 1 } },
    }),
    sse("content_block_start", {
      type: "content_block_start",
      index: 0,
      content_block: isText ? { type: "text", text: "" } : { ...block, input: {} },
    }),
  ];
  // Big texts go out in chunks, as the real API streams them.
  const deltas = isText
    ? chunks(String(block.text), 4096).map((piece) => ({ type: "text_delta", text: piece }))
    : [{ type: "input_json_delta", partial_json: JSON.stringify(block.input) }];
  for (const delta of deltas) {
    events.push(sse("content_block_delta", { type: "content_block_delta", index: 0, delta }));
  }
  events.push(
    sse("content_block_stop", { type: "content_block_stop", index: 0 }),
    sse("message_delta", {
      type: "message_delta",
      delta: { stop_reason: stopReason, stop_sequence: null },
      usage: { output_tokens: usage.output_tokens },
    }),
    sse("message_stop", { type: "message_stop" }),
  );
  return events.join("");
}

function emptyMessage(body: MessagesBody) {
  return {
    id: `msg_${crypto.randomUUID().replaceAll("-", "").slice(0, 24)}`,
    type: "message",
    role: "assistant",
    model: body.model ?? "claude-stand-in",
    content: [],
    stop_reason: null,
    stop_sequence: null,
    usage: { input_tokens: 100, output_tokens: 1 },
  };
}

function sse(event: string, data: unknown): string {
  return `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
}

// ---------------------------------------------------------------------------------------------
// Reading the request

interface MessagesBody {
  model?: string;
  stream?: boolean;
  messages?: { role: string; content: string | ContentBlock[] }[];
  tools?: { name: string }[];
}

type ContentBlock = {
  type: string;
  text?: string;
  name?: string;
  id?: string;
  tool_use_id?: string;
  content?: string | ContentBlock[];
};

function parseBody(bodyText: string): MessagesBody | null {
  try {
    const value: unknown = JSON.parse(bodyText);
    return value !== null && typeof value === "object" ? value as MessagesBody : null;
  } catch {
    return null;
  }
}

function blocks(body: MessagesBody): ContentBlock[] {
  return (body.messages ?? []).flatMap((message) =>
    typeof message.content === "string"
      ? [{ type: "text", text: message.content }]
      : message.content
  );
}

/** How many tool calls already ran in this conversation. */
function toolResultCount(body: MessagesBody): number {
  return blocks(body).filter((block) => block.type === "tool_result").length;
}

function hasBashResult(body: MessagesBody): boolean {
  const bashIds = new Set(
    blocks(body).filter((b) => b.type === "tool_use" && b.name === "Bash").map((b) => b.id),
  );
  return blocks(body).some((b) => b.type === "tool_result" && bashIds.has(b.tool_use_id));
}

/** All the plain text the user side sent (prompt and reminders). */
function userText(body: MessagesBody): string {
  return (body.messages ?? [])
    .filter((message) => message.role === "user")
    .flatMap((message) =>
      typeof message.content === "string" ? [message.content] : message.content.map(plainText)
    )
    .join("\n");
}

function plainText(block: ContentBlock): string {
  if (typeof block.text === "string") return block.text;
  if (typeof block.content === "string") return block.content;
  if (Array.isArray(block.content)) return block.content.map(plainText).join("\n");
  return "";
}

/**
 * The file content claude showed the model, without Read's line numbers: from an @-mention it
 * inlined ("Result of calling the Read tool:\n1\t...") or from a Read tool call's result.
 */
function readContent(body: MessagesBody): string | null {
  const inlined = /Result of calling the Read tool:\n([\s\S]*?)(?:<\/system-reminder>|$)/.exec(
    userText(body),
  );
  if (inlined) return stripLineNumbers(inlined[1]!);
  const readIds = new Set(
    blocks(body).filter((b) => b.type === "tool_use" && b.name === "Read").map((b) => b.id),
  );
  const result = blocks(body).find((b) => b.type === "tool_result" && readIds.has(b.tool_use_id));
  return result ? stripLineNumbers(plainText(result)) : null;
}

function stripLineNumbers(numbered: string): string {
  return numbered.split("\n").map((line) => line.replace(/^\s*\d+[\t→]/, "")).join("\n").trim();
}

// ---------------------------------------------------------------------------------------------
// Small helpers

function longText(bytes: number): string {
  const line = "This is a deliberately long answer line for the long_answer scenario.\n";
  return line.repeat(Math.ceil(bytes / line.length)).slice(0, bytes);
}

function chunks(value: string, size: number): string[] {
  const pieces: string[] = [];
  for (let at = 0; at < value.length; at += size) pieces.push(value.slice(at, at + size));
  return pieces.length ? pieces : [""];
}

function requestId(): string {
  return `req_standin_${crypto.randomUUID().replaceAll("-", "").slice(0, 20)}`;
}

function toolUseId(): string {
  return `toolu_${crypto.randomUUID().replaceAll("-", "").slice(0, 24)}`;
}
