import assert from "node:assert/strict";
import { join } from "node:path";
import { checkDaemonHealth, daemonRequest, parseAnswer, resolveRole } from "../lib/daemon.ts";
import { startFakeDaemon } from "./helpers/daemon.ts";
import { makeSandbox, ROOT } from "./helpers/sandbox.ts";

Deno.test("checkDaemonHealth() is healthy only on a 200 answer", async (t) => {
  await using sandbox = await makeSandbox();
  await t.step("absent", async () => {
    const health = await checkDaemonHealth(sandbox.socket);
    assert.equal(health.healthy, false);
  });
  await t.step("healthy", async () => {
    await using daemon = startFakeDaemon(sandbox.socket, "healthy");
    assert.deepEqual(await checkDaemonHealth(sandbox.socket), { healthy: true });
    assert.deepEqual(daemon.requests, ["GET /health HTTP/1.1"]);
  });
  await t.step("answering 500", async () => {
    await using _daemon = startFakeDaemon(sandbox.socket, "error");
    assert.deepEqual(await checkDaemonHealth(sandbox.socket), {
      healthy: false,
      reason: "status 500",
    });
  });
  await t.step("hanging, bounded by the timeout", async () => {
    await using _daemon = startFakeDaemon(sandbox.socket, "hang");
    const started = performance.now();
    assert.deepEqual(await checkDaemonHealth(sandbox.socket, 300), {
      healthy: false,
      reason: "no answer within 300 ms",
    });
    assert.ok(performance.now() - started < 3000);
  });
});

Deno.test("resolveRole() uses the configured role only when the daemon is healthy", () => {
  assert.equal(resolveRole("member", { healthy: true }), "member");
  assert.equal(resolveRole("member", { healthy: false, reason: "absent" }), "admin");
});

Deno.test("a missing Deno permission on the socket is thrown, not turned into a silent admin", async () => {
  await using sandbox = await makeSandbox();
  const script = join(sandbox.dir, "probe.ts");
  await Deno.writeTextFile(
    script,
    `import { checkDaemonHealth } from ${JSON.stringify(join(ROOT, "lib/daemon.ts"))};
try { console.log(JSON.stringify(await checkDaemonHealth(${JSON.stringify(sandbox.socket)}))); }
catch (error) { console.log("threw " + error.constructor.name); }`,
  );
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--no-prompt", "--quiet", `--allow-read=${ROOT}`, script],
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.equal(new TextDecoder().decode(output.stdout).trim(), "threw NotCapable");
});

Deno.test("daemonRequest() reads an interim 1xx answer through to the daemon's own", async () => {
  await using sandbox = await makeSandbox();
  await using daemon = startFakeDaemon(sandbox.socket, "healthy");
  daemon.faults.push({ path: "/health", kind: "interim" });
  const answer = await daemonRequest(sandbox.socket, { method: "GET", path: "/health" }, 2000);
  assert.ok("status" in answer, JSON.stringify(answer));
  assert.equal(answer.status, 200);
  assert.deepEqual(JSON.parse(answer.body), { status: "ok" });
});

/** Posts an envelope to the stand-in as any client would; its status and parsed body. */
async function emit(
  socket: string,
  envelope: unknown,
  email?: string,
): Promise<{ status: number; body: unknown }> {
  const answer = await daemonRequest(socket, {
    method: "POST",
    path: "/events/emit",
    headers: email ? { "X-Telec-Email": email } : {},
    body: JSON.stringify(envelope),
  }, 2000);
  if (!("status" in answer)) throw new Error(answer.error);
  let body: unknown = answer.body;
  try {
    body = JSON.parse(answer.body);
  } catch {
    // Plain text (a 500).
  }
  return { status: answer.status, body };
}

const escalation = (id: string, level = 3, extra: Record<string, unknown> = {}) => ({
  event: "notification.escalation",
  source: "teleclaude-cron",
  level,
  domain: "cron",
  description: `escalated ${id}`,
  payload: { escalation_id: id, reason: "r", ...extra },
});

