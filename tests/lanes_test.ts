/**
 * Jobs in lanes (`cron.concurrency`) with real processes under a temp HOME: a storm of runners,
 * SIGTERM and kill -9 with several jobs running, an edit of the config while the runner works.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import {
  makeSandbox,
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

/** Script jobs `names` that each start a background `sleep 30` (noted) and wait for it. */
async function hangingJobs(sandbox: Sandbox, names: string[], lanes: number): Promise<void> {
  const jobs = names.map((name) => `  ${name}: { script: jobs/hang.sh, when: { every: 1d } }\n`);
  await writeConfig(sandbox, `cron:\n  concurrency: ${lanes}\njobs:\n${jobs.join("")}`);
  await writeFile(
    join(sandbox.project, "jobs/hang.sh"),
    `#!/bin/sh\nsleep 30 &\necho $! >> "${sandbox.records}/sleepers"\nwait\n`,
    true,
  );
}

async function runningJobs(sandbox: Sandbox): Promise<Record<string, { pgid: number }>> {
  try {
    const state = await readStateFile(sandbox);
    return Object.fromEntries(
      Object.entries(state.jobs).flatMap(([name, entry]) =>
        entry.running ? [[name, entry.running as { pgid: number }]] : []
      ),
    );
  } catch {
    return {};
  }
}

const linesOf = (path: string) =>
  Deno.readTextFile(path).then((text) => text.trim().split("\n").filter(Boolean), () => []);

/** Waits for `count` jobs recorded running and their `sleep`s started; their process groups. */
async function whenRunning(sandbox: Sandbox, count: number): Promise<number[]> {
  const running = await waitFor(async () => {
    const jobs = await runningJobs(sandbox);
    return Object.keys(jobs).length === count ? jobs : null;
  }, `${count} jobs recorded as running`);
  await waitFor(
    async () => (await linesOf(join(sandbox.records, "sleepers"))).length === count,
    "their background processes",
  );
  return Object.values(running).map((record) => record.pgid);
}

async function sleepers(sandbox: Sandbox): Promise<number[]> {
  return (await linesOf(join(sandbox.records, "sleepers"))).map(Number);
}

Deno.test("SIGTERM with three jobs running in lanes records three interrupted and leaves no process", async () => {
  await using sandbox = await makeSandbox();
  await hangingJobs(sandbox, ["one", "two", "three"], 3);
  const runner = await spawnCli(sandbox, ["--config", sandbox.config], FAST_GRACE);
  const groups = await whenRunning(sandbox, 3);
  runner.kill("SIGTERM");
  const output = await runner.output();
  assert.equal(output.code, 143, new TextDecoder().decode(output.stderr));
  const state = await readStateFile(sandbox);
  for (const name of ["one", "two", "three"]) {
    assert.equal(state.jobs[name]?.outcome, "interrupted", name);
    assert.equal(state.jobs[name]?.last_error, "interrupted by SIGTERM", name);
    assert.equal(state.jobs[name]?.running, undefined, name);
  }
  for (const pid of [...groups, ...await sleepers(sandbox)]) {
    assert.equal(await processAlive(pid), false, `process ${pid} is gone`);
  }
  // Each run its own log.
  const logs = ["one", "two", "three"].map((name) => state.jobs[name]?.log_path as string);
  assert.equal(new Set(logs).size, 3);
  for (const path of logs) assert.ok((await Deno.stat(path)).isFile, path);
  const log = new TextDecoder().decode(output.stdout) + new TextDecoder().decode(output.stderr);
  // One line per event, each naming its job.
  for (const name of ["one", "two", "three"]) {
    const finished = new RegExp(
      `^ts=\\S+ level=error event=job_finished job=${name} status=interrupted`,
      "gm",
    );
    assert.equal(log.match(finished)?.length, 1, log);
  }
});

Deno.test("kill -9 of a lane runner with three jobs running: the next tick settles all three", async () => {
  await using sandbox = await makeSandbox();
  await hangingJobs(sandbox, ["one", "two", "three"], 4);
  const runner = await spawnCli(sandbox, ["--config", sandbox.config], FAST_GRACE);
  const groups = await whenRunning(sandbox, 3);
  runner.kill("SIGKILL");
  await runner.output();
  for (const pgid of groups) assert.equal(await processAlive(pgid), true, "left running");
  const next = await runCli(sandbox, [], FAST_GRACE);
  assert.equal(next.code, 0, next.stderr);
  const state = await readStateFile(sandbox);
  for (const name of ["one", "two", "three"]) {
    assert.equal(state.jobs[name]?.outcome, "interrupted", name);
    assert.match(state.jobs[name]?.last_error as string, /were stopped$/, name);
    assert.equal(state.jobs[name]?.running, undefined, name);
    assert.equal(state.jobs[name]?.history_pending, undefined, name);
  }
  await waitFor(async () => {
    for (const pid of [...groups, ...await sleepers(sandbox)]) {
      if (await processAlive(pid)) return false;
    }
    return true;
  }, "every leftover process to be gone");
  const history = await runCli(sandbox, ["--history", "--json"]);
  const runs = JSON.parse(history.stdout) as { job: string; status: string }[];
  assert.deepEqual(runs.map((run) => `${run.job}:${run.status}`).sort(), [
    "one:interrupted",
    "three:interrupted",
    "two:interrupted",
  ]);
});

