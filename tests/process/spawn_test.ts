import assert from "node:assert/strict";
import { join } from "node:path";
import { groupAlive } from "../../lib/process/process_group.ts";
import { runProcess, type SpawnRequest } from "../../lib/process/spawn.ts";
import { makeSandbox, processAlive, waitFor } from "../helpers/sandbox.ts";

function request(dir: string, script: string, overrides: Partial<SpawnRequest> = {}): SpawnRequest {
  return {
    command: "sh",
    args: ["-c", script],
    cwd: dir,
    env: {},
    stdin: null,
    logPath: join(dir, "run.log"),
    maxLogBytes: 10 * 1024 * 1024,
    timeoutMs: 10_000,
    graceMs: 500,
    idleTimeoutMs: 0,
    ...overrides,
  };
}

Deno.test("runProcess() returns the exit code and copies both streams into the log", async () => {
  await using sandbox = await makeSandbox();
  const result = await runProcess(request(sandbox.dir, "echo out; echo err >&2; exit 4"));
  assert.equal(result.kind, "exited");
  assert.ok(result.kind === "exited" && result.code === 4);
  assert.equal(result.stdoutTail, "out\n");
  const log = await Deno.readTextFile(join(sandbox.dir, "run.log"));
  assert.deepEqual(log.split("\n").filter(Boolean).sort(), ["err", "out"]);
});

Deno.test("runProcess() feeds stdin and passes the environment through with additions", async () => {
  await using sandbox = await makeSandbox();
  const result = await runProcess(
    request(sandbox.dir, 'read line; echo "$line/$EXTRA/$HOME"', {
      stdin: "hello\n",
      env: { EXTRA: "x" },
    }),
  );
  assert.equal(result.stdoutTail, `hello/x/${Deno.env.get("HOME")}\n`);
});

Deno.test("runProcess() sweeps what a job left in its group after it exits", async () => {
  await using sandbox = await makeSandbox();
  // Like an agent CLI that leaves an MCP server behind, holding stdout open.
  const result = await runProcess(
    request(sandbox.dir, `sleep 60 & echo $! > ${sandbox.dir}/left; exit 0`),
  );
  assert.equal(result.kind, "exited");
  const leftover = Number(await Deno.readTextFile(join(sandbox.dir, "left")));
  await waitFor(async () => !(await processAlive(leftover)), "the leftover to be gone", 3000);
  assert.equal(await groupAlive(result.pid!), false);
});

Deno.test("runProcess() reports a program that cannot start as spawn-failed", async () => {
  await using sandbox = await makeSandbox();
  const result = await runProcess({
    ...request(sandbox.dir, ""),
    command: join(sandbox.dir, "missing"),
  });
  assert.equal(result.kind, "spawn-failed");
  assert.match(
    result.kind === "spawn-failed" ? result.error : "",
    /missing: no such file or directory/,
  );
});

Deno.test("runProcess() stops the group when asked and says by which signal", async () => {
  await using sandbox = await makeSandbox();
  const controller = new AbortController();
  const running = runProcess(
    request(sandbox.dir, "sleep 60", {
      stop: controller.signal,
      onStart: () => controller.abort("SIGINT"),
    }),
  );
  const result = await running;
  assert.equal(result.kind, "interrupted");
  assert.ok(result.kind === "interrupted" && result.signal === "SIGINT");
  assert.equal(await groupAlive(result.pid!), false);
});

Deno.test("runProcess() never starts a job the runner cannot record as running", async () => {
  await using sandbox = await makeSandbox();
  const ran = join(sandbox.dir, "ran");
  let pid = 0;
  await assert.rejects(
    runProcess(request(sandbox.dir, `touch "${ran}"; sleep 60`, {
      onStart: (started) => {
        pid = started;
        throw new Error("disk full");
      },
    })),
    /disk full/,
  );
  assert.equal(await groupAlive(pid), false);
  assert.equal(await Deno.stat(ran).then(() => true, () => false), false, "the job never ran");
});

Deno.test("runProcess() starts a recorded job only once onStart has returned", async () => {
  await using sandbox = await makeSandbox();
  const ran = join(sandbox.dir, "ran");
  let seenBefore: boolean | null = null;
  const result = await runProcess(request(sandbox.dir, `echo "$$" > "${ran}"; cat`, {
    stdin: "the prompt\n",
    onStart: async () => {
      // Long enough for an ungated job to have started, even on a loaded machine (the gate's
      // deterministic proof is tests/reliability_test.ts, under strace).
      await new Promise((resolve) => setTimeout(resolve, 1000));
      seenBefore = await Deno.stat(ran).then(() => true, () => false);
    },
  }));
  assert.equal(seenBefore, false);
  assert.equal(result.kind, "exited");
  // The job's stdin starts right after the gate's line, and the gate became the job (one pid).
  assert.equal(result.stdoutTail, "the prompt\n");
  assert.equal(Number(await Deno.readTextFile(ran)), result.pid);
});

Deno.test("runProcess() says a recorded job's program cannot start as it says any other's", async () => {
  await using sandbox = await makeSandbox();
  const notExecutable = join(sandbox.dir, "plain.sh");
  await Deno.writeTextFile(notExecutable, "#!/bin/sh\n");
  for (
    const [command, error] of [
      [join(sandbox.dir, "missing"), /missing: no such file or directory$/],
      [notExecutable, /plain\.sh: permission denied \(is it executable\?\)$/],
      ["no-such-program-on-path", /no-such-program-on-path: no such file or directory$/],
    ] as const
  ) {
    let recorded = false;
    const result = await runProcess({
      ...request(sandbox.dir, ""),
      command,
      args: [],
      onStart: () => void (recorded = true),
    });
    assert.equal(result.kind, "spawn-failed", command);
    assert.match(result.kind === "spawn-failed" ? result.error : "", error);
    assert.equal(recorded, false, "nothing started, so nothing is recorded");
  }
});

Deno.test("runProcess() stops reading a pipe a process that left the group still holds", async () => {
  await using sandbox = await makeSandbox();
  // A grandchild in a session of its own (out of the runner's reach) keeps stdout open.
  const escapee = join(sandbox.dir, "escapee");
  const result = await runProcess(request(
    sandbox.dir,
    `perl -MPOSIX -e 'POSIX::setsid(); open(F, ">", "${escapee}"); print F $$; close F; exec "sleep", "30"' & ` +
      `while [ ! -s "${escapee}" ]; do sleep 0.05; done; echo done`,
  ));
  try {
    assert.equal(result.kind, "exited");
    assert.match(result.stdoutTail, /^done\n/);
  } finally {
    const pid = Number(await Deno.readTextFile(escapee));
    if (pid > 1) Deno.kill(pid, "SIGKILL");
  }
});

Deno.test("runProcess() says a recorded job's program that is a directory is one", async () => {
  await using sandbox = await makeSandbox();
  const result = await runProcess({
    ...request(sandbox.dir, ""),
    command: sandbox.dir,
    args: [],
    onStart: () => {},
  });
  assert.equal(result.kind, "spawn-failed");
  assert.match(
    result.kind === "spawn-failed" ? result.error : "",
    /: is a directory, not a program$/,
  );
});
