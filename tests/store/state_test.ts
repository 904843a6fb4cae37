import assert from "node:assert/strict";
import { join } from "node:path";
import {
  lastRunOf,
  loadStateForRun,
  parseTimestamp,
  readState,
  saveState,
} from "../../lib/store/state.ts";
import { makeSandbox } from "../helpers/sandbox.ts";

const PYTHON_STATE = new URL("../testdata/python_state.json", import.meta.url);

Deno.test("parseTimestamp() reads offsets, Z and naive (UTC) timestamps of the Python original", () => {
  assert.equal(
    parseTimestamp("2025-06-01T06:00:12.123456+00:00"),
    Date.UTC(2025, 5, 1, 6, 0, 12, 123),
  );
  assert.equal(parseTimestamp("2025-06-01T08:00:12+02:00"), Date.UTC(2025, 5, 1, 6, 0, 12));
  // Naive means UTC, whatever the local time zone: JavaScript alone would read it as local.
  assert.equal(parseTimestamp("2025-05-01T06:00:00.5"), Date.UTC(2025, 4, 1, 6, 0, 0, 500));
  assert.equal(parseTimestamp("2025-05-01 06:00:00"), Date.UTC(2025, 4, 1, 6));
  assert.equal(parseTimestamp("yesterday"), null);
  assert.equal(parseTimestamp(null), null);
});

Deno.test("a state file written by the Python original round-trips with its fields intact", async () => {
  await using sandbox = await makeSandbox();
  const path = join(sandbox.home, ".teleclaude/cron_state.json");
  await Deno.mkdir(join(sandbox.home, ".teleclaude"));
  await Deno.copyFile(PYTHON_STATE, path);
  const read = readState(path);
  assert.equal(read.kind, "ok");
  assert.equal(lastRunOf(read.state, "next_prepare_draft"), Date.UTC(2025, 5, 1, 6, 0, 12, 123));
  assert.equal(lastRunOf(read.state, "old_naive_job"), Date.UTC(2025, 4, 1, 6, 0, 0, 500));
  assert.equal(lastRunOf(read.state, "never_job"), null);
  await saveState(path, read.state);
  const written = JSON.parse(await Deno.readTextFile(path));
  assert.deepEqual(written, JSON.parse(await Deno.readTextFile(PYTHON_STATE)));
});

Deno.test("saveState() writes atomically with private modes and keeps the previous file as .bak", async () => {
  await using sandbox = await makeSandbox();
  const dir = join(sandbox.home, ".teleclaude");
  const path = join(dir, "cron_state.json");
  await saveState(path, {
    jobs: { a: { last_run: null, last_status: "never", last_error: null } },
  });
  await saveState(path, {
    jobs: { b: { last_run: null, last_status: "never", last_error: null } },
  });
  assert.equal((await Deno.stat(dir)).mode! & 0o777, 0o700);
  assert.equal((await Deno.stat(path)).mode! & 0o777, 0o600);
  assert.deepEqual(Object.keys(JSON.parse(await Deno.readTextFile(path)).jobs), ["b"]);
  assert.deepEqual(Object.keys(JSON.parse(await Deno.readTextFile(`${path}.bak`)).jobs), ["a"]);
  const leftovers = [...Deno.readDirSync(dir)].map((entry) => entry.name).filter((name) =>
    name.includes("tmp")
  );
  assert.deepEqual(leftovers, []);
});

Deno.test("readState() reports a corrupt file and falls back to .bak without touching either", async () => {
  await using sandbox = await makeSandbox();
  const path = join(sandbox.home, "cron_state.json");
  await Deno.writeTextFile(
    `${path}.bak`,
    JSON.stringify({
      jobs: { a: { last_run: "2026-01-01T00:00:00Z", last_status: "success", last_error: null } },
    }),
  );
  await Deno.writeTextFile(path, '{"jobs": {"a": ');
  const read = readState(path);
  assert.equal(read.kind, "corrupt");
  assert.ok(read.kind === "corrupt" && read.recoveredFrom === "backup" && /JSON/.test(read.reason));
  assert.equal(lastRunOf(read.state, "a"), Date.UTC(2026, 0, 1));
  assert.equal(await Deno.readTextFile(path), '{"jobs": {"a": ');
});

Deno.test("loadStateForRun() moves a corrupt file aside and keeps it", async () => {
  await using sandbox = await makeSandbox();
  const path = join(sandbox.home, "cron_state.json");
  await Deno.writeTextFile(path, '{"jobs": {"a": {"last_run": "not a time"}}}');
  const read = await loadStateForRun(path, new Date("2026-11-26T07:00:00Z"));
  assert.equal(read.kind, "corrupt");
  assert.ok(read.kind === "corrupt" && read.recoveredFrom === "empty");
  assert.match(
    read.kind === "corrupt" ? read.reason : "",
    /jobs\.a\.last_run "not a time" is not a timestamp/,
  );
  assert.equal(read.movedTo, `${path}.corrupt-2026-11-26T07-00-00-000Z`);
  assert.equal(
    await Deno.readTextFile(read.movedTo!),
    '{"jobs": {"a": {"last_run": "not a time"}}}',
  );
  await assert.rejects(Deno.stat(path), Deno.errors.NotFound);
});
