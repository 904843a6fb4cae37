import assert from "node:assert/strict";
import { join } from "node:path";
import { openWithin, readRegularFile } from "../lib/regular_file.ts";
import { makeSandbox, writeFile } from "./helpers/sandbox.ts";

async function mkfifo(path: string): Promise<void> {
  assert.ok((await new Deno.Command("mkfifo", { args: [path] }).output()).success);
}

Deno.test("readRegularFile() reads a regular file, also through a link, and says when there is none", async () => {
  await using sandbox = await makeSandbox();
  const file = join(sandbox.dir, "settings.json");
  await writeFile(file, '{"a": 1}\n');
  await Deno.symlink(file, join(sandbox.dir, "link.json"));
  for (const timeout of [1000, null]) {
    assert.deepEqual(await readRegularFile(file, 100, timeout), {
      kind: "text",
      text: '{"a": 1}\n',
    });
    assert.deepEqual(await readRegularFile(join(sandbox.dir, "link.json"), 100, timeout), {
      kind: "text",
      text: '{"a": 1}\n',
    });
    assert.deepEqual(await readRegularFile(join(sandbox.dir, "nope"), 100, timeout), {
      kind: "absent",
    });
  }
  assert.deepEqual(await readRegularFile(join(file, "inside"), 100), {
    kind: "refused",
    reason: "cannot be reached: a part of its path is not a folder",
  });
});

Deno.test("readRegularFile() refuses a directory, a FIFO, a device and a file over the limit without reading them", async (t) => {
  await using sandbox = await makeSandbox();
  const fifo = join(sandbox.dir, "fifo");
  await mkfifo(fifo);
  const zero = join(sandbox.dir, "zero");
  await Deno.symlink("/dev/zero", zero);
  const big = join(sandbox.dir, "big");
  await writeFile(big, "");
  await Deno.truncate(big, 3 * 1024 * 1024); // sparse: nothing written
  const cases: [string, string, string][] = [
    ["a directory", sandbox.dir, "is a directory, not a file"],
    ["a FIFO nobody writes to", fifo, "is not a regular file (a FIFO, socket or device)"],
    ["a link to /dev/zero", zero, "is not a regular file (a FIFO, socket or device)"],
    ["over the limit", big, "is 3145728 bytes, over the limit of 2097152 bytes (2 MiB)"],
  ];
  for (const [what, path, reason] of cases) {
    await t.step(what, async () => {
      assert.deepEqual(await readRegularFile(path, 2 * 1024 * 1024), { kind: "refused", reason });
    });
  }
});

Deno.test("openWithin() gives up on an open that blocks (a FIFO swapped in after the look) at its deadline", async () => {
  await using sandbox = await makeSandbox();
  const fifo = join(sandbox.dir, "fifo");
  await mkfifo(fifo);
  const started = performance.now();
  const opened = await openWithin(fifo, 300);
  const waited = performance.now() - started;
  assert.equal(
    opened,
    "did not open within 0.3 s (a FIFO put in its place, or a file system that does not answer)",
  );
  assert.ok(waited >= 290 && waited < 5000, `waited ${waited} ms`);
  // A writer releases the open left behind; the file it then opens is closed on its own.
  Deno.openSync(fifo, { write: true }).close();
});
