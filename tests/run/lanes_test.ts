/**
 * Jobs in lanes (`cron.concurrency` above 1) through the tick (cli/tick.ts selecting, run/lanes.ts
 * scheduling) with an injected executor, and for the long cases an injected clock whose time moves
 * only when the lanes sleep: hours of schedule in milliseconds, nothing spawned.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { runDueJobs } from "../../lib/cli/tick.ts";
import { type Config, DEFAULT_NOTIFY, type Job } from "../../lib/config/job.ts";
import { ConfigError } from "../../lib/errors.ts";
import { runnerPaths } from "../../lib/paths.ts";
import { type JobResult, jobResult } from "../../lib/process/result.ts";
import type { JobContext } from "../../lib/run/execute.ts";
import type { JobExecutor, RunnerOptions, Sleeper } from "../../lib/run/options.ts";
import { readHistory } from "../../lib/store/history.ts";
import { readOutbox } from "../../lib/store/outbox.ts";
import { readState } from "../../lib/store/state.ts";
import { agentJob, scriptJob, testConfig } from "../helpers/jobs.ts";
import { recordingLog } from "../helpers/notify.ts";
import { makeSandbox } from "../helpers/sandbox.ts";

const MIN = 60_000;
const T0 = Date.parse("2026-11-26T10:00:00Z");

const success = () => jobResult({ outcome: "success", exitCode: 0 });

/** A config of `jobs` with `lanes` lanes and the agents' own caps. */
function laneConfig(
  home: string,
  jobs: Job[],
  lanes: number,
  agents: Config["agents"] = {},
): Config {
  const config = testConfig(home, jobs);
  return { ...config, agents, cron: { ...config.cron, concurrency: lanes } };
}

function options(home: string, config: Config, more: Partial<RunnerOptions>): RunnerOptions {
  return {
    config,
    paths: runnerPaths(home),
    force: false,
    only: null,
    timeZone: "UTC",
    computer: () => "this-computer",
    socketPath: `${home}/no-daemon.sock`,
    graceMs: 100,
    log: recordingLog(),
    stop: new AbortController().signal,
    ...more,
  };
}

/**
 * A clock for the lanes: time stands still while anything works and moves, when the lanes sleep,
 * to the earliest of their wake-up and the instants the executors wait for. Anything works: a run
 * whose executor returned is being recorded until its `job_finished` line, after which its lane
 * ends without another wait on I/O (so before any timer of this clock's can fire).
 */
class VirtualTime {
  now = T0;
  sleeps = 0;
  private waits: { at: number; resolve: () => void }[] = [];
  private returned = 0;

  /** The log the lanes write to (`job_finished` lines counted). */
  readonly log = recordingLog();

  readonly clock = () => this.now;

  /** An executor's wait until `at`. */
  until(at: number): Promise<void> {
    return new Promise((resolve) => this.waits.push({ at, resolve }));
  }

  /** What the runner takes to run `execute` on this clock: its returns counted, its log read. */
  runner(execute: JobExecutor): Partial<RunnerOptions> {
    return {
      execute: async (job, context) => {
        try {
          return await execute(job, context);
        } finally {
          this.returned++;
        }
      },
      log: this.log,
      clock: this.clock,
      sleep: this.sleep,
    };
  }

  private recorded(): number {
    return this.log.lines.filter(([event]) => event === "job_finished").length;
  }

  readonly sleep: Sleeper = async (ms, wake) => {
    this.sleeps++;
    // What the lanes started runs up to its first wait on this clock (microtasks, sync I/O); what
    // ended is recorded.
    do {
      await new Promise((resolve) => setTimeout(resolve, 5));
      if (wake.aborted) return;
    } while (this.returned > this.recorded());
    const own = ms === null ? Infinity : this.now + ms;
    const next = Math.min(own, ...this.waits.map((wait) => wait.at));
    assert.ok(next !== Infinity, "the lanes sleep with nothing to wake them");
    this.now = Math.max(this.now, next);
    for (const wait of this.waits.filter((wait) => wait.at <= this.now)) wait.resolve();
    this.waits = this.waits.filter((wait) => wait.at > this.now);
    if (own <= this.now) return;
    await new Promise((resolve) => wake.addEventListener("abort", resolve, { once: true }));
  };
}

