/**
 * The Gemini API (generativelanguage.googleapis.com, v1beta), scripted, enough for the real
 * gemini CLI (@google/gemini-cli 0.61.0, API-key auth) to run headless on 127.0.0.1. What it says
 * about gemini was observed by running the pinned CLI against this module.
 *
 * Point the CLI at it with GOOGLE_GEMINI_BASE_URL=http://127.0.0.1:<port>, any GEMINI_API_KEY
 * and `security.auth.selectedType: "gemini-api-key"` in ~/.gemini/settings.json.
 *
 * What the CLI calls:
 * - every chat turn: `POST /v1beta/models/<model>:streamGenerateContent?alt=sse`, answered with
 *   server-sent events, one `data: <GenerateContentResponse JSON>` per chunk;
 * - side calls (the `auto` model router's classifier, the loop-detection double check):
 *   `POST /v1beta/models/<model>:generateContent` with a JSON response schema;
 * - `:countTokens` is served in case a feature asks (never seen in 0.61.0 runs).
 *
 * Errors are Google RPC error bodies (`{"error":{code,message,status,details}}`): the CLI
 * classifies quota errors by their `details` (QuotaFailure quota ids, RetryInfo) and message.
 *
 * Hanging and stalled answers end when `request.signal` aborts, which server.ts makes happen
 * when it shuts down.
 */

import { gatewayPage } from "./gateway.ts";

/** What the stand-in plays; see SCENARIOS for the vocabulary. */
export type Scenario = string;

/** The URL paths this API serves (`pathname` only: the query string is not matched). */
export const ROUTES: RegExp[] = [
  /^\/v1(beta|alpha)?\/models\/[^/:]+:(streamGenerateContent|generateContent|countTokens)$/,
];

// ---------------------------------------------------------------------------------------------
// Reading a request

type Json = Record<string, unknown>;
type Part = Json & { text?: string; functionCall?: Json; functionResponse?: Json };
type Content = { role?: string; parts?: Part[] };

/** The facts about one request that the scenarios branch on. */
interface ModelRequest {
  streaming: boolean;
  model: string;
  /** Finished tool turns: user turns that carry tool results. */
  toolTurns: number;
  /** All text of the user turns (the prompt, with any inlined @file), for spec_echo. */
  userText: string;
}

function readRequest(request: Request, bodyText: string): ModelRequest {
  const match = /models\/([^/:]+):(\w+)$/.exec(new URL(request.url).pathname);
  let body: Json = {};
  try {
    body = JSON.parse(bodyText || "{}") as Json;
  } catch {
    // A malformed body reads as an empty conversation.
  }
  const contents = (Array.isArray(body.contents) ? body.contents : []) as Content[];
  const userTurns = contents.filter((content) => content.role !== "model");
  const parts = (content: Content) => content.parts ?? [];
  return {
    streaming: match?.[2] === "streamGenerateContent",
    model: match?.[1] ?? "unknown",
    toolTurns: userTurns.filter((c) => parts(c).some((part) => part.functionResponse)).length,
    userText: userTurns.flatMap(parts).map((part) => part.text ?? "").join("\n"),
  };
}

/**
 * Side calls are the CLI's own structured questions (the `auto` router's complexity classifier,
 * the loop-detection double check): non-streaming generateContent with a JSON response schema.
 * Every scenario answers them with a schema-shaped object, so a scenario scripts the chat turns
 * only; the runner should not count them in `callIndex`.
 */
export function isSideCall(request: Request, bodyText: string): boolean {
  if (!new URL(request.url).pathname.endsWith(":generateContent")) return false;
  return /"response(Json)?Schema"/.test(bodyText);
}

function sideCallAnswer(req: ModelRequest, bodyText: string): Response {
  const config = (JSON.parse(bodyText) as Json).generationConfig as Json | undefined;
  return modelTurn(req, [{
    text: JSON.stringify(sample(config?.responseJsonSchema ?? config?.responseSchema)),
  }]);
}

