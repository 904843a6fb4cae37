/**
 * A job name may start with `-` (`a-z0-9_-`): every command the runner writes names a job as
 * `--job=NAME`, which the command line reads back whatever the name, and each such command runs.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { DEFAULT_FLAGS, parseFlags } from "../../lib/cli/flags.ts";
import { UsageError } from "../../lib/errors.ts";
import { makeSandbox, runCli, type Sandbox, writeConfig, writeFile } from "../helpers/sandbox.ts";

Deno.test("parseFlags() reads --job=NAME for any job name, a leading - included", async () => {
  for (const name of ["-x", "--", "nightly", "-", "a=b"]) {
    assert.deepEqual(await parseFlags([`--job=${name}`, "--force"]), {
      ...DEFAULT_FLAGS,
      job: name,
      force: true,
    });
  }
  const exported = await parseFlags(["--config=/etc/a.yml", "--export=kubernetes", "--job=-x"]);
  assert.deepEqual([exported.config, exported.mode, exported.job], ["/etc/a.yml", "export", "-x"]);
});

Deno.test("--job -x is refused with the form that works", async () => {
  await assert.rejects(
    () => parseFlags(["--force", "--job", "-x"]),
    (error: Error) => {
      assert.ok(error instanceof UsageError);
      assert.equal(error.message, '--job "-x": a value that starts with - goes after =: --job=-x');
      return true;
    },
  );
});

/** The command a `--dry-run` line suggests, as arguments: what follows "run it … with ". */
function suggested(line: string): string[] {
  const command = /run it (?:here )?with ([^)]*)\)$/.exec(line)?.[1];
  assert.ok(command !== undefined, line);
  return command.split(" ");
}

async function project(sandbox: Sandbox): Promise<void> {
  await writeConfig(
    sandbox,
    [
      "jobs:",
      "  -pinned:",
      "    script: [jobs/mark.sh, pinned]",
      "    computer: elsewhere",
      "",
    ].join("\n"),
  );
  // Both record that they ran; -found is discovered in jobs/ (no config entry).
  await writeFile(join(sandbox.project, "jobs/mark.sh"), '#!/bin/sh\necho "$1" >> ran.txt\n', true);
  await writeFile(
    join(sandbox.project, "jobs/-found.sh"),
    "#!/bin/sh\necho found >> ran.txt\n",
    true,
  );
}

Deno.test("--dry-run suggests --force --job=NAME for a name that starts with -, and that command runs it", async () => {
  await using sandbox = await makeSandbox();
  await project(sandbox);
  const env = { TELECLAUDE_COMPUTER: "here" };
  const dry = await runCli(sandbox, ["--dry-run"], env);
  assert.equal(dry.code, 0, dry.stderr);
  const lines = dry.stdout.trim().split("\n");
  const pinned = lines.find((line) => line.startsWith("-pinned: "))!;
  const found = lines.find((line) => line.startsWith("-found: "))!;
  assert.deepEqual(suggested(pinned), ["--force", "--job=-pinned"]);
  assert.deepEqual(suggested(found), ["--force", "--job=-found"]);
  for (const line of [pinned, found]) {
    const result = await runCli(sandbox, suggested(line), env);
    assert.equal(result.code, 0, result.stderr);
  }
  assert.equal(await Deno.readTextFile(join(sandbox.project, "ran.txt")), "pinned\nfound\n");
});
