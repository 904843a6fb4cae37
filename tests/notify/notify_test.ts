/**
 * Notifications end to end: the runner as launchd starts it (`main.ts` under the production
 * permission flags), a stand-in daemon on a real Unix socket, a real command channel, and the
 * sandbox's stand-in desktop notifiers.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { type Person, startFakeDaemon } from "../helpers/daemon.ts";
import {
  failingJob,
  outboxLines,
  outboxOf,
  recordingCommand,
  reportingJob,
} from "../helpers/notify.ts";
import {
  desktopNotices,
  makeSandbox,
  readStateFile,
  runCli,
  spawnCli,
  waitFor,
  writeConfig,
  writeFile,
} from "../helpers/sandbox.ts";

/** The daemon's people: an admin with a Telegram chat, and a member. */
const PEOPLE: Person[] = [
  { name: "Ops", email: "ops@example.com", role: "admin", chats: ["telegram"] },
  { name: "Dev", email: "dev@example.com", role: "member" },
];

Deno.test("a failing job is one escalation the daemon makes a notification of, sent to the admin's chat", async () => {
  await using sandbox = await makeSandbox();
  await failingJob(sandbox, "cron:\n  notify: { daemon: { email: ops@example.com } }\n");
  await using daemon = startFakeDaemon(sandbox.socket, "healthy", { people: PEOPLE });
  const result = await runCli(sandbox, [], { TELECLAUDE_COMPUTER: "mini" });
  assert.equal(result.code, 1);
  assert.equal(daemon.events.length, 1, result.stdout);
  const [{ headers, envelope, status }] = daemon.events as [typeof daemon.events[0]];
  assert.equal(status, 200);
  assert.equal(headers["x-telec-email"], "ops@example.com");
  const state = await readStateFile(sandbox);
  const started = state.jobs.nightly!.last_run as string;
  // The daemon drops an envelope's idempotency_key: none is sent.
  assert.deepEqual(
    { ...envelope, payload: undefined },
    {
      event: "notification.escalation",
      source: "teleclaude-cron",
      level: 3,
      domain: "cron",
      entity: "nightly",
      description: "nightly failed: exited with code 3",
      payload: undefined,
    },
  );
  const payload = envelope.payload as Record<string, unknown>;
  assert.equal(payload.escalation_id, `cron/mini/nightly/${started}`);
  assert.equal(payload.reason, "nightly failed: exited with code 3");
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
  // Delivered: nothing waits, and the person was told.
  assert.deepEqual(await outboxLines(sandbox), []);
  await daemon.settled();
  assert.deepEqual(daemon.notifications.map((row) => [row.event_type, row.level]), [
    ["notification.escalation", 3],
  ]);
  assert.deepEqual(daemon.chats.map((chat) => [chat.person, chat.chat]), [["Ops", "telegram"]]);
});

Deno.test("with the daemon down the event waits in the outbox and is delivered once, later", async () => {
  await using sandbox = await makeSandbox();
  await failingJob(sandbox);
  const first = await runCli(sandbox, []);
  assert.equal(first.code, 1);
  assert.match(first.stderr, /event=notify_failed channel=daemon event=job.failed job=nightly/);
  // One line a person can act on: the socket and the fix.
  assert.match(
    first.stderr,
    new RegExp(
      `error="no TeleClaude daemon answers on ${sandbox.socket} \\(.*\\): start it .*cron\\.notify\\.daemon: false"`,
    ),
  );
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
  await daemon.settled();
  assert.equal(daemon.notifications.length, 1);
});

Deno.test("a daemon in multi-user mode refuses an unknown caller (401): held an hour, and --doctor says why", async () => {
  await using sandbox = await makeSandbox();
  await failingJob(sandbox);
  await using daemon = startFakeDaemon(sandbox.socket, "healthy", { people: PEOPLE });
  await runCli(sandbox, []);
  assert.deepEqual(daemon.events.map((event) => event.status), [401]);
  const [entry] = await outboxLines(sandbox);
  assert.equal(
    entry!.last_error,
    'daemon answered 401: {"detail":"login required in multi-user mode"}',
  );
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
  assert.deepEqual(daemon.events.map((event) => event.envelope.event), [
    "notification.escalation",
  ]);
  const state = await readStateFile(sandbox);
  assert.equal(state.jobs.nightly!.failures, 3);
  assert.equal(state.jobs.noisy!.failures, 3);
  const list = await runCli(sandbox, ["--list"]);
  assert.match(
    list.stdout,
    /nightly .*(?<!not )told \d\d:\d\d \(1st failure\); 3 failures in a row/,
  );
  assert.match(list.stdout, /noisy .*notifications off/);
  await writeFile(job, "#!/bin/sh\nexit 0\n", true);
  await runCli(sandbox, ["--force"]);
  assert.deepEqual(daemon.events.map((event) => event.envelope.event), [
    "notification.escalation",
    "notification.resolution",
  ]);
  assert.equal(daemon.events[1]!.envelope.entity, "nightly");
  await daemon.settled();
  // The person sees the problem close: its one notification is resolved.
  assert.deepEqual(daemon.notifications.map((row) => row.agent_status), ["resolved"]);
  assert.deepEqual(daemon.events.map((event) => event.effect), ["created", "resolved"]);
});

