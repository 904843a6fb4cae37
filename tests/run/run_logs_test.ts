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
  assert.deepEqual(await listRunLogs(sandbox.dir), [
    "261126-065959.log",
    "261126-070000.log",
    "261126-070000-2.log",
    "261126-070000-10.log",
  ]);
  assert.deepEqual(await listRunLogs(`${sandbox.dir}/missing`), []);
});

Deno.test("pruneRunLogs() keeps the newest 20 runs of a job, same-second runs in their order", async () => {
  await using sandbox = await makeSandbox();
  const logs = join(sandbox.home, ".teleclaude/logs/cron");
  const start = Date.UTC(2026, 10, 26, 7, 0, 0);
  const made: string[] = [];
  // 23 runs: two per second, so every other one carries a -2 suffix.
  for (let run = 0; run < 23; run++) {
    made.push(await newRunLog(logs, "nightly", start + Math.floor(run / 2) * 1000, "UTC"));
  }
  assert.equal(LOGS_KEPT, 20);
  await pruneRunLogs(join(logs, "nightly"), LOGS_KEPT);
  const kept = (await listRunLogs(join(logs, "nightly"))).map((name) =>
    join(logs, "nightly", name)
  );
  assert.deepEqual(kept, made.slice(3));
  assert.match(made[1]!, /261126-070000-2\.log$/);
});
