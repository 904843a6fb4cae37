/**
 * A stand-in for the TeleClaude daemon: a real HTTP/1.1 server on a Unix socket that behaves as
 * the daemon's own source says, at InstruktAI/TeleClaude commit 451f0fb89 (its files named
 * below). It keeps the behaviour that hurts, so a test fails whenever the runner sends something
 * the real daemon would take and tell nobody of:
 *
 * - `POST /events/emit` (`teleclaude/api/event_routes.py`): the caller is checked first
 *   (`teleclaude/api/auth.py` `verify_caller`, clearance "telec events emit": admin, member,
 *   contributor), then the body as an `EventEnvelope` (`teleclaude/events/envelope.py`: `event`,
 *   `source`, `level` 0–3 required, else 422). Only event, source, level, domain, description,
 *   payload, visibility and entity go on: the envelope's `idempotency_key` is dropped. No Redis
 *   (the event platform did not start): 500. Otherwise 200 `{"entry_id": …}` and the event is
 *   processed later, in order (the Redis stream and `teleclaude/events/processor.py`).
 * - The pipeline (`teleclaude/daemon_event_platform.py` `_build_pipeline`): trust flags an
 *   unknown source; dedup (`cartridges/dedup.py`) keys on the catalog's `idempotency_fields`
 *   read from the payload and drops a key any notification row has, resolved or not;
 *   classification; the notification projector (`cartridges/notification.py`, `events/db.py`)
 *   creates, updates or resolves rows for types with a lifecycle in the catalog
 *   (`events/catalog.py`, `events/schemas/`); a type with no schema is stored and nothing else.
 * - Delivery (`events/delivery/*.py`): a Telegram, Discord or WhatsApp adapter per admin with a
 *   chat id, each sending only a notification just created, and only at level ≥ 2 as posted.
 * - `GET /api/notifications` (`api/notifications_routes.py`, no auth; 503 without the event
 *   store), `GET /api/people` (`api/people_routes.py`), `GET /auth/whoami` and `GET /health`
 *   (`api_server.py`).
 *
 * What it leaves out, because the runner sends nothing it would act on: sessions and tokens
 * (any `X-Session-Token` or `X-Caller-Session-Id` is unknown: 401), the correlation cartridge's
 * synthetic `system.*` events, enrichment of `telec://` entities, web socket pushes. Catalog
 * types other than those below are treated as unregistered: a test sending one fails rather
 * than passes on a belief.
 */

/** How the stand-in answers at all: as the daemon, every request with 500, or never. */
export type DaemonMode = "healthy" | "error" | "hang";

/** A person of the daemon's global config (`people:`) and the chats of their own config. */
export interface Person {
  name: string;
  email: string;
  role: "admin" | "member" | "contributor" | "newcomer";
  /** The chats their `~/.teleclaude/people/<name>/teleclaude.yml` `creds` give an id for. */
  chats?: ("telegram" | "discord" | "whatsapp")[];
}

/** How the stand-in daemon is set up. */
export interface StandInOptions {
  /** The people of its config; none by default (single-user mode: the caller is admin). */
  people?: Person[];
  /** Whether its event platform reached Redis at startup; default true. */
  redis?: boolean;
  /** How long after accepting an event it is processed (the processor's read loop). */
  processingDelayMs?: number;
}

/**
 * An answer something between the runner and the daemon gives instead (a proxy, an overload),
 * to the next `times` requests for `path`: answers the daemon's own code never gives.
 */
export type Fault =
  & { path: string; times?: number }
  & (
    | { kind: "status"; status: number; headers?: Record<string, string>; body?: string }
    /** Interim 1xx answers before the daemon's own. */
    | { kind: "interim" }
    /** The daemon's own answer, after a delay. */
    | { kind: "slow"; ms: number }
    /** The daemon takes the event, then never answers. */
    | { kind: "accept-then-hang" }
  );

/**
 * What processing an accepted event came to: a notification created, updated or resolved; a
 * duplicate dropped by dedup; or nothing at all (an unregistered type, a resolution of no
 * notification): accepted with 200, and told to nobody.
 */
export type Effect = "created" | "updated" | "resolved" | "duplicate" | "nothing";

