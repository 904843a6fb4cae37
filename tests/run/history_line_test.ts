/**
 * The history line of a run, crash-safe (issue 21, item 6): whatever instant the runner was killed
 * at, the next tick leaves exactly one line per run. The instants themselves are held with strace
 * in tests/reliability_test.ts (Linux); here, on every platform, each disk a kill can leave is
 * generated (the outcome saved with its line pending; the line appended or not, torn, before or
 * after a rotation, among other lanes' lines) and handed to the real tick.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { runDueJobs } from "../../lib/cli/tick.ts";
import { runnerPaths } from "../../lib/paths.ts";
import { HISTORY_MAX_BYTES, readHistory } from "../../lib/store/history.ts";
import {
  type CronState,
  type HistoryEntry,
  nameMap,
  readState,
  saveState,
} from "../../lib/store/state.ts";
import { scriptJob, testConfig } from "../helpers/jobs.ts";
import { quietLog } from "../helpers/notify.ts";
import { random } from "../helpers/random.ts";
import { makeSandbox } from "../helpers/sandbox.ts";

const SEED = Number(Deno.env.get("FUZZ_SEED") ?? 20261202);
const T0 = Date.parse("2026-12-02T03:00:00Z");
const quiet = quietLog();

/** The real tick over `jobs` (every day: none due), a minute after the runs. */
function tick(sandbox: { home: string; dir: string }, jobs: string[]) {
  return runDueJobs({
    config: testConfig(
      sandbox.home,
      jobs.map((name) => scriptJob(name, { kind: "every", minutes: 24 * 60 })),
    ),
    paths: runnerPaths(sandbox.home),
    force: false,
    only: null,
    timeZone: "UTC",
    computer: () => "here",
    socketPath: join(sandbox.dir, "none.sock"),
    graceMs: 100,
    log: quiet,
    stop: new AbortController().signal,
    clock: () => T0 + 60_000,
  });
}

/** Where a kill left a run: its line only pending, also appended, appended and dropped, torn. */
const LEFT = ["pending", "appended", "dropped", "torn"] as const;

function line(job: string, startedAt: number): HistoryEntry {
  return {
    job,
    type: "script",
    started: new Date(startedAt).toISOString(),
    finished: new Date(startedAt + 1000).toISOString(),
    duration_ms: 1000,
    status: "success",
    exit_code: 0,
    error: null,
    log_path: null,
  };
}

/** One generated disk: the state, the history's two files, and the runs each must hold once. */
function generate(next: () => number) {
  const pick = <T>(items: readonly T[]) => items[Math.floor(next() * items.length)]!;
  const jobs = Array.from({ length: 1 + Math.floor(next() * 4) }, (_, index) => `job${index}`);
  const state: CronState = { jobs: nameMap() };
  const older = Array.from(
    { length: Math.floor(next() * 6) },
    (_, index) => JSON.stringify(line(pick(jobs), T0 - (index + 1) * 3600_000)),
  );
  const after: string[] = [];
  const runs: HistoryEntry[] = [];
  let torn: string | null = null;
  for (const [index, job] of jobs.entries()) {
    const run = line(job, T0 + index * 1000);
    runs.push(run);
    const left = pick(LEFT);
    state.jobs[job] = {
      last_run: run.started,
      last_status: "success",
      last_error: null,
      outcome: "success",
      ...(left === "dropped" ? {} : { history_pending: run }),
    };
    if (left === "appended" || left === "dropped") after.push(JSON.stringify(run));
    // Only the last write of all can be cut short.
    if (left === "torn" && torn === null) torn = JSON.stringify(run).slice(0, 40);
  }
  // Lanes append in any order; a rotation may fall anywhere among the lines.
  after.sort(() => next() - 0.5);
  const lines = [...older, ...after];
  const rotation = Math.floor(next() * (lines.length + 1));
  const rotated = lines.slice(0, rotation);
  const current = lines.slice(rotation).map((text) => `${text}\n`).join("") + (torn ?? "");
  return { jobs, state, rotated, current, runs };
}

Deno.test(`(seed ${SEED}) wherever a kill left a run's history line, the next tick leaves it there once`, async () => {
  const next = random(SEED);
  for (let round = 0; round < 40; round++) {
    await using sandbox = await makeSandbox();
    const paths = runnerPaths(sandbox.home);
    const disk = generate(next);
    saveState(paths.state, disk.state);
    if (disk.rotated.length) {
      await Deno.writeTextFile(`${paths.history}.1`, disk.rotated.map((l) => `${l}\n`).join(""));
    }
    if (disk.current) await Deno.writeTextFile(paths.history, disk.current);
    const where = `seed ${SEED} round ${round}`;
    const check = async () => {
      const { entries } = await readHistory(paths.history, { limit: 1000 });
      for (const run of disk.runs) {
        const found = entries.filter((entry) =>
          entry.job === run.job && entry.started === run.started
        );
        assert.equal(found.length, 1, `${where}: ${run.job}'s run has one line`);
      }
      const state = readState(paths.state).state;
      for (const job of disk.jobs) {
        assert.equal(state.jobs[job]?.history_pending, undefined, `${where}: ${job} settled`);
      }
      return entries.length;
    };
    assert.deepEqual(
      await tick(sandbox, disk.jobs),
      { ran: 0, failed: 0, interruptedBy: null },
      where,
    );
    const lines = await check();
    // A tick more changes nothing.
    await tick(sandbox, disk.jobs);
    assert.equal(await check(), lines, `${where}: a second tick adds no line`);
  }
});

Deno.test("a pending line whose run rotated out with the previous file is not written again", async () => {
  await using sandbox = await makeSandbox();
  const paths = runnerPaths(sandbox.home);
  const run = line("big", T0);
  // The run's line went in just before the file passed its size and was rotated.
  const filler = JSON.stringify({ ...line("other", T0 - 3600_000), error: "x".repeat(4000) });
  const rotated = Array.from({ length: Math.ceil(HISTORY_MAX_BYTES / 4000) }, () => filler);
  saveState(paths.state, {
    jobs: nameMap([["big", {
      last_run: run.started,
      last_status: "success",
      last_error: null,
      history_pending: run,
    }]]),
  });
  await Deno.writeTextFile(`${paths.history}.1`, [...rotated, JSON.stringify(run), ""].join("\n"));
  await Deno.writeTextFile(paths.history, `${JSON.stringify(line("other", T0 + 5000))}\n`);
  await tick(sandbox, ["big"]);
  const { entries } = await readHistory(paths.history, { job: "big", limit: 10 });
  assert.equal(entries.length, 1);
  assert.equal(readState(paths.state).state.jobs.big?.history_pending, undefined);
});
