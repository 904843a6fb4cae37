/**
 * A typo that changes what runs is an error (issue 21, item 14): `scheduel: hourly` once warned
 * and the job silently ran daily at 06:00. A near miss of a known key stops the tick (exit 2,
 * nothing runs); a key unlike any the runner knows may be another component's: a warning, which
 * the doctor shows as `warn`.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import type { Check } from "../../lib/cli/doctor.ts";
import { makeSandbox, runCli, writeConfig, writeFile } from "../helpers/sandbox.ts";

Deno.test("a near miss of a known job key stops the tick at its place, and nothing runs", async () => {
  await using sandbox = await makeSandbox();
  await writeConfig(sandbox, "jobs:\n  mark:\n    script: jobs/mark.sh\n    scheduel: hourly\n");
  await writeFile(join(sandbox.project, "jobs/mark.sh"), "#!/bin/sh\necho ran > ran.txt\n", true);
  const result = await runCli(sandbox, []);
  assert.equal(result.code, 2, result.stdout + result.stderr);
  assert.match(
    result.stderr,
    /teleclaude\.yml:4:5: jobs\.mark\.scheduel: unknown key \(did you mean schedule\?\)/,
  );
  assert.equal(await Deno.stat(join(sandbox.project, "ran.txt")).catch(() => null), null);
});

Deno.test("--doctor shows a key unlike any the runner knows as a warning, and still passes the config", async () => {
  await using sandbox = await makeSandbox();
  await writeConfig(sandbox, "jobs:\n  mark: { script: /bin/true, owner: ops }\n");
  const result = await runCli(sandbox, ["--doctor", "--json"]);
  const checks = (JSON.parse(result.stdout) as Check[]).filter((check) => check.name === "config");
  assert.deepEqual(checks.map((check) => check.status), ["ok", "warn"]);
  assert.match(checks[1]!.detail, /jobs\.mark\.owner: unknown key ignored \(it may belong/);
});