/** One `POST /events/emit` the stand-in received, what it answered, and what became of it. */
export interface ReceivedEvent {
  headers: Record<string, string>;
  /** The body, parsed (empty when it was not JSON). */
  envelope: Record<string, unknown>;
  status: number;
  /** Once processed (`settled()`), for an accepted event. */
  effect?: Effect;
}

/** A row of the daemon's `notifications` table (`events/db.py` `NotificationRow`). */
export interface NotificationRow {
  id: number;
  event_type: string;
  version: number;
  source: string;
  level: number;
  domain: string;
  visibility: string;
  entity: string | null;
  description: string;
  /** As stored: the payload's JSON text. */
  payload: string;
  idempotency_key: string | null;
  human_status: string;
  agent_status: string;
  agent_id: string | null;
  resolution: string | null;
  created_at: string;
  updated_at: string;
  seen_at: string | null;
  claimed_at: string | null;
  resolved_at: string | null;
}

/** What a delivery adapter sent: to whom, by which chat, and its text. */
export interface ChatMessage {
  person: string;
  chat: string;
  text: string;
  notification: number;
}

/** A running stand-in; `await using` stops it. */
export interface FakeDaemon extends AsyncDisposable {
  /** Every request line, in order. */
  requests: string[];
  /** Every event posted, with the status it got. */
  events: ReceivedEvent[];
  /** The notifications table. */
  notifications: NotificationRow[];
  /** What reached a person's chat. */
  chats: ChatMessage[];
  /** Answers to give instead of the daemon's; each used up after `times` requests. */
  faults: Fault[];
  /** Resolves once every event accepted so far has been processed. */
  settled(): Promise<void>;
  /** The payload of a notification row, parsed. */
  payloadOf(row: NotificationRow): Record<string, unknown>;
}

/** Starts a stand-in daemon on `path`. */
export function startFakeDaemon(
  path: string,
  mode: DaemonMode = "healthy",
  options: StandInOptions = {},
): FakeDaemon {
  const listener = Deno.listen({ transport: "unix", path });
  const open = new Set<Deno.Conn>();
  const platform = new EventPlatform(options);
  const daemon: FakeDaemon = {
    requests: [],
    events: [],
    notifications: platform.rows,
    chats: platform.chats,
    faults: [],
    settled: () => platform.settled(),
    payloadOf: (row) => JSON.parse(row.payload),
    async [Symbol.asyncDispose]() {
      listener.close();
      for (const conn of open) closeQuietly(conn);
      await served;
      await platform.settled();
      await Deno.remove(path).catch(() => {});
    },
  };
  const serve = async () => {
    for await (const conn of listener) {
      open.add(conn);
      void answer(conn, daemon, platform, mode, options).finally(() => {
        open.delete(conn);
        closeQuietly(conn);
      });
    }
  };
  const served = serve().catch(() => {});
  return daemon;
}

function closeQuietly(conn: Deno.Conn): void {
  try {
    conn.close();
  } catch {
    // Already closed.
  }
}

/** A parsed request. */
interface Request {
  method: string;
  path: string;
  query: URLSearchParams;
  line: string;
  headers: Record<string, string>;
  body: string;
}

/** An answer: status, JSON (or text) body, extra headers. */
interface Answer {
  status: number;
  body: unknown;
  headers?: Record<string, string>;
}

async function answer(
  conn: Deno.Conn,
  daemon: FakeDaemon,
  platform: EventPlatform,
  mode: DaemonMode,
  options: StandInOptions,
): Promise<void> {
  const request = await readRequest(conn);
  if (request === null) return;
  daemon.requests.push(request.line);
  const fault = takeFault(daemon, request.path);
  if (mode === "hang" || fault?.kind === "accept-then-hang") {
    if (fault) route(request, daemon, platform, options);
    return await waitForClose(conn);
  }
  // A status fault answers in the daemon's place: the daemon never sees the request.
  const reply: Answer = fault?.kind === "status"
    ? stand(request, daemon, fault)
    : mode === "error"
    ? { status: 500, body: "Internal Server Error" }
    : route(request, daemon, platform, options);
  if (fault?.kind === "slow") await new Promise((resolve) => setTimeout(resolve, fault.ms));
  const interim = fault?.kind === "interim"
    ? "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </x>; rel=preload\r\n\r\n"
    : "";
  await conn.write(new TextEncoder().encode(interim + responseText(reply))).catch(() => {});
}

