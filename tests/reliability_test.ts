/**
 * The 3 a.m. cases, with real processes under a temp HOME: a storm of runners, a runner killed
 * with -9, a job that ignores SIGTERM, SIGTERM to the runner, a job gone silent.
 */

import assert from "node:assert/strict";
import { startFakeDaemon } from "./helpers/daemon.ts";
import { join } from "node:path";
import { readRecord, writeFakeAgent } from "./helpers/fake_agent.ts";
import {
  MAIN,
  makeSandbox,
  permissionFlags,
  processAlive,
  readStateFile,
  runCli,
  type Sandbox,
  spawnCli,
  waitFor,
  writeConfig,
  writeFile,
} from "./helpers/sandbox.ts";

const FAST_GRACE = { TELECLAUDE_CRON_GRACE_MS: "500" };

async function hangingAgentJob(sandbox: Sandbox, extra = ""): Promise<void> {
  await writeConfig(
    sandbox,
    `jobs:\n  stuck: { job: stuck, idle_timeout: 0, when: { every: 1d }${extra} }\n`,
    [
      "stuck",
    ],
  );
  await writeFakeAgent(sandbox.bin, "claude", { kind: "hang" });
}

async function runningRecord(sandbox: Sandbox): Promise<{ pgid: number } | null> {
  try {
    return ((await readStateFile(sandbox)).jobs.stuck?.running as { pgid: number } | undefined) ??
      null;
  } catch {
    return null;
  }
}

Deno.test("a storm of runners started at once runs the job exactly once", async () => {
  await using sandbox = await makeSandbox();
  await writeConfig(sandbox, "jobs:\n  once: { script: jobs/once.sh, when: { every: 1h } }\n");
  await writeFile(
    join(sandbox.project, "jobs/once.sh"),
    "#!/bin/sh\necho $$ >> ran.txt\nsleep 1\n",
    true,
  );
  const runners = await Promise.all(
    Array.from({ length: 8 }, () => spawnCli(sandbox, ["--config", sandbox.config])),
  );
  const outputs = await Promise.all(runners.map((child) => child.output()));
  assert.deepEqual(outputs.map((output) => output.code), Array(8).fill(0));
  const lines = (await Deno.readTextFile(join(sandbox.project, "ran.txt"))).trim().split("\n");
  assert.equal(lines.length, 1);
  // Each runner either met the lock or took it; of those that took it exactly one ran the job
  // (the ones after it found the job no longer due).
  const stdouts = outputs.map((output) => new TextDecoder().decode(output.stdout));
  // The holder's PID is "unknown" when it has taken the lock but not yet written its PID.
  const busy = stdouts.filter((out) =>
    /another cron runner \(pid (\d+|unknown)\) is active/.test(out)
  );
  const ran = stdouts.filter((out) => /event=runner_done ran=1 failed=0/.test(out));
  const idle = stdouts.filter((out) => /event=runner_done ran=0 failed=0/.test(out));
  assert.equal(ran.length, 1);
  assert.equal(busy.length + ran.length + idle.length, 8);
  assert.ok(busy.length >= 1, "runners started together met the lock");
  await assert.rejects(
    Deno.stat(join(sandbox.home, ".teleclaude/cron_runner.pid")),
    Deno.errors.NotFound,
  );
});

Deno.test("a job that ignores SIGTERM is killed with its grandchild after the timeout and grace", async () => {
  await using sandbox = await makeSandbox();
  await hangingAgentJob(sandbox, ", timeout: 1");
  const result = await runCli(sandbox, [], FAST_GRACE);
  assert.equal(result.code, 1, result.stderr);
  const entry = (await readStateFile(sandbox)).jobs.stuck!;
  assert.equal(entry.outcome, "timed_out");
  assert.equal(entry.last_error, "timed out after 1s");
  assert.ok((entry.duration_ms as number) <= 1000 + 500 + 1000, `took ${entry.duration_ms} ms`);
  const child = Number(await readRecord(sandbox.records, "claude", "pid"));
  const grandchild = Number(await Deno.readTextFile(join(sandbox.records, "claude.grandchild")));
  assert.equal(await processAlive(child), false);
  assert.equal(await processAlive(grandchild), false);
  assert.match(await Deno.readTextFile(entry.log_path as string), /^started$/m);
});

