/**
 * Talking to the TeleClaude daemon over HTTP/1.1 on its Unix socket, each exchange bounded in
 * time: the health check (`GET /health`), which decides only the role an agent job gets, and
 * the event platform (`POST /events/emit`, `notify/channels.ts`). No job needs the daemon.
 */

import { DEFAULT_ROLE } from "./config/job.ts";

/** `healthy` when the daemon answered 200; otherwise why not (for a debug line at most). */
export type DaemonHealth = { healthy: true } | { healthy: false; reason: string };

/** The role an agent job runs with: its configured role when the daemon is healthy, else admin. */
export function resolveRole(configuredRole: string, health: DaemonHealth): string {
  return health.healthy ? configuredRole : DEFAULT_ROLE;
}

/**
 * Asks the daemon on `socketPath` whether it is healthy. An absent, refusing, hanging or
 * unhappy daemon is `{ healthy: false }`. A Deno permission error is a bug in the runner's
 * permission flags, not an absent daemon: it is thrown, never turned into a silent admin.
 */
export async function checkDaemonHealth(
  socketPath: string,
  timeoutMs = 1000,
): Promise<DaemonHealth> {
  const answer = await daemonRequest(socketPath, { method: "GET", path: "/health" }, timeoutMs);
  if ("error" in answer) return { healthy: false, reason: answer.error };
  return answer.status === 200
    ? { healthy: true }
    : { healthy: false, reason: `status ${answer.status}` };
}

/** One request to the daemon. */
export interface DaemonRequest {
  method: "GET" | "POST";
  path: string;
  headers?: Record<string, string>;
  /** A JSON body, sent with its length. */
  body?: string;
}

/**
 * The daemon's final answer (interim 1xx answers read through): its status, headers (names in
 * lower case) and body, cut at the byte bound; or why there was none. `reached: false` means no
 * byte of the request left this process (no daemon listens): the daemon cannot have acted on it.
 */
export type DaemonAnswer =
  | { status: number; headers: Record<string, string>; body: string; cut: boolean }
  | { error: string; reached: boolean };

/** The most of an answer kept by default: a status line, headers and an error body. */
const MAX_ANSWER_BYTES = 64 * 1024;

/**
 * Sends one request and reads the answer, within `timeoutMs` and `maxBytes`. Never throws for a
 * daemon that is absent, refusing, hanging or not speaking HTTP; throws for a Deno permission
 * error (a bug in the runner's flags).
 */
export async function daemonRequest(
  socketPath: string,
  request: DaemonRequest,
  timeoutMs: number,
  maxBytes = MAX_ANSWER_BYTES,
): Promise<DaemonAnswer> {
  let connection: Deno.UnixConn | null = null;
  let reached = false;
  let late = false;
  const closeConnection = () => {
    try {
      connection?.close();
    } catch (error) {
      if (!(error instanceof Deno.errors.BadResource)) throw error;
    }
    connection = null;
  };
  let timer: ReturnType<typeof setTimeout> | undefined;
  const deadline = new Promise<DaemonAnswer>((resolve) => {
    timer = setTimeout(() => {
      // Closing the connection also ends a read that is waiting on a hanging daemon.
      late = true;
      closeConnection();
      resolve({ error: `no answer within ${timeoutMs} ms`, reached });
    }, timeoutMs);
  });
  const ask = async (): Promise<DaemonAnswer> => {
    try {
      const connected = await Deno.connect({ transport: "unix", path: socketPath });
      // Connected after the deadline: the caller has its answer (not reached), so nothing is sent
      // that the daemon could act on behind it, and nothing read with no deadline left.
      if (late) {
        connected.close();
        return { error: `no answer within ${timeoutMs} ms`, reached: false };
      }
      connection = connected;
      reached = true;
      await writeAll(connection, new TextEncoder().encode(requestText(request)));
      return await readAnswer(connection, maxBytes);
    } catch (error) {
      if (error instanceof Deno.errors.NotCapable) throw error;
      if (error instanceof Deno.errors.PermissionDenied && isDenoPermission(error)) throw error;
      return { error: error instanceof Error ? error.message : String(error), reached };
    } finally {
      closeConnection();
    }
  };
  try {
    return await Promise.race([ask(), deadline]);
  } finally {
    clearTimeout(timer);
  }
}

function requestText(request: DaemonRequest): string {
  const body = request.body ?? "";
  const headers: Record<string, string> = {
    Host: "teleclaude",
    Connection: "close",
    ...(request.body === undefined ? {} : {
      "Content-Type": "application/json",
      "Content-Length": String(new TextEncoder().encode(body).length),
    }),
    ...request.headers,
  };
  const lines = Object.entries(headers).map(([name, value]) => `${name}: ${value}`);
  return `${request.method} ${request.path} HTTP/1.1\r\n${lines.join("\r\n")}\r\n\r\n${body}`;
}

