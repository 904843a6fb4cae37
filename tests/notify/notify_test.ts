/**
 * Notifications end to end: the runner as launchd starts it (`main.ts` under the production
 * permission flags), a stand-in daemon on a real Unix socket, a real command channel, and the
 * sandbox's stand-in desktop notifiers.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { startFakeDaemon } from "../helpers/daemon.ts";
import {
  desktopNotices,
  makeSandbox,
  readStateFile,
  runCli,
  type Sandbox,
  spawnCli,
  waitFor,
  writeConfig,
  writeFile,
} from "../helpers/sandbox.ts";

const outboxOf = (sandbox: Sandbox) => join(sandbox.home, ".teleclaude/cron_outbox.jsonl");

async function outboxLines(sandbox: Sandbox): Promise<Record<string, unknown>[]> {
  try {
    const text = await Deno.readTextFile(outboxOf(sandbox));
    return text.split("\n").filter(Boolean).map((line) => JSON.parse(line));
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return [];
    throw error;
  }
}

/** A job that fails, printing what it printed; hourly, so a second tick does not run it. */
async function failingJob(sandbox: Sandbox, notify = ""): Promise<void> {
  await writeConfig(
    sandbox,
    `${notify}jobs:\n  nightly: { script: jobs/fail.sh, when: { every: 1h } }\n`,
  );
  await writeFile(
    join(sandbox.project, "jobs/fail.sh"),
    '#!/bin/sh\necho "checking the backups"\necho "disk full" >&2\nexit 3\n',
    true,
  );
}

Deno.test("a failing job posts one EventEnvelope to the daemon, with what a person needs", async () => {
  await using sandbox = await makeSandbox();
  await failingJob(sandbox, "cron:\n  notify: { daemon: { email: ops@example.com } }\n");
  await using daemon = startFakeDaemon(sandbox.socket, "healthy");
  const result = await runCli(sandbox, [], { TELECLAUDE_COMPUTER: "mini" });
  assert.equal(result.code, 1);
  assert.equal(daemon.events.length, 1, result.stdout);
  const [{ headers, envelope }] = daemon.events as [typeof daemon.events[0]];
  assert.equal(headers["x-telec-email"], "ops@example.com");
  const state = await readStateFile(sandbox);
  const started = state.jobs.nightly!.last_run as string;
  assert.deepEqual(
    { ...envelope, payload: undefined },
    {
      event: "cron.job.failed",
      source: "teleclaude-cron",
      level: 1,
      domain: "cron",
      entity: "nightly",
      description: "nightly failed: exited with code 3",
      payload: undefined,
      idempotency_key: `nightly@${started}`,
    },
  );
  const payload = envelope.payload as Record<string, unknown>;
  assert.equal(payload.event, "job.failed");
  assert.equal(payload.job, "nightly");
  assert.equal(payload.outcome, "failed");
  assert.equal(payload.error, state.jobs.nightly!.last_error);
  assert.equal(payload.started, started);
  assert.equal(payload.failures, 1);
  assert.equal(payload.host, "mini");
  assert.equal(payload.log_path, state.jobs.nightly!.log_path);
  assert.match(payload.log_tail as string, /checking the backups[\s\S]*disk full/);
  assert.equal(typeof payload.duration_ms, "number");
  assert.match(result.stdout, /event=notified channel=daemon event=job.failed job=nightly/);
  // Delivered: nothing waits.
  assert.deepEqual(await outboxLines(sandbox), []);
});

