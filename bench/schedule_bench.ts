/** In-process figures: the due rule and the --list rows over many jobs (should grow linearly). */

import { listRows } from "../lib/cli/views.ts";
import { isDue, nextDue } from "../lib/schedule.ts";
import { mixedJobs, stateRanAt } from "./fixtures.ts";

const NOW = Date.parse("2026-11-26T10:00:00Z");
const TZ = "Europe/Amsterdam";

for (const count of [1_000, 10_000]) {
  const jobs = mixedJobs(count);
  const state = stateRanAt(jobs, NOW - 3_600_000);
  Deno.bench({
    name: `isDue + nextDue, ${count} jobs`,
    group: "schedule",
    baseline: count === 1_000,
    fn() {
      for (const job of jobs) {
        const lastRun = Date.parse(state.jobs[job.name]!.last_run!);
        isDue(job.schedule, lastRun, NOW, TZ);
        nextDue(job.schedule, lastRun, NOW, TZ);
      }
    },
  });
}

for (const count of [200, 2_000]) {
  const jobs = mixedJobs(count);
  const state = stateRanAt(jobs, NOW - 3_600_000);
  Deno.bench({
    name: `--list rows, ${count} jobs`,
    group: "list",
    baseline: count === 200,
    fn() {
      listRows(jobs, state, NOW, TZ);
    },
  });
}