/** A minimal value that satisfies a (Gemini-flavoured, upper-case types) JSON schema. */
function sample(schema: unknown): unknown {
  const s = (schema ?? {}) as Json;
  if (Array.isArray(s.enum) && s.enum.length) return s.enum[0];
  switch (String(s.type ?? "object").toLowerCase()) {
    case "string":
      return "stand-in";
    case "integer":
    case "number":
      return 80; // the router's complexity score (1-100)
    case "boolean":
      return false;
    case "array":
      return [];
    default: {
      const properties = (s.properties ?? {}) as Record<string, unknown>;
      return Object.fromEntries(Object.entries(properties).map(([k, v]) => [k, sample(v)]));
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Building answers

/** Token counts on every chunk, as the real API sends them; the CLI sums the last per call. */
const USAGE = { promptTokenCount: 1000, candidatesTokenCount: 20, totalTokenCount: 1020 };

function chunk(parts: Part[], finishReason: string | null, model: string): Json {
  const candidate: Json = { content: { role: "model", parts }, index: 0 };
  if (finishReason) candidate.finishReason = finishReason;
  return { candidates: [candidate], usageMetadata: USAGE, modelVersion: model };
}

function sse(chunks: Json[]): string {
  return chunks.map((c) => `data: ${JSON.stringify(c)}\r\n\r\n`).join("");
}

/**
 * One model turn. Streaming calls get SSE, text split over two chunks as a real stream would,
 * the finish reason on the last one (`null` leaves it out, which the CLI treats as a broken
 * stream). Non-streaming calls get one GenerateContentResponse.
 */
function modelTurn(req: ModelRequest, parts: Part[], finishReason: string | null = "STOP") {
  if (!req.streaming) return json(200, chunk(parts, finishReason, req.model));
  const text = parts.length === 1 ? parts[0]?.text : undefined;
  const half = text ? text.length >> 1 : 0;
  const chunks = text && half > 0
    ? [
      chunk([{ text: text.slice(0, half) }], null, req.model),
      chunk([{ text: text.slice(half) }], finishReason, req.model),
    ]
    : [chunk(parts, finishReason, req.model)];
  return new Response(sse(chunks), { headers: { "content-type": "text/event-stream" } });
}

function json(status: number, body: unknown): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { "content-type": "application/json; charset=UTF-8" },
  });
}

/** A Google RPC error body, the shape every Google API returns on failure. */
function rpcError(code: number, status: string, message: string, details: Json[] = []): Response {
  return json(code, { error: { code, message, status, ...(details.length ? { details } : {}) } });
}

function shellCall(command: string, description: string): Part {
  return { functionCall: { name: "run_shell_command", args: { command, description } } };
}

const WRITE_REPORT = shellCall("printf 'done\\n' > report.md", "Write report.md");
const WRITE_REPORT_WITH_WRITE_FILE: Part = {
  functionCall: { name: "write_file", args: { file_path: "report.md", content: "done\n" } },
};
const ENV_PROBE = shellCall(
  'printf "role=%s name=%s key=%s\\n" "$TELECLAUDE_JOB_ROLE" "$TELECLAUDE_JOB_NAME" ' +
    '"${GEMINI_API_KEY:-unset}" > report.md; cat report.md',
  "Record the job environment",
);
const FINAL = "All done.";

/**
 * 100 KB of varied text for long_answer. It must not repeat itself: the CLI's loop detector
 * stops a stream whose 50-character chunks recur (one repeated line trips it, see loop_text).
 */
function variedText(size: number): string {
  const words = "alpha bravo charlie delta echo foxtrot golf hotel india juliet kilo lima mike " +
    "november oscar papa";
  const list = words.split(" ");
  let seed = 42;
  let text = "";
  for (let line = 1; text.length < size; line++) {
    let sentence = `Line ${line}:`;
    for (let i = 0; i < 10; i++) {
      seed = (seed * 1103515245 + 12345) % 2147483648; // a fixed LCG: the same text every run
      sentence += " " + list[(seed >>> 16) % list.length]; // high bits: the low ones cycle fast
    }
    text += sentence + ".\n";
  }
  return text.slice(0, size);
}