Deno.test("with the daemon down the event waits in the outbox and is delivered once, later", async () => {
  await using sandbox = await makeSandbox();
  await failingJob(sandbox);
  const first = await runCli(sandbox, []);
  assert.equal(first.code, 1);
  assert.match(first.stderr, /event=notify_failed channel=daemon event=job.failed job=nightly/);
  const waiting = await outboxLines(sandbox);
  assert.equal(waiting.length, 1);
  assert.equal(waiting[0]!.channel, "daemon");
  assert.equal(waiting[0]!.attempts, 1);
  assert.equal((await Deno.stat(outboxOf(sandbox))).mode! & 0o777, 0o600);

  await using daemon = startFakeDaemon(sandbox.socket, "healthy");
  // The job is not due again; the tick delivers what waits, and only that.
  assert.equal((await runCli(sandbox, [])).code, 0);
  assert.equal(daemon.events.length, 1);
  const payload = daemon.events[0]!.envelope.payload as Record<string, unknown>;
  assert.equal(payload.job, "nightly");
  assert.deepEqual(await outboxLines(sandbox), []);
  await runCli(sandbox, []);
  assert.equal(daemon.events.length, 1, "delivered exactly once");
});

Deno.test("a daemon that refuses events (401) is not asked every tick, and --doctor says why", async () => {
  await using sandbox = await makeSandbox();
  await failingJob(sandbox);
  await using daemon = startFakeDaemon(sandbox.socket, "healthy");
  daemon.eventStatus = 401;
  await runCli(sandbox, []);
  assert.equal(daemon.events.length, 1);
  const [entry] = await outboxLines(sandbox);
  assert.equal(entry!.last_error, "daemon answered 401: ok");
  await runCli(sandbox, []);
  assert.equal(daemon.events.length, 1, "held an hour, not retried on the next tick");
  const doctor = await runCli(sandbox, ["--doctor", "--json"]);
  assert.equal(doctor.code, 1);
  const check = (JSON.parse(doctor.stdout) as { name: string; status: string; fix?: string }[])
    .find((check) => check.name === "notify daemon");
  assert.equal(check?.status, "fail");
  assert.match(check!.fix!, /cron\.notify\.daemon\.email/);
});

Deno.test("consecutive failures are told once; recovery is told; a muted job is not", async () => {
  await using sandbox = await makeSandbox();
  await writeConfig(
    sandbox,
    "jobs:\n  nightly: { script: jobs/job.sh }\n  noisy: { script: jobs/job.sh, notify: false }\n",
  );
  const job = join(sandbox.project, "jobs/job.sh");
  await writeFile(job, "#!/bin/sh\nexit 1\n", true);
  await using daemon = startFakeDaemon(sandbox.socket, "healthy");
  for (let run = 0; run < 3; run++) await runCli(sandbox, ["--force"]);
  assert.deepEqual(daemon.events.map((event) => event.envelope.event), ["cron.job.failed"]);
  const state = await readStateFile(sandbox);
  assert.equal(state.jobs.nightly!.failures, 3);
  assert.equal(state.jobs.noisy!.failures, 3);
  const list = await runCli(sandbox, ["--list"]);
  assert.match(list.stdout, /nightly .*told \d\d:\d\d \(1st failure\); 3 failures in a row/);
  assert.match(list.stdout, /noisy .*notifications off/);
  await writeFile(job, "#!/bin/sh\nexit 0\n", true);
  await runCli(sandbox, ["--force"]);
  assert.deepEqual(daemon.events.map((event) => event.envelope.event), [
    "cron.job.failed",
    "cron.job.recovered",
  ]);
  assert.equal(daemon.events[1]!.envelope.entity, "nightly");
});

Deno.test("a config that does not load is told once per message, and again once fixed and broken", async () => {
  await using sandbox = await makeSandbox();
  await using daemon = startFakeDaemon(sandbox.socket, "healthy");
  const broken = "jobs:\n  x: { script: /bin/true, when: { every: 10x } }\n";
  await writeConfig(sandbox, broken);
  for (let run = 0; run < 3; run++) assert.equal((await runCli(sandbox, [])).code, 2);
  assert.equal(daemon.events.length, 1);
  const { envelope } = daemon.events[0]!;
  assert.equal(envelope.event, "cron.config.invalid");
  assert.equal(envelope.entity, "config");
  assert.match(
    (envelope.payload as { error: string }).error,
    /teleclaude\.yml:2:\d+: jobs\.x\.when\.every: "10x" is not a duration/,
  );
  await writeConfig(sandbox, broken.replace("10x", "10y"));
  await runCli(sandbox, []);
  assert.equal(daemon.events.length, 2, "another message is news");
  await writeConfig(sandbox, "jobs:\n  x: { script: /bin/true }\n");
  assert.equal((await runCli(sandbox, [])).code, 0);
  await writeConfig(sandbox, broken.replace("10x", "10y"));
  await runCli(sandbox, []);
  assert.equal(daemon.events.length, 3, "broken again after a good tick is news");
});

