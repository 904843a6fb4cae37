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

/** The daemon's answer: its status and the start of its body; or why there was none. */
export type DaemonAnswer = { status: number; body: string } | { error: string };

/** The most of an answer kept: a status line, headers and the start of an error body. */
const MAX_ANSWER_BYTES = 8192;

/**
 * Sends one request and reads the answer, within `timeoutMs`. Never throws for a daemon that is
 * absent, refusing, hanging or not speaking HTTP; throws for a Deno permission error (a bug).
 */
export async function daemonRequest(
  socketPath: string,
  request: DaemonRequest,
  timeoutMs: number,
): Promise<DaemonAnswer> {
  let connection: Deno.UnixConn | null = null;
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
      closeConnection();
      resolve({ error: `no answer within ${timeoutMs} ms` });
    }, timeoutMs);
  });
  const ask = async (): Promise<DaemonAnswer> => {
    try {
      connection = await Deno.connect({ transport: "unix", path: socketPath });
      await writeAll(connection, new TextEncoder().encode(requestText(request)));
      return parseAnswer(await readAnswer(connection));
    } catch (error) {
      if (error instanceof Deno.errors.NotCapable) throw error;
      if (error instanceof Deno.errors.PermissionDenied && isDenoPermission(error)) throw error;
      return { error: error instanceof Error ? error.message : String(error) };
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

function parseAnswer(text: string): DaemonAnswer {
  const statusLine = text.split("\r\n")[0] ?? "";
  const match = /^HTTP\/1\.[01] (\d{3})/.exec(statusLine);
  if (!match) return { error: `not an HTTP answer: ${JSON.stringify(statusLine.slice(0, 80))}` };
  const bodyAt = text.indexOf("\r\n\r\n");
  return { status: Number(match[1]), body: bodyAt === -1 ? "" : text.slice(bodyAt + 4) };
}

function isDenoPermission(error: Error): boolean {
  return /--allow-|Requires .* access/.test(error.message);
}

async function writeAll(conn: Deno.UnixConn, bytes: Uint8Array): Promise<void> {
  let written = 0;
  while (written < bytes.length) written += await conn.write(bytes.subarray(written));
}

/** The answer up to the end of the connection or `MAX_ANSWER_BYTES`, whichever comes first. */
async function readAnswer(conn: Deno.UnixConn): Promise<string> {
  const buffer = new Uint8Array(2048);
  const decoder = new TextDecoder();
  let text = "";
  while (text.length < MAX_ANSWER_BYTES) {
    const count = await conn.read(buffer);
    if (count === null) break;
    text += decoder.decode(buffer.subarray(0, count), { stream: true });
    // A status with no body to wait for (health) need not wait for the daemon to close.
    if (/^HTTP\/1\.[01] \d{3}[^\r]*\r\n(?:[^\r]+\r\n)*\r\n/.test(text) && bodyComplete(text)) break;
  }
  return text;
}

/** Whether the headers are in and the body they announce (Content-Length) has arrived. */
function bodyComplete(text: string): boolean {
  const end = text.indexOf("\r\n\r\n");
  const length = /\r\ncontent-length:\s*(\d+)/i.exec(text.slice(0, end));
  if (!length) return !/\r\ntransfer-encoding:/i.test(text.slice(0, end));
  return new TextEncoder().encode(text.slice(end + 4)).length >= Number(length[1]);
}