Deno.test("in lanes, at most N jobs run at once, never two runs of one job, and each agent within its own cap", async () => {
  await using sandbox = await makeSandbox();
  const claude = ["c1", "c2", "c3"].map((name) => agentJob(name, { kind: "every", minutes: 60 }));
  const codex = ["x1", "x2"].map((name) =>
    agentJob(name, { kind: "every", minutes: 60 }, { agent: "codex" })
  );
  const scripts = ["s1", "s2", "s3"].map((name) => scriptJob(name));
  const jobs = [...claude, ...codex, ...scripts];
  const config = laneConfig(sandbox.home, jobs, 4, { claude: { concurrency: 2 } });
  const now = new Map<string, number>();
  const most = new Map<string, number>();
  const count = (key: string, by: number) => {
    now.set(key, (now.get(key) ?? 0) + by);
    most.set(key, Math.max(most.get(key) ?? 0, now.get(key)!));
  };
  const execute = async (job: Job, context: JobContext): Promise<JobResult> => {
    await context.onStart(4000 + jobs.indexOf(job));
    const keys = ["all", job.name, job.type === "agent" ? job.agent : "script"];
    for (const key of keys) count(key, 1);
    await new Promise((resolve) => setTimeout(resolve, 30));
    for (const key of keys) count(key, -1);
    return success();
  };
  const summary = await runDueJobs(options(sandbox.home, config, { execute }));
  assert.deepEqual(summary, { ran: 8, failed: 0, interruptedBy: null });
  assert.equal(most.get("all"), 4, "four lanes were full at once");
  assert.equal(most.get("claude"), 2, "claude's two lanes");
  assert.equal(most.get("codex"), 1, "codex's one lane (the default)");
  for (const job of jobs) assert.equal(most.get(job.name), 1, `${job.name} ran once at a time`);
  const state = readState(runnerPaths(sandbox.home).state).state;
  for (const job of jobs) {
    assert.equal(state.jobs[job.name]?.outcome, "success", job.name);
    assert.equal(state.jobs[job.name]?.running, undefined, job.name);
  }
  const history = await readHistory(runnerPaths(sandbox.home).history, { limit: 20 });
  assert.deepEqual(
    history.entries.map((entry) => entry.job).sort(),
    jobs.map((j) => j.name).sort(),
  );
});

Deno.test("in lanes, a usage limit one job hits holds back its agent's jobs not yet started", async () => {
  await using sandbox = await makeSandbox();
  const jobs = [
    agentJob("first", { kind: "every", minutes: 60 }),
    agentJob("second", { kind: "every", minutes: 60 }),
    scriptJob("script"),
  ];
  const log = recordingLog();
  const started: string[] = [];
  const execute = async (job: Job, context: JobContext): Promise<JobResult> => {
    await context.onStart(4100 + started.length);
    started.push(job.name);
    return job.name === "first"
      ? jobResult({ outcome: "usage_limit", error: "limit", resetsAt: T0 + 3 * 3600_000 })
      : success();
  };
  const config = laneConfig(sandbox.home, jobs, 4);
  const summary = await runDueJobs(
    options(sandbox.home, config, { execute, log, clock: () => T0 }),
  );
  assert.deepEqual(started.sort(), ["first", "script"]);
  assert.deepEqual(summary, { ran: 2, failed: 1, interruptedBy: null });
  const deferred = log.lines.filter(([event]) => event === "job_deferred");
  assert.deepEqual(deferred.map(([, fields]) => [fields.job, fields.reason]), [
    ["second", "usage limit"],
  ]);
});

Deno.test("an every: 5m job runs on its ticks while a 60-minute job runs beside it", async () => {
  await using sandbox = await makeSandbox();
  const time = new VirtualTime();
  const long = scriptJob("long", { kind: "every", minutes: 24 * 60 }, { timeoutSeconds: 7200 });
  const short = scriptJob("short", { kind: "every", minutes: 5 });
  const runs: { job: string; at: number }[] = [];
  let longEnded = Infinity;
  const execute = async (job: Job, context: JobContext): Promise<JobResult> => {
    await context.onStart(4200 + runs.length);
    runs.push({ job: job.name, at: time.now });
    if (job.name === "long") {
      await time.until(time.now + 60 * MIN);
      longEnded = time.now;
    }
    return success();
  };
  const metrics = join(sandbox.home, ".teleclaude/metrics/cron.prom");
  const config = laneConfig(sandbox.home, [long, short], 2);
  config.cron = { ...config.cron, metricsFile: metrics };
  const summary = await runDueJobs(
    options(sandbox.home, config, time.runner(execute)),
  );
  // The metrics: it looked at the schedules until it ended, and nothing runs any more.
  const written = await Deno.readTextFile(metrics);
  assert.match(
    written,
    new RegExp(`^teleclaude_cron_last_tick_timestamp_seconds ${time.now / 1000}$`, "m"),
  );
  assert.match(written, /^teleclaude_cron_running_jobs 0$/m);
  const shortRuns = runs.filter((run) => run.job === "short").map((run) => (run.at - T0) / MIN);
  assert.equal(longEnded, T0 + 60 * MIN);
  // Every five minutes while the long one ran, and once more at its end (due then too).
  assert.deepEqual(shortRuns, [0, 5, 10, 15, 20, 25, 30, 35, 40, 45, 50, 55, 60]);
  assert.deepEqual(summary, { ran: 14, failed: 0, interruptedBy: null });
  // It slept only until something came due or ended: about one sleep per run, never a spin.
  assert.ok(time.sleeps <= 2 * runs.length, `${time.sleeps} sleeps for ${runs.length} runs`);
  const history = await readHistory(runnerPaths(sandbox.home).history, { limit: 100 });
  assert.equal(history.entries.filter((entry) => entry.job === "short").length, 13);
  assert.equal(history.entries.filter((entry) => entry.job === "long").length, 1);
});

