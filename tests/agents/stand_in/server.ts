/**
 * One stand-in model server for the three agent CLIs: the Anthropic Messages API (claude), the
 * OpenAI Responses API (codex) and the Gemini API (gemini), told apart by the request path, on
 * 127.0.0.1 and a free port. Every request is recorded; each API module answers it as the
 * current scenario says.
 */

import * as anthropic from "./anthropic.ts";
import * as gemini from "./gemini.ts";
import * as openai from "./openai.ts";

/** The APIs the server speaks. */
export type ApiName = "anthropic" | "openai" | "gemini";

/** One request as the server received it, and what it made of it. */
export interface RecordedRequest {
  /** The API whose routes matched; null when none did (answered 404). */
  api: ApiName | null;
  method: string;
  path: string;
  /** The query string with its `?` (claude sends `?beta=true`, gemini `?alt=sse`), or "". */
  query: string;
  /** Auth (masked), versions, retry bookkeeping and similar headers; the rest is dropped. */
  headers: Record<string, string>;
  /** The body parsed as JSON, else its text; null when empty. */
  body: unknown;
  /** A model turn (counted in `callIndex`); false for side calls, probes and unknown paths. */
  modelCall: boolean;
  /** The API's model-call count before this one; null for requests that are not model calls. */
  callIndex: number | null;
  scenario: string;
  /** Milliseconds since the server started. */
  atMs: number;
  /** Epoch milliseconds, to compare with what the runner recorded. */
  receivedAt: number;
  /** The answer's status; null while it is still being answered (or hangs). */
  status: number | null;
  /** What the server answered; null while it is still being answered (or hangs). */
  answer: RecordedAnswer | null;
}

/** An answer as sent: when, its headers, and its body when that was JSON (an error, mostly). */
export interface RecordedAnswer {
  /** Epoch milliseconds: what a relative wait the answer states ("retry in 3600s") counts from. */
  at: number;
  headers: Record<string, string>;
  /** The JSON body, parsed; null for a stream (SSE) or an empty body. */
  body: unknown;
}

/** A running stand-in; `await using` shuts it down, hanging answers included. */
export interface ModelServer extends AsyncDisposable {
  /** `http://127.0.0.1:PORT`, without a trailing slash. */
  readonly url: string;
  /** What every API plays; setting it (between runs) also restarts the model-call counts. */
  scenario: string;
  /** Every request so far, in arrival order. */
  readonly requests: readonly RecordedRequest[];
  /** The model calls `api` received, in order. */
  modelRequests(api: ApiName): RecordedRequest[];
  /** How many model calls `api` received since the scenario was last set. */
  callCount(api: ApiName): number;
}

interface Api {
  routes: RegExp[];
  isModelCall(request: Request, bodyText: string): boolean;
  handle(
    request: Request,
    bodyText: string,
    scenario: string,
    callIndex: number,
  ): Response | Promise<Response>;
}

const APIS: Record<ApiName, Api> = {
  anthropic: {
    routes: anthropic.ROUTES,
    isModelCall: anthropic.isModelCall,
    handle: anthropic.handle,
  },
  openai: { routes: openai.ROUTES, isModelCall: openai.isModelCall, handle: openai.handle },
  gemini: { routes: gemini.ROUTES, isModelCall: gemini.isModelCall, handle: gemini.handle },
};

/** Auth, versions, betas, retry bookkeeping and session ids: what tells one call from another. */
const INTERESTING_HEADERS = new RegExp(
  "^(" + [
    "authorization",
    "x-api-key",
    "x-goog-api-key",
    "x-goog-api-client",
    "anthropic-",
    "x-stainless-(retry-count|timeout)",
    "x-app$",
    "x-claude-code-session-id",
    "user-agent",
    "content-type",
    "originator",
    "session-id",
    "x-codex-",
    "openai-beta",
    "upgrade",
  ].join("|") + ")",
);
const SECRET_HEADERS = new Set(["authorization", "x-api-key", "x-goog-api-key"]);

/** Starts the server; the scenario defaults to `success_tool`, which all three APIs know. */
export function startModelServer(options: { scenario?: string } = {}): ModelServer {
  const started = performance.now();
  const requests: RecordedRequest[] = [];
  const counts: Record<ApiName, number> = { anthropic: 0, openai: 0, gemini: 0 };
  let scenario = options.scenario ?? "success_tool";
  // Aborted on dispose: ends every hanging or stalled answer, which graceful shutdown awaits.
  const stopping = new AbortController();

  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    async (request) => {
      const bodyText = await request.text();
      const url = new URL(request.url);
      const api = apiFor(url.pathname);
      const modelCall = api !== null && APIS[api].isModelCall(request, bodyText);
      const record: RecordedRequest = {
        api,
        method: request.method,
        path: url.pathname,
        query: url.search,
        headers: headersOfInterest(request.headers),
        body: parseBody(bodyText),
        modelCall,
        callIndex: modelCall ? counts[api!]++ : null,
        scenario,
        atMs: Math.round(performance.now() - started),
        receivedAt: Date.now(),
        status: null,
        answer: null,
      };
      requests.push(record);
      const response = api === null ? notServed(url.pathname) : await APIS[api].handle(
        withStopSignal(request, stopping.signal),
        bodyText,
        record.scenario,
        record.callIndex ?? counts[api],
      );
      record.status = response.status;
      record.answer = await recordedAnswer(response);
      return response;
    },
  );

  return {
    url: `http://127.0.0.1:${server.addr.port}`,
    get scenario() {
      return scenario;
    },
    set scenario(value: string) {
      scenario = value;
      for (const api of Object.keys(counts) as ApiName[]) counts[api] = 0;
    },
    requests,
    modelRequests: (api) => requests.filter((r) => r.api === api && r.modelCall),
    callCount: (api) => counts[api],
    async [Symbol.asyncDispose]() {
      stopping.abort();
      await server.shutdown();
    },
  };
}

function apiFor(path: string): ApiName | null {
  for (const [name, api] of Object.entries(APIS) as [ApiName, Api][]) {
    if (api.routes.some((route) => route.test(path))) return name;
  }
  return null;
}

/**
 * The request as the API modules see it: its body already read, and a signal that aborts when
 * the server stops. Not the client's `request.signal`: in Deno 2.9 that one also aborts after
 * every successful response (and warns about it); a client that leaves a hanging answer is
 * simply answered at shutdown.
 */
function withStopSignal(request: Request, stopping: AbortSignal): Request {
  return new Request(request.url, {
    method: request.method,
    headers: request.headers,
    signal: stopping,
  });
}

function notServed(path: string): Response {
  return Response.json({ error: { message: `the stand-in serves no ${path}` } }, { status: 404 });
}

/** What `response` says, read from a clone (a JSON body is complete; a stream is left alone). */
async function recordedAnswer(response: Response): Promise<RecordedAnswer> {
  const isJson = response.headers.get("content-type")?.includes("application/json") ?? false;
  return {
    at: Date.now(),
    headers: Object.fromEntries(response.headers),
    body: isJson ? parseBody(await response.clone().text()) : null,
  };
}

function headersOfInterest(headers: Headers): Record<string, string> {
  const kept: Record<string, string> = {};
  for (const [name, value] of headers) {
    if (!INTERESTING_HEADERS.test(name)) continue;
    kept[name] = SECRET_HEADERS.has(name) && value.length > 12 ? `${value.slice(0, 12)}…` : value;
  }
  return kept;
}

function parseBody(bodyText: string): unknown {
  if (bodyText === "") return null;
  try {
    return JSON.parse(bodyText);
  } catch {
    return bodyText;
  }
}
