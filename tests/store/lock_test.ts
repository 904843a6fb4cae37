import assert from "node:assert/strict";
import { join } from "node:path";
import { acquireRunnerLock, inspectRunnerLock, isHeld } from "../../lib/store/lock.ts";
import { makeSandbox } from "../helpers/sandbox.ts";

Deno.test("acquireRunnerLock() gives the lock to one holder and names it to the next", async () => {
  await using sandbox = await makeSandbox();
  const path = join(sandbox.home, ".teleclaude/cron_runner.pid");
  const first = acquireRunnerLock(path);
  assert.ok(isHeld(first));
  assert.equal((await Deno.readTextFile(path)).trim(), String(Deno.pid));
  assert.equal((await Deno.stat(join(sandbox.home, ".teleclaude"))).mode! & 0o777, 0o700);
  const second = acquireRunnerLock(path);
  assert.ok(!isHeld(second));
  assert.equal(second.holderPid, Deno.pid);
  assert.deepEqual(await inspectRunnerLock(path).then((state) => state.held), true);
  first.release();
  await assert.rejects(Deno.stat(path), Deno.errors.NotFound);
  const third = acquireRunnerLock(path);
  assert.ok(isHeld(third));
  third.release();
});

Deno.test("acquireRunnerLock() ignores a stale pidfile whose process is gone or reused", async () => {
  await using sandbox = await makeSandbox();
  const path = join(sandbox.home, ".teleclaude/cron_runner.pid");
  await Deno.mkdir(join(sandbox.home, ".teleclaude"));
  // PID 1 is alive but holds no lock on the file: a reused PID must not block a run.
  for (const stale of ["999999\n", "1\n", "garbage"]) {
    await Deno.writeTextFile(path, stale);
    const lock = acquireRunnerLock(path);
    assert.ok(isHeld(lock), `blocked by ${JSON.stringify(stale)}`);
    lock.release();
  }
  assert.deepEqual(await inspectRunnerLock(path), { held: false });
});

Deno.test("acquireRunnerLock() starts over when the file it locked was unlinked meanwhile", async () => {
  await using sandbox = await makeSandbox();
  const path = join(sandbox.home, ".teleclaude/cron_runner.pid");
  const first = acquireRunnerLock(path);
  assert.ok(isHeld(first));
  // The race: this runner opens the file just before the holder unlinks it and lets go, so its
  // lock succeeds on an inode no longer at the path. Without the inode check it would "hold" a
  // lock that the next runner, creating a new file at the path, would take too.
  let opens = 0;
  const second = acquireRunnerLock(path, (target) => {
    const file = Deno.openSync(target, { read: true, write: true, create: true, mode: 0o600 });
    if (++opens === 1) first.release();
    return file;
  });
  assert.ok(isHeld(second));
  assert.equal(opens, 2, "the first attempt (on the unlinked inode) was given up");
  assert.equal((await Deno.readTextFile(path)).trim(), String(Deno.pid));
  const third = acquireRunnerLock(path);
  assert.ok(!isHeld(third), "the lock at the path is really held");
  second.release();
});