Deno.test("a storm of runners with four lanes never runs a job twice at once, nor more than four", async () => {
  await using sandbox = await makeSandbox();
  const names = ["a", "b", "c", "d", "e", "f"];
  const jobs = names.map((name) => `  ${name}: { script: jobs/once.sh, when: { every: 1h } }\n`);
  await writeConfig(sandbox, `cron:\n  concurrency: 4\njobs:\n${jobs.join("")}`);
  const lanes = join(sandbox.records, "lanes");
  await Deno.mkdir(lanes);
  // mkdir is atomic: a second copy of a job finds its directory there. The lanes in use are
  // counted at each start.
  await writeFile(
    join(sandbox.project, "jobs/once.sh"),
    `#!/bin/sh
mkdir "${lanes}/$TELECLAUDE_JOB_NAME" || echo "$TELECLAUDE_JOB_NAME" >> "${sandbox.records}/overlaps"
ls "${lanes}" | wc -l >> "${sandbox.records}/busy"
echo "$TELECLAUDE_JOB_NAME" >> "${sandbox.records}/runs"
sleep 0.3
rmdir "${lanes}/$TELECLAUDE_JOB_NAME"
`,
    true,
  );
  for (const args of [[], ["--force"], ["--force"]]) {
    const runners = await Promise.all(
      Array.from({ length: 6 }, () => spawnCli(sandbox, ["--config", sandbox.config, ...args])),
    );
    const outputs = await Promise.all(runners.map((child) => child.output()));
    assert.deepEqual(outputs.map((output) => output.code), Array(6).fill(0));
  }
  assert.deepEqual(await linesOf(join(sandbox.records, "overlaps")), []);
  const busy = (await linesOf(join(sandbox.records, "busy"))).map(Number);
  assert.ok(Math.max(...busy) <= 4, `at most four at once: ${busy}`);
  assert.ok(Math.max(...busy) >= 2, `the lanes ran jobs side by side: ${busy}`);
  const runs = await linesOf(join(sandbox.records, "runs"));
  // The plain storm ran each job once; each forced storm at least once more.
  for (const name of names) {
    assert.ok(runs.filter((run) => run === name).length >= 2, `${name}: ${runs}`);
  }
  const state = await readStateFile(sandbox);
  for (const name of names) assert.equal(state.jobs[name]?.running, undefined, name);
});

Deno.test("a config edited while the lane runner works is what the jobs started after it run", async () => {
  await using sandbox = await makeSandbox();
  const config = (long: string, extra = "") =>
    `cron:\n  concurrency: 2\njobs:\n  long: { script: ${long}, when: { every: 1d } }\n` +
    `  short: { script: jobs/short.sh, when: { every: 1d } }\n${extra}`;
  await writeConfig(sandbox, config("jobs/long.sh"));
  const note = (name: string) => `echo ${name} >> "${sandbox.records}/ran"`;
  await writeFile(
    join(sandbox.project, "jobs/long.sh"),
    `#!/bin/sh\nsleep 5\n${note("long")}\n`,
    true,
  );
  await writeFile(
    join(sandbox.project, "jobs/short.sh"),
    `#!/bin/sh\nsleep 2.5\n${note("short")}\n`,
    true,
  );
  await writeFile(join(sandbox.project, "jobs/added.sh"), `#!/bin/sh\n${note("added")}\n`, true);
  const runner = await spawnCli(sandbox, ["--config", sandbox.config], FAST_GRACE);
  await waitFor(async () => Object.keys(await runningJobs(sandbox)).length === 2, "both running");
  // The edit: a job added, and the running job's program changed (it runs on as it started).
  await writeConfig(
    sandbox,
    config("jobs/added.sh", "  added: { script: jobs/added.sh, when: { every: 1h } }\n"),
  );
  const output = await runner.output();
  const stdout = new TextDecoder().decode(output.stdout);
  assert.equal(output.code, 0, new TextDecoder().decode(output.stderr));
  assert.match(stdout, /event=config_reloaded/);
  assert.match(stdout, /event=runner_done ran=3 failed=0/);
  // The added job ran while the long one still did: started at the short one's end.
  assert.deepEqual(await linesOf(join(sandbox.records, "ran")), ["short", "added", "long"]);
  const history = JSON.parse((await runCli(sandbox, ["--history", "--json"])).stdout) as {
    job: string;
    started: string;
    finished: string;
  }[];
  const added = history.find((run) => run.job === "added")!;
  const long = history.find((run) => run.job === "long")!;
  assert.ok(Date.parse(added.started) < Date.parse(long.finished));
});
