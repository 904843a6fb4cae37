/**
 * init.sh against a real systemd user manager. PID 1 of a CI container is not systemd, but a user
 * manager runs in a mount namespace of its own: /run/systemd is covered by an empty directory
 * holding `system/` (what systemctl looks for to believe systemd is running), XDG_RUNTIME_DIR is a
 * fresh 0700 directory and HOME a temp one; `systemctl --user` then talks to it. Everything stays
 * in that namespace and the sandbox; each command runs in the namespace through nsenter, and the
 * manager (its own pid, nothing else) is stopped at the end, which ends the namespace and its
 * mount. This needs Linux, root (unshare -m), unshare, nsenter and /lib/systemd/systemd: where
 * any is missing the tests are skipped, saying so.
 */

import assert from "node:assert/strict";
import { dirname, join } from "node:path";
import { runInitSh, runProgram, treeOf } from "../helpers/init_sh.ts";
import {
  type CliResult,
  makeSandbox,
  readStateFile,
  ROOT,
  type Sandbox,
  waitFor,
  writeFile,
} from "../helpers/sandbox.ts";

const SYSTEMD = "/lib/systemd/systemd";
const UNIT = "teleclaude-cron";

/** Why a real user manager cannot be started here, or null. */
async function unavailable(): Promise<string | null> {
  if (Deno.build.os !== "linux") return "systemd is Linux's";
  if (Deno.uid() !== 0) return "unshare -m needs root";
  for (const tool of ["unshare", "nsenter", "systemctl"]) {
    const found = await new Deno.Command("sh", { args: ["-c", `command -v ${tool}`] }).output();
    if (!found.success) return `${tool} is not installed`;
  }
  try {
    await Deno.stat(SYSTEMD);
  } catch {
    return `${SYSTEMD} is not installed`;
  }
  return null;
}

const skip = await unavailable();
// Without a user manager init.sh needs only systemctl itself, and no root.
const noSystemctl = Deno.build.os !== "linux" ||
  !(await new Deno.Command("sh", { args: ["-c", "command -v systemctl"] }).output()).success;
if (noSystemctl) {
  // deno-lint-ignore no-console -- the skip must be visible in the test output.
  console.log("systemd_test: SKIPPED init.sh without a user manager: no systemctl (not Linux?)");
}
if (skip) {
  // deno-lint-ignore no-console -- the skip must be visible in the test output.
  console.log(`systemd_test: SKIPPED the real systemd user manager tests: ${skip}`);
}

/** A running user manager, and how to run a command where it can be reached. */
interface UserManager extends AsyncDisposable {
  pid: number;
  /** The environment of the session: HOME, XDG_RUNTIME_DIR, a PATH with this Deno on it. */
  env: Record<string, string>;
  run(command: string, args: string[], env?: Record<string, string>): Promise<CliResult>;
  systemctl(...args: string[]): Promise<CliResult>;
}

async function startUserManager(sandbox: Sandbox): Promise<UserManager> {
  const runSystemd = join(sandbox.dir, "run-systemd");
  const runtime = join(sandbox.dir, "xdg-runtime");
  await Deno.mkdir(join(runSystemd, "system"), { recursive: true });
  await Deno.mkdir(runtime);
  await Deno.chmod(runtime, 0o700);
  const env = {
    HOME: sandbox.home,
    XDG_RUNTIME_DIR: runtime,
    PATH: `${dirname(Deno.execPath())}:/usr/bin:/bin`,
    DENO_DIR: sandbox.env.DENO_DIR!,
    NO_COLOR: "1",
  };
  // unshare and sh both exec: the child's pid is the manager's.
  const child = new Deno.Command("unshare", {
    args: [
      "-m",
      "--propagation",
      "private",
      "sh",
      "-c",
      `mount --bind "$1" /run/systemd && exec ${SYSTEMD} --user >>"$2" 2>&1`,
      "sh",
      runSystemd,
      join(sandbox.dir, "manager.log"),
    ],
    env,
    clearEnv: true,
    stdin: "null",
  }).spawn();
  const run = (command: string, args: string[], extra: Record<string, string> = {}) =>
    runProgram("nsenter", ["--target", String(child.pid), "--mount", "--", command, ...args], {
      env: { ...env, ...extra },
    });
  const manager: UserManager = {
    pid: child.pid,
    env,
    run,
    systemctl: (...args: string[]) => run("systemctl", ["--user", ...args]),
    async [Symbol.asyncDispose]() {
      // SIGTERM to the manager alone: it stops its units and exits; the namespace goes with it.
      child.kill("SIGTERM");
      const exited = await Promise.race([
        child.status.then(() => true),
        new Promise<false>((resolve) => setTimeout(() => resolve(false), 15_000)),
      ]);
      if (!exited) {
        child.kill("SIGKILL");
        await child.status;
      }
    },
  };
  try {
    await waitFor(
      async () => {
        const state = (await manager.systemctl("is-system-running")).stdout.trim();
        return state === "running" || state === "degraded";
      },
      "the user manager to be running",
      20_000,
    );
  } catch (error) {
    await manager[Symbol.asyncDispose]();
    throw error;
  }
  return manager;
}

