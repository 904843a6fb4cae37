/**
 * One stand-in model server for the three agent CLIs: the Anthropic Messages API (claude), the
 * OpenAI Responses API (codex) and the Gemini API (gemini), told apart by the request path, on
 * 127.0.0.1 and a free port. Every request is recorded; each API module answers it as the
 * current scenario says, after the outage (if any) the server plays first.
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

/** The HTTP statuses of a model service that is overloaded or failing, as `Outage` plays them. */
export const OUTAGE_STATUSES = [500, 502, 503, 504, 529] as const;
export type OutageStatus = typeof OUTAGE_STATUSES[number];

/**
 * The model service down before (or instead of) the scenario: every model call answered with
 * `status`, worded as that API words it (each module's `outage`), for the first `calls` model
 * calls or, without `calls`, for all of them. After those the scenario plays as if they had
 * never happened (its `callIndex` starts at 0), so "overloaded for 3 calls, then fine" is
 * `{ status: 529, calls: 3 }` before `success_tool`. Side calls and probes are answered as usual.
 */
export interface Outage {
  status: OutageStatus;
  calls?: number;
}

/** A running stand-in; `await using` shuts it down, hanging answers included. */
export interface ModelServer extends AsyncDisposable {
  /** `http://127.0.0.1:PORT`, without a trailing slash. */
  readonly url: string;
  /** What every API plays; setting it (between runs) also restarts the model-call counts. */
  scenario: string;
  /** The outage played before the scenario; setting it also restarts the model-call counts. */
  outage: Outage | null;
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
  outage(status: OutageStatus): Response;
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
    outage: anthropic.outage,
    handle: anthropic.handle,
  },
  openai: {
    routes: openai.ROUTES,
    isModelCall: openai.isModelCall,
    outage: openai.outage,
    handle: openai.handle,
  },
  gemini: {
    routes: gemini.ROUTES,
    isModelCall: gemini.isModelCall,
    outage: gemini.outage,
    handle: gemini.handle,
  },
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
export function startModelServer(
  options: { scenario?: string; outage?: Outage } = {},
): ModelServer {
  const started = performance.now();
  const requests: RecordedRequest[] = [];
  const counts: Record<ApiName, number> = { anthropic: 0, openai: 0, gemini: 0 };
  let scenario = options.scenario ?? "success_tool";
  let outage = options.outage ?? null;
  const restartCounts = () => {
    for (const api of Object.keys(counts) as ApiName[]) counts[api] = 0;
  };
  // Aborted on dispose: ends every hanging or stalled answer, which graceful shutdown awaits.
  const stopping = new AbortController();

  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    async (request) => {
      const bodyText = await request.text();
      const url = new URL(request.url);
      const api = apiFor(url.pathname);
      const modelCall = api !== null && APIS[api].isModelCall(request, bodyText);
      const callIndex = modelCall ? counts[api!]++ : null;
      const down = callIndex !== null && outage !== null && callIndex < (outage.calls ?? Infinity);
      const record: RecordedRequest = {
        api,
        method: request.method,
        path: url.pathname,
        query: url.search,
        headers: headersOfInterest(request.headers),
        body: parseBody(bodyText),
        modelCall,
        callIndex,
        scenario: down ? `outage ${outage!.status}` : scenario,
        atMs: Math.round(performance.now() - started),
        receivedAt: Date.now(),
        status: null,
        answer: null,
      };
      requests.push(record);
      // The scenario counts its own calls: the outage's come before its first.
      const outageCalls = outage === null ? 0 : outage.calls ?? 0;
      const response = api === null
        ? notServed(url.pathname)
        : down
        ? APIS[api].outage(outage!.status)
        : await APIS[api].handle(
          withStopSignal(request, stopping.signal),
          bodyText,
          scenario,
          (callIndex ?? counts[api]) - outageCalls,
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
      restartCounts();
    },
    get outage() {
      return outage;
    },
    set outage(value: Outage | null) {
      outage = value;
      restartCounts();
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

/**
 * An address on 127.0.0.1 where nothing listens, for a model service that cannot be reached: a
 * port the system just gave a listener, closed again, so every connection to it is refused.
 */
export function unreachableUrl(): string {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr;
  listener.close();
  return `http://127.0.0.1:${port}`;
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