/** The answer of a status fault, the event it kept from the daemon recorded with it. */
function stand(
  request: Request,
  daemon: FakeDaemon,
  fault: Extract<Fault, { kind: "status" }>,
): Answer {
  if (request.path === "/events/emit") {
    let envelope: Record<string, unknown> = {};
    try {
      envelope = JSON.parse(request.body);
    } catch {
      // Recorded as an empty envelope.
    }
    daemon.events.push({ headers: request.headers, envelope, status: fault.status });
  }
  return { status: fault.status, body: fault.body ?? "", headers: fault.headers ?? {} };
}

function takeFault(daemon: FakeDaemon, path: string): Fault | null {
  const index = daemon.faults.findIndex((fault) => path.startsWith(fault.path));
  if (index === -1) return null;
  const fault = daemon.faults[index]!;
  const times = (fault.times ?? 1) - 1;
  if (times <= 0) daemon.faults.splice(index, 1);
  else fault.times = times;
  return fault;
}

/** Never answers; waits for the client to give up and close. */
async function waitForClose(conn: Deno.Conn): Promise<void> {
  const sink = new Uint8Array(1024);
  while ((await conn.read(sink).catch(() => null)) !== null) {
    // Discard.
  }
}

function responseText(reply: Answer): string {
  const text = typeof reply.body === "string" ? reply.body : JSON.stringify(reply.body);
  const type = typeof reply.body === "string" ? "text/plain; charset=utf-8" : "application/json";
  const headers = {
    "content-length": String(new TextEncoder().encode(text).length),
    "content-type": type,
    ...reply.headers,
  };
  const lines = Object.entries(headers).map(([name, value]) => `${name}: ${value}`);
  return `HTTP/1.1 ${reply.status} ${REASONS[reply.status] ?? "Unknown"}\r\n${
    lines.join("\r\n")
  }\r\n\r\n${text}`;
}

const REASONS: Record<number, string> = {
  200: "OK",
  401: "Unauthorized",
  403: "Forbidden",
  404: "Not Found",
  405: "Method Not Allowed",
  422: "Unprocessable Entity",
  429: "Too Many Requests",
  500: "Internal Server Error",
  503: "Service Unavailable",
};

/** The routes the runner uses, as FastAPI answers them. */
function route(
  request: Request,
  daemon: FakeDaemon,
  platform: EventPlatform,
  options: StandInOptions,
): Answer {
  const people = options.people ?? [];
  const get = (path: string) => request.path === path && request.method === "GET";
  if (request.path === "/events/emit" && request.method === "POST") {
    let envelope: Record<string, unknown> = {};
    try {
      envelope = JSON.parse(request.body);
    } catch {
      // Recorded as an empty envelope; the answer says why.
    }
    const received: ReceivedEvent = { headers: request.headers, envelope, status: 0 };
    daemon.events.push(received);
    const reply = emit(request, people, platform, (effect) => received.effect = effect);
    received.status = reply.status;
    return reply;
  }
  if (get("/health")) return { status: 200, body: { status: "ok" } };
  if (get("/auth/whoami")) {
    const caller = verifyCaller(request.headers, people);
    return "status" in caller
      ? caller
      : { status: 200, body: { principal: null, role: caller.role } };
  }
  if (get("/api/people")) {
    return {
      status: 200,
      body: people.map(({ name, email, role }) => ({
        name,
        email,
        role,
        expertise: null,
        proficiency: null,
      })),
    };
  }
  if (get("/api/notifications")) return platform.list(request.query);
  if (request.method === "GET" && /^\/api\/notifications\/\d+$/.test(request.path)) {
    const row = platform.rows.find((row) => `/api/notifications/${row.id}` === request.path);
    return row
      ? { status: 200, body: row }
      : { status: 404, body: { detail: "Notification not found" } };
  }
  return { status: 404, body: { detail: "Not Found" } };
}

