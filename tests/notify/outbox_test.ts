/**
 * The outbox loses nothing and blocks nothing (issue 18, item 4): each defect a hostile run found,
 * reproduced as the runner meets it — the runner as launchd starts it, or the real tick in this
 * process under a faked clock — against the stand-in daemon on a real socket. Then the outbox's
 * own bounds.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { type Config, DEFAULT_NOTIFY } from "../../lib/config/job.ts";
import type { CronEvent } from "../../lib/notify/events.ts";
import { jobResult } from "../../lib/process/result.ts";
import {
  type OutboxEntry,
  pruneOutbox,
  queueEntries,
  readOutbox,
  rewriteOutbox,
  settleFutureEntries,
  waitingIn,
} from "../../lib/store/outbox.ts";
import { startFakeDaemon } from "../helpers/daemon.ts";
import {
  entryOf,
  eventOf,
  failingJob,
  outboxLines,
  outboxOf,
  recordingCommand,
  recordingLog,
  reportingJob,
  scriptJob,
  tickIn,
} from "../helpers/notify.ts";
import {
  desktopNotices,
  makeSandbox,
  permissionFlags,
  readStateFile,
  ROOT,
  runCli,
  spawnCli,
  waitFor,
  writeConfig,
  writeFile,
} from "../helpers/sandbox.ts";

/** What the stand-in received, by the runner's own event name (whatever envelope carried it). */
function told(daemon: { events: { envelope: Record<string, unknown> }[] }): string[] {
  return daemon.events.map((event) => {
    const payload = event.envelope.payload as { event: string; job: string | null };
    return `${payload.event} ${payload.job ?? "config"}`;
  });
}

/** The runner's notify settings but for the desktop (a failing test job pops up nothing). */
const QUIET = "cron:\n  notify: { desktop: false }\n";

/** A failure of `job` queued for the daemon at `at`, as a runner writes it. */
function queued(job: string, at: number, fields: Record<string, unknown> = {}): OutboxEntry {
  return entryOf(eventOf("job.failed", job, at, fields as Partial<CronEvent>));
}

Deno.test("an error of any size is bounded in the state, every event and the command's environment", async () => {
  await using sandbox = await makeSandbox();
  const received = await recordingCommand(sandbox);
  await writeConfig(
    sandbox,
    "cron:\n  notify: { desktop: false, command: [./tell.sh] }\njobs:\n  big: { script: jobs/big.sh, when: { every: 1d } }\n",
  );
  // A 60 KB result line, as a hostile run's script printed.
  const report = { success: false, message: "import failed", errors: ["e".repeat(60_000)] };
  await reportingJob(sandbox, "big", report);
  await using daemon = startFakeDaemon(sandbox.socket, "healthy");
  const result = await runCli(sandbox, []);
  assert.equal(result.code, 1);
  const error = (await readStateFile(sandbox)).jobs.big!.last_error as string;
  assert.ok(error.length <= 2000, `the state's error: ${error.length} characters`);
  assert.match(
    error,
    /^exited with code 0|^reported success: false: e+\[… \d+ characters cut …\]e+$/,
  );
  const stdin = JSON.parse(await Deno.readTextFile(`${received}.json`));
  assert.ok(stdin.error.length <= 2000, `stdin's error: ${stdin.error.length}`);
  const env = await Deno.readTextFile(`${received}.env`);
  assert.ok(env.length <= 4096, `TELECLAUDE_CRON_ERROR: ${env.length}`);
  const payload = daemon.events[0]!.envelope.payload as { error: string };
  assert.ok(payload.error.length <= 2000, `the daemon's: ${payload.error.length}`);
  const finished = result.stderr.split("\n").find((line) => line.includes("event=job_finished"))!;
  assert.ok(finished.length < 3000, `the runner's job_finished line: ${finished.length}`);
  // Each of the output's last lines it copies is bounded too.
  const tail = (result.stdout + result.stderr).split("\n").filter((line) =>
    line.startsWith("  big | ")
  );
  assert.ok(tail.length > 0, "the output's tail is in the runner's log");
  assert.ok(tail.every((line) => line.length < 600), tail.map((line) => line.length).join(","));
});

