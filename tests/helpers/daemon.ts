/** A stand-in for the TeleClaude daemon: a real HTTP/1.1 server on a Unix socket. */

/** How the stand-in answers `GET /health`. */
export type DaemonMode = "healthy" | "error" | "hang";

/** A running stand-in; `await using` stops it. */
export interface FakeDaemon extends AsyncDisposable {
  requests: string[];
}

/** Starts a stand-in daemon on `path`. */
export function startFakeDaemon(path: string, mode: DaemonMode): FakeDaemon {
  const listener = Deno.listen({ transport: "unix", path });
  const requests: string[] = [];
  const open = new Set<Deno.Conn>();
  const serve = async () => {
    for await (const conn of listener) {
      open.add(conn);
      void (async () => {
        const buffer = new Uint8Array(1024);
        const count = await conn.read(buffer).catch(() => null);
        if (count) {
          requests.push(new TextDecoder().decode(buffer.subarray(0, count)).split("\r\n")[0]!);
        }
        if (mode === "hang") return;
        const status = mode === "healthy" ? "200 OK" : "500 Internal Server Error";
        await conn.write(
          new TextEncoder().encode(`HTTP/1.1 ${status}\r\nContent-Length: 2\r\n\r\nok`),
        ).catch(() => {});
        conn.close();
        open.delete(conn);
      })();
    }
  };
  const served = serve().catch(() => {});
  return {
    requests,
    async [Symbol.asyncDispose]() {
      listener.close();
      for (const conn of open) {
        try {
          conn.close();
        } catch {
          // Already closed by the client.
        }
      }
      await served;
      await Deno.remove(path).catch(() => {});
    },
  };
}
