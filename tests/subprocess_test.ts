import assert from "node:assert/strict";
import { join } from "node:path";
import { commandOutput } from "../lib/subprocess.ts";
import { makeSandbox, writeFile } from "./helpers/sandbox.ts";

Deno.test("commandOutput() finds a program on the given PATH and gives it only the given env", async () => {
  await using sandbox = await makeSandbox();
  await writeFile(join(sandbox.bin, "probe"), '#!/bin/sh\necho "home=$HOME user=$USER"\n', true);
  const output = await commandOutput("probe", [], {
    path: sandbox.bin,
    env: { HOME: "/nowhere", PATH: "/usr/bin:/bin" },
  });
  assert.deepEqual(output, { success: true, stdout: "home=/nowhere user=\n", stderr: "" });
  assert.equal(await commandOutput("probe", [], { path: "/nonexistent" }), null);
});

Deno.test("commandOutput() with a deadline stops waiting even when a grandchild holds the pipes", async () => {
  await using sandbox = await makeSandbox();
  const grandchild = join(sandbox.dir, "grandchild.pid");
  await writeFile(
    join(sandbox.bin, "stuck"),
    `#!/bin/sh\necho started\nsleep 120 &\necho $! > "${grandchild}"\nwait\n`,
    true,
  );
  const began = performance.now();
  const output = await commandOutput(join(sandbox.bin, "stuck"), [], { timeoutMs: 300 });
  const waited = performance.now() - began;
  const pid = Number(await Deno.readTextFile(grandchild));
  try {
    assert.equal(output?.success, false);
    assert.equal(output?.stdout, "started\n");
    // Not the grandchild's 120 s: the pipes it still holds were let go.
    assert.ok(waited < 60_000, `waited ${waited} ms`);
  } finally {
    if (pid > 1) Deno.kill(pid, "SIGKILL");
  }
});