Deno.test("2,000 config errors make a bounded config.invalid", async () => {
  await using sandbox = await makeSandbox();
  const jobs = Array.from({ length: 2000 }, (_, i) => `  j${i}: { script: 5 }\n`).join("");
  await writeConfig(sandbox, `jobs:\n${jobs}`);
  await using daemon = startFakeDaemon(sandbox.socket, "healthy");
  assert.equal((await runCli(sandbox, [])).code, 2);
  const payload = daemon.events[0]!.envelope.payload as { event: string; error: string };
  assert.equal(payload.event, "config.invalid");
  assert.ok(payload.error.length <= 4000, `${payload.error.length} characters`);
  assert.match(payload.error, /jobs\.j0\.script/);
  const problem = await Deno.readTextFile(
    join(sandbox.home, ".teleclaude/cron_config_problem.json"),
  );
  assert.ok(problem.length < 8000, `cron_config_problem.json: ${problem.length} bytes`);
});

Deno.test("a failure storm while the daemon is down is collapsed per job and channel, and every job's failure then reaches a person", async () => {
  await using sandbox = await makeSandbox();
  const start = Date.parse("2026-11-26T12:00:00Z");
  let now = start;
  const log = recordingLog();
  const config = (command: string): Config => ({
    file: sandbox.config,
    displayName: "teleclaude.yml",
    dir: sandbox.project,
    jobs: Array.from({ length: 50 }, (_, i) => scriptJob(`job${i}`)),
    agents: {},
    cron: {
      notify: { ...DEFAULT_NOTIFY, desktop: false, repeatMs: 10 * 60_000, command: [command] },
      metricsFile: null,
      budget: {},
    },
    warnings: [],
  });
  const tick = (command: string) =>
    tickIn(sandbox, config(command), {
      log,
      // A 60 KB error each, as the hostile run's jobs had.
      execute: () => Promise.resolve(jobResult({ error: `broken: ${"x".repeat(60_000)}` })),
      clock: () => now,
    });
  // Six tellings per job (a reminder every 10 minutes), on two channels that are down.
  for (let round = 0; round < 6; round++) {
    now = start + round * 11 * 60_000;
    await tick("/bin/false");
    const size = (await Deno.lstat(outboxOf(sandbox))).size;
    assert.ok(size < 4 * 1024 * 1024, `round ${round}: the outbox is ${size} bytes`);
    // Per job and channel: the try in flight, the latest telling, and this tick's, at most.
    const waiting = readOutbox(outboxOf(sandbox)).entries.length;
    assert.ok(waiting <= 50 * 2 * 3, `round ${round}: ${waiting} entries wait`);
  }
  assert.deepEqual(
    log.lines.filter(([event]) => /dropped|too_large/.test(event)).map(([event]) => event),
    [],
  );
  await using daemon = startFakeDaemon(sandbox.socket, "healthy", {
    people: [{ name: "Ops", email: "ops@example.com", role: "admin", chats: ["telegram"] }],
  });
  // Back: one tick's budget, then the next, until nothing waits for the daemon.
  for (let round = 0; round < 2; round++) {
    now += 60 * 60_000;
    await tick("/bin/true");
  }
  await daemon.settled();
  assert.deepEqual(readOutbox(outboxOf(sandbox)).entries, []);
  const open = daemon.notifications.filter((row) => row.agent_status !== "resolved");
  assert.equal(new Set(open.map((row) => row.entity)).size, 50, "every job's failure is open");
  assert.equal(open.length, 50, "one open notification per job");
  assert.ok(daemon.chats.length >= 50);
  assert.ok(daemon.events.every((event) => event.effect !== "nothing"));
});