const LONG_ANSWER = variedText(100_000);
const LOOPING_ANSWER = "The same sentence again and again, forty chars.\n".repeat(40);

// ---------------------------------------------------------------------------------------------
// Errors, worded as the real Gemini API words them

const RATE_LIMIT_DOC = "https://ai.google.dev/gemini-api/docs/rate-limits";
const HELP = {
  "@type": "type.googleapis.com/google.rpc.Help",
  links: [{ description: "Learn more about Gemini API quotas", url: RATE_LIMIT_DOC }],
};

function quotaFailure(quotaId: string, limit: string, model: string): Json {
  return {
    "@type": "type.googleapis.com/google.rpc.QuotaFailure",
    violations: [{
      quotaMetric: "generativelanguage.googleapis.com/generate_content_free_tier_requests",
      quotaId,
      quotaDimensions: { location: "global", model },
      quotaValue: limit,
    }],
  };
}

function retryInfo(delay: string): Json {
  return { "@type": "type.googleapis.com/google.rpc.RetryInfo", retryDelay: delay };
}

function quotaMessage(limit: string, model: string, retry: string): string {
  return "You exceeded your current quota, please check your plan and billing details. For more " +
    `information on this error, head to: ${RATE_LIMIT_DOC}. To monitor your current usage, head ` +
    "to: https://ai.dev/usage?tab=rate-limit. \n* Quota exceeded for metric: generativelanguage." +
    `googleapis.com/generate_content_free_tier_requests, limit: ${limit}, model: ${model}\n` +
    `Please retry in ${retry}.`;
}

/**
 * The free-tier daily cap. The CLI keys on a QuotaFailure quota id containing `PerDay` and then
 * prints only "You have exhausted your daily quota on this model." (no retry time survives).
 */
function quotaDaily(model: string): Response {
  return rpcError(429, "RESOURCE_EXHAUSTED", quotaMessage("250", model, "51234.57s"), [
    HELP,
    quotaFailure("GenerateRequestsPerDayPerProjectPerModel-FreeTier", "250", model),
    retryInfo("51234s"),
  ]);
}

/** A per-minute cap with a short RetryInfo: the CLI waits (at least 5 s) and retries. */
function rateLimitMinute(model: string): Response {
  return rpcError(429, "RESOURCE_EXHAUSTED", quotaMessage("10", model, "2s"), [
    HELP,
    quotaFailure("GenerateRequestsPerMinutePerProjectPerModel-FreeTier", "10", model),
    retryInfo("2s"),
  ]);
}

/** "You exceeded your current quota" as a bare message (the older API shape): retried. */
function quotaExceeded(): Response {
  return rpcError(
    429,
    "RESOURCE_EXHAUSTED",
    "You exceeded your current quota, please check your plan and billing details. For more " +
      `information on this error, head to: ${RATE_LIMIT_DOC}.`,
  );
}

/** No details but "Please retry in 3600s." (> 300 s): the CLI gives up at once, text intact. */
function quotaRetryLong(model: string): Response {
  return rpcError(
    429,
    "RESOURCE_EXHAUSTED",
    "You exceeded your current quota, please check your plan and billing details.\n* Quota " +
      "exceeded for metric: generativelanguage.googleapis.com/generate_content_paid_tier_input_" +
      `token_count, model: ${model}\nPlease retry in 3600s.`,
  );
}

const resourceExhausted = () =>
  rpcError(429, "RESOURCE_EXHAUSTED", "Resource has been exhausted (e.g. check quota).");
const overloaded = () =>
  rpcError(503, "UNAVAILABLE", "The model is overloaded. Please try again later.");
const internalError = () =>
  rpcError(500, "INTERNAL", "An internal error has occurred. Please retry or report.");

/**
 * The service overloaded or failing, as Google's front end answers: 500 INTERNAL, 503
 * UNAVAILABLE ("The model is overloaded"), 504 DEADLINE_EXCEEDED; a 502 or 529 as a gateway's
 * page.
 */
