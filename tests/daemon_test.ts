import assert from "node:assert/strict";
import { join } from "node:path";
import { checkDaemonHealth, resolveRole } from "../lib/daemon.ts";
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