Deno.test("a lane runner ends when nothing runs: a job due later is the next tick's", async () => {
  await using sandbox = await makeSandbox();
  const time = new VirtualTime();
  const jobs = [scriptJob("a", { kind: "every", minutes: 30 }), scriptJob("b")];
  const execute = async (_job: Job, context: JobContext) => {
    await context.onStart(4300);
    return success();
  };
  const summary = await runDueJobs(
    options(sandbox.home, laneConfig(sandbox.home, jobs, 3), time.runner(execute)),
  );
  assert.deepEqual(summary, { ran: 2, failed: 0, interruptedBy: null });
  assert.equal(time.now, T0, "no time passed: it never slept past the runs' end");
});

Deno.test("a lane runner starts no job whose timeout would end past every job's timeout added up", async () => {
  await using sandbox = await makeSandbox();
  const time = new VirtualTime();
  // 50 + 6 minutes of timeouts: the short job may start up to 56 - 6 = 50 minutes in.
  const long = scriptJob("long", { kind: "every", minutes: 24 * 60 }, { timeoutSeconds: 3000 });
  const short = scriptJob("short", { kind: "every", minutes: 7 }, { timeoutSeconds: 360 });
  const log = time.log;
  const runs: number[] = [];
  const execute = async (job: Job, context: JobContext) => {
    await context.onStart(4400);
    if (job.name === "short") runs.push((time.now - T0) / MIN);
    if (job.name === "long") await time.until(time.now + 58 * MIN);
    return success();
  };
  const config = laneConfig(sandbox.home, [long, short], 2);
  await runDueJobs(
    options(sandbox.home, config, time.runner(execute)),
  );
  // At 56 its timeout would end at 62: left for the tick after the long job's end.
  assert.deepEqual(runs, [0, 7, 14, 21, 28, 35, 42, 49]);
  const postponed = log.lines.filter(([event]) => event === "job_postponed");
  assert.deepEqual(postponed.map(([, fields]) => fields.job), ["short"]);
  assert.match(String(postponed[0]![1].reason), /the next tick starts it$/);
});

Deno.test("a lane runner picks up an edited config for the jobs that start after the edit", async () => {
  await using sandbox = await makeSandbox();
  const time = new VirtualTime();
  const long = scriptJob("long", { kind: "every", minutes: 24 * 60 }, { timeoutSeconds: 7200 });
  const short = scriptJob("short", { kind: "every", minutes: 5 });
  const first = laneConfig(sandbox.home, [long, short], 2);
  const added = scriptJob("added", { kind: "every", minutes: 60 });
  // The edit: a job added, and the long one's timeout cut (it runs on under its old one).
  const edited = laneConfig(sandbox.home, [{ ...long, timeoutSeconds: 60 }, short, added], 2);
  let config = first;
  const seen: { job: string; at: number; timeout: number }[] = [];
  const execute = async (job: Job, context: JobContext) => {
    await context.onStart(4500);
    seen.push({ job: job.name, at: (time.now - T0) / MIN, timeout: job.timeoutSeconds });
    if (job.name === "long") await time.until(time.now + 20 * MIN);
    return success();
  };
  const log = time.log;
  const reloadConfig = () => {
    if (time.now >= T0 + 7 * MIN) config = edited;
    if (time.now >= T0 + 12 * MIN && time.now < T0 + 16 * MIN) {
      return Promise.reject(
        new ConfigError({
          file: "teleclaude.yml",
          line: 3,
          column: 5,
          field: "jobs.x",
          message: "broken",
        }),
      );
    }
    return Promise.resolve(config);
  };
  await runDueJobs(
    options(sandbox.home, first, { ...time.runner(execute), reloadConfig }),
  );
  const addedRun = seen.find((run) => run.job === "added");
  assert.equal(addedRun?.at, 10, "the added job started at the first wake after the edit");
  assert.deepEqual(seen.filter((run) => run.job === "long").map((run) => run.timeout), [7200]);
  assert.deepEqual(
    seen.filter((run) => run.job === "short").map((run) => run.at),
    [0, 5, 10, 15, 20],
  );
  // A config that does not load is said once, and the jobs go on under the last good one.
  const problems = log.lines.filter(([event]) => event === "config_not_reloaded");
  assert.deepEqual(problems.map(([, fields]) => fields.error), [
    "teleclaude.yml:3:5: jobs.x: broken",
  ]);
});