/** `POST /events/emit`: the caller, then the envelope, then the producer. */
function emit(
  request: Request,
  people: Person[],
  platform: EventPlatform,
  onEffect: (effect: Effect) => void,
): Answer {
  const caller = verifyCaller(request.headers, people);
  if ("status" in caller) return caller;
  if (!["admin", "member", "contributor"].includes(caller.role)) {
    return {
      status: 403,
      body: { detail: `role '${caller.role}' is not permitted to call telec events emit` },
    };
  }
  const checked = checkEnvelope(request.body);
  if ("status" in checked) return checked;
  if (!platform.redis) return { status: 500, body: "Internal Server Error" };
  return { status: 200, body: { entry_id: platform.accept(checked, onEffect) } };
}

/** `auth.py` `verify_caller` for a terminal caller (no daemon session). */
function verifyCaller(
  headers: Record<string, string>,
  people: Person[],
): { role: string } | Answer {
  if (headers["x-session-token"]) {
    return { status: 401, body: { detail: "invalid or expired session token" } };
  }
  if (headers["x-caller-session-id"]) return { status: 401, body: { detail: "unknown session" } };
  const email = (headers["x-telec-email"] || headers["x-web-user-email"] || "").trim()
    .toLowerCase();
  const person = email
    ? people.find((person) => person.email.trim().toLowerCase() === email)
    : undefined;
  if (person) return { role: person.role };
  if (people.length > 1) {
    return { status: 401, body: { detail: "login required in multi-user mode" } };
  }
  return { role: "admin" };
}

/** The envelope as the route passes it on: only these fields survive. */
interface Forwarded {
  event: string;
  source: string;
  level: number;
  domain: string;
  description: string;
  payload: Record<string, unknown>;
  visibility: string;
  entity: string | null;
}

/** Pydantic's check of an `EventEnvelope`; 422 with FastAPI's `detail` list when it fails. */
function checkEnvelope(body: string): Forwarded | Answer {
  let value: unknown;
  try {
    value = JSON.parse(body);
  } catch {
    return invalid([{ type: "json_invalid", loc: ["body"], msg: "JSON decode error" }]);
  }
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    return invalid([{ type: "model_attributes_type", loc: ["body"], msg: "not an object" }]);
  }
  const envelope = value as Record<string, unknown>;
  const problems: { type: string; loc: string[]; msg: string }[] = [];
  const expect = (
    field: string,
    ok: (value: unknown) => boolean,
    what: string,
    required = false,
  ) => {
    if (!(field in envelope)) {
      if (required) problems.push({ type: "missing", loc: ["body", field], msg: "Field required" });
      return;
    }
    if (!ok(envelope[field])) problems.push({ type: what, loc: ["body", field], msg: what });
  };
  const text = (value: unknown) => typeof value === "string";
  expect("event", text, "string_type", true);
  expect("source", text, "string_type", true);
  expect(
    "level",
    (v) => Number.isInteger(v) && (v as number) >= 0 && (v as number) <= 3,
    "enum",
    true,
  );
  expect("version", Number.isInteger, "int_type");
  expect("idempotency_key", (v) => v === null || text(v), "string_type");
  expect("domain", text, "string_type");
  expect("entity", (v) => v === null || text(v), "string_type");
  expect("description", text, "string_type");
  expect("visibility", (v) => ["local", "cluster", "public"].includes(v as string), "enum");
  expect("payload", (v) => v !== null && typeof v === "object" && !Array.isArray(v), "dict_type");
  if (problems.length > 0) return invalid(problems);
  return {
    event: envelope.event as string,
    source: envelope.source as string,
    level: envelope.level as number,
    domain: (envelope.domain as string | undefined) ?? "",
    description: (envelope.description as string | undefined) ?? "",
    payload: (envelope.payload as Record<string, unknown> | undefined) ?? {},
    visibility: (envelope.visibility as string | undefined) ?? "local",
    entity: (envelope.entity as string | null | undefined) ?? null,
  };
}

function invalid(detail: { type: string; loc: string[]; msg: string }[]): Answer {
  return { status: 422, body: { detail } };
}

/** A catalog schema's part the pipeline reads (`events/catalog.py` `EventSchema`). */
interface Schema {
  idempotencyFields: string[];
  lifecycle: {
    creates?: boolean;
    updates?: boolean;
    resolves?: boolean;
    groupKey?: string;
    meaningfulFields?: string[];
  } | null;
  actionable: boolean;
}

