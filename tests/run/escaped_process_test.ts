/**
 * What no timeout can stop (issue 21, item 19): a job's process that calls setsid() leaves the
 * job's process group, so the group's TERM and KILL never reach it and it outlives the job. The
 * README says so; this holds the words true: the job is recorded timed out, the escaped process
 * is still alive, and neither --list nor --doctor shows it (the runner cannot see it).
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import type { Check } from "../../lib/cli/doctor.ts";
import type { ListRow } from "../../lib/cli/views.ts";
import {
  makeSandbox,
  processAlive,
  readStateFile,
  runCli,
  writeConfig,
  writeFile,
} from "../helpers/sandbox.ts";

/** Starts `sleep` in a session of its own (Deno's `detached` is setsid), then waits to be stopped. */
const ESCAPE = `
const child = new Deno.Command("sleep", {
  args: ["300"], detached: true, stdin: "null", stdout: "null", stderr: "null",
}).spawn();
Deno.writeTextFileSync("escaped.pid", String(child.pid));
child.unref();
setInterval(() => {}, 1000);
`;

Deno.test("a grandchild that calls setsid outlives its job's timeout, and no view shows it", async () => {
  await using sandbox = await makeSandbox();
  await writeFile(join(sandbox.project, "escape.ts"), ESCAPE);
  await writeConfig(
    sandbox,
    `jobs:\n  escapes: { script: [${Deno.execPath()}, run, -A, escape.ts], timeout: 2, when: { every: 1d } }\n`,
  );
  let pid: number | null = null;
  try {
    const tick = await runCli(sandbox, []);
    pid = Number(await Deno.readTextFile(join(sandbox.project, "escaped.pid")));
    assert.equal(tick.code, 1, tick.stdout + tick.stderr);
    const entry = (await readStateFile(sandbox)).jobs.escapes!;
    assert.equal(entry.outcome, "timed_out");
    assert.equal(entry.running, undefined);
    assert.ok(pid > 1 && pid !== Deno.pid, `escaped pid ${pid}`);
    assert.equal(await processAlive(pid), true, "the escaped process was stopped after all");

    const [row] = JSON.parse((await runCli(sandbox, ["--list", "--json"])).stdout) as ListRow[];
    assert.equal(row!.outcome, "timed_out");
    assert.deepEqual(row!.flags.filter((flag) => !/^(told|queued|not told)\b/.test(flag)), [
      "timed out",
    ]);
    const checks = JSON.parse((await runCli(sandbox, ["--doctor", "--json"])).stdout) as Check[];
    assert.equal(checks.find((check) => check.name === "lock")!.detail, "free");
    assert.ok(!JSON.stringify(checks).includes(String(pid)), "the doctor saw the process");
  } finally {
    // One process, by its own id (never a group): the test's own leftover.
    if (pid !== null && pid > 1) Deno.kill(pid, "SIGKILL");
  }
});
