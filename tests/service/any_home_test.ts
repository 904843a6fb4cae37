/**
 * Any HOME and any socket path: the runner's permission flags name both (`--allow-write=HOME/
 * .teleclaude,SOCKET`), and Deno 2.9.6 splits those lists on every comma with no escape (`,,` is
 * "Empty path is not allowed"). Probed character by character: every printable ASCII character
 * but the comma, and non-ASCII, works in a granted path; a comma does not. So a path with a comma
 * (or a newline: the flags are one per line) is refused with exit 2 and its name, at install
 * and on every tick; everything else works.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { startFakeDaemon } from "../helpers/daemon.ts";
import { readRecord, writeFakeAgent } from "../helpers/fake_agent.ts";
import { fakeTools, runInitSh, runProgram, treeOf } from "../helpers/init_sh.ts";
import {
  MAIN,
  makeSandbox,
  permissionFlags,
  readStateFile,
  ROOT,
  type Sandbox,
  writeConfig,
} from "../helpers/sandbox.ts";

const COMMA_HOME =
  /^teleclaude-cron: HOME "[^"]*a,b[^"]*" has a comma, which the runner's permission flags cannot carry \(Deno splits its lists on commas; the flags are one per line\), so it could not write there: use a HOME without commas or newlines$/m;

/**
 * The runner as a service installed before this check started it: with the flags the flag
 * script made by joining the paths with a comma, which Deno then splits.
 */
async function tickWithOldFlags(sandbox: Sandbox, extra: Record<string, string>, args: string[]) {
  const env = { ...sandbox.env, ...extra };
  const flags = [
    "--no-prompt",
    "--allow-read",
    `--allow-write=${env.HOME}/.teleclaude,${env.TELECLAUDE_API_SOCKET}`,
    `--allow-net=unix:${env.TELECLAUDE_API_SOCKET}`,
    "--allow-env",
    "--allow-sys=hostname",
    "--allow-run",
  ];
  return await runProgram(
    Deno.execPath(),
    ["run", "--quiet", ...flags, MAIN, "--config", sandbox.config, ...args],
    { env, cwd: sandbox.project },
  );
}

Deno.test("a tick under a HOME with a comma stops with exit 2 naming it, not 70", async (t) => {
  await using sandbox = await makeSandbox();
  const home = join(sandbox.dir, "a,b", "home");
  await Deno.mkdir(home, { recursive: true });
  await writeConfig(sandbox, "jobs:\n  j: { script: /bin/true, when: { every: 1h } }\n");
  for (const args of [[], ["--list"], ["--doctor"]]) {
    await t.step(args.join(" ") || "a tick", async () => {
      const result = await tickWithOldFlags(sandbox, { HOME: home }, args);
      assert.equal(result.code, 2, result.stderr);
      assert.match(result.stderr, COMMA_HOME);
      assert.doesNotMatch(result.stderr, /NotCapable|internal error/);
      assert.deepEqual(await treeOf(home), []);
    });
  }
});

Deno.test("a daemon socket path with a comma stops the tick before any agent job fails on it", async () => {
  await using sandbox = await makeSandbox();
  const socket = join(sandbox.dir, "api,1.sock");
  await writeConfig(sandbox, "jobs:\n  j: { job: j, role: member, when: { every: 1d } }\n", ["j"]);
  await writeFakeAgent(sandbox.bin, "claude", { kind: "exit", code: 0 });
  const result = await tickWithOldFlags(sandbox, { TELECLAUDE_API_SOCKET: socket }, []);
  assert.equal(result.code, 2, result.stderr);
  assert.match(
    result.stderr,
    /^teleclaude-cron: TELECLAUDE_API_SOCKET "\S+api,1\.sock" has a comma, .*use a TELECLAUDE_API_SOCKET without commas or newlines$/m,
  );
  await assert.rejects(Deno.stat(join(sandbox.records, "claude.args")), Deno.errors.NotFound);
  await assert.rejects(readStateFile(sandbox), Deno.errors.NotFound);
});

Deno.test("the flag script refuses a comma, so deno task cron and init.sh do too, writing nothing", async (t) => {
  await using sandbox = await makeSandbox();
  const home = join(sandbox.dir, "a,b", "home");
  await Deno.mkdir(home, { recursive: true });
  await writeConfig(sandbox, "jobs: {}\n");
  await t.step("scripts/permission-flags.sh", async () => {
    await assert.rejects(
      permissionFlags({ HOME: home }),
      /HOME "\S+a,b\/home" has a comma, which the runner's permission flags cannot carry/,
    );
  });
  await t.step("deno task cron (scripts/run.sh)", async () => {
    const run = await runProgram(
      "sh",
      [join(ROOT, "scripts/run.sh"), "--list", "--config", sandbox.config],
      { env: { ...sandbox.env, HOME: home } },
    );
    assert.equal(run.code, 2);
    assert.match(run.stderr, /^HOME "\S+a,b\/home" has a comma/);
  });
  await t.step("init.sh", async () => {
    const linux = await fakeTools(sandbox, "Linux");
    const result = await runInitSh(linux, [], sandbox.config, { HOME: home });
    assert.equal(result.code, 2, result.stdout + result.stderr);
    assert.match(result.stderr, /^init\.sh: error: HOME "\S+a,b\/home" has a comma/m);
    assert.deepEqual(await treeOf(home), []);
  });
});

Deno.test("every other printable character in HOME and the socket path works: state written, daemon reached", async () => {
  await using sandbox = await makeSandbox();
  // Printable ASCII but the comma and the slash (which separates, not names), and non-ASCII.
  const odd = ` !"#$%&'()*+-.:;<=>?@[\\]^_\`{|}~é`;
  const home = join(sandbox.dir, `h${odd}`);
  // A socket path has at most 104 bytes on macOS: a short directory of its own.
  const short = await Deno.makeTempDir({ dir: "/tmp", prefix: "tc-" });
  await using _short = { [Symbol.asyncDispose]: () => Deno.remove(short, { recursive: true }) };
  const socket = join(short, `s${odd}.sock`);
  await Deno.mkdir(home);
  await using _daemon = startFakeDaemon(socket, "healthy");
  await writeConfig(sandbox, "jobs:\n  j: { job: j, role: member, when: { every: 1d } }\n", ["j"]);
  await writeFakeAgent(sandbox.bin, "claude", { kind: "exit", code: 0 });
  const env = { ...sandbox.env, HOME: home, TELECLAUDE_API_SOCKET: socket };
  const tick = await runProgram(
    Deno.execPath(),
    ["run", "--quiet", ...await permissionFlags(env), MAIN, "--config", sandbox.config],
    { env, cwd: sandbox.project },
  );
  assert.equal(tick.code, 0, tick.stderr);
  // The role comes from the config only when the daemon answered on that socket.
  assert.equal(await readRecord(sandbox.records, "claude", "role"), "member");
  const state = JSON.parse(await Deno.readTextFile(join(home, ".teleclaude/cron_state.json")));
  assert.equal(state.jobs.j.last_status, "success");
});