/** `events/schemas/notification.py`: the types meant for a person. */
const CATALOG: Record<string, Schema> = {
  "notification.escalation": {
    idempotencyFields: ["escalation_id"],
    lifecycle: { creates: true, meaningfulFields: ["escalation_id", "reason"] },
    actionable: true,
  },
  "notification.resolution": {
    idempotencyFields: ["escalation_id"],
    lifecycle: { resolves: true, groupKey: "escalation_id" },
    actionable: false,
  },
};

/** `daemon_event_platform.py` `_build_pipeline_context`: the sources trust knows. */
const KNOWN_SOURCES = new Set(["daemon", "prepare-worker", "review-worker", "correlation"]);

/** The event platform: the stream, the pipeline, the notifications table, the adapters. */
class EventPlatform {
  readonly rows: NotificationRow[] = [];
  readonly chats: ChatMessage[] = [];
  readonly redis: boolean;
  private readonly delayMs: number;
  private readonly people: Person[];
  private pending: Promise<void> = Promise.resolve();
  private sequence = 0;
  private lastStamp = 0;

  constructor(options: StandInOptions) {
    this.redis = options.redis ?? true;
    this.delayMs = options.processingDelayMs ?? 20;
    this.people = options.people ?? [];
  }

  /** XADD: the entry's id; the processor reads it a moment later, in order. */
  accept(event: Forwarded, onEffect: (effect: Effect) => void): string {
    const id = `${Date.now()}-${this.sequence++}`;
    this.pending = this.pending.then(async () => {
      await new Promise((resolve) => setTimeout(resolve, this.delayMs));
      onEffect(this.process(structuredClone(event)));
    });
    return id;
  }

  settled(): Promise<void> {
    return this.pending;
  }

  /** The system pipeline, in its order (`_build_pipeline`). */
  private process(event: Forwarded): Effect {
    if (!KNOWN_SOURCES.has(event.source)) {
      event.payload = { ...event.payload, _trust_flags: ["unknown_source"] };
    }
    const schema = CATALOG[event.event] ?? null;
    let key: string | null = null;
    if (schema && schema.idempotencyFields.length > 0) {
      key = [event.event, ...schema.idempotencyFields.map((f) => pyStr(event.payload[f] ?? ""))]
        .join(":");
      const updatesOnly = schema.lifecycle?.updates && !schema.lifecycle.creates;
      if (!updatesOnly && this.rows.some((row) => row.idempotency_key === key)) return "duplicate";
    }
    event.payload = {
      ...event.payload,
      _classification: {
        treatment: schema?.lifecycle ? "notification-worthy" : "signal-only",
        actionable: schema?.actionable ?? false,
      },
    };
    return schema?.lifecycle ? this.project(event, schema, key) : "nothing";
  }

  /** `cartridges/notification.py` `NotificationProjectorCartridge`. */
  private project(event: Forwarded, schema: Schema, key: string | null): Effect {
    const lc = schema.lifecycle!;
    const group = (field: string) => this.findByGroup(field, pyStr(event.payload[field] ?? ""));
    let row: NotificationRow | undefined;
    let created = false;
    if (lc.updates && lc.groupKey) {
      // Created and updated by group, or updated only: an existing row of the group is updated.
      row = group(lc.groupKey);
      if (row) this.update(row, event);
      else [row, created] = this.upsert(event, key);
    } else if (lc.creates) {
      [row, created] = this.upsert(event, key);
    } else if (lc.resolves && lc.groupKey) {
      row = group(lc.groupKey);
      if (!row) return "nothing";
      const now = this.stamp();
      Object.assign(row, {
        agent_status: "resolved",
        resolution: JSON.stringify(event.payload),
        resolved_at: now,
        updated_at: now,
      });
      return "resolved";
    }
    if (row && created && event.level >= 2) this.deliver(row);
    return row === undefined ? "nothing" : created ? "created" : "updated";
  }

  private update(row: NotificationRow, event: Forwarded): void {
    Object.assign(row, {
      description: event.description,
      payload: JSON.stringify(event.payload),
      updated_at: this.stamp(),
    });
  }