Deno.test("a broken config is told through its own cron: section when that section is valid", async () => {
  await using sandbox = await makeSandbox();
  const told = join(sandbox.dir, "told.json");
  await writeFile(join(sandbox.project, "tell.sh"), `#!/bin/sh\ncat > "${told}"\n`, true);
  await writeConfig(
    sandbox,
    "cron:\n  notify: { daemon: false, command: [./tell.sh] }\njobs:\n  x: { script: 5 }\n",
  );
  assert.equal((await runCli(sandbox, [])).code, 2);
  const event = JSON.parse(await Deno.readTextFile(told));
  assert.equal(event.event, "config.invalid");
  assert.match(event.error, /jobs\.x\.script/);
});

Deno.test("every channel gets hostile text intact, and none of it ever runs", async () => {
  await using sandbox = await makeSandbox();
  const hostile =
    `it's "bad" \\ $(touch pwned) \`touch pwned\` ; touch pwned #\nline2 & | > x \u0000 end`;
  const received = join(sandbox.dir, "received");
  await writeFile(
    join(sandbox.project, "tell.sh"),
    `#!/bin/sh\ncat > "${received}.json"\nprintf '%s' "$TELECLAUDE_CRON_ERROR" > "${received}.env"\n`,
    true,
  );
  await writeConfig(
    sandbox,
    "cron:\n  notify: { desktop: true, command: [./tell.sh] }\n" +
      "jobs:\n  evil: { script: jobs/evil.sh, when: { every: 1d } }\n",
  );
  await writeFile(
    join(sandbox.project, "jobs/result.json"),
    `${JSON.stringify({ success: false, message: hostile })}\n`,
  );
  await writeFile(join(sandbox.project, "jobs/evil.sh"), "#!/bin/sh\ncat jobs/result.json\n", true);
  await using daemon = startFakeDaemon(sandbox.socket, "healthy");
  const result = await runCli(sandbox, [], { DBUS_SESSION_BUS_ADDRESS: "unix:path=/nowhere" });
  assert.equal(result.code, 1);
  const error = (await readStateFile(sandbox)).jobs.evil!.last_error as string;
  assert.ok(error.includes(hostile), error);
  assert.equal(JSON.parse(await Deno.readTextFile(`${received}.json`)).error, error);
  // An environment value cannot hold a NUL: there it is written \0; stdin has it as it is.
  assert.equal(await Deno.readTextFile(`${received}.env`), error.replaceAll("\0", "\\0"));
  assert.equal((daemon.events[0]!.envelope.payload as { error: string }).error, error);
  const [notice] = await desktopNotices(sandbox);
  const [title, body] = notice!.slice(-2);
  if (Deno.build.os === "darwin") {
    // The script is fixed; the text is its argv.
    assert.deepEqual(notice!.slice(1, -2), [
      "-e",
      "on run argv",
      "-e",
      "display notification (item 2 of argv) with title (item 1 of argv)",
      "-e",
      "end run",
    ]);
  } else {
    assert.deepEqual(notice!.slice(1, -2), ["--app-name=teleclaude-cron", "--"]);
  }
  assert.equal(title, "teleclaude-cron: job.failed");
  // The notice's one line: the error's first line, as it is.
  assert.equal(body, `evil failed: ${error.split("\n")[0]}`);
  for (const dir of [sandbox.project, sandbox.home, sandbox.dir]) {
    await assert.rejects(Deno.stat(join(dir, "pwned")), Deno.errors.NotFound);
  }
});

