/**
 * Issue 11, the faults that need the machine's help: a full disk (HOME on a 1 MiB tmpfs, in a
 * mount namespace of the test's own) and permissions (the runner as `nobody`, since root may
 * read and write anything). Each skips, saying why, where the machine does not allow it.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import {
  makeSandbox,
  permissionFlags,
  ROOT,
  type Sandbox,
  writeConfig,
  writeFile,
} from "./helpers/sandbox.ts";

/** Whether `command args` runs and exits 0 here. */
async function works(command: string, args: string[]): Promise<boolean> {
  try {
    return (await new Deno.Command(command, { args, stdout: "null", stderr: "null" }).output())
      .success;
  } catch {
    return false;
  }
}

const canMountTmpfs = Deno.build.os === "linux" &&
  await works("unshare", ["-rm", "sh", "-c", "mount -t tmpfs -o size=64k tmpfs /mnt"]);
const canBeNobody = Deno.build.os === "linux" && Deno.uid() === 0 &&
  await works("setpriv", ["--reuid=65534", "--regid=65534", "--clear-groups", "true"]);
for (
  const [skipped, why] of [
    [!canMountTmpfs, "the full-disk test: no unshare -rm with tmpfs here"],
    [!canBeNobody, "the permission tests: they need root and setpriv"],
  ] as const
) {
  // deno-lint-ignore no-console -- a skip must be visible in the test output.
  if (skipped) console.log(`hardening_fs_test: SKIPPED ${why}`);
}

