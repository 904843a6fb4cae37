import assert from "node:assert/strict";
import { join } from "node:path";
import { listRunLogs, LOGS_KEPT, newRunLog, pruneRunLogs } from "../../lib/run/run_logs.ts";
import { makeSandbox } from "../helpers/sandbox.ts";

Deno.test("listRunLogs() orders runs of the same second after their first", async () => {
  await using sandbox = await makeSandbox();
  for (
    const name of [
      "261126-070000-2.log",
      "261126-065959.log",
      "261126-070000.log",
      "261126-070000-10.log",
      "x.txt",
    ]
  ) {
    await Deno.writeTextFile(`${sandbox.dir}/${name}`, "");
  }
  assert.deepEqual(listRunLogs(sandbox.dir), [
    "261126-065959.log",
    "261126-070000.log",
    "261126-070000-2.log",
    "261126-070000-10.log",
  ]);
  assert.deepEqual(listRunLogs(`${sandbox.dir}/missing`), []);
});

Deno.test("pruneRunLogs() keeps the newest 20 runs in run order, whatever the clock did", async () => {
  await using sandbox = await makeSandbox();
  const root = join(sandbox.home, ".teleclaude");
  const logs = join(root, "logs/cron");
  const start = Date.UTC(2026, 10, 26, 7, 0, 0);
  const made: string[] = [];
  // 23 runs, two per second, and the clock moved back an hour after the tenth: the names' times
  // go backwards, their counters do not.
  for (let run = 0; run < 23; run++) {
    const at = start + Math.floor(run / 2) * 1000 - (run >= 10 ? 3600_000 : 0);
    made.push(newRunLog(logs, root, "nightly", at));
  }
  assert.match(made[0]!, /261126-070000Z-1\.log$/);
  assert.match(made[1]!, /261126-070000Z-2\.log$/);
  assert.match(made[10]!, /261126-060005Z-11\.log$/);
  assert.equal(LOGS_KEPT, 20);
  pruneRunLogs(join(logs, "nightly"), LOGS_KEPT, 1024 * 1024);
  const kept = listRunLogs(join(logs, "nightly")).map((name) => join(logs, "nightly", name));
  assert.deepEqual(kept, made.slice(3));
});

Deno.test("pruneRunLogs() keeps a job's logs within a total size, the newest always", async () => {
  await using sandbox = await makeSandbox();
  const root = join(sandbox.home, ".teleclaude");
  const dir = join(root, "logs/cron/big");
  const made: string[] = [];
  for (let run = 0; run < 5; run++) {
    const path = newRunLog(join(root, "logs/cron"), root, "big", Date.UTC(2026, 10, 26, 7, run));
    await Deno.writeTextFile(path, "x".repeat(400));
    made.push(path);
  }
  pruneRunLogs(dir, LOGS_KEPT, 1000);
  assert.deepEqual(listRunLogs(dir).map((name) => join(dir, name)), made.slice(3));
  // A single run larger than the total is still kept: it is the one a person wants to read.
  pruneRunLogs(dir, LOGS_KEPT, 10);
  assert.deepEqual(listRunLogs(dir).map((name) => join(dir, name)), made.slice(4));
});

Deno.test("listRunLogs() and pruneRunLogs() touch only the runner's regular files", async () => {
  await using sandbox = await makeSandbox();
  const root = join(sandbox.home, ".teleclaude");
  const dir = join(root, "logs/cron/job");
  newRunLog(join(root, "logs/cron"), root, "job", Date.UTC(2026, 10, 26));
  const outside = join(sandbox.dir, "precious.log");
  await Deno.writeTextFile(outside, "keep me");
  await Deno.symlink(outside, join(dir, "261125-000000Z-0.log"));
  await Deno.writeTextFile(join(dir, "notes.txt"), "mine");
  assert.deepEqual(listRunLogs(dir), ["261126-000000Z-1.log"]);
  pruneRunLogs(dir, 0, 0);
  assert.equal(await Deno.readTextFile(outside), "keep me");
  assert.equal(await Deno.readTextFile(join(dir, "notes.txt")), "mine");
});