Deno.test("an entry stamped in the future (a clock moved back) does not block its channel", async () => {
  await using sandbox = await makeSandbox();
  await writeConfig(sandbox, "cron:\n  notify: { desktop: false }\njobs: {}\n");
  // As a runner under `faketime '+3 days'` left it: queued and held until then.
  const later = Date.now() + 3 * 24 * 3600_000;
  const entry = queued("nightly", later);
  entry.attempts = 3;
  entry.next = new Date(later + 600_000).toISOString();
  await Deno.mkdir(join(sandbox.home, ".teleclaude"), { recursive: true });
  await queueEntries(outboxOf(sandbox), [entry]);
  await using daemon = startFakeDaemon(sandbox.socket, "healthy");
  assert.equal((await runCli(sandbox, [])).code, 0);
  assert.deepEqual(told(daemon), ["job.failed nightly"]);
  assert.deepEqual(await outboxLines(sandbox), []);
});

Deno.test("settleFutureEntries(): a future entry ages from when the runner first held it", () => {
  const now = Date.parse("2026-11-26T12:00:00Z");
  const entry = queued("nightly", now + 3 * 24 * 3600_000);
  entry.next = new Date(now + 3 * 24 * 3600_000).toISOString();
  assert.equal(settleFutureEntries([entry], now), true);
  assert.equal(entry.queued, new Date(now).toISOString());
  assert.equal(entry.next, new Date(now).toISOString());
  const week = 7 * 24 * 3600_000;
  assert.equal(pruneOutbox([entry], now + week).kept.length, 1);
  assert.equal(pruneOutbox([entry], now + week + 1).dropped.length, 1);
  // A hold the runner itself set (an hour at most) is left alone.
  const held = queued("nightly", now);
  held.next = new Date(now + 3600_000).toISOString();
  assert.equal(settleFutureEntries([held], now), false);
});

Deno.test("an interim 1xx before the daemon's answer is read through, not a refusal", async () => {
  await using sandbox = await makeSandbox();
  await failingJob(sandbox, QUIET);
  await using daemon = startFakeDaemon(sandbox.socket, "healthy");
  daemon.faults.push({ path: "/events/emit", kind: "interim", times: 10 });
  const result = await runCli(sandbox, []);
  assert.doesNotMatch(result.stderr, /notification_dropped/);
  assert.match(result.stdout, /event=notified channel=daemon event=job.failed job=nightly/);
  assert.deepEqual(await outboxLines(sandbox), []);
});

Deno.test("a 429 waits as long as it asks, then is tried again", async () => {
  await using sandbox = await makeSandbox();
  await failingJob(sandbox, QUIET);
  await using daemon = startFakeDaemon(sandbox.socket, "healthy");
  daemon.faults.push({
    path: "/events/emit",
    kind: "status",
    status: 429,
    headers: { "retry-after": "1" },
  });
  const throttled = await runCli(sandbox, []);
  assert.doesNotMatch(throttled.stderr, /notification_dropped/);
  assert.match(throttled.stderr, /event=notify_failed channel=daemon .*daemon answered 429/);
  const [waiting] = await outboxLines(sandbox);
  assert.ok(Date.parse(waiting!.next as string) > Date.parse(waiting!.queued as string));
  await new Promise((resolve) => setTimeout(resolve, 1100)); // Its Retry-After: 1 s.
  await runCli(sandbox, []);
  assert.deepEqual(daemon.events.map((event) => event.status), [429, 200]);
  assert.deepEqual(await outboxLines(sandbox), []);
});