Deno.test("a signal to the runner stops the job's whole group, records it and exits 128+N", async (t) => {
  const cases: [Deno.Signal, number, number][] = [
    ["SIGTERM", 1, 143],
    ["SIGTERM", 2, 143],
    ["SIGINT", 1, 130],
    ["SIGHUP", 1, 129],
  ];
  for (const [signal, signals, code] of cases) {
    const name = `${signal}${signals === 2 ? ", and a second one during shutdown" : ""}`;
    await t.step(name, async () => {
      await using sandbox = await makeSandbox();
      await hangingAgentJob(sandbox);
      const runner = await spawnCli(sandbox, ["--config", sandbox.config], FAST_GRACE);
      const running = await waitFor(
        () => runningRecord(sandbox),
        "the job to be recorded as running",
      );
      await waitFor(
        () => Deno.stat(join(sandbox.records, "claude.grandchild")).catch(() => null),
        "the grandchild",
      );
      for (let count = 0; count < signals; count++) runner.kill(signal);
      const output = await runner.output();
      assert.equal(output.code, code, new TextDecoder().decode(output.stderr));
      const entry = (await readStateFile(sandbox)).jobs.stuck!;
      assert.equal(entry.outcome, "interrupted");
      assert.equal(entry.last_error, `interrupted by ${signal}`);
      assert.equal(entry.running, undefined);
      const grandchild = Number(
        await Deno.readTextFile(join(sandbox.records, "claude.grandchild")),
      );
      assert.equal(await processAlive(running.pgid), false);
      assert.equal(await processAlive(grandchild), false);
      await assert.rejects(
        Deno.stat(join(sandbox.home, ".teleclaude/cron_runner.pid")),
        Deno.errors.NotFound,
      );
    });
  }
});

Deno.test("kill -9 of the runner mid-job is found, recorded and cleaned up by the next run", async () => {
  await using sandbox = await makeSandbox();
  await hangingAgentJob(sandbox);
  const runner = await spawnCli(sandbox, ["--config", sandbox.config], FAST_GRACE);
  const running = await waitFor(() => runningRecord(sandbox), "the job to be recorded as running");
  await waitFor(
    () => Deno.stat(join(sandbox.records, "claude.grandchild")).catch(() => null),
    "the grandchild",
  );
  runner.kill("SIGKILL");
  await runner.output();
  // The job's group outlives the runner (it is detached): the next run must stop it.
  assert.equal(await processAlive(running.pgid), true);
  await using daemon = startFakeDaemon(sandbox.socket, "healthy");
  const next = await runCli(sandbox, [], FAST_GRACE);
  assert.equal(next.code, 0, next.stderr);
  assert.match(next.stderr, /event=job_interrupted job=stuck/);
  const entry = (await readStateFile(sandbox)).jobs.stuck!;
  assert.equal(entry.outcome, "interrupted");
  // Counted and told like any failure.
  assert.equal(entry.failures, 1);
  assert.deepEqual(entry.runs, { interrupted: 1 });
  const told = daemon.events.map((event) => event.envelope.payload as Record<string, unknown>);
  assert.deepEqual(told.map((event) => [event.event, event.job, event.outcome]), [
    ["job.failed", "stuck", "interrupted"],
  ]);
  assert.match(
    entry.last_error as string,
    /^interrupted: the runner \(pid \d+\) stopped during the run; its leftover processes \(group \d+\) were stopped$/,
  );
  assert.equal(entry.running, undefined);
  // The interrupted run counts as the last run: no immediate retry.
  assert.doesNotMatch(next.stdout, /event=job_started/);
  const grandchild = Number(await Deno.readTextFile(join(sandbox.records, "claude.grandchild")));
  await waitFor(
    async () => !(await processAlive(running.pgid)) && !(await processAlive(grandchild)),
    "the leftover group to be gone",
    3000,
  );
});

Deno.test("a job silent for idle_timeout seconds is stopped as hung", async () => {
  await using sandbox = await makeSandbox();
  await writeConfig(
    sandbox,
    "jobs:\n  quiet: { job: quiet, idle_timeout: 1, when: { every: 1d } }\n",
    ["quiet"],
  );
  await writeFakeAgent(sandbox.bin, "claude", { kind: "silent-then-exit", seconds: 30 });
  const result = await runCli(sandbox, [], FAST_GRACE);
  assert.equal(result.code, 1);
  const entry = (await readStateFile(sandbox)).jobs.quiet!;
  assert.equal(entry.outcome, "idle");
  assert.equal(entry.last_error, "idle for 1s");
  assert.equal(
    await processAlive(Number(await readRecord(sandbox.records, "claude", "pid"))),
    false,
  );
});

