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
  const hostile = `it's "bad" \\ $(touch pwned) \`touch pwned\` ; touch pwned #\nline2 & | > x`;
  const received = join(sandbox.dir, "received");
  await writeFile(
    join(sandbox.project, "tell.sh"),
    `#!/bin/sh\ncat > "${received}.json"\nprintf '%s' "$TELECLAUDE_CRON_ERROR" > "${received}.env"\n`,
    true,
  );
  await writeConfig(
    sandbox,
    "cron:\n  notify: { desktop: true, command: [./tell.sh] }\n" +
      "jobs:\n  evil: { script: jobs/evil.sh }\n",
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
  assert.equal(await Deno.readTextFile(`${received}.env`), error);
  assert.equal((daemon.events[0]!.envelope.payload as { error: string }).error, error);
  const [notice] = await desktopNotices(sandbox);
  assert.equal(notice![0]!.endsWith("notify-send"), true);
  assert.deepEqual(notice!.slice(1, 4), [
    "--app-name=teleclaude-cron",
    "--",
    "teleclaude-cron: job.failed",
  ]);
  // The notice's one line: the error's first line, as it is.
  assert.equal(notice![4], `evil failed: ${error.split("\n")[0]}`);
  for (const dir of [sandbox.project, sandbox.home, sandbox.dir]) {
    await assert.rejects(Deno.stat(join(dir, "pwned")), Deno.errors.NotFound);
  }
});

Deno.test("a notification command that hangs is stopped at 30 s; the next job still runs", async () => {
  await using sandbox = await makeSandbox();
  await writeFile(join(sandbox.project, "hang.sh"), "#!/bin/sh\nsleep 600 &\nwait\n", true);
  await writeConfig(
    sandbox,
    "cron:\n  notify: { daemon: false, command: [./hang.sh] }\njobs:\n" +
      "  first: { script: jobs/fail.sh }\n  second: { script: jobs/mark.sh }\n",
  );
  await writeFile(join(sandbox.project, "jobs/fail.sh"), "#!/bin/sh\nexit 1\n", true);
  await writeFile(join(sandbox.project, "jobs/mark.sh"), "#!/bin/sh\ndate +%s > ran\n", true);
  const began = Date.now();
  const result = await runCli(sandbox, []);
  assert.equal(result.code, 1);
  const secondStarted = Number(await Deno.readTextFile(join(sandbox.project, "ran"))) * 1000;
  assert.match(
    result.stderr,
    /event=notify_failed channel=command event=job.failed job=first error="\.\/hang\.sh stopped after 30 s"/,
  );
  // Stopped at 30 s (and a grace of 2 s for its process group), not after the sleep's 600.
  assert.ok(
    secondStarted - began < 45_000,
    `the second job started ${secondStarted - began} ms in`,
  );
  const waiting = await outboxLines(sandbox);
  assert.deepEqual(waiting.map((entry) => entry.channel), ["command"]);
});

Deno.test("--notify-test sends through every channel and says how each went", async () => {
  await using sandbox = await makeSandbox();
  await writeFile(join(sandbox.project, "tell.sh"), "#!/bin/sh\ncat > /dev/null\n", true);
  await writeConfig(sandbox, "cron:\n  notify: { command: [./tell.sh] }\njobs: {}\n");
  const down = await runCli(sandbox, ["--notify-test"]);
  assert.equal(down.code, 1);
  assert.match(down.stdout, /^-- {3}desktop: off/m);
  assert.match(down.stdout, /^FAIL daemon: daemon: /m);
  assert.match(down.stdout, /^ok {3}command: delivered$/m);
  await using daemon = startFakeDaemon(sandbox.socket, "healthy");
  const up = await runCli(sandbox, ["--notify-test"]);
  assert.equal(up.code, 0, up.stdout);
  assert.equal(daemon.events[0]!.envelope.event, "cron.test");
  // A test is never queued.
  assert.deepEqual(await outboxLines(sandbox), []);
});
