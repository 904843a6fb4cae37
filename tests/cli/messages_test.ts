/**
 * What a new user reads in their first hour (issue 21, items 16 and 17): counts in the singular,
 * a mistyped option answered with the likely one, an unknown job for --logs answered with the
 * known ones, advice given once, and --help winning over a bad flag; --logs reads only a job's
 * own folder.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import type { Check } from "../../lib/cli/doctor.ts";
import { makeSandbox, runCli, spawnCli, writeConfig, writeFile } from "../helpers/sandbox.ts";

Deno.test("--help wins over an option the runner does not know", async () => {
  await using sandbox = await makeSandbox();
  const result = await runCli(sandbox, ["--help", "--frobnicate"]);
  assert.equal(result.code, 0, result.stderr);
  assert.match(result.stdout, /^Usage: teleclaude-cron /m);
});

Deno.test("--logs given a path never reads outside the logs folder", async () => {
  await using sandbox = await makeSandbox();
  // ~/.teleclaude/logs/cron/../../../x is ~/x: a folder with a file named like a run log.
  await writeFile(join(sandbox.home, "x/261126-070001Z-1.log"), "outside\n");
  const result = await runCli(sandbox, ["--logs", "../../../x"]);
  assert.equal(result.code, 2);
  assert.match(result.stderr, /--logs takes a job's name/);
  assert.doesNotMatch(result.stdout, /outside/);
});

Deno.test("--logs names the jobs that have logs for a job that has none, and counts in the singular", async () => {
  await using sandbox = await makeSandbox();
  await writeConfig(
    sandbox,
    "jobs:\n  a: { script: /bin/true, when: { every: 1d } }\n  b: { script: /bin/true, when: { every: 1d } }\n",
  );
  assert.equal((await runCli(sandbox, [])).code, 0);
  const unknown = await runCli(sandbox, ["--logs", "nosuch"]);
  assert.equal(unknown.code, 2);
  assert.equal(
    unknown.stderr.trim(),
    "teleclaude-cron: no run logs for nosuch (jobs with run logs: a, b)",
  );
  const past = await runCli(sandbox, ["--logs", "a", "--run", "2"]);
  assert.equal(past.stderr.trim(), "teleclaude-cron: a has 1 run log; --run 2 is past the oldest");
});

Deno.test("a missing config says pass --config only to someone who did not", async () => {
  await using sandbox = await makeSandbox();
  const named = await runCli(sandbox, ["--list"]); // runCli passes --config <sandbox.config>
  assert.equal(named.code, 2);
  assert.equal(
    named.stderr.trim(),
    `teleclaude-cron: ${sandbox.config}: config file not found (${sandbox.config})`,
  );
  const relative = await (await spawnCli(sandbox, ["--config", "nope.yml", "--list"])).output();
  assert.equal(
    new TextDecoder().decode(relative.stderr).trim(),
    `teleclaude-cron: nope.yml: config file not found (${join(sandbox.project, "nope.yml")})`,
  );
  const implied = await (await spawnCli(sandbox, ["--list"])).output();
  assert.equal(
    new TextDecoder().decode(implied.stderr).trim(),
    `teleclaude-cron: teleclaude.yml: config file not found in ${sandbox.project} ` +
      "(pass --config PATH to use another one)",
  );
});

Deno.test("the doctor counts in the singular and gives its advice once, as the fix", async () => {
  await using sandbox = await makeSandbox();
  await writeConfig(sandbox, "jobs:\n  a: { job: s, agent: claude }\n", ["s"]);
  const root = join(sandbox.home, ".teleclaude");
  await Deno.mkdir(root, { recursive: true });
  await Deno.writeTextFile(join(root, "cron_state.json"), JSON.stringify({ jobs: { a: {} } }), {
    mode: 0o600,
  });
  await Deno.chmod(root, 0o755);
  const checks = JSON.parse((await runCli(sandbox, ["--doctor", "--json"])).stdout) as Check[];
  const named = (name: string) => checks.find((check) => check.name === name)!;
  assert.match(named("config").detail, / is valid \(1 job\)$/);
  assert.equal(named("state").detail, "1 job recorded");
  const permissions = named("permissions");
  assert.equal(permissions.detail, `${root} is 755, open to others`);
  assert.equal(permissions.fix, `chmod 700 ${root}`);
  const agent = named("agent claude");
  assert.equal(agent.status, "fail");
  assert.doesNotMatch(agent.detail, /agents\.claude\.binary/);
  assert.match(agent.detail, /^not found for this shell: looked in \S+\/bin\/claude, /);
  assert.match(agent.fix!, /set agents\.claude\.binary to its full path/);
  await writeConfig(sandbox, "jobs:\n  a: { script: /bin/true, timeout: 0 }\n");
  const config = (JSON.parse((await runCli(sandbox, ["--doctor", "--json"])).stdout) as Check[])
    .find((check) => check.name === "config")!;
  assert.match(config.detail, /jobs\.a\.timeout: 0 is too small \(it must be more than 0\)$/);
  assert.equal(config.fix, `edit ${sandbox.config} where the message points`);
});

Deno.test("--history counts one line that is not a run in the singular", async () => {
  await using sandbox = await makeSandbox();
  await writeConfig(sandbox, "jobs:\n  a: { script: /bin/true, when: { every: 1d } }\n");
  assert.equal((await runCli(sandbox, [])).code, 0);
  const history = join(sandbox.home, ".teleclaude/cron_history.jsonl");
  await Deno.writeTextFile(history, "torn {\n", { append: true });
  const result = await runCli(sandbox, ["--history"]);
  assert.equal(result.code, 0, result.stderr);
  assert.match(result.stderr, /warning: 1 line of \S+cron_history\.jsonl is not a run \(torn/);
});