export function outage(status: 500 | 502 | 503 | 504 | 529): Response {
  switch (status) {
    case 500:
      return internalError();
    case 503:
      return overloaded();
    case 504:
      return rpcError(
        504,
        "DEADLINE_EXCEEDED",
        "Deadline expired before operation could complete.",
      );
    default:
      return gatewayPage(status);
  }
}

const unauthenticated = () =>
  rpcError(401, "UNAUTHENTICATED", "Request had invalid authentication credentials.");
const permissionDenied = () =>
  rpcError(403, "PERMISSION_DENIED", "Permission denied: Consumer has been suspended.");

/** What the real API answers for a bad key: 400, not 401. */
const invalidKey = () =>
  rpcError(400, "INVALID_ARGUMENT", "API key not valid. Please pass a valid API key.", [{
    "@type": "type.googleapis.com/google.rpc.ErrorInfo",
    reason: "API_KEY_INVALID",
    domain: "googleapis.com",
    metadata: { service: "generativelanguage.googleapis.com" },
  }]);

// ---------------------------------------------------------------------------------------------
// Scenarios

/** The standard job: one tool call (default: shell writes report.md), then a final answer. */
function toolThenAnswer(req: ModelRequest, final = FINAL, call = WRITE_REPORT): Response {
  return req.toolTurns === 0 ? modelTurn(req, [call]) : modelTurn(req, [{ text: final }]);
}

/** Never answers: the socket stays open until the client gives up (the CLI waits 60 s). */
function hang(request: Request): Promise<Response> {
  return new Promise((resolve) => {
    // Resolving once the server stops lets its graceful shutdown finish.
    const give = () => resolve(new Response(null, { status: 499 }));
    if (request.signal.aborted) give();
    else request.signal.addEventListener("abort", give, { once: true });
  });
}

/**
 * Headers and one text chunk without a finish reason, then silence (the CLI waits 300 s) until
 * `signal` aborts.
 */
function stall(req: ModelRequest, signal: AbortSignal): Response {
  const first = new TextEncoder().encode(
    sse([chunk([{ text: "Working on it" }], null, req.model)]),
  );
  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      controller.enqueue(first);
      signal.addEventListener("abort", () => {
        try {
          controller.close();
        } catch {
          // Already closed or errored by the runtime when the client went away.
        }
      }, { once: true });
    },
  });
  return new Response(body, { headers: { "content-type": "text/event-stream" } });
}

/** The first 80 characters of the spec doc, where the CLI inlined the prompt's @file. */
function specExcerpt(req: ModelRequest): string {
  const marker = /--- Content from referenced files ---\s*\nContent from @[^\n]*:\n/.exec(
    req.userText,
  );
  const start = marker ? marker.index + marker[0].length : 0;
  return req.userText.slice(start).trimStart().slice(0, 80);
}

type Play = (
  req: ModelRequest,
  callIndex: number,
  request: Request,
) => Response | Promise<Response>;