Deno.test("a script job's timeout stops its whole tree; an idle_timeout is honoured when set", async () => {
  await using sandbox = await makeSandbox();
  await writeConfig(
    sandbox,
    "jobs:\n  slow: { script: jobs/slow.sh, timeout: 1, when: { every: 1d } }\n  quiet: { script: jobs/slow.sh, idle_timeout: 1, when: { every: 1d } }\n",
  );
  await writeFile(
    join(sandbox.project, "jobs/slow.sh"),
    `#!/bin/sh\nsleep 30 &\necho $! >> "${sandbox.records}/sleepers"\nwait\n`,
    true,
  );
  const result = await runCli(sandbox, [], FAST_GRACE);
  assert.equal(result.code, 1);
  const state = await readStateFile(sandbox);
  assert.equal(state.jobs.slow?.last_error, "timed out after 1s");
  assert.equal(state.jobs.quiet?.last_error, "idle for 1s");
  const sleepers = (await Deno.readTextFile(join(sandbox.records, "sleepers"))).trim().split("\n")
    .map(Number);
  assert.equal(sleepers.length, 2);
  for (const pid of sleepers) assert.equal(await processAlive(pid), false);
});

Deno.test("a signal during an idle tick leaves the state whole and the lock free", async () => {
  await using sandbox = await makeSandbox();
  await writeConfig(sandbox, "jobs:\n  later: { script: /bin/true, when: { every: 1h } }\n");
  const first = await runCli(sandbox, []);
  assert.equal(first.code, 0, first.stderr);
  const state = await Deno.readTextFile(join(sandbox.home, ".teleclaude/cron_state.json"));
  // Signals at every moment of idle ticks: from start-up to after the lock is taken.
  for (const delayMs of [5, 20, 40, 60, 80, 100, 150]) {
    const runner = await spawnCli(sandbox, ["--config", sandbox.config]);
    await new Promise((resolve) => setTimeout(resolve, delayMs));
    try {
      runner.kill("SIGTERM");
    } catch {
      // It had already finished: that is a tick too.
    }
    const status = await runner.status;
    // Killed by the signal (Deno's default action) or finished first; never another exit code.
    assert.ok(status.signal === "SIGTERM" || status.code === 0, JSON.stringify(status));
  }
  assert.equal(
    await Deno.readTextFile(join(sandbox.home, ".teleclaude/cron_state.json")),
    state,
    "an idle tick never rewrites the state",
  );
  const after = await runCli(sandbox, []);
  assert.equal(after.code, 0, after.stderr);
  assert.match(after.stdout, /event=runner_done ran=0 failed=0/);
});

/**
 * The live processes (zombies left out) whose command line holds `marker`, asked of POSIX `ps`
 * as on macOS; null for none.
 */
async function processesWith(marker: string): Promise<number[] | null> {
  const output = await new Deno.Command("ps", {
    args: ["-A", "-o", "pid=,stat=,args="],
    stdout: "piped",
    stderr: "null",
  }).output();
  const pids = new TextDecoder().decode(output.stdout).split("\n")
    .map((line) => line.trim().split(/\s+/))
    .filter(([, stat, ...args]) => !stat?.startsWith("Z") && args.join(" ").includes(marker))
    .map(([pid]) => Number(pid));
  return pids.length > 0 ? pids : null;
}

/**
 * A script job that notes each start and runs a while: two copies at once would show. Returns
 * the file of starts and the script's path (what its process's command line holds).
 */
async function notingJob(sandbox: Sandbox, seconds: number): Promise<[string, string]> {
  await writeConfig(sandbox, "jobs:\n  once: { script: jobs/once-job.sh, when: { every: 1h } }\n");
  const started = join(sandbox.records, "started");
  const script = join(sandbox.project, "jobs/once-job.sh");
  await writeFile(script, `#!/bin/sh\necho $$ >> "${started}"\nsleep ${seconds}\n`, true);
  return [started, script];
}

const linesOf = (path: string) =>
  Deno.readTextFile(path).then((text) => text.trim().split("\n").filter(Boolean), () => []);

const hasStrace = Deno.build.os === "linux" &&
  // Traces something for real: a container without ptrace has strace, and it fails there.
  (await new Deno.Command("strace", {
    args: ["-f", "-o", "/dev/null", "true"],
    stdout: "null",
    stderr: "null",
  }).output().then((output) => output.success, () => false));

/**
 * A tick of the runner under strace, which holds it inside the system calls `filter` names (Linux
 * only: `hasStrace`), so a test kills it at that instant rather than racing a sleep.
 */