/** A script job that records the environment the service gives it, and the config naming it. */
async function writeEnvJob(sandbox: Sandbox): Promise<string> {
  const seen = join(sandbox.dir, "seen");
  await writeFile(
    join(sandbox.project, "jobs/env.sh"),
    `#!/bin/sh\n{ echo "PATH=$PATH"; tty 2>&1 || true; } > "${seen}"\n`,
    true,
  );
  await writeFile(sandbox.config, "jobs:\n  env: { script: jobs/env.sh, when: { every: 1h } }\n");
  return seen;
}

Deno.test({
  name: "init.sh installs a timer a real systemd user manager runs, and takes all of it away again",
  ignore: skip !== null,
  async fn(t) {
    await using sandbox = await makeSandbox();
    await using manager = await startUserManager(sandbox);
    const seen = await writeEnvJob(sandbox);
    const initSh = (args: string[] = ["--config", sandbox.config]) =>
      manager.run("bash", [join(ROOT, "init.sh"), ...args]);
    const units = join(sandbox.home, ".config/systemd/user");
    const binary = join(sandbox.home, ".teleclaude/bin/teleclaude-cron");
    let form = "";

    await t.step(
      "init.sh installs it; without denort, the source form, and it says so",
      async () => {
        const installed = await initSh();
        assert.equal(installed.code, 0, installed.stdout + installed.stderr);
        assert.match(
          installed.stdout,
          /^init\.sh: installed: teleclaude-cron\.timer runs every 5 /m,
        );
        form = /deno compile cannot get its runtime base/.test(installed.stdout)
          ? "source form"
          : "compiled";
        const version = await manager.run(binary, ["--version"]);
        assert.match(
          version.stdout,
          new RegExp(`^teleclaude-cron \\S+ \\(${form}, build [0-9a-f]+; `),
        );
      },
    );

    await t.step(
      "both units load, and the timer is enabled, next due within 5 minutes",
      async () => {
        for (const unit of [`${UNIT}.service`, `${UNIT}.timer`]) {
          const load = await manager.systemctl("show", unit, "-p", "LoadState", "--value");
          assert.equal(load.stdout.trim(), "loaded", `${unit}: ${load.stderr}`);
        }
        assert.equal(
          (await manager.systemctl("is-enabled", `${UNIT}.timer`)).stdout.trim(),
          "enabled",
        );
        assert.equal(
          (await manager.systemctl("is-active", `${UNIT}.timer`)).stdout.trim(),
          "active",
        );
        const timers = JSON.parse(
          (await manager.systemctl("list-timers", "--all", "-o", "json")).stdout,
        ) as { unit: string; next: number }[];
        const next = timers.find((timer) => timer.unit === `${UNIT}.timer`)!.next / 1000;
        assert.ok(next > Date.now() - 1000 && next <= Date.now() + 5 * 60_000, String(next));
      },
    );

    await t.step(
      "starting the service runs the due job with the service's PATH, no TTY",
      async () => {
        const started = await manager.systemctl("start", `${UNIT}.service`);
        assert.equal(started.code, 0, started.stderr);
        const unitText = await Deno.readTextFile(join(units, `${UNIT}.service`));
        const servicePath = /"PATH=([^"]*)"/.exec(unitText)![1]!;
        assert.equal(await Deno.readTextFile(seen), `PATH=${servicePath}\nnot a tty\n`);
        assert.equal((await readStateFile(sandbox)).jobs.env?.last_status, "success");
        const history =
          (await Deno.readTextFile(join(sandbox.home, ".teleclaude/cron_history.jsonl")))
            .trim().split("\n").map((line) => JSON.parse(line));
        assert.deepEqual(history.map((run) => [run.job, run.status]), [["env", "success"]]);
      },
    );

    await t.step(
      "--doctor of the installed runner reports the timer and the runner ok",
      async () => {
        const doctor = await manager.run(binary, [
          "--doctor",
          "--json",
          "--config",
          sandbox.config,
        ]);
        const checks = JSON.parse(doctor.stdout) as {
          name: string;
          status: string;
          detail: string;
        }[];
        const timer = checks.find((check) => check.name === "timer")!;
        assert.equal(timer.status, "ok", timer.detail);
        assert.match(timer.detail, /teleclaude-cron\.timer is enabled; next run \w{3} \d{4}-/);
        const runner = checks.find((check) => check.name === "binary")!;
        assert.equal(runner.status, "ok", runner.detail);
        assert.match(
          runner.detail,
          new RegExp(`is the ${form === "compiled" ? "compiled binary" : "source form"}, build`),
        );
      },
    );

    await t.step("init.sh again changes nothing", async () => {
      const before = await Promise.all(
        [`${UNIT}.service`, `${UNIT}.timer`].map((unit) => Deno.readTextFile(join(units, unit))),
      );
      const runtimes = await treeOf(join(sandbox.home, ".teleclaude/runtime"));
      const again = await initSh();
      assert.equal(again.code, 0, again.stdout + again.stderr);
      assert.match(again.stdout, /^init\.sh: unchanged: \S+teleclaude-cron\.service$/m);
      assert.match(again.stdout, /^init\.sh: unchanged: \S+teleclaude-cron\.timer$/m);
      if (form === "source form") {
        assert.match(
          again.stdout,
          /^init\.sh: unchanged: \S+\/\.teleclaude\/bin\/teleclaude-cron$/m,
        );
      }
      assert.deepEqual(
        await Promise.all(
          [`${UNIT}.service`, `${UNIT}.timer`].map((unit) => Deno.readTextFile(join(units, unit))),
        ),
        before,
      );
      assert.deepEqual(await treeOf(join(sandbox.home, ".teleclaude/runtime")), runtimes);
      assert.equal(
        (await manager.systemctl("is-enabled", `${UNIT}.timer`)).stdout.trim(),
        "enabled",
      );
    });

    await t.step("init.sh --uninstall leaves no unit, runner or timer behind", async () => {
      const removed = await initSh(["--uninstall"]);
      assert.equal(removed.code, 0, removed.stdout + removed.stderr);
      assert.match(removed.stdout, /^init\.sh: uninstalled: /m);
      assert.deepEqual(await treeOf(units), []);
      await assert.rejects(Deno.stat(binary), Deno.errors.NotFound);
      await assert.rejects(
        Deno.stat(join(sandbox.home, ".teleclaude/runtime")),
        Deno.errors.NotFound,
      );
      const timers = JSON.parse(
        (await manager.systemctl("list-timers", "--all", "-o", "json")).stdout,
      ) as { unit: string }[];
      assert.deepEqual(timers.filter((timer) => timer.unit.startsWith(UNIT)), []);
      for (const unit of [`${UNIT}.service`, `${UNIT}.timer`]) {
        const load = await manager.systemctl("show", unit, "-p", "LoadState", "--value");
        assert.equal(load.stdout.trim(), "not-found", unit);
      }
      // What the runner recorded is the user's: kept.
      assert.equal((await readStateFile(sandbox)).jobs.env?.last_status, "success");
    });
  },
});