Deno.test("a notification command that hangs is stopped at 30 s once per tick; the next jobs run", async () => {
  await using sandbox = await makeSandbox();
  await writeFile(join(sandbox.project, "hang.sh"), "#!/bin/sh\nsleep 600 &\nwait\n", true);
  await writeConfig(
    sandbox,
    "cron:\n  notify: { daemon: false, command: [./hang.sh] }\njobs:\n" +
      "  first: { script: jobs/fail.sh, when: { every: 1d } }\n  second: { script: jobs/fail.sh, when: { every: 1d } }\n" +
      "  third: { script: jobs/mark.sh, when: { every: 1d } }\n",
  );
  await writeFile(join(sandbox.project, "jobs/fail.sh"), "#!/bin/sh\nexit 1\n", true);
  await writeFile(join(sandbox.project, "jobs/mark.sh"), "#!/bin/sh\ndate +%s > ran\n", true);
  const began = Date.now();
  const result = await runCli(sandbox, []);
  assert.equal(result.code, 1);
  const thirdStarted = Number(await Deno.readTextFile(join(sandbox.project, "ran"))) * 1000;
  assert.match(
    result.stderr,
    /event=notify_failed channel=command event=job.failed job=first error="\.\/hang\.sh stopped after 30 s"/,
  );
  // One stop of 30 s (and a grace of 2 s for its process group), not one per failing job: the
  // command that failed is not asked again this tick, and the second event waits behind the first.
  assert.ok(thirdStarted - began < 50_000, `the third job started ${thirdStarted - began} ms in`);
  const waiting = await outboxLines(sandbox);
  assert.deepEqual(waiting.map((entry) => (entry.event as { job: string }).job), [
    "first",
    "second",
  ]);
  assert.deepEqual(waiting.map((entry) => entry.attempts), [1, 0]);
});

Deno.test("a daemon that refuses an event for good drops it (logged); 409 means it has it", async () => {
  await using sandbox = await makeSandbox();
  await failingJob(sandbox);
  await using daemon = startFakeDaemon(sandbox.socket, "healthy");
  daemon.eventStatus = 422;
  const refused = await runCli(sandbox, []);
  assert.match(
    refused.stderr,
    /event=notification_dropped channel=daemon event=job.failed .*reason="refused for good"/,
  );
  assert.deepEqual(await outboxLines(sandbox), []);
  daemon.eventStatus = 409;
  await runCli(sandbox, ["--force"]);
  assert.equal(daemon.events.length, 1, "a repeat within 24 h is not told");
  await writeFile(join(sandbox.project, "jobs/fail.sh"), "#!/bin/sh\nexit 0\n", true);
  const recovered = await runCli(sandbox, ["--force"]);
  assert.match(recovered.stdout, /event=notified channel=daemon event=job.recovered/);
  assert.deepEqual(await outboxLines(sandbox), []);
});

Deno.test("what waits in the outbox is sent even while the config does not load", async () => {
  await using sandbox = await makeSandbox();
  await failingJob(sandbox);
  await runCli(sandbox, []);
  assert.equal((await outboxLines(sandbox)).length, 1);
  await writeConfig(sandbox, "jobs:\n  nightly: { script: jobs/fail.sh, when: { every: 1x } }\n");
  await using daemon = startFakeDaemon(sandbox.socket, "healthy");
  assert.equal((await runCli(sandbox, [])).code, 2);
  assert.deepEqual(daemon.events.map((event) => event.envelope.event), [
    "cron.job.failed",
    "cron.config.invalid",
  ]);
  assert.deepEqual(await outboxLines(sandbox), []);
});

Deno.test("an empty notify command or an email with a line break is a located config error", async () => {
  await using sandbox = await makeSandbox();
  for (
    const [notify, message] of [
      ['{ command: "  " }', /cron\.notify\.command: must name a program to run/],
      [
        '{ daemon: { email: "a@b.c\\r\\nX-Evil: 1" } }',
        /cron\.notify\.daemon\.email: must be one address/,
      ],
    ] as const
  ) {
    await writeConfig(sandbox, `cron:\n  notify: ${notify}\njobs: {}\n`);
    const result = await runCli(sandbox, ["--dry-run"]);
    assert.equal(result.code, 2, notify);
    assert.match(result.stderr, message);
  }
});