Deno.test("the stand-in daemon keeps what hurts in the real one (TeleClaude 451f0fb89)", async (t) => {
  await using sandbox = await makeSandbox();
  const people = [
    { name: "Ops", email: "ops@example.com", role: "admin" as const, chats: ["telegram" as const] },
    { name: "New", email: "new@example.com", role: "newcomer" as const },
  ];
  await using daemon = startFakeDaemon(sandbox.socket, "healthy", { people });
  await t.step("a bad or missing level, source or event: 422", async () => {
    for (const bad of [{ ...escalation("a"), level: 4 }, { ...escalation("a"), level: "3" }]) {
      assert.equal((await emit(sandbox.socket, bad, "ops@example.com")).status, 422);
    }
    const { source: _, ...sourceless } = escalation("a");
    assert.equal((await emit(sandbox.socket, sourceless, "ops@example.com")).status, 422);
  });
  await t.step("two people, no email or an unknown one: 401; a newcomer: 403", async () => {
    const none = await emit(sandbox.socket, escalation("a"));
    assert.deepEqual(none, { status: 401, body: { detail: "login required in multi-user mode" } });
    assert.equal((await emit(sandbox.socket, escalation("a"), "who@example.com")).status, 401);
    assert.equal((await emit(sandbox.socket, escalation("a"), "NEW@example.com ")).status, 403);
    // Authorisation comes before the body is checked.
    assert.equal((await emit(sandbox.socket, { level: 9 })).status, 401);
  });
  await t.step("an unregistered type: 200, and nothing is made of it", async () => {
    const signal = { ...escalation("s"), event: "cron.job.failed" };
    const answer = await emit(sandbox.socket, signal, "ops@example.com");
    assert.equal(answer.status, 200);
    assert.match((answer.body as { entry_id: string }).entry_id, /^\d+-\d+$/);
    await daemon.settled();
    assert.equal(daemon.events.at(-1)!.effect, "nothing");
    assert.equal(daemon.notifications.length, 0);
  });
  await t.step(
    "dedup keys on the payload's escalation_id only, and outlives a resolution",
    async () => {
      await emit(sandbox.socket, { ...escalation("e1"), idempotency_key: "k" }, "ops@example.com");
      await emit(sandbox.socket, { ...escalation("e2"), idempotency_key: "k" }, "ops@example.com");
      await emit(sandbox.socket, escalation("e1"), "ops@example.com");
      const resolution = { ...escalation("e1", 2), event: "notification.resolution" };
      await emit(sandbox.socket, resolution, "ops@example.com");
      await emit(sandbox.socket, escalation("e1"), "ops@example.com");
      await daemon.settled();
      assert.deepEqual(daemon.events.slice(-5).map((event) => event.effect), [
        "created",
        "created",
        "duplicate",
        "resolved",
        "duplicate",
      ]);
      const [e1] = daemon.notifications;
      assert.equal(e1!.agent_status, "resolved");
      assert.equal(e1!.idempotency_key, "notification.escalation:e1");
      assert.deepEqual(daemon.payloadOf(e1!)._trust_flags, ["unknown_source"]);
    },
  );
  await t.step("only a new notification at level 2 or more reaches an admin's chat", async () => {
    const before = daemon.chats.length;
    await emit(sandbox.socket, escalation("quiet", 1), "ops@example.com");
    await daemon.settled();
    assert.equal(daemon.chats.length, before, "level 1 makes a row and sends nothing");
    assert.equal(daemon.notifications.at(-1)!.level, 1);
    assert.deepEqual(daemon.chats.map((chat) => chat.text), [
      "[notification.escalation] Notification #1 created.",
      "[notification.escalation] Notification #2 created.",
    ]);
  });
  await t.step(
    "GET /api/notifications lists rows newest first, payloads as JSON text",
    async () => {
      const answer = await daemonRequest(sandbox.socket, {
        method: "GET",
        path: "/api/notifications?domain=cron&limit=2",
      }, 2000);
      assert.ok("status" in answer && answer.status === 200);
      const rows = JSON.parse(answer.body) as { id: number; payload: string }[];
      assert.deepEqual(rows.map((row) => row.id), [3, 2]);
      assert.equal(JSON.parse(rows[0]!.payload).escalation_id, "quiet");
      const bad = await daemonRequest(sandbox.socket, {
        method: "GET",
        path: "/api/notifications?limit=500",
      }, 2000);
      assert.ok("status" in bad && bad.status === 422);
    },
  );
  await t.step("GET /health, /auth/whoami and /api/people", async () => {
    const get = async (path: string, email?: string) => {
      const answer = await daemonRequest(sandbox.socket, {
        method: "GET",
        path,
        headers: email ? { "X-Telec-Email": email } : {},
      }, 2000);
      return "status" in answer ? [answer.status, JSON.parse(answer.body)] : answer;
    };
    assert.deepEqual(await get("/health"), [200, { status: "ok" }]);
    assert.deepEqual(await get("/auth/whoami", "new@example.com"), [200, {
      principal: null,
      role: "newcomer",
    }]);
    assert.equal((await get("/auth/whoami") as [number])[0], 401);
    assert.deepEqual(
      ((await get("/api/people")) as [number, { name: string; role: string }[]])[1]
        .map((person) => [person.name, person.role]),
      [["Ops", "admin"], ["New", "newcomer"]],
    );
  });
});

Deno.test("the stand-in daemon without Redis: events 500, its notifications list 503", async () => {
  await using sandbox = await makeSandbox();
  await using _daemon = startFakeDaemon(sandbox.socket, "healthy", { redis: false });
  assert.deepEqual(await emit(sandbox.socket, escalation("a")), {
    status: 500,
    body: "Internal Server Error",
  });
  const list = await daemonRequest(sandbox.socket, {
    method: "GET",
    path: "/api/notifications",
  }, 2000);
  assert.ok("status" in list && list.status === 503);
});

Deno.test("daemonRequest() reads chunked and close-delimited bodies, and cuts at its bound", () => {
  const bytes = (text: string) => new TextEncoder().encode(text);
  const chunked =
    "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n";
  assert.deepEqual(parseAnswer(bytes(chunked), false), {
    status: 200,
    headers: { "transfer-encoding": "chunked" },
    body: "hello world",
    cut: false,
  });
  assert.equal(parseAnswer(bytes(chunked.slice(0, 60)), false), null, "waits for the rest");
  const closed = "HTTP/1.0 200 OK\r\n\r\nuntil the end";
  assert.equal(parseAnswer(bytes(closed), false), null);
  assert.equal((parseAnswer(bytes(closed), true) as { body: string }).body, "until the end");
  const long = "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nshort";
  assert.equal((parseAnswer(bytes(long), true) as { cut: boolean }).cut, true);
  assert.deepEqual(parseAnswer(bytes("SSH-2.0-OpenSSH\r\n\r\n"), true), {
    error: 'not an HTTP answer: "SSH-2.0-OpenSSH"',
    reached: true,
  });
});