Deno.test("an entry with a field of the wrong type is skipped and counted; the queue behind it moves", async () => {
  await using sandbox = await makeSandbox();
  const received = join(sandbox.dir, "received.jsonl");
  await writeFile(join(sandbox.project, "tell.sh"), `#!/bin/sh\ncat >> "${received}"\n`, true);
  await writeConfig(
    sandbox,
    "cron:\n  notify: { desktop: false, daemon: false, command: [./tell.sh] }\njobs: {}\n",
  );
  const now = Date.now() - 60_000;
  const bad = { ...queued("broken", now, { error: 123 }), channel: "command" as const };
  const good = { ...queued("fine", now + 1), channel: "command" as const };
  await Deno.mkdir(join(sandbox.home, ".teleclaude"), { recursive: true });
  await queueEntries(outboxOf(sandbox), [bad, good]);
  const result = await runCli(sandbox, []);
  assert.doesNotMatch(result.stderr, /notify_error|TypeError/);
  assert.match(result.stderr, /event=outbox_lines_skipped .*count=1/);
  const sent = (await Deno.readTextFile(received)).trim().split("\n").map((l) => JSON.parse(l));
  assert.deepEqual(sent.map((event) => event.job), ["fine"]);
  assert.deepEqual(await outboxLines(sandbox), []);
});

Deno.test("a desktop notice whose text holds a NUL is shown, the NUL written \\0", async () => {
  await using sandbox = await makeSandbox();
  await writeConfig(
    sandbox,
    "cron:\n  notify: { desktop: true, daemon: false }\njobs:\n  nul: { script: jobs/nul.sh, when: { every: 1d } }\n",
  );
  await reportingJob(sandbox, "nul", { success: false, message: "bad\u0000byte" });
  const result = await runCli(sandbox, [], { DBUS_SESSION_BUS_ADDRESS: "unix:path=/nowhere" });
  assert.doesNotMatch(result.stderr, /notify_failed channel=desktop/);
  const notices = await desktopNotices(sandbox);
  assert.equal(notices.length, 1);
  assert.equal(notices[0]!.at(-1), "nul failed: reported success: false: bad\\0byte");
});

Deno.test("with no daemon running a tick logs one line naming the socket and the fix", async () => {
  await using sandbox = await makeSandbox();
  await writeConfig(
    sandbox,
    "cron:\n  notify: { desktop: false }\njobs:\n" +
      "  a: { script: jobs/fail.sh, when: { every: 1d } }\n  b: { script: jobs/fail.sh, when: { every: 1d } }\n  c: { script: jobs/fail.sh, when: { every: 1d } }\n",
  );
  await writeFile(join(sandbox.project, "jobs/fail.sh"), "#!/bin/sh\nexit 1\n", true);
  const result = await runCli(sandbox, []);
  const lines = (result.stdout + result.stderr).split("\n").filter((l) => /channel=daemon/.test(l));
  assert.equal(lines.length, 1, lines.join("\n"));
  assert.ok(lines[0]!.includes(sandbox.socket), lines[0]);
  assert.match(lines[0]!, /start it .*cron\.notify\.daemon: false/);
  assert.equal((await outboxLines(sandbox)).length, 3, "all three wait");
});

Deno.test("a tick's sending of what waits has a time budget: the due job starts on time", async () => {
  await using sandbox = await makeSandbox();
  await writeConfig(
    sandbox,
    "cron:\n  notify: { desktop: false }\njobs:\n  due: { script: jobs/mark.sh, when: { every: 1d } }\n",
  );
  await writeFile(join(sandbox.project, "jobs/mark.sh"), "#!/bin/sh\ndate +%s > ran\n", true);
  const now = Date.now() - 60_000;
  await Deno.mkdir(join(sandbox.home, ".teleclaude"), { recursive: true });
  await queueEntries(
    outboxOf(sandbox),
    Array.from({ length: 12 }, (_, i) => queued(`old${i}`, now + i)),
  );
  await using daemon = startFakeDaemon(sandbox.socket, "healthy");
  // Each answer takes a second: twelve would hold the due job back twelve seconds.
  daemon.faults.push({ path: "/events/emit", kind: "slow", ms: 1000, times: 100 });
  const began = Date.now();
  assert.equal((await runCli(sandbox, [])).code, 0);
  const ran = Number(await Deno.readTextFile(join(sandbox.project, "ran"))) * 1000;
  assert.ok(ran - began < 9000, `the due job started ${ran - began} ms in`);
  const waiting = await outboxLines(sandbox);
  assert.ok(waiting.length > 0 && waiting.length < 12, `${waiting.length} wait`);
  assert.ok(waiting.every((entry) => entry.attempts === 0), "waiting is not a failed try");
});

