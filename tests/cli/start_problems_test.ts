/**
 * A job that cannot start is never "due now" (issue 21, item 15): `--dry-run` and `--list` say
 * what is missing (an agent job's spec doc, a script job's program, or its execute bit), and
 * `--doctor` checks every script job's program as it checks the spec docs.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import type { Check } from "../../lib/cli/doctor.ts";
import type { ListRow } from "../../lib/cli/views.ts";
import { makeSandbox, runCli, type Sandbox, writeConfig, writeFile } from "../helpers/sandbox.ts";

const CONFIG = `jobs:
  report: { job: report, when: { every: 1h } }
  gone: { script: jobs/gone.sh, when: { every: 1h } }
  plain: { script: jobs/plain.sh, when: { every: 1h } }
  nowhere: { script: no-such-program-anywhere --flag, when: { every: 1h } }
  fine: { script: /bin/true, when: { every: 1h } }
`;

async function brokenJobs(sandbox: Sandbox): Promise<Record<string, string>> {
  await writeConfig(sandbox, CONFIG);
  await writeFile(join(sandbox.project, "jobs/plain.sh"), "#!/bin/sh\n"); // not executable
  return {
    report: `spec doc not found: ${join(sandbox.project, "docs/project/spec/jobs/report.md")}`,
    gone: `program not found: ${join(sandbox.project, "jobs/gone.sh")}`,
    plain: `program ${join(sandbox.project, "jobs/plain.sh")} is not executable (chmod +x ${
      join(sandbox.project, "jobs/plain.sh")
    })`,
    nowhere: `program not found: no-such-program-anywhere is in neither ${sandbox.project} ` +
      `nor PATH (${sandbox.env.PATH})`,
  };
}

Deno.test("--dry-run says what keeps a due job from starting instead of due now", async () => {
  await using sandbox = await makeSandbox();
  const problems = await brokenJobs(sandbox);
  const result = await runCli(sandbox, ["--dry-run"]);
  assert.equal(result.code, 0, result.stderr);
  const lines = result.stdout.trim().split("\n");
  assert.deepEqual(lines, [
    ...Object.entries(problems).map(([name, problem]) =>
      `${name}: never ran, every 1h: cannot start: ${problem}`
    ),
    "fine: never ran, every 1h: due now",
  ]);
});

Deno.test("--list shows cannot start and what is missing; its JSON names the problem", async () => {
  await using sandbox = await makeSandbox();
  const problems = await brokenJobs(sandbox);
  const table = await runCli(sandbox, ["--list"]);
  assert.equal(table.code, 0, table.stderr);
  assert.match(
    table.stdout,
    /^report +agent:claude +every 1h +never +never +cannot start +spec doc not found: /m,
  );
  assert.match(table.stdout, /^fine +script +every 1h +never +never +due now *$/m);
  const rows = JSON.parse((await runCli(sandbox, ["--list", "--json"])).stdout) as ListRow[];
  assert.deepEqual(
    Object.fromEntries(rows.map((row) => [row.name, row.start_problem])),
    { ...problems, fine: null },
  );
});

Deno.test("--doctor fails the programs check for a script job's missing or unexecutable program", async () => {
  await using sandbox = await makeSandbox();
  const problems = await brokenJobs(sandbox);
  const result = await runCli(sandbox, ["--doctor", "--json"]);
  assert.equal(result.code, 1);
  const checks = JSON.parse(result.stdout) as Check[];
  const programs = checks.find((check) => check.name === "programs")!;
  assert.equal(programs.status, "fail");
  assert.equal(
    programs.detail,
    [`gone: ${problems.gone}`, `plain: ${problems.plain}`, `nowhere: ${problems.nowhere}`]
      .join("; "),
  );
  const specs = checks.find((check) => check.name === "spec docs")!;
  assert.equal(specs.detail, `report: ${problems.report}`);
});