/** Every scenario: what it does, and how it answers the n-th chat call. */
export const SCENARIOS: Record<Scenario, { does: string; play: Play }> = {
  success_tool: {
    does: "run_shell_command writes report.md, then 'All done.'",
    play: (req) => toolThenAnswer(req),
  },
  success_write_file: {
    does: "write_file writes report.md, then 'All done.'",
    play: (req) => toolThenAnswer(req, FINAL, WRITE_REPORT_WITH_WRITE_FILE),
  },
  spec_echo: {
    does: "like success_tool; the answer quotes the first 80 chars of the inlined @file",
    play: (req) => toolThenAnswer(req, `Spec says: ${specExcerpt(req)}`),
  },
  env_probe: {
    does: "the shell writes TELECLAUDE_JOB_ROLE/NAME and GEMINI_API_KEY into report.md",
    play: (req) => toolThenAnswer(req, FINAL, ENV_PROBE),
  },
  text: {
    does: "one plain text answer, no tool (one-shot mode)",
    play: (req) => modelTurn(req, [{ text: '{"answer":"ok"}' }]),
  },
  long_answer: {
    does: "like success_tool, with a 100 KB final answer",
    play: (req) => toolThenAnswer(req, LONG_ANSWER),
  },
  transient_then_success: {
    does: "503 UNAVAILABLE on the first two calls, then success_tool",
    play: (req, n) => n < 2 ? overloaded() : toolThenAnswer(req),
  },
  transient_once: {
    does: "503 UNAVAILABLE on the first call, then success_tool (one retry: 5 s, not 15 s)",
    play: (req, n) => n < 1 ? overloaded() : toolThenAnswer(req),
  },
  overloaded: { does: "503 UNAVAILABLE on every call", play: () => overloaded() },
  server_error: { does: "500 INTERNAL on every call", play: () => internalError() },
  rate_limit_minute: {
    does: "a per-minute 429 (QuotaFailure PerMinute, RetryInfo 2s) once, then success_tool",
    play: (req, n) => n < 1 ? rateLimitMinute(req.model) : toolThenAnswer(req),
  },
  rate_limit_persistent: {
    does: "the per-minute 429 of rate_limit_minute on every call",
    play: (req) => rateLimitMinute(req.model),
  },
  quota_daily: {
    does: "429 with QuotaFailure quotaId ...PerDay... and RetryInfo 51234s",
    play: (req) => quotaDaily(req.model),
  },
  quota_exceeded: {
    does: "429 'You exceeded your current quota...' with no details and no retry hint",
    play: () => quotaExceeded(),
  },
  quota_retry_long: {
    does: "429 'You exceeded your current quota ... Please retry in 3600s.' with no details",
    play: (req) => quotaRetryLong(req.model),
  },
  resource_exhausted: {
    does: "429 'Resource has been exhausted (e.g. check quota).' with no details",
    play: () => resourceExhausted(),
  },
  max_turns: {
    does: "a different shell call every turn, forever (trips model.maxSessionTurns)",
    play: (req) => modelTurn(req, [shellCall(`echo turn ${req.toolTurns + 1}`, "Next step")]),
  },
  loop: {
    does: "the identical shell call every turn (trips the tool-call loop detector)",
    play: (req) => modelTurn(req, [shellCall("echo same", "Same step")]),
  },
  loop_text: {
    does: "like success_tool; the final answer repeats one line (trips the content loop check)",
    play: (req) => toolThenAnswer(req, LOOPING_ANSWER),
  },
  no_finish_reason: {
    does: "a text stream that ends without a finishReason",
    play: (req) => modelTurn(req, [{ text: "Partial answer" }], null),
  },
  hang: {
    does: "accepts the request and never sends a byte",
    play: (_r, _n, request) => hang(request),
  },
  stall: {
    does: "sends headers and one chunk, then nothing more",
    play: (req, _n, request) => stall(req, request.signal),
  },
  auth: { does: "401 UNAUTHENTICATED", play: () => unauthenticated() },
  auth_400: {
    does: "400 INVALID_ARGUMENT / API_KEY_INVALID (the real bad-key answer)",
    play: () => invalidKey(),
  },
  auth_403: { does: "403 PERMISSION_DENIED", play: () => permissionDenied() },
};

/**
 * A chat turn, the thing `callIndex` counts: not a side call, not a token count (the helpers'
 * server counted `:countTokens`; 0.61.0 never sends it, and it is no turn either way).
 */
export function isModelCall(request: Request, bodyText: string): boolean {
  return !request.url.includes(":countTokens") && !isSideCall(request, bodyText);
}

/**
 * Answers one request. `callIndex` counts the chat calls this server already answered in the run
 * (side calls excluded, see isSideCall), so a scenario can script "fail twice, then succeed".
 */
export function handle(
  request: Request,
  bodyText: string,
  scenario: Scenario,
  callIndex: number,
): Response | Promise<Response> {
  const req = readRequest(request, bodyText);
  if (request.url.includes(":countTokens")) return json(200, { totalTokens: 1000 });
  if (isSideCall(request, bodyText)) return sideCallAnswer(req, bodyText);
  const entry = SCENARIOS[scenario];
  if (!entry) return rpcError(400, "INVALID_ARGUMENT", `stand-in: unknown scenario ${scenario}`);
  return entry.play(req, callIndex, request);
}