function isDenoPermission(error: Error): boolean {
  return /--allow-|Requires .* access/.test(error.message);
}

async function writeAll(conn: Deno.UnixConn, bytes: Uint8Array): Promise<void> {
  let written = 0;
  while (written < bytes.length) written += await conn.write(bytes.subarray(written));
}

/** Reads until the final answer is whole, the daemon closes, or `maxBytes` have come. */
async function readAnswer(conn: Deno.UnixConn, maxBytes: number): Promise<DaemonAnswer> {
  const buffer = new Uint8Array(16 * 1024);
  let bytes: Uint8Array = new Uint8Array(0);
  for (;;) {
    const count = await conn.read(buffer);
    const ended = count === null;
    if (!ended) bytes = concat(bytes, buffer.subarray(0, count));
    const cut = bytes.length >= maxBytes;
    const answer = parseAnswer(bytes.subarray(0, maxBytes), ended || cut);
    if (answer !== null) return answer;
  }
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const joined = new Uint8Array(a.length + b.length);
  joined.set(a);
  joined.set(b, a.length);
  return joined;
}

/**
 * The final answer in `bytes`, or null while more is needed. Interim answers (100 Continue,
 * 103 Early Hints) come before it and are skipped. `last`: nothing more will come.
 */
export function parseAnswer(bytes: Uint8Array, last: boolean): DaemonAnswer | null {
  let at = 0;
  for (;;) {
    const head = headOf(bytes, at);
    if (head === null) {
      if (!last) return null;
      const start = new TextDecoder().decode(bytes.subarray(at, at + 80)).split("\r\n")[0];
      return { error: `not an HTTP answer: ${JSON.stringify(start)}`, reached: true };
    }
    if ("error" in head) return head;
    if (head.status >= 100 && head.status < 200 && head.status !== 101) {
      at = head.bodyAt;
      continue;
    }
    const body = bodyOf(bytes.subarray(head.bodyAt), head.headers, last);
    if (body === null) return null;
    return { status: head.status, headers: head.headers, body: body.text, cut: body.cut };
  }
}

/** The status line and headers starting at `at`, or null while they are not all in. */
function headOf(
  bytes: Uint8Array,
  at: number,
): { status: number; headers: Record<string, string>; bodyAt: number } | {
  error: string;
  reached: true;
} | null {
  const text = new TextDecoder("latin1").decode(bytes.subarray(at));
  const end = text.indexOf("\r\n\r\n");
  if (end === -1) return null;
  const [statusLine = "", ...lines] = text.slice(0, end).split("\r\n");
  const match = /^HTTP\/1\.[01] (\d{3})/.exec(statusLine);
  if (!match) {
    return {
      error: `not an HTTP answer: ${JSON.stringify(statusLine.slice(0, 80))}`,
      reached: true,
    };
  }
  const headers: Record<string, string> = {};
  for (const line of lines) {
    const colon = line.indexOf(":");
    if (colon > 0) {
      headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
    }
  }
  return { status: Number(match[1]), headers, bodyAt: at + end + 4 };
}

/** The body as its headers frame it (length, chunks, or the connection's end). */
function bodyOf(
  bytes: Uint8Array,
  headers: Record<string, string>,
  last: boolean,
): { text: string; cut: boolean } | null {
  const decode = (part: Uint8Array) => new TextDecoder().decode(part);
  if (/\bchunked\b/i.test(headers["transfer-encoding"] ?? "")) {
    const chunks = dechunk(bytes);
    if (chunks !== null) return { text: decode(chunks), cut: false };
    return last ? { text: decode(bytes), cut: true } : null;
  }
  const length = headers["content-length"];
  if (length !== undefined && /^\d+$/.test(length)) {
    if (bytes.length >= Number(length)) {
      return { text: decode(bytes.subarray(0, Number(length))), cut: false };
    }
    return last ? { text: decode(bytes), cut: true } : null;
  }
  return last ? { text: decode(bytes), cut: false } : null;
}

/** A chunked body, joined; null while its last chunk has not come. */
function dechunk(bytes: Uint8Array): Uint8Array | null {
  const parts: Uint8Array[] = [];
  let at = 0;
  for (;;) {
    const lineEnd = indexOfCrlf(bytes, at);
    if (lineEnd === -1) return null;
    const size = parseInt(new TextDecoder().decode(bytes.subarray(at, lineEnd)), 16);
    if (!Number.isFinite(size)) return null;
    if (size === 0) return parts.reduce(concat, new Uint8Array(0));
    const start = lineEnd + 2;
    if (bytes.length < start + size + 2) return null;
    parts.push(bytes.subarray(start, start + size));
    at = start + size + 2;
  }
}

function indexOfCrlf(bytes: Uint8Array, from: number): number {
  for (let i = from; i + 1 < bytes.length; i++) {
    if (bytes[i] === 13 && bytes[i + 1] === 10) return i;
  }
  return -1;
}