Deno.test("a job that fails late in a tick is told in that tick: each flush has its own budget", async () => {
  await using sandbox = await makeSandbox();
  const received = join(sandbox.records, "told");
  await writeFile(join(sandbox.project, "tell.sh"), `#!/bin/sh\ncat >> "${received}"\n`, true);
  await writeConfig(
    sandbox,
    "cron:\n  notify: { desktop: false, daemon: false, command: [./tell.sh] }\njobs:\n" +
      "  early: { script: [sh, -c, 'exit 1'], when: { every: 1d } }\n" +
      "  late: { script: [sh, -c, 'sleep 6; exit 1'], when: { every: 1d } }\n",
  );
  const result = await runCli(sandbox, []);
  assert.equal(result.code, 1);
  assert.doesNotMatch(result.stdout, /notify_postponed/);
  const events = (await Deno.readTextFile(received)).trim().split("\n").map((line) =>
    JSON.parse(line) as { event: string; job: string }
  );
  assert.deepEqual(events.map((event) => [event.event, event.job]), [
    ["job.failed", "early"],
    ["job.failed", "late"],
  ]);
});

Deno.test("a runner killed mid-delivery makes no second notification", async (t) => {
  await using sandbox = await makeSandbox();
  await failingJob(sandbox, QUIET);
  await using daemon = startFakeDaemon(sandbox.socket, "healthy");
  await t.step("killed while the daemon, having taken the event, has not answered", async () => {
    daemon.faults.push({ path: "/events/emit", kind: "accept-then-hang" });
    const runner = await spawnCli(sandbox, ["--config", sandbox.config]);
    await waitFor(() => daemon.events.length === 1, "the runner's post");
    runner.kill("SIGKILL");
    await runner.output();
    // The next tick sends it again: the daemon drops the copy.
    await runCli(sandbox, []);
    await daemon.settled();
    assert.deepEqual(daemon.events.map((event) => event.effect), ["created", "duplicate"]);
    assert.equal(daemon.notifications.length, 1);
    assert.deepEqual(await outboxLines(sandbox), []);
  });
  await t.step("killed after queueing, before its state was saved", async () => {
    // As such a runner leaves it: the run still marked running, its failure queued.
    const state = await readStateFile(sandbox);
    const started = new Date(Date.now() - 2 * 3600_000).toISOString();
    state.jobs.nightly = {
      ...state.jobs.nightly,
      failures: 0,
      notified: undefined,
      first_failure: undefined,
      running: { started, pgid: 999_999, runner_pid: 999_998 },
    };
    await Deno.writeTextFile(
      join(sandbox.home, ".teleclaude/cron_state.json"),
      JSON.stringify(state),
    );
    await queueEntries(outboxOf(sandbox), [queued("nightly", Date.parse(started))]);
    const before = daemon.events.length;
    await runCli(sandbox, [], { TELECLAUDE_COMPUTER: "mini" });
    await daemon.settled();
    // The run settled as interrupted is the same incident as the failure queued for it: one
    // more notification, not two.
    assert.equal(daemon.notifications.length, 2);
    assert.deepEqual(
      daemon.events.slice(before).map((event) => event.effect).filter((e) => e !== "duplicate"),
      ["created"],
    );
  });
});

const canMountTmpfs = Deno.build.os === "linux" &&
  (await new Deno.Command("unshare", {
    args: ["-rm", "sh", "-c", "mount -t tmpfs -o size=64k tmpfs /mnt"],
    stdout: "null",
    stderr: "null",
  }).output().catch(() => ({ success: false }))).success;