Deno.test("a broken config is one escalation, reminded per new message, resolved by the first tick that loads it", async () => {
  await using sandbox = await makeSandbox();
  await using daemon = startFakeDaemon(sandbox.socket, "healthy");
  const broken = "jobs:\n  x: { script: /bin/true, when: { every: 10x } }\n";
  await writeConfig(sandbox, broken);
  for (let run = 0; run < 3; run++) assert.equal((await runCli(sandbox, [])).code, 2);
  assert.equal(daemon.events.length, 1);
  const { envelope } = daemon.events[0]!;
  assert.equal(envelope.event, "notification.escalation");
  assert.equal(envelope.entity, "config");
  const payload = envelope.payload as { error: string; escalation_id: string; event: string };
  assert.equal(payload.event, "config.invalid");
  assert.match(
    payload.error,
    /teleclaude\.yml:2:\d+: jobs\.x\.when\.every: "10x" is not a duration/,
  );
  await writeConfig(sandbox, broken.replace("10x", "10y"));
  await runCli(sandbox, []);
  // Another message: news, as a reminder that supersedes the first escalation.
  const reminder = daemon.events.slice(1).map((event) => [
    event.envelope.event,
    (event.envelope.payload as { escalation_id: string }).escalation_id,
  ]);
  assert.deepEqual(reminder, [
    ["notification.escalation", `${payload.escalation_id}#2`],
    ["notification.resolution", payload.escalation_id],
  ]);
  await writeConfig(sandbox, "jobs:\n  x: { script: /bin/true }\n");
  assert.equal((await runCli(sandbox, [])).code, 0);
  assert.deepEqual(
    daemon.events.slice(3).map((event) => [event.envelope.event, event.envelope.entity]),
    [["notification.resolution", "config"]],
  );
  assert.equal((await runCli(sandbox, [])).code, 0);
  assert.equal(daemon.events.length, 4, "the fix is told once");
  await writeConfig(sandbox, broken.replace("10x", "10y"));
  await runCli(sandbox, []);
  assert.equal(daemon.events.length, 5, "broken again after a good tick is news");
  await daemon.settled();
  assert.deepEqual(daemon.notifications.map((row) => row.agent_status), [
    "resolved",
    "resolved",
    "none",
  ]);
  assert.ok(daemon.events.every((event) => event.effect !== "nothing"));
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
  const received = await recordingCommand(sandbox);
  await writeConfig(
    sandbox,
    "cron:\n  notify: { desktop: true, command: [./tell.sh] }\n" +
      "jobs:\n  evil: { script: jobs/evil.sh, when: { every: 1d } }\n",
  );
  await reportingJob(sandbox, "evil", { success: false, message: hostile });
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

Deno.test("an answer no daemon gives (a proxy's 404) drops the event, logged; a 429 waits as asked", async () => {
  await using sandbox = await makeSandbox();
  await failingJob(sandbox);
  await using daemon = startFakeDaemon(sandbox.socket, "healthy");
  daemon.faults.push({ path: "/events/emit", kind: "status", status: 404, body: "no route" });
  const refused = await runCli(sandbox, []);
  assert.match(
    refused.stderr,
    /event=notification_dropped channel=daemon event=job.failed .*reason="refused for good"/,
  );
  assert.deepEqual(await outboxLines(sandbox), []);
  daemon.faults.push({
    path: "/events/emit",
    kind: "status",
    status: 429,
    headers: { "retry-after": "120" },
  });
  await writeFile(join(sandbox.project, "jobs/fail.sh"), "#!/bin/sh\nexit 0\n", true);
  const throttled = await runCli(sandbox, ["--force"]);
  assert.match(throttled.stderr, /event=notify_failed channel=daemon event=job.recovered/);
  const [waiting] = await outboxLines(sandbox);
  const held = Date.parse(waiting!.next as string) - Date.parse(waiting!.queued as string);
  assert.ok(held >= 115_000 && held <= 125_000, `held ${held} ms`);
  await runCli(sandbox, []);
  assert.equal(daemon.events.length, 2, "not asked again before its Retry-After");
});

Deno.test("what waits in the outbox is sent even while the config does not load", async () => {
  await using sandbox = await makeSandbox();
  await failingJob(sandbox);
  await runCli(sandbox, []);
  assert.equal((await outboxLines(sandbox)).length, 1);
  await writeConfig(sandbox, "jobs:\n  nightly: { script: jobs/fail.sh, when: { every: 1x } }\n");
  await using daemon = startFakeDaemon(sandbox.socket, "healthy");
  assert.equal((await runCli(sandbox, [])).code, 2);
  assert.deepEqual(
    daemon.events.map((event) => (event.envelope.payload as { event: string }).event),
    ["job.failed", "config.invalid"],
  );
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
  assert.match(down.stdout, /^FAIL daemon: no TeleClaude daemon answers on /m);
  assert.match(down.stdout, /^ok {3}command: delivered$/m);
  // A test is never queued.
  assert.deepEqual(await outboxLines(sandbox), []);
});

Deno.test("--notify-test confirms the daemon made a notification, resolves it, and says who it reaches", async (t) => {
  await using sandbox = await makeSandbox();
  await writeConfig(sandbox, "cron:\n  notify: { desktop: false }\njobs: {}\n");
  await t.step("an admin with a chat", async () => {
    await using daemon = startFakeDaemon(sandbox.socket, "healthy", {
      people: [PEOPLE[0]!],
      processingDelayMs: 300,
    });
    const up = await runCli(sandbox, ["--notify-test"], { TELECLAUDE_COMPUTER: "mini" });
    assert.equal(up.code, 0, up.stdout);
    assert.match(
      up.stdout,
      /^ok {3}daemon: notification #1 made at level 3: the daemon sends it to the Telegram, Discord or WhatsApp of Ops .*; resolved again$/m,
    );
    assert.deepEqual(daemon.events.map((event) => [event.envelope.event, event.effect]), [
      ["notification.escalation", "created"],
      ["notification.resolution", "resolved"],
    ]);
    assert.match(
      String((daemon.events[0]!.envelope.payload as { escalation_id: string }).escalation_id),
      /^cron\/mini\/test\//,
    );
    assert.equal(daemon.chats.length, 1);
  });
  await t.step("no admin: made, and sent to nobody's chat", async () => {
    await using _daemon = startFakeDaemon(sandbox.socket, "healthy", { people: [PEOPLE[1]!] });
    const alone = await runCli(sandbox, ["--notify-test"]);
    assert.equal(alone.code, 1, alone.stdout);
    assert.match(alone.stdout, /^FAIL daemon: notification #1 made .*no admin.*nobody's chat/m);
  });
  await t.step("no event platform (no Redis): the daemon's 500", async () => {
    await using _daemon = startFakeDaemon(sandbox.socket, "healthy", { redis: false });
    const degraded = await runCli(sandbox, ["--notify-test"]);
    assert.equal(degraded.code, 1);
    assert.match(degraded.stdout, /^FAIL daemon: daemon answered 500: Internal Server Error$/m);
  });
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

Deno.test("--list says told only for what was delivered, queued for what waits, not told for what was dropped", async () => {
  await using sandbox = await makeSandbox();
  await failingJob(sandbox, "cron:\n  notify: { desktop: false }\n");
  await runCli(sandbox, []);
  const waiting = await runCli(sandbox, ["--list"]);
  assert.match(waiting.stdout, /nightly .*queued \d\d:\d\d \(1st failure\)/);
  {
    await using daemon = startFakeDaemon(sandbox.socket, "healthy");
    await runCli(sandbox, []);
    assert.equal(daemon.events.length, 1);
  }
  const delivered = await runCli(sandbox, ["--list"]);
  assert.match(delivered.stdout, /nightly .*(?<!not )told \d\d:\d\d \(1st failure\)/);
  // A new streak, whose escalation the daemon refuses for good: not told.
  await using refusing = startFakeDaemon(sandbox.socket, "healthy");
  refusing.faults.push({ path: "/events/emit", kind: "status", status: 422, times: 5 });
  await writeFile(join(sandbox.project, "jobs/fail.sh"), "#!/bin/sh\nexit 0\n", true);
  await runCli(sandbox, ["--force"]);
  await writeFile(join(sandbox.project, "jobs/fail.sh"), "#!/bin/sh\nexit 2\n", true);
  await runCli(sandbox, ["--force"]);
  const dropped = await runCli(sandbox, ["--list", "--json"]);
  const [row] = JSON.parse(dropped.stdout) as { flags: string[] }[];
  assert.ok(
    row!.flags.some((flag) => /^not told \d\d:\d\d \(1st failure\)$/.test(flag)),
    row!.flags.join("; "),
  );
});

Deno.test("--doctor says when the daemon takes events but would tell nobody, in words to act on", async (t) => {
  await using sandbox = await makeSandbox();
  const doctor = async () => {
    const result = await runCli(sandbox, ["--doctor", "--json"]);
    return (JSON.parse(result.stdout) as {
      name: string;
      status: string;
      detail: string;
      fix?: string;
    }[])
      .find((check) => check.name === "notify daemon");
  };
  await t.step("multi-user mode, no email: every event refused (401)", async () => {
    await writeConfig(sandbox, "jobs: {}\n");
    await using _daemon = startFakeDaemon(sandbox.socket, "healthy", { people: PEOPLE });
    const check = await doctor();
    assert.equal(check?.status, "fail");
    assert.match(
      check!.detail,
      /refuses a caller with no email \(401: .*login required in multi-user mode/,
    );
    assert.match(check!.fix!, /cron\.notify\.daemon\.email .*people:/);
  });
  await t.step("a newcomer may not emit (403)", async () => {
    await writeConfig(
      sandbox,
      "cron:\n  notify: { daemon: { email: new@example.com } }\njobs: {}\n",
    );
    await using _daemon = startFakeDaemon(sandbox.socket, "healthy", {
      people: [...PEOPLE, { name: "New", email: "new@example.com", role: "newcomer" }],
    });
    const check = await doctor();
    assert.equal(check?.status, "fail");
    assert.match(
      check!.detail,
      /refuses cron\.notify\.daemon\.email \(new@example\.com\) \(403: .*newcomer/,
    );
    assert.match(check!.fix!, /role admin, member or contributor/);
  });
  await t.step("no admin: listed, sent to nobody's chat", async () => {
    await writeConfig(sandbox, "jobs: {}\n");
    await using _daemon = startFakeDaemon(sandbox.socket, "healthy", { people: [PEOPLE[1]!] });
    const check = await doctor();
    assert.equal(check?.status, "fail");
    assert.match(check!.detail, /no admin/);
    assert.match(check!.fix!, /chat_id/);
  });
  await t.step("no event store (no Redis)", async () => {
    await using _daemon = startFakeDaemon(sandbox.socket, "healthy", { redis: false });
    const check = await doctor();
    assert.equal(check?.status, "fail");
    assert.match(check!.detail, /event platform is not running .*503/);
  });
  await t.step("an admin: what it does, and what it cannot know", async () => {
    await writeConfig(
      sandbox,
      "cron:\n  notify: { daemon: { email: dev@example.com } }\njobs: {}\n",
    );
    await using _daemon = startFakeDaemon(sandbox.socket, "healthy", { people: PEOPLE });
    const check = await doctor();
    assert.equal(check?.status, "info");
    assert.match(
      check!.detail,
      /takes events \(as member\) and sends failures to the chats of Ops, where it has a chat id/,
    );
  });
});

Deno.test("a script's own message is told beside its errors (issue 21, item 16)", async () => {
  await using sandbox = await makeSandbox();
  const received = await recordingCommand(sandbox);
  await writeConfig(
    sandbox,
    "cron:\n  notify: { desktop: false, daemon: false, command: [./tell.sh] }\n" +
      "jobs:\n  feeds: { script: jobs/feeds.sh, when: { every: 1d } }\n",
  );
  await reportingJob(sandbox, "feeds", {
    success: false,
    message: "2 of 10 feeds failed",
    errors: ["feed a: timeout", "feed b: HTTP 500"],
  });
  assert.equal((await runCli(sandbox, [])).code, 1);
  const event = JSON.parse(await Deno.readTextFile(`${received}.json`));
  assert.equal(
    event.summary,
    "feeds failed: 2 of 10 feeds failed (reported success: false: feed a: timeout; feed b: HTTP 500)",
  );
});