  /** `EventDB.upsert_by_idempotency_key`. */
  private upsert(event: Forwarded, key: string | null): [NotificationRow, boolean] {
    const existing = key === null ? undefined : this.rows.find((r) => r.idempotency_key === key);
    if (existing) {
      this.update(existing, event);
      return [existing, false];
    }
    const now = this.stamp();
    const row: NotificationRow = {
      id: this.rows.length + 1,
      event_type: event.event,
      version: 1,
      source: event.source,
      level: event.level,
      domain: event.domain,
      visibility: event.visibility,
      entity: event.entity,
      description: event.description,
      payload: JSON.stringify(event.payload),
      idempotency_key: key,
      human_status: "unseen",
      agent_status: "none",
      agent_id: null,
      resolution: null,
      created_at: now,
      updated_at: now,
      seen_at: null,
      claimed_at: null,
      resolved_at: null,
    };
    this.rows.push(row);
    return [row, true];
  }

  /** `EventDB.find_by_group_key`: the newest row whose payload has that value (a string). */
  private findByGroup(field: string, value: string): NotificationRow | undefined {
    return this.rows.toReversed().find((row) => JSON.parse(row.payload)[field] === value);
  }

  /** The delivery adapters, one per admin chat: `[type] Notification #N created.` */
  private deliver(row: NotificationRow): void {
    for (const person of this.people) {
      if (person.role !== "admin") continue;
      for (const chat of person.chats ?? []) {
        this.chats.push({
          person: person.name,
          chat,
          text: `[${row.event_type}] Notification #${row.id} created.`,
          notification: row.id,
        });
      }
    }
  }

  /** `GET /api/notifications`, newest first, with its filters. */
  list(query: URLSearchParams): Answer {
    if (!this.redis) return { status: 503, body: { detail: "Event DB not available" } };
    const number = (name: string, fallback: number) => {
      const text = query.get(name);
      return text === null ? fallback : /^-?\d+$/.test(text) ? Number(text) : NaN;
    };
    const limit = number("limit", 50);
    const offset = number("offset", 0);
    const level = number("level", -1);
    if (!(limit >= 1 && limit <= 200) || !(offset >= 0) || Number.isNaN(level)) {
      return invalid([{ type: "int_parsing", loc: ["query"], msg: "bad query" }]);
    }
    const equal = (name: string, value: string) => !query.has(name) || query.get(name) === value;
    const rows = this.rows.filter((row) =>
      row.level >= level && equal("domain", row.domain) &&
      equal("human_status", row.human_status) &&
      equal("agent_status", row.agent_status) && equal("visibility", row.visibility) &&
      (!query.has("since") || row.created_at >= query.get("since")!)
    ).toSorted((a, b) => (a.created_at < b.created_at ? 1 : -1));
    return { status: 200, body: rows.slice(offset, offset + limit) };
  }

  /** `datetime.now(UTC).isoformat()`: microseconds and `+00:00`, strictly increasing here. */
  private stamp(): string {
    const now = Math.max(Date.now() * 1000, this.lastStamp + 1);
    this.lastStamp = now;
    const iso = new Date(Math.floor(now / 1000)).toISOString().slice(0, 19);
    return `${iso}.${String(now % 1_000_000).padStart(6, "0")}+00:00`;
  }
}

/** Python's `str()` of a JSON value, as the dedup key is built. */
function pyStr(value: unknown): string {
  if (value === null) return "None";
  if (value === true) return "True";
  if (value === false) return "False";
  if (typeof value === "string") return value;
  return JSON.stringify(value);
}

/** Reads one request: its line, its headers (names lower-cased) and its body. */
async function readRequest(conn: Deno.Conn): Promise<Request | null> {
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
        const [method = "", target = ""] = line!.split(" ");
        const url = new URL(target, "http://teleclaude");
        return {
          method,
          path: url.pathname,
          query: url.searchParams,
          line: line!,
          headers,
          body: new TextDecoder().decode(body.subarray(0, length)),
        };
      }
    }
    const count = await conn.read(buffer).catch(() => null);
    if (count === null) return null;
    const grown = new Uint8Array(bytes.length + count);
    grown.set(bytes);
    grown.set(buffer.subarray(0, count), bytes.length);
    bytes = grown;
  }
}