async function heldRunner(
  sandbox: Sandbox,
  filter: string[],
  args: string[] = [],
): Promise<Deno.ChildProcess> {
  const env = { ...sandbox.env, ...FAST_GRACE };
  return new Deno.Command("strace", {
    args: [
      "-f",
      "-o",
      "/dev/null",
      ...filter,
      Deno.execPath(),
      "run",
      "--quiet",
      ...await permissionFlags(env),
      MAIN,
      "--config",
      sandbox.config,
      ...args,
    ],
    cwd: sandbox.project,
    env,
    clearEnv: true,
    stdout: "null",
    stderr: "null",
  }).spawn();
}

/** strace's filter holding the runner `seconds` inside each `call` that names `path`. */
const holding = (call: string, path: string, seconds: number) => [
  "-P",
  path,
  "-e",
  `trace=${call}`,
  "-e",
  `inject=${call}:delay_enter=${seconds * 1_000_000}`,
];

/** The PID of the runner holding the lock, once it has written it (a dead one's left aside). */
function lockHolder(sandbox: Sandbox, dead: number | null = null): Promise<number> {
  const lock = join(sandbox.home, ".teleclaude/cron_runner.pid");
  return waitFor(async () => {
    // The holder writes its PID over the one a dead runner left, which may have been longer.
    const pid = Number(/\d+/.exec(await Deno.readTextFile(lock).catch(() => ""))?.[0]);
    return Number.isSafeInteger(pid) && pid > 1 && pid !== dead ? pid : null;
  }, "the runner's PID in its lock file");
}

Deno.test({
  name: hasStrace
    ? "a runner killed after spawning a job but before recording it leaves nothing running"
    : "a runner killed after spawning a job but before recording it leaves nothing running " +
      "(skipped: needs strace on Linux to hold the runner at that instant)",
  ignore: !hasStrace,
  async fn() {
    await using sandbox = await makeSandbox();
    const [started, script] = await notingJob(sandbox, 2);
    // Every rename the runner makes waits 1.5 s on entry: the running record's atomic write is
    // held there, after the job's process exists and before the record is on disk.
    const strace = await heldRunner(sandbox, [
      "-e",
      "trace=rename",
      "-e",
      "inject=rename:delay_enter=1500000",
    ]);
    const [job] = await waitFor(() => processesWith(script), "the job's process", 20_000);
    const runner = await lockHolder(sandbox);
    assert.equal((await readStateFile(sandbox)).jobs.once?.running, undefined, "not yet recorded");
    Deno.kill(runner, "SIGKILL");
    await strace.status;
    // Not recorded, so not started: the gate met the end of its stdin and never ran the job.
    await waitFor(async () => !(await processAlive(job!)), "the unrecorded job to be gone");
    assert.deepEqual(await linesOf(started), []);
    // The next tick finds nothing in flight and runs the job once.
    const next = await runCli(sandbox, [], FAST_GRACE);
    assert.equal(next.code, 0, next.stderr);
    assert.equal((await linesOf(started)).length, 1);
    assert.equal((await readStateFile(sandbox)).jobs.once?.outcome, "success");
  },
});

