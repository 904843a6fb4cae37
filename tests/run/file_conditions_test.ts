/**
 * Files in the way of a run (issue 21, items 10 and 11): a spec folder that is a file, a run
 * reports folder that is a file, `~/.teleclaude/agents` a link, gemini's system settings a FIFO.
 * Each gives the run its true outcome with a message naming the file: no stack in the runner's
 * log, no "runner error", no hang with the lock held.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { readRecord, writeFakeAgent } from "../helpers/fake_agent.ts";
import { honouredByGemini } from "../../lib/run/gemini_settings.ts";
import { runCliWithin } from "../helpers/deadline.ts";
import {
  makeSandbox,
  readStateFile,
  type Sandbox,
  writeConfig,
  writeFile,
} from "../helpers/sandbox.ts";

/** A run that hangs never ends; this is room for a cold start on a loaded machine. */
const DEADLINE_MS = 30_000;

/**
 * A tick of the sandbox's one job `j`, which must end with `code`, without a stack or a runner
 * error in its log; what it printed, and the job's state entry.
 */
async function tick(sandbox: Sandbox, code: number, env: Record<string, string> = {}) {
  const result = await runCliWithin(sandbox, [], DEADLINE_MS, env);
  assert.equal(result.hung, false, `the run hung:\n${result.stdout}${result.stderr}`);
  const log = result.stdout + result.stderr;
  assert.doesNotMatch(log, /runner error|event=job_error|^\s+at /m, log);
  assert.equal(result.code, code, log);
  return { result, entry: (await readStateFile(sandbox)).jobs.j! };
}

Deno.test("a spec folder that is a file fails the job with the spec doc named, and no stack", async () => {
  await using sandbox = await makeSandbox();
  await writeConfig(sandbox, "jobs:\n  j: { job: s, when: { every: 1d } }\n");
  await writeFile(join(sandbox.project, "docs/project/spec"), "not a folder\n");
  await writeFakeAgent(sandbox.bin, "claude", { kind: "exit", code: 0 });
  const { entry } = await tick(sandbox, 1);
  assert.equal(entry.outcome, "failed");
  assert.equal(
    entry.last_error,
    `spec doc not found: ${
      join(sandbox.project, "docs/project/spec/jobs/s.md")
    } (a part of its path is a file, not a folder)`,
  );
});

Deno.test("a run reports folder that is a file leaves a successful agent run a success, and says so", async () => {
  await using sandbox = await makeSandbox();
  await writeConfig(sandbox, "jobs:\n  j: { job: s, when: { every: 1d } }\n", ["s"]);
  await writeFakeAgent(sandbox.bin, "claude", { kind: "exit", code: 0 });
  const runs = join(sandbox.home, ".teleclaude/jobs/j/runs");
  await writeFile(runs, "not a folder\n");
  const { result, entry } = await tick(sandbox, 0);
  assert.equal(entry.outcome, "success");
  assert.equal(entry.report_path, null);
  assert.match(
    result.stdout,
    new RegExp(`event=job_finished job=j status=success .*report_problem="${runs}: not a folder`),
  );
});

/** Job j: a gemini job with a turn cap (so it writes its settings file), and a gemini to run. */
async function cappedGeminiJob(sandbox: Sandbox): Promise<void> {
  await writeConfig(
    sandbox,
    "jobs:\n  j: { job: s, agent: gemini, max_turns: 3, when: { every: 1d } }\n",
    ["s"],
  );
  await writeFakeAgent(sandbox.bin, "gemini", { kind: "exit", code: 0 });
}

Deno.test("where gemini would not read a settings file, a capped gemini job writes none, and its turns are counted", async () => {
  await using sandbox = await makeSandbox();
  await cappedGeminiJob(sandbox);
  // A temp home is under a folder others may write: gemini 0.61.0 would skip a settings file
  // there, and the machine's own system settings with it.
  assert.equal(honouredByGemini(join(sandbox.home, ".teleclaude")), false);
  const elsewhere = join(sandbox.dir, "elsewhere");
  await Deno.mkdir(elsewhere);
  await Deno.mkdir(join(sandbox.home, ".teleclaude"), { recursive: true, mode: 0o700 });
  await Deno.symlink(elsewhere, join(sandbox.home, ".teleclaude/agents"));
  const { entry } = await tick(sandbox, 0);
  assert.equal(entry.outcome, "success");
  assert.deepEqual([...Deno.readDirSync(elsewhere)], [], "nothing written through the link");
  assert.equal(await readRecord(sandbox.records, "gemini", "settings"), "");
});

Deno.test("gemini's own system settings are never opened by the runner that writes none: a FIFO there holds nothing", async () => {
  await using sandbox = await makeSandbox();
  await cappedGeminiJob(sandbox);
  const fifo = join(sandbox.dir, "system-settings.json");
  assert.ok((await new Deno.Command("mkfifo", { args: [fifo] }).output()).success);
  // The fake gemini does not read it either: the path reaches it as the person set it.
  const { entry } = await tick(sandbox, 0, { GEMINI_CLI_SYSTEM_SETTINGS_PATH: fifo });
  assert.equal(entry.outcome, "success");
  assert.equal(await readRecord(sandbox.records, "gemini", "settings"), fifo);
});

Deno.test("honouredByGemini() is gemini's rule: root's folders all the way up, writable by root alone", async () => {
  await using sandbox = await makeSandbox();
  assert.equal(honouredByGemini("/usr"), true);
  assert.equal(honouredByGemini(sandbox.dir), false, "a temp folder lies under /tmp");
  assert.equal(honouredByGemini(join(sandbox.dir, "missing")), false);
});
