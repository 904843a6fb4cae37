/**
 * The doctor reads the agents' own files (codex's config.toml, gemini's trustedFolders.json) by
 * the config's rules: only a regular file, at most 1 MiB, judged as it was opened. A directory, a
 * FIFO, a link to a device or a path through a file is a failed check naming the file, never an
 * exit 70, a hang or a read without end.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import type { Check } from "../../lib/cli/doctor.ts";
import { runCliWithin } from "../helpers/deadline.ts";
import { makeSandbox, type Sandbox, writeConfig, writeFile } from "../helpers/sandbox.ts";

const CONFIG = "jobs:\n  b: { job: s, agent: codex }\n  c: { job: s, agent: gemini }\n";

/** Long enough for a cold doctor on a loaded machine; a hang never ends. */
const DEADLINE_MS = 30_000;

async function doctorCheck(sandbox: Sandbox, name: string, env: Record<string, string> = {}) {
  const result = await runCliWithin(sandbox, ["--doctor", "--json"], DEADLINE_MS, env);
  assert.equal(result.hung, false, `the doctor hung:\n${result.stderr}`);
  assert.equal(result.code, 1, result.stderr);
  assert.doesNotMatch(result.stderr, /internal error|^\s+at /m);
  const check = (JSON.parse(result.stdout) as Check[]).find((check) => check.name === name);
  assert.ok(check, `no ${name} check in ${result.stdout}`);
  return check;
}

async function mkfifo(path: string): Promise<void> {
  await Deno.mkdir(join(path, ".."), { recursive: true });
  const made = await new Deno.Command("mkfifo", { args: [path] }).output();
  assert.ok(made.success, `mkfifo ${path}`);
}

Deno.test("--doctor fails codex's provider check for a config.toml that is no regular file", async (t) => {
  await using sandbox = await makeSandbox();
  await writeConfig(sandbox, CONFIG, ["s"]);
  const toml = join(sandbox.home, ".codex/config.toml");
  const cases: [string, () => Promise<void>, RegExp][] = [
    ["a directory", () => Deno.mkdir(toml, { recursive: true }), /is a directory, not a file/],
    ["a FIFO", () => mkfifo(toml), /is not a regular file \(a FIFO, socket or device\)/],
    [
      "a link to /dev/zero",
      async () => {
        await Deno.mkdir(join(toml, ".."), { recursive: true });
        await Deno.symlink("/dev/zero", toml);
      },
      /is not a regular file/,
    ],
    [
      "larger than 1 MiB",
      async () => {
        await writeFile(toml, "");
        await Deno.truncate(toml, 2 * 1024 * 1024);
      },
      /is 2097152 bytes, over the limit of 1048576 bytes \(1 MiB\)/,
    ],
  ];
  for (const [what, make, detail] of cases) {
    await t.step(what, async () => {
      await Deno.remove(join(sandbox.home, ".codex"), { recursive: true }).catch(() => {});
      await make();
      const check = await doctorCheck(sandbox, "codex provider");
      assert.equal(check.status, "fail");
      assert.ok(check.detail.startsWith(`${toml}: `), check.detail);
      assert.match(check.detail, detail);
      assert.match(check.fix!, /codex reads its settings from it/);
    });
  }
  await t.step("CODEX_HOME a file", async () => {
    await Deno.remove(join(sandbox.home, ".codex"), { recursive: true }).catch(() => {});
    const home = join(sandbox.dir, "codex-home");
    await writeFile(home, "not a folder\n");
    const check = await doctorCheck(sandbox, "codex provider", { CODEX_HOME: home });
    assert.equal(check.status, "fail");
    assert.match(check.detail, /codex-home\/config\.toml: cannot be reached: a part of its path/);
  });
});

Deno.test("--doctor fails gemini's trust check for a trustedFolders.json that is a FIFO or a device", async (t) => {
  await using sandbox = await makeSandbox();
  await writeConfig(sandbox, CONFIG, ["s"]);
  const trust = join(sandbox.home, ".gemini/trustedFolders.json");
  await t.step("a FIFO", async () => {
    await mkfifo(trust);
    const check = await doctorCheck(sandbox, "gemini trust");
    assert.equal(check.status, "fail");
    assert.match(check.detail, /trustedFolders\.json: is not a regular file \(a FIFO/);
  });
  await t.step("a link to /dev/zero", async () => {
    await Deno.remove(trust);
    await Deno.symlink("/dev/zero", trust);
    const check = await doctorCheck(sandbox, "gemini trust");
    assert.equal(check.status, "fail");
    assert.match(check.detail, /trustedFolders\.json: is not a regular file/);
  });
});