Deno.test("whenever the runner is killed mid-start, no job ever runs twice at once", async () => {
  await using sandbox = await makeSandbox();
  const [started, script] = await notingJob(sandbox, 3);
  for (let attempt = 0; attempt < 3; attempt++) {
    // Killed as soon as the job's process is seen: before or after its record, whichever it is.
    const runner = await spawnCli(sandbox, ["--config", sandbox.config, "--force"], FAST_GRACE);
    await waitFor(() => processesWith(script), "the job's process");
    runner.kill("SIGKILL");
    await runner.output();
    // The next tick either settles a recorded run (stopping it) or runs the job afresh.
    const next = spawnCli(sandbox, ["--config", sandbox.config, "--force"], FAST_GRACE);
    const watching = (async () => {
      let most = 0;
      for (const deadline = performance.now() + 4000; performance.now() < deadline;) {
        most = Math.max(most, (await processesWith(script))?.length ?? 0);
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      return most;
    })();
    const [output, most] = await Promise.all([(await next).output(), watching]);
    assert.equal(output.code, 0, new TextDecoder().decode(output.stderr));
    // The gate shell becomes the job (exec): one process per copy.
    assert.ok(most <= 1, `${most} copies of the job ran at once (attempt ${attempt})`);
  }
  assert.ok((await linesOf(started)).length >= 3, "each forced tick ran the job");
});

/** The runs `--history --json` lists, as `job:status@started`. */
async function historyRuns(sandbox: Sandbox): Promise<string[]> {
  const listed = await runCli(sandbox, ["--history", "--json"]);
  assert.equal(listed.code, 0, listed.stderr);
  const runs = JSON.parse(listed.stdout) as { job: string; status: string; started: string }[];
  return runs.map((run) => `${run.job}:${run.status}@${run.started}`);
}

Deno.test({
  name: hasStrace
    ? "a runner killed at any instant between a run's outcome and its history line leaves one line"
    : "a runner killed at any instant between a run's outcome and its history line leaves one line " +
      "(skipped: needs strace on Linux to hold the runner at those instants)",
  ignore: !hasStrace,
  async fn(t) {
    await using sandbox = await makeSandbox();
    await writeConfig(sandbox, "jobs:\n  once: { script: /bin/true, when: { every: 1h } }\n");
    const history = join(sandbox.home, ".teleclaude/cron_history.jsonl");
    const state = join(sandbox.home, ".teleclaude/cron_state.json");
    const entry = async () => (await readStateFile(sandbox).catch(() => null))?.jobs.once;
    const expected: string[] = [];

    await t.step("killed after the outcome's save, before the history is opened", async () => {
      const strace = await heldRunner(sandbox, holding("openat", history, 3));
      const recorded = await waitFor(
        async () => {
          const once = await entry();
          return once?.history_pending && once.running === undefined ? once : null;
        },
        "the outcome saved, its history line pending",
        20_000,
      );
      Deno.kill(await lockHolder(sandbox), "SIGKILL");
      await strace.status;
      assert.equal(recorded.last_status, "success");
      assert.deepEqual(await historyRuns(sandbox), [], "--list says success, --history has none");
      const next = await runCli(sandbox, []);
      assert.equal(next.code, 0, next.stderr);
      assert.match(next.stdout, /event=history_settled job=once .*appended=true/);
      expected.unshift(`once:success@${recorded.last_run}`);
      assert.deepEqual(await historyRuns(sandbox), expected);
      assert.equal((await entry())?.history_pending, undefined);
    });

    await t.step("killed after the line is written, before the save that drops it", async () => {
      // Every save of the state reads the file it replaces (is it worth keeping as .bak?) right
      // before its rename: held there 1.5 s, the save after the line is not made yet.
      const strace = await heldRunner(sandbox, holding("openat", state, 1.5), ["--force"]);
      const lines = await waitFor(
        async () => {
          const text = await Deno.readTextFile(history).catch(() => "");
          const count = text.split("\n").filter(Boolean).length;
          return count === expected.length + 1 ? text : null;
        },
        "the run's history line",
        30_000,
      );
      Deno.kill(await lockHolder(sandbox), "SIGKILL");
      await strace.status;
      const pending = (await entry())?.history_pending as { started: string } | undefined;
      assert.ok(pending, "the state still holds the line it had not dropped yet");
      assert.ok(lines.includes(pending.started));
      const next = await runCli(sandbox, []);
      assert.equal(next.code, 0, next.stderr);
      assert.match(next.stdout, /event=history_settled job=once .*appended=false/);
      expected.unshift(`once:success@${pending.started}`);
      assert.deepEqual(await historyRuns(sandbox), expected);
      assert.equal((await entry())?.history_pending, undefined);
    });

    await t.step("a dead runner's run, settled by a tick killed before its line", async () => {
      await writeConfig(sandbox, "jobs:\n  once: { script: jobs/hang.sh, when: { every: 1h } }\n");
      await writeFile(join(sandbox.project, "jobs/hang.sh"), "#!/bin/sh\nsleep 30\n", true);
      const runner = await spawnCli(sandbox, ["--config", sandbox.config, "--force"], FAST_GRACE);
      const running = await waitFor(async () => (await entry())?.running, "the run recorded");
      runner.kill("SIGKILL");
      await runner.output();
      const dead = (running as { runner_pid: number }).runner_pid;
      const strace = await heldRunner(sandbox, holding("openat", history, 3));
      await waitFor(
        async () => {
          const once = await entry();
          return once?.running === undefined && once?.outcome === "interrupted";
        },
        "the dead runner's run saved as interrupted",
        20_000,
      );
      Deno.kill(await lockHolder(sandbox, dead), "SIGKILL");
      await strace.status;
      const next = await runCli(sandbox, [], FAST_GRACE);
      assert.equal(next.code, 0, next.stderr);
      const started = (running as { started: string }).started;
      expected.unshift(`once:interrupted@${started}`);
      assert.deepEqual(await historyRuns(sandbox), expected);
      // And a tick more changes nothing.
      assert.equal((await runCli(sandbox, [])).code, 0);
      assert.deepEqual(await historyRuns(sandbox), expected);
    });
  },
});
