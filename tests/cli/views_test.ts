import assert from "node:assert/strict";
import { dueReason, listRows } from "../../lib/cli/views.ts";
import type { Job } from "../../lib/config/job.ts";
import { describeSchedule, describeSpan } from "../../lib/schedule.ts";

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
  const job: Job = {
    name: "nightly",
    type: "script",
    command: ["x"],
    discovered: false,
    schedule: { kind: "every", minutes: 10 },
    timeoutSeconds: 60,
    idleTimeoutSeconds: 0,
    maxLogBytes: null,
    computers: null,
    notify: null,
  };
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
    last_run: "2026-11-26T09:57:00.000Z",
    last_status: "failed",
    outcome: "timed_out",
    last_error: "timed out after 60s",
    next_due: "2026-11-26T10:06:30.000Z",
    start_problem: null,
    timeout_seconds: 60,
    flags: ["timed out"],
  });
});