if (!canMountTmpfs) {
  // deno-lint-ignore no-console -- a skip must be visible in the test output.
  console.log("outbox_test: SKIPPED the full-disk test: no unshare -rm with tmpfs here");
}

Deno.test({
  name: "a full disk when the recovery is queued never lets it overtake its held failure",
  ignore: !canMountTmpfs,
  async fn() {
    await using sandbox = await makeSandbox();
    await writeConfig(
      sandbox,
      "cron:\n  notify: { desktop: false }\njobs:\n  flaky: { script: jobs/flaky.sh, when: { every: 1d } }\n",
    );
    // Fails three times (a long tail each), then succeeds after filling the disk.
    await writeFile(
      join(sandbox.project, "jobs/flaky.sh"),
      `#!/bin/sh
if [ "$MODE" = fail ]; then for i in $(seq 1 40); do echo "line $i of a long failure tail, padded to make it long"; done; exit 1; fi
head -c 300000 /dev/zero | tr '\\0' x
dd if=/dev/zero of="$HOME/filler" bs=4096 2>/dev/null
exit 0
`,
      true,
    );
    await using daemon = startFakeDaemon(sandbox.socket, "healthy");
    // The daemon is unwell for the three failing ticks: the failure is then held ten minutes.
    daemon.faults.push({ path: "/events/emit", kind: "status", status: 500, times: 3 });
    const out = join(sandbox.dir, "out");
    await Deno.mkdir(out);
    const flags = (await permissionFlags(sandbox.env)).join(" ");
    const script = `set -u
mount -t tmpfs -o size=1m tmpfs "$HOME" || exit 99
tick() {
  deno run --quiet ${flags} "${join(ROOT, "main.ts")}" --config "${sandbox.config}" --force \
    >"$OUT/$N.out" 2>"$OUT/$N.err"
}
N=1 MODE=fail tick; N=2 MODE=fail tick; N=3 MODE=fail tick
N=4 MODE=ok tick
`;
    const run = await new Deno.Command("unshare", {
      args: ["-rm", "sh", "-c", script],
      env: { ...sandbox.env, OUT: out },
      clearEnv: true,
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert.equal(run.code, 0, new TextDecoder().decode(run.stderr));
    const fourth = Deno.readTextFileSync(join(out, "4.out")) +
      Deno.readTextFileSync(join(out, "4.err"));
    assert.match(fourth, /event=outbox_not_written .*the disk is full/, fourth);
    assert.ok(
      !told(daemon).includes("job.recovered flaky"),
      `the recovery overtook its failure: ${told(daemon).join(", ")}`,
    );
    assert.deepEqual(daemon.events.map((event) => event.status), [500, 500, 500]);
  },
});

const entry = (queuedAt: number, id = String(queuedAt)): OutboxEntry => ({
  ...queued("nightly", queuedAt),
  event: { ...queued("nightly", queuedAt).event, id },
  attempts: 1,
  last_error: "no TeleClaude daemon answers",
});

Deno.test("the outbox drops what is held a week, or past 1,000 entries, oldest first", () => {
  const now = Date.parse("2026-11-26T12:00:00Z");
  const week = 7 * 24 * 3600_000;
  const old = pruneOutbox([entry(now - week - 1), entry(now - week + 1)], now);
  assert.deepEqual(old.kept.map((kept) => kept.event.id), [String(now - week + 1)]);
  assert.deepEqual(old.dropped.map((drop) => drop.reason), ["undelivered for 7 days"]);
  const many = Array.from({ length: 1003 }, (_, i) => entry(now - 1003 + i, `e${i}`));
  const capped = pruneOutbox(many, now);
  assert.equal(capped.kept.length, 1000);
  assert.deepEqual(capped.dropped.map((drop) => drop.entry.event.id), ["e0", "e1", "e2"]);
});

Deno.test("the outbox survives a torn line, is kept empty, and costs an idle tick one lstat", async () => {
  await using sandbox = await makeSandbox();
  const now = Date.parse("2026-11-26T12:00:00Z");
  const path = join(sandbox.home, "outbox.jsonl");
  await queueEntries(path, [entry(now, "a")]);
  await Deno.writeTextFile(path, '{"channel": "daemon", "event": {"id"', { append: true });
  await queueEntries(path, [entry(now, "b")]);
  const read = readOutbox(path);
  assert.deepEqual(read.entries.map((kept) => kept.event.id), ["a", "b"]);
  assert.equal(read.skipped, 1);
  assert.equal((await Deno.stat(path)).mode! & 0o777, 0o600);
  rewriteOutbox(path, [read.entries[1]!]);
  assert.deepEqual(readOutbox(path).entries.map((kept) => kept.event.id), ["b"]);
  assert.equal(waitingIn(path), true);
  rewriteOutbox(path, []);
  assert.equal((await Deno.lstat(path)).size, 0);
  assert.equal(waitingIn(path), false);
  // The first tick makes the empty file, 0600; where there is no ~/.teleclaude, nothing waits.
  const fresh = join(sandbox.home, "fresh.jsonl");
  assert.equal(waitingIn(fresh), false);
  assert.equal((await Deno.lstat(fresh)).mode! & 0o777, 0o600);
  assert.equal(waitingIn(join(sandbox.home, "missing", "outbox.jsonl")), false);
});

Deno.test("a failure that could be neither queued nor sent is told at the next failure, not a day later", async () => {
  await using sandbox = await makeSandbox();
  const received = join(sandbox.records, "told");
  const tell = join(sandbox.project, "tell.sh");
  await writeConfig(
    sandbox,
    "cron:\n  notify: { desktop: false, daemon: false, command: [./tell.sh] }\njobs:\n" +
      "  j: { script: [sh, -c, 'exit 1'], when: { every: 1d } }\n",
  );
  // The outbox cannot be written (a directory where it belongs stands in for a full disk) and
  // the command fails: the first failure reaches nobody and is kept nowhere.
  await writeFile(tell, "#!/bin/sh\nexit 1\n", true);
  await Deno.mkdir(outboxOf(sandbox), { recursive: true });
  const first = await runCli(sandbox, []);
  assert.equal(first.code, 1);
  assert.match(first.stdout + first.stderr, /event=notification_lost job=j/);
  assert.equal((await readStateFile(sandbox)).jobs.j!.notified, undefined);
  // Both mended: the next failure is news, and is told.
  await Deno.remove(outboxOf(sandbox));
  await writeFile(tell, `#!/bin/sh\ncat >> "${received}"\n`, true);
  assert.equal((await runCli(sandbox, ["--force"])).code, 1);
  const told = (await Deno.readTextFile(received)).trim().split("\n").map((line) =>
    JSON.parse(line) as { event: string; failures: number }
  );
  assert.deepEqual(told.map((event) => [event.event, event.failures]), [["job.failed", 2]]);
});

Deno.test("what waits for channels since turned off is dropped, said, and stops costing the idle tick", async () => {
  await using sandbox = await makeSandbox();
  await writeConfig(
    sandbox,
    "cron:\n  notify: { desktop: false, daemon: false }\njobs:\n  j: { script: /bin/true, when: { every: 1d } }\n",
  );
  await Deno.mkdir(join(sandbox.home, ".teleclaude"), { recursive: true });
  await queueEntries(outboxOf(sandbox), [queued("old", Date.now() - 8 * 24 * 3600_000)]);
  const result = await runCli(sandbox, []);
  assert.equal(result.code, 0, result.stderr);
  assert.match(result.stdout + result.stderr, /event=notification_dropped .*id=old@/);
  assert.deepEqual(await outboxLines(sandbox), []);
  assert.equal((await Deno.stat(outboxOf(sandbox))).size, 0, "an empty outbox: one lstat a tick");
});
