import assert from "node:assert/strict";
import { dueReason, listRows } from "../../lib/cli/views.ts";
import { DEFAULT_SCRIPT_RETRY, type Job, type ScriptJob } from "../../lib/config/job.ts";
import { describeSchedule, describeSpan, jitterOffset } from "../../lib/schedule.ts";
import { scriptJob } from "../helpers/jobs.ts";

const NOW = Date.parse("2026-11-26T10:00:00Z");

Deno.test("describeSchedule() reads like the config for every shape", () => {
  assert.equal(describeSchedule({ kind: "every", minutes: 10 }), "every 10m");
  assert.equal(describeSchedule({ kind: "every", minutes: 120 }), "every 2h");
  assert.equal(describeSchedule({ kind: "every", minutes: 1440 }), "every 1d");
  assert.equal(
    describeSchedule({ kind: "at", times: ["09:00", "17:30"], weekdays: [0, 2] }),
    "at 09:00,17:30 mon,wed",
  );
  assert.equal(describeSchedule({ kind: "at", times: ["03:15"], weekdays: null }), "at 03:15");
  assert.equal(describeSchedule({ kind: "daily", hour: 6 }), "daily 06:00");
  assert.equal(describeSchedule({ kind: "weekly", weekday: 6, hour: 18 }), "weekly sun 18:00");
  assert.equal(describeSchedule({ kind: "monthly", day: 31, hour: 5 }), "monthly day 31 05:00");
  assert.equal(describeSchedule({ kind: "hourly" }), "hourly");
});

Deno.test("describeSpan() rounds for reading", () => {
  assert.deepEqual([45_000, 180_000, 7_500_000, 3 * 86_400_000].map(describeSpan), [
    "45 s",
    "3 min",
    "2 h 5 min",
    "3 d",
  ]);
});

Deno.test("dueReason() and listRows() explain a job's state", () => {
  const job = scriptJob("nightly", { kind: "every", minutes: 10 }, { command: ["x"] });
  const state = {
    jobs: {
      nightly: {
        last_run: new Date(NOW - 3 * 60_000).toISOString(),
        last_status: "failed" as const,
        last_error: "timed out after 60s",
        outcome: "timed_out" as const,
      },
    },
  };
  assert.equal(
    dueReason(job, state, NOW, "UTC", false),
    "nightly: last run 3 min ago, every 10m: due in 7 min",
  );
  assert.equal(
    dueReason(job, state, NOW, "UTC", true),
    "nightly: last run 3 min ago, every 10m: would run (forced)",
  );
  const [row] = listRows([job], state, NOW, "UTC");
  assert.deepEqual(row, {
    name: "nightly",
    type: "script",
    schedule: "every 10m",
    agent: null,
    computers: null,
    enabled: true,
    jitter_offset_minutes: null,
    last_run: "2026-11-26T09:57:00.000Z",
    last_status: "failed",
    outcome: "timed_out",
    last_error: "timed out after 60s",
    next_due: "2026-11-26T10:06:30.000Z",
    deferred: null,
    agent_spend: null,
    start_problem: null,
    retry: null,
    running: null,
    timeout_seconds: 60,
    flags: ["timed out"],
  });
});

Deno.test("--list and --dry-run show every job that runs now, each with its own record", () => {
  const jobs = ["backup", "digest", "idle"].map((name) => scriptJob(name));
  const running = (pgid: number) => ({
    last_run: null,
    last_status: "never" as const,
    last_error: null,
    running: { started: new Date(NOW - 60_000).toISOString(), pgid, runner_pid: 900 },
  });
  const state = { jobs: { backup: running(901), digest: running(902) } };
  const rows = listRows(jobs, state, NOW, "UTC");
  assert.deepEqual(rows.map((row) => row.running), [
    { started: "2026-11-26T09:59:00.000Z", pgid: 901 },
    { started: "2026-11-26T09:59:00.000Z", pgid: 902 },
    null,
  ]);
  assert.deepEqual(rows.map((row) => row.flags), [
    ["running since 2026-11-26 09:59"],
    ["running since 2026-11-26 09:59"],
    [],
  ]);
  assert.deepEqual(jobs.map((job) => dueReason(job, state, NOW, "UTC", false)), [
    "backup: running (pid 901, since 2026-11-26 09:59)",
    "digest: running (pid 902, since 2026-11-26 09:59)",
    "idle: never ran, every 10m: due now",
  ]);
});

const script = (name: string, schedule: Job["schedule"], more: Partial<ScriptJob> = {}) =>
  scriptJob(name, schedule, { retry: { ...DEFAULT_SCRIPT_RETRY, attempts: 3 }, ...more });