Deno.test({
  name: "#2 a full disk: the runaway log is cut, every job is recorded, no temp file is left; " +
    "when nothing can be recorded no job starts (exit 1), and the next tick recovers",
  ignore: !canMountTmpfs,
  async fn() {
    await using sandbox = await makeSandbox();
    await writeConfig(
      sandbox,
      "jobs:\n  loud: { script: jobs/loud.sh, when: { every: 1d } }\n  quiet: { script: jobs/quiet.sh, when: { every: 1d } }\n",
    );
    // 2 MB of output, onto a 1 MiB disk.
    await writeFile(
      join(sandbox.project, "jobs/loud.sh"),
      "#!/bin/sh\nhead -c 2000000 /dev/zero | tr '\\0' x\n",
      true,
    );
    await writeFile(
      join(sandbox.project, "jobs/quiet.sh"),
      '#!/bin/sh\necho ran >> "$OUT/quiet.txt"\n',
      true,
    );
    const out = join(sandbox.dir, "out");
    await Deno.mkdir(out);
    const flags = (await permissionFlags(sandbox.env)).join(" ");
    // One mount namespace for the three ticks, so the tmpfs lives across them.
    const script = `set -u
mount -t tmpfs -o size=1m tmpfs "$HOME" || exit 99
tick() {
  deno run --quiet ${flags} "${
      join(ROOT, "main.ts")
    }" --config "${sandbox.config}" "$@" >"$OUT/$N.out" 2>"$OUT/$N.err"
  echo $? >"$OUT/$N.code"
  ls -a "$HOME/.teleclaude" >"$OUT/$N.ls" 2>/dev/null
  cp "$HOME/.teleclaude/cron_state.json" "$OUT/$N.state" 2>/dev/null
  cp "$OUT/quiet.txt" "$OUT/$N.quiet" 2>/dev/null
  N=$((N + 1))
}
N=1 tick
dd if=/dev/zero of="$HOME/filler" bs=4096 2>/dev/null
N=2 tick --force
rm "$HOME/filler"
N=3 tick --force
`;
    const run = await new Deno.Command("unshare", {
      args: ["-rm", "sh", "-c", script],
      env: { ...sandbox.env, OUT: out },
      clearEnv: true,
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert.equal(run.code, 0, new TextDecoder().decode(run.stderr));
    const read = (name: string) => Deno.readTextFileSync(join(out, name));
    // Tick 1: both jobs ran and are recorded; the loud one's log was cut to make room.
    assert.equal(read("1.code").trim(), "0", read("1.err"));
    const first = JSON.parse(read("1.state")).jobs;
    assert.equal(first.loud.last_status, "success");
    assert.equal(first.quiet.last_status, "success");
    assert.match(read("1.err") + read("1.out"), /run_log_truncated|log_problem=/);
    assert.doesNotMatch(read("1.ls"), /\.tmp-/);
    // Tick 2, the disk full: said once, exit 1, no job started, nothing half-written.
    assert.equal(read("2.code").trim(), "1", read("2.err"));
    assert.match(
      read("2.err"),
      /cron_state\.json: cannot be written: the disk is full .*so no job starts until there is space/,
    );
    assert.equal(read("2.err").match(/teleclaude-cron: /g)?.length, 1);
    assert.equal(read("2.quiet"), "ran\n");
    assert.doesNotMatch(read("2.ls"), /\.tmp-/);
    // Tick 3, space again: it runs and records.
    assert.equal(read("3.code").trim(), "0", read("3.err"));
    assert.equal(read("3.quiet"), "ran\nran\n");
    assert.equal(JSON.parse(read("3.state")).jobs.quiet.last_status, "success");
  },
});

/** A copy of the runner's sources, and a Deno cache, that `nobody` can read and write. */
async function forNobody(sandbox: Sandbox): Promise<{ main: string; env: Record<string, string> }> {
  const src = join(sandbox.dir, "src");
  await Deno.mkdir(src);
  await new Deno.Command("cp", { args: ["-R", join(ROOT, "lib"), src] }).output();
  for (const file of ["main.ts", "deno.json", "deno.lock"]) {
    await Deno.copyFile(join(ROOT, file), join(src, file));
  }
  const denoDir = join(sandbox.dir, "deno-dir");
  await Deno.mkdir(denoDir);
  await new Deno.Command("cp", { args: ["-R", join(sandbox.env.DENO_DIR!, "npm"), denoDir] })
    .output();
  const home = join(sandbox.dir, "nobody-home");
  await Deno.mkdir(home);
  for (const path of [denoDir, home]) {
    await new Deno.Command("chown", { args: ["-R", "65534:65534", path] }).output();
  }
  await Deno.chmod(sandbox.dir, 0o755);
  return { main: join(src, "main.ts"), env: { ...sandbox.env, HOME: home, DENO_DIR: denoDir } };
}

async function runAsNobody(
  sandbox: Sandbox,
  setup: { main: string; env: Record<string, string> },
  args: string[],
) {
  const flags = await permissionFlags(setup.env);
  const output = await new Deno.Command("setpriv", {
    args: [
      "--reuid=65534",
      "--regid=65534",
      "--clear-groups",
      Deno.execPath(),
      "run",
      "--quiet",
      ...flags,
      setup.main,
      "--config",
      sandbox.config,
      ...args,
    ],
    cwd: "/",
    env: setup.env,
    clearEnv: true,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const result = {
    code: output.code,
    stdout: new TextDecoder().decode(output.stdout),
    stderr: new TextDecoder().decode(output.stderr),
  };
  assert.notEqual(result.code, 70, result.stderr);
  assert.doesNotMatch(result.stderr, /internal error|^\s+at /m);
  return result;
}

Deno.test({
  name: "#4 permissions: an unreadable config, unlistable folders, an unwritable home",
  ignore: !canBeNobody,
  async fn(t) {
    await using sandbox = await makeSandbox();
    const setup = await forNobody(sandbox);
    await Deno.chmod(sandbox.project, 0o755);
    await writeConfig(sandbox, "jobs:\n  mark: { script: /bin/true, when: { every: 1d } }\n");
    await writeFile(join(sandbox.project, "jobs/extra.sh"), "#!/bin/sh\n", true);
    await t.step("the config unreadable: exit 2, named", async () => {
      await Deno.chmod(sandbox.config, 0o600);
      const result = await runAsNobody(sandbox, setup, []);
      assert.equal(result.code, 2);
      assert.match(result.stderr, /teleclaude\.yml: cannot be read: permission denied/);
      await Deno.chmod(sandbox.config, 0o644);
    });
    await t.step("jobs/ unlistable: a warning, the configured job runs", async () => {
      await Deno.chmod(join(sandbox.project, "jobs"), 0o711);
      const result = await runAsNobody(sandbox, setup, []);
      assert.equal(result.code, 0, result.stderr);
      assert.match(
        result.stderr,
        /jobs: cannot be listed: permission denied; its scripts are not discovered/,
      );
      assert.match(result.stdout, /event=job_finished job=mark status=success/);
    });
    await t.step("the config's folder unlistable: the same", async () => {
      await Deno.chmod(sandbox.project, 0o711);
      const result = await runAsNobody(sandbox, setup, ["--force"]);
      assert.equal(result.code, 0, result.stderr);
      assert.match(result.stdout, /event=job_finished job=mark status=success/);
      await Deno.chmod(sandbox.project, 0o755);
    });
    await t.step("~/.teleclaude not writable: exit 2, named, with the fix", async () => {
      const root = join(setup.env.HOME!, ".teleclaude");
      await Deno.remove(root, { recursive: true });
      await Deno.mkdir(root, { mode: 0o755 });
      const result = await runAsNobody(sandbox, setup, ["--force"]);
      assert.equal(result.code, 2, result.stderr);
      assert.match(
        result.stderr,
        /cron_runner\.pid: cannot be written: permission denied .*must be yours and writable/,
      );
    });
    await t.step("HOME not writable: the same", async () => {
      await Deno.remove(join(setup.env.HOME!, ".teleclaude"), { recursive: true });
      await new Deno.Command("chown", { args: ["0:0", setup.env.HOME!] }).output();
      const result = await runAsNobody(sandbox, setup, ["--force"]);
      assert.equal(result.code, 2, result.stderr);
      assert.match(result.stderr, /cannot be written: permission denied/);
    });
  },
});