Deno.test("lanes never save one run's record half made, nor mark told what the outbox lacks", async () => {
  await using sandbox = await makeSandbox();
  const paths = runnerPaths(sandbox.home);
  // The daemon channel on and no daemon: every failure waits in the outbox, to be read.
  const notify = { ...DEFAULT_NOTIFY, desktop: false };
  const jobs: Job[] = Array.from({ length: 12 }, (_, index) => scriptJob(`job${index}`));
  const config = { ...testConfig(sandbox.home, jobs, notify) };
  config.cron = { ...config.cron, concurrency: 4 };
  const problems: string[] = [];
  const check = () => {
    // Whatever instant this is, every run the state says was told is waiting in the outbox.
    const state = readState(paths.state).state;
    const queued = new Set(readOutbox(paths.outbox).entries.map((entry) => entry.event.id));
    for (const [name, entry] of Object.entries(state.jobs)) {
      if (entry.notified && !queued.has(`${name}@${entry.last_run}`)) {
        problems.push(`${name} marked told, not queued`);
      }
    }
  };
  const execute = async (job: Job, context: JobContext) => {
    await context.onStart(4600 + jobs.indexOf(job));
    check();
    await new Promise((resolve) => setTimeout(resolve, 5 + jobs.indexOf(job) % 3));
    return jobResult({ outcome: "failed", exitCode: 1, error: `${job.name} failed` });
  };
  const summary = await runDueJobs(options(sandbox.home, config, { execute }));
  check();
  assert.deepEqual(problems, []);
  assert.deepEqual(summary, { ran: 12, failed: 12, interruptedBy: null });
  const state = readState(paths.state).state;
  for (const job of jobs) {
    const entry = state.jobs[job.name]!;
    assert.deepEqual([entry.outcome, entry.failures, entry.notified?.failures], ["failed", 1, 1]);
    assert.equal(entry.history_pending, undefined, "every line is in the history");
  }
  const told = readOutbox(paths.outbox).entries.map((entry) => entry.event.job).sort();
  assert.deepEqual(told, jobs.map((job) => job.name).sort());
  assert.equal((await readHistory(paths.history, { limit: 50 })).entries.length, 12);
});

Deno.test("SIGTERM to a lane runner stops every running job and records each as interrupted", async () => {
  await using sandbox = await makeSandbox();
  const controller = new AbortController();
  const jobs: Job[] = ["a", "b", "c", "d"].map((name) => scriptJob(name));
  let running = 0;
  const execute = async (job: Job, context: JobContext): Promise<JobResult> => {
    await context.onStart(4700 + jobs.indexOf(job));
    if (++running === 3) controller.abort("SIGTERM");
    if (!context.stop.aborted) {
      await new Promise((resolve) => context.stop.addEventListener("abort", resolve));
    }
    return jobResult({ outcome: "interrupted", error: `interrupted by ${context.stop.reason}` });
  };
  const config = laneConfig(sandbox.home, jobs, 3);
  const summary = await runDueJobs(
    options(sandbox.home, config, { execute, stop: controller.signal }),
  );
  assert.deepEqual(summary, { ran: 3, failed: 3, interruptedBy: "SIGTERM" });
  const state = readState(runnerPaths(sandbox.home).state).state;
  for (const name of ["a", "b", "c"]) {
    assert.equal(state.jobs[name]?.outcome, "interrupted", name);
    assert.equal(state.jobs[name]?.running, undefined, name);
  }
  assert.equal(state.jobs.d, undefined, "no job starts once asked to stop");
});

Deno.test("two lanes of one agent that both hit its usage limit back it off twice, not once", async () => {
  await using sandbox = await makeSandbox();
  const jobs: Job[] = ["first", "second"].map((name) =>
    agentJob(name, { kind: "every", minutes: 60 })
  );
  const execute = async (job: Job, context: JobContext): Promise<JobResult> => {
    await context.onStart(4800 + jobs.indexOf(job));
    // Both run, then both meet the limit: the second's record starts before the first's ends.
    await new Promise((resolve) => setTimeout(resolve, 10));
    return jobResult({ outcome: "usage_limit", error: "limit" });
  };
  const config = laneConfig(sandbox.home, jobs, 2, { claude: { concurrency: 2 } });
  await runDueJobs(options(sandbox.home, config, { execute, clock: () => T0 }));
  const { agent_backoff } = readState(runnerPaths(sandbox.home).state).state;
  // 15 minutes after the first limit, doubled for the second: as one run after the other.
  assert.deepEqual({ ...agent_backoff }, {
    claude: { until: new Date(T0 + 30 * MIN).toISOString(), attempts: 2 },
  });
});
