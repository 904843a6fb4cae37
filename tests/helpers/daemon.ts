/** A stand-in for the TeleClaude daemon: a real HTTP/1.1 server on a Unix socket. */

/** How the stand-in answers `GET /health`. */
export type DaemonMode = "healthy" | "error" | "hang";

/** One `POST /events/emit` the stand-in received. */
export interface ReceivedEvent {
  headers: Record<string, string>;
  /** The EventEnvelope, parsed. */
  envelope: Record<string, unknown>;
}

/** A running stand-in; `await using` stops it. */
export interface FakeDaemon extends AsyncDisposable {
  /** Every request line, in order. */
  requests: string[];
  /** Every event posted (also those it refused). */
  events: ReceivedEvent[];
  /** The status `POST /events/emit` answers with (default 202). */
  eventStatus: number;
}

/** Starts a stand-in daemon on `path`. */
export function startFakeDaemon(path: string, mode: DaemonMode): FakeDaemon {
  const listener = Deno.listen({ transport: "unix", path });
  const open = new Set<Deno.Conn>();
  const daemon: FakeDaemon = {
    requests: [],
    events: [],
    eventStatus: 202,
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
  const serve = async () => {
    for await (const conn of listener) {
      open.add(conn);
      void answer(conn, daemon, mode).finally(() => {
        open.delete(conn);
        try {
          conn.close();
        } catch {
          // Already closed.
        }
      });
    }
  };
  const served = serve().catch(() => {});
  return daemon;
}

async function answer(conn: Deno.Conn, daemon: FakeDaemon, mode: DaemonMode): Promise<void> {
  const request = await readRequest(conn);
  if (request === null) return;
  daemon.requests.push(request.line);
  if (mode === "hang") {
    // Never answers; waits for the client to give up and close.
    const sink = new Uint8Array(1024);
    while ((await conn.read(sink).catch(() => null)) !== null) {
      // Discard.
    }
    return;
  }
  let status = mode === "healthy" ? 200 : 500;
  if (request.line.startsWith("POST /events/emit ")) {
    daemon.events.push({ headers: request.headers, envelope: JSON.parse(request.body) });
    status = daemon.eventStatus;
  }
  await conn.write(
    new TextEncoder().encode(`HTTP/1.1 ${status} X\r\nContent-Length: 2\r\n\r\nok`),
  ).catch(() => {});
}

/** Reads one request: its line, its headers (names lower-cased) and its body. */
async function readRequest(
  conn: Deno.Conn,
): Promise<{ line: string; headers: Record<string, string>; body: string } | null> {
  const buffer = new Uint8Array(65536);
  let bytes = new Uint8Array(0);
  for (;;) {
    const text = new TextDecoder().decode(bytes);
    const end = text.indexOf("\r\n\r\n");
    if (end !== -1) {
      const [line, ...fields] = text.slice(0, end).split("\r\n");
      const headers = Object.fromEntries(fields.map((field) => {
        const colon = field.indexOf(":");
        return [field.slice(0, colon).toLowerCase(), field.slice(colon + 1).trim()];
      }));
      const length = Number(headers["content-length"] ?? 0);
      const body = bytes.subarray(new TextEncoder().encode(text.slice(0, end + 4)).length);
      if (body.length >= length) {
        return { line: line!, headers, body: new TextDecoder().decode(body.subarray(0, length)) };
      }
    }
    const count = await conn.read(buffer).catch(() => null);
    if (count === null) return null;
    bytes = new Uint8Array([...bytes, ...buffer.subarray(0, count)]);
  }
}
