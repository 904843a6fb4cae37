/**
 * The TeleClaude daemon health check: `GET /health` over HTTP/1.1 on its Unix socket, bounded
 * by about a second. It decides only the role an agent job gets; no job needs the daemon.
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
  const deadline = new Promise<DaemonHealth>((resolve) => {
    timer = setTimeout(() => {
      // Closing the connection also ends a read that is waiting on a hanging daemon.
      closeConnection();
      resolve({ healthy: false, reason: `no answer within ${timeoutMs} ms` });
    }, timeoutMs);
  });
  const ask = async (): Promise<DaemonHealth> => {
    try {
      connection = await Deno.connect({ transport: "unix", path: socketPath });
      await connection.write(new TextEncoder().encode(
        "GET /health HTTP/1.1\r\nHost: teleclaude\r\nConnection: close\r\n\r\n",
      ));
      const statusLine = await readStatusLine(connection);
      const match = /^HTTP\/1\.[01] (\d{3})/.exec(statusLine);
      if (!match) {
        return {
          healthy: false,
          reason: `not an HTTP answer: ${JSON.stringify(statusLine.slice(0, 80))}`,
        };
      }
      return match[1] === "200"
        ? { healthy: true }
        : { healthy: false, reason: `status ${match[1]}` };
    } catch (error) {
      if (error instanceof Deno.errors.NotCapable) throw error;
      if (error instanceof Deno.errors.PermissionDenied && isDenoPermission(error)) throw error;
      return { healthy: false, reason: error instanceof Error ? error.message : String(error) };
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

function isDenoPermission(error: Error): boolean {
  return /--allow-|Requires .* access/.test(error.message);
}

async function readStatusLine(conn: Deno.UnixConn): Promise<string> {
  const buffer = new Uint8Array(512);
  let text = "";
  while (!text.includes("\r\n")) {
    const count = await conn.read(buffer);
    if (count === null) break;
    text += new TextDecoder().decode(buffer.subarray(0, count));
    if (text.length > 4096) break;
  }
  return text.split("\r\n")[0] ?? "";
}
