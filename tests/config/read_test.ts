/**
 * The config swapped between a regular file and a FIFO while commands read it (issue 21, item
 * 11): a FIFO opened for reading blocks until someone writes to it, so a FIFO put in place after
 * the runner looked at the path would hang it. No view may hang: each lists the jobs or names the
 * file, within its bounded open.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { runCliWithin } from "../helpers/deadline.ts";
import { makeSandbox, writeConfig } from "../helpers/sandbox.ts";

/** Swaps `config` between a regular file and a FIFO as fast as renames go, until killed. */
const SWAPPER = `
const [file, fifo, config] = Deno.args;
const temp = config + ".swap";
for (;;) {
  Deno.linkSync(file, temp); Deno.renameSync(temp, config);
  Deno.linkSync(fifo, temp); Deno.renameSync(temp, config);
}`;

const RUNS = 16;
const AT_ONCE = 4;
/** The bounded open's 5 s, with room for a cold start on a loaded machine. */
const DEADLINE_MS = 25_000;

Deno.test("a config swapped between a file and a FIFO never hangs --list: it lists or names the file", async () => {
  await using sandbox = await makeSandbox();
  await writeConfig(sandbox, "jobs:\n  sync: { script: /bin/true, when: { every: 1h } }\n");
  const file = join(sandbox.dir, "config.yml");
  const fifo = join(sandbox.dir, "config.fifo");
  await Deno.copyFile(sandbox.config, file);
  assert.ok((await new Deno.Command("mkfifo", { args: [fifo] }).output()).success);
  const swapper = new Deno.Command(Deno.execPath(), {
    args: ["eval", SWAPPER, file, fifo, sandbox.config],
    stdout: "null",
    stderr: "null",
  }).spawn();
  const outcomes: string[] = [];
  try {
    for (let round = 0; round < RUNS / AT_ONCE; round++) {
      const results = await Promise.all(
        Array.from({ length: AT_ONCE }, () => runCliWithin(sandbox, ["--list"], DEADLINE_MS)),
      );
      for (const result of results) {
        assert.equal(result.hung, false, "--list hung on the config");
        if (result.code === 0) {
          assert.match(result.stdout, /^sync {2}script/m);
          outcomes.push("listed");
        } else {
          assert.equal(result.code, 2, result.stderr);
          assert.match(
            result.stderr,
            /teleclaude\.yml: (is not a regular file \(a FIFO, socket or device\)|did not open within 5 s \(a FIFO put in its place)/,
          );
          outcomes.push(/did not open/.test(result.stderr) ? "bounded" : "refused");
        }
      }
    }
  } finally {
    swapper.kill("SIGKILL");
    await swapper.status;
  }
  assert.equal(outcomes.length, RUNS);
});