Deno.test("--list and --dry-run say when a retry comes, and why", () => {
  const job = script("nightly", { kind: "at", times: ["03:00"], weekdays: null });
  const retryAt = Date.parse("2026-11-26T10:20:00Z");
  const state = {
    jobs: {
      nightly: {
        last_run: new Date(NOW - 15 * 60_000).toISOString(),
        last_status: "failed" as const,
        last_error: "529 Overloaded",
        outcome: "unavailable" as const,
        failures: 1,
        retry: { attempt: 2, at: new Date(retryAt).toISOString() },
      },
    },
  };
  const [row] = listRows([job], state, NOW, "UTC");
  assert.equal(row!.next_due, "2026-11-26T10:20:00.000Z");
  assert.deepEqual(row!.retry, { attempt: 2, of: 3, at: "2026-11-26T10:20:00.000Z" });
  assert.deepEqual(row!.flags, ["unavailable", "retry 2 of 3 at 10:20"]);
  assert.equal(
    dueReason(job, state, NOW, "UTC", false),
    "nightly: last run 15 min ago, at 03:00: retry 2 of 3 (unavailable is retried) due in 20 min",
  );
  assert.equal(
    dueReason(job, state, retryAt + 60_000, "UTC", false),
    "nightly: last run 36 min ago, at 03:00: due now: retry 2 of 3 (unavailable is retried)",
  );
});

Deno.test("--list and --dry-run show a paused job as paused, never due", () => {
  const job = script("held", { kind: "every", minutes: 10 }, { enabled: false });
  const [row] = listRows([job], { jobs: {} }, NOW, "UTC");
  assert.deepEqual([row!.enabled, row!.next_due, row!.flags], [false, null, [
    "paused (enabled: false)",
  ]]);
  assert.equal(
    dueReason(job, { jobs: {} }, NOW, "UTC", false),
    "held: paused (enabled: false): no tick runs it (run it with --force --job=held)",
  );
  assert.equal(
    dueReason(job, { jobs: {} }, NOW, "UTC", true),
    "held: never ran, every 10m: would run (forced; paused)",
  );
});

Deno.test("--list and --dry-run show a new clock-time job's first run, and a jittered one's real time", () => {
  const job = script("briefing", { kind: "at", times: ["08:00", "20:00"], weekdays: null });
  const [row] = listRows([job], { jobs: {} }, NOW, "UTC");
  assert.equal(row!.next_due, "2026-11-26T20:00:00.000Z");
  assert.deepEqual(row!.flags, ["first run at 2026-11-26 20:00"]);
  assert.equal(
    dueReason(job, { jobs: {} }, NOW, "UTC", false),
    "briefing: never ran, at 08:00,20:00: first run in 10 h: a new job waits for its first " +
      "slot (--force --job=briefing runs it now)",
  );
  // Seen by a tick yesterday: its 08:00 slot has come since, so it is due.
  const seen = { jobs: { briefing: { ...NEVER, first_seen: "2026-11-25T12:00:00.000Z" } } };
  assert.equal(listRows([job], seen, NOW, "UTC")[0]!.next_due, new Date(NOW).toISOString());
  const jittered = { ...job, jitterMinutes: 30 };
  const computer = () => "mini";
  const offset = jitterOffset("briefing", "mini", 30)!;
  const [shifted] = listRows([jittered], { jobs: {} }, NOW, "UTC", { computer });
  assert.equal(shifted!.jitter_offset_minutes, offset);
  assert.equal(shifted!.schedule, `at 08:00,20:00 +${offset}m`);
  assert.equal(
    Date.parse(shifted!.next_due!),
    Date.parse("2026-11-26T20:00:00Z") + offset * 60_000,
  );
  assert.match(
    dueReason(jittered, { jobs: {} }, NOW, "UTC", false, { computer }),
    new RegExp(
      `at 08:00,20:00 \\+${offset}m jitter: first run in 10 h( \\d+ min)? \\(2026-11-26 20:\\d\\d\\)`,
    ),
  );
  // More than 12 hours away the time is said once, as a date and time.
  const morning = {
    ...jittered,
    schedule: { kind: "at" as const, times: ["08:00"], weekdays: null },
  };
  const later = dueReason(morning, { jobs: {} }, NOW, "UTC", false, { computer });
  assert.match(later, /first run at 2026-11-27 08:\d\d: a new job/);
  assert.doesNotMatch(later, /\(2026-/);
});

const NEVER = { last_run: null, last_status: "never" as const, last_error: null };