Deno.test({
  name: "init.sh where no systemd user manager answers says so, with the fix, and writes nothing",
  ignore: noSystemctl,
  async fn(t) {
    for (
      const [what, runtime, message] of [
        ["XDG_RUNTIME_DIR unset", null, /^init\.sh: error: no systemd user session/m],
        [
          "a runtime directory no manager serves",
          "empty",
          /^init\.sh: error: no systemd user manager answers at \S+ \(systemctl --user: Failed to connect to bus: .*\)\. Fix: log in as \S+ through ssh or a desktop session, or sudo loginctl enable-linger \S+; then run init\.sh again/m,
        ],
      ] as const
    ) {
      await t.step(what, async () => {
        await using sandbox = await makeSandbox();
        await writeFile(sandbox.config, "jobs: {}\n");
        const env: Record<string, string> = {
          PATH: `${dirname(Deno.execPath())}:/usr/bin:/bin`,
          DENO_DIR: sandbox.env.DENO_DIR!,
        };
        if (runtime) {
          env.XDG_RUNTIME_DIR = join(sandbox.dir, runtime);
          await Deno.mkdir(env.XDG_RUNTIME_DIR, { mode: 0o700 });
        }
        const result = await runInitSh({ sandbox, env: { HOME: sandbox.home, ...env } }, []);
        assert.equal(result.code, 2, result.stdout + result.stderr);
        assert.match(result.stderr, message);
        assert.match(result.stderr, /loginctl enable-linger|XDG_RUNTIME_DIR/);
        assert.doesNotMatch(result.stdout, /installed|wrote/);
        assert.deepEqual(await treeOf(sandbox.home), []);
      });
    }
  },
});
