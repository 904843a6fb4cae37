import assert from "node:assert/strict";
import { join } from "node:path";
import { commandOutput, findProgram, isExecutableFile } from "../lib/subprocess.ts";
import { makeSandbox, readStateFile, runCli, writeConfig, writeFile } from "./helpers/sandbox.ts";

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

Deno.test("findProgram() takes a loop of links or an overlong name for no program, never a throw", async () => {
  await using sandbox = await makeSandbox();
  await Deno.symlink(join(sandbox.dir, "b"), join(sandbox.dir, "a"));
  await Deno.symlink(join(sandbox.dir, "a"), join(sandbox.dir, "b"));
  assert.equal(isExecutableFile(join(sandbox.dir, "a")), false);
  assert.equal(isExecutableFile(join(sandbox.dir, "a", "claude")), false);
  assert.equal(isExecutableFile(join(sandbox.dir, "x".repeat(5000))), false);
  await writeFile(join(sandbox.bin, "tool"), "#!/bin/sh\n", true);
  // A looping folder first on the PATH is passed over: the program after it is found.
  assert.equal(
    findProgram("tool", `${join(sandbox.dir, "a")}:${sandbox.bin}`),
    join(sandbox.bin, "tool"),
  );
});

Deno.test("an agent binary behind a loop of links fails its job by name, and the doctor says so", async () => {
  await using sandbox = await makeSandbox();
  const loop = join(sandbox.dir, "loop");
  await Deno.symlink(`${loop}-2`, loop);
  await Deno.symlink(loop, `${loop}-2`);
  await writeConfig(
    sandbox,
    `agents: { claude: { binary: ${
      JSON.stringify(loop)
    } } }\njobs:\n  j: { job: s, when: { every: 1d } }\n`,
    ["s"],
  );
  const run = await runCli(sandbox, []);
  assert.equal(run.code, 1, run.stderr);
  assert.doesNotMatch(run.stdout + run.stderr, /runner error|internal error|\n\s+at /);
  const error = (await readStateFile(sandbox)).jobs.j!.last_error as string;
  assert.ok(error.includes(loop), error);
  const doctor = await runCli(sandbox, ["--doctor"]);
  assert.equal(doctor.code, 1, doctor.stderr);
  assert.doesNotMatch(doctor.stderr, /internal error/);
});
