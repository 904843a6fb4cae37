import assert from "node:assert/strict";
import {
  groupAlive,
  isJobGroup,
  isSignallableGroup,
  leaderStartedAt,
  pollPauses,
  signalGroup,
  stopGroup,
} from "../../lib/process/process_group.ts";
import { makeSandbox, processAlive, waitFor } from "../helpers/sandbox.ts";

/** A `sleep` leading a process group of its own, as every job does; `await using` stops it. */
function sleeperGroup(): Deno.ChildProcess & AsyncDisposable {
  const child = new Deno.Command("sleep", {
    args: ["30"],
    detached: true,
    stdin: "null",
    stdout: "null",
    stderr: "null",
  }).spawn();
  return Object.assign(child, {
    async [Symbol.asyncDispose]() {
      await stopGroup(child.pid, 1000);
      await child.status;
    },
  });
}

Deno.test("isJobGroup() tells the job's group from an unrelated one that reuses its number", async (t) => {
  await using group = sleeperGroup();
  const started = Date.now();
  await waitFor(() => groupAlive(group.pid), "the group to exist");
  await t.step("started when the record says: the job's", async () => {
    assert.equal(await isJobGroup(group.pid, started), true);
  });
  await t.step("started an hour away from the record: someone else's, left alone", async () => {
    assert.equal(await isJobGroup(group.pid, started - 3600_000), false);
    assert.equal(await processAlive(group.pid), true);
  });
});

Deno.test("leaderStartedAt() accepts ps's lstart within 5 s and refuses what it cannot read", () => {
  const at = Date.parse("Thu Nov 26 09:26:51 2026");
  assert.equal(leaderStartedAt("Thu Nov 26 09:26:51 2026\n", at + 1500), true);
  assert.equal(leaderStartedAt("Thu Nov 26 09:26:51 2026", at + 6000), false);
  // Unreadable output must never be taken for "ours": that is what would kill a stranger.
  for (const garbage of ["", "   ", "STARTED", "2026-13-45 99:99"]) {
    assert.equal(leaderStartedAt(garbage, at), false, JSON.stringify(garbage));
  }
});

Deno.test("no group id that would reach beyond one job is ever signalled", async () => {
  for (const pgid of [0, 1, -1, -5, 1.5, Number.NaN]) {
    assert.equal(isSignallableGroup(pgid), false, String(pgid));
    assert.throws(() => signalGroup(pgid, "SIGTERM"), /refusing to signal process group/);
    assert.equal(await groupAlive(pgid), false);
  }
});

Deno.test("a dying group is looked at often at first, then with back-off", () => {
  const pauses = [...pollPauses(10_000)];
  assert.deepEqual(pauses.slice(0, 4), [5, 10, 20, 40]);
  // The default 10 s grace: 45 looks (each a `ps` when the group ignores TERM), not 1,000.
  assert.equal(pauses.length, 45);
  assert.ok(pauses.every((pause) => pause <= 250));
});

Deno.test("stopGroup() kills a SIGTERM-deaf group after the grace", async () => {
  await using sandbox = await makeSandbox();
  const ready = `${sandbox.dir}/ready`;
  const child = new Deno.Command("sh", {
    args: ["-c", `trap '' TERM; touch '${ready}'; while :; do sleep 1; done`],
    detached: true,
    stdin: "null",
    stdout: "null",
    stderr: "null",
  }).spawn();
  await waitFor(() => Deno.stat(ready).catch(() => null), "the shell to ignore TERM");
  const before = performance.now();
  await stopGroup(child.pid, 1500);
  const elapsed = performance.now() - before;
  await child.status;
  assert.equal(await groupAlive(child.pid), false);
  // TERM is ignored: the group dies only at KILL, after the whole grace.
  assert.ok(elapsed >= 1500, `stopped after ${elapsed} ms`);
});