Deno.test("--notify-test sends through every channel and says how each went", async () => {
  await using sandbox = await makeSandbox();
  await writeFile(join(sandbox.project, "tell.sh"), "#!/bin/sh\ncat > /dev/null\n", true);
  await writeConfig(
    sandbox,
    "cron:\n  notify: { desktop: false, command: [./tell.sh] }\njobs: {}\n",
  );
  const down = await runCli(sandbox, ["--notify-test"]);
  assert.equal(down.code, 1);
  assert.match(down.stdout, /^-- {3}desktop: off \(cron\.notify\.desktop: false\)$/m);
  assert.match(down.stdout, /^FAIL daemon: daemon: /m);
  assert.match(down.stdout, /^ok {3}command: delivered$/m);
  await using daemon = startFakeDaemon(sandbox.socket, "healthy");
  const up = await runCli(sandbox, ["--notify-test"]);
  assert.equal(up.code, 0, up.stdout);
  assert.equal(daemon.events[0]!.envelope.event, "cron.test");
  // A test is never queued.
  assert.deepEqual(await outboxLines(sandbox), []);
});

Deno.test({
  name: "osascript gets a job's text as argv, whole, never as script" +
    (Deno.build.os === "darwin" ? "" : " (IGNORED: macOS only, where /usr/bin/osascript is)"),
  ignore: Deno.build.os !== "darwin",
  async fn() {
    const { desktopCommand } = await import("../../lib/notify/channels.ts");
    const hostile = `"; do shell script "touch /tmp/pwned-by-test" --\nline 2`;
    const command = desktopCommand("title", hostile, {
      os: "darwin",
      path: "/usr/bin",
      sessionBus: false,
    })!;
    // The same argv, with `return` in place of `display notification`: nothing pops up.
    const args = command.args.map((arg) =>
      arg.startsWith("display notification") ? "return item 2 of argv" : arg
    );
    const output = await new Deno.Command(command.program, { args, stdout: "piped" }).output();
    assert.equal(output.code, 0);
    assert.equal(new TextDecoder().decode(output.stdout), `${hostile}\n`);
    await assert.rejects(Deno.stat("/tmp/pwned-by-test"), Deno.errors.NotFound);
  },
});

Deno.test("a tick that finds a long job running still writes the metrics' last tick", async () => {
  await using sandbox = await makeSandbox();
  await writeConfig(
    sandbox,
    "cron:\n  metrics_file: ~/.teleclaude/metrics/cron.prom\njobs:\n  long: { script: jobs/long.sh, when: { every: 1d } }\n",
  );
  const release = join(sandbox.dir, "release");
  await writeFile(
    join(sandbox.project, "jobs/long.sh"),
    `#!/bin/sh\nwhile [ ! -e "${release}" ]; do sleep 0.1; done\n`,
    true,
  );
  const runner = await spawnCli(sandbox, ["--config", sandbox.config]);
  await waitFor(
    async () => (await readStateFile(sandbox).catch(() => null))?.jobs.long?.running,
    "the long job to run",
  );
  const busyAt = Date.now();
  const busy = await runCli(sandbox, []);
  assert.match(busy.stdout, /another cron runner \(pid \d+\) is active/);
  const metrics = await Deno.readTextFile(join(sandbox.home, ".teleclaude/metrics/cron.prom"));
  const tick = Number(/^teleclaude_cron_last_tick_timestamp_seconds (\S+)$/m.exec(metrics)![1]);
  assert.ok(tick * 1000 >= busyAt - 1, `the last tick ${tick} is the busy one (${busyAt})`);
  await Deno.writeTextFile(release, "");
  assert.equal((await runner.output()).code, 0);
});
