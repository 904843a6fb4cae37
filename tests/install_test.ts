/**
 * init.sh against recording stand-ins for launchctl, plutil, sudo, systemctl, id and uname, and
 * the real Deno (but for `deno compile`), under a temp HOME: what it does on a Mac and on Linux,
 * checked exactly, and what it takes back when a step fails. tests/service/systemd_test.ts runs
 * it against a real systemd user manager.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { calls, fakeTools, type Installer, runInitSh, treeOf } from "./helpers/init_sh.ts";
import { parsePlist, plistParser } from "./helpers/plist.ts";
import { makeSandbox, permissionFlags, type Sandbox, writeFile } from "./helpers/sandbox.ts";

const LABEL = "ai.instrukt.teleclaude.cron";

async function initSh(installer: Installer, args: string[] = [], config?: string) {
  const { code, stdout, stderr } = await runInitSh(installer, args, config);
  assert.equal(code, 0, stdout + stderr);
  return stdout;
}

const paths = (sandbox: Sandbox) => ({
  binary: join(sandbox.home, ".teleclaude/bin/teleclaude-cron"),
  runtime: join(sandbox.home, ".teleclaude/runtime"),
  plist: join(sandbox.home, `Library/LaunchAgents/${LABEL}.plist`),
  units: join(sandbox.home, ".config/systemd/user"),
});

/** Every string in a parsed plist, however deep. */
function strings(value: unknown): string[] {
  if (typeof value === "string") return [value];
  if (Array.isArray(value)) return value.flatMap(strings);
  if (value && typeof value === "object") return Object.values(value).flatMap(strings);
  return [];
}

const parser = await plistParser();
if (parser === null) {
  // deno-lint-ignore no-console -- the skip must be visible in the test output.
  console.log("install_test: SKIPPED the plist checks: neither plutil nor python3 is here");
}

Deno.test({
  name: "init.sh on a Mac installs a plist launchd can read: every 5 minutes, absolute paths, no ~",
  ignore: parser === null,
  async fn() {
    await using sandbox = await makeSandbox();
    const mac = await fakeTools(sandbox, "Darwin");
    const { binary, plist: plistPath } = paths(sandbox);
    const printed = await initSh(mac);
    assert.match(printed, /^init\.sh: compiled \S+\/\.teleclaude\/bin\/teleclaude-cron$/m);
    assert.match(printed, /^init\.sh: installed: ai\.instrukt\.teleclaude\.cron runs every 5 /m);
    const plistText = await Deno.readTextFile(plistPath);
    const plist = await parsePlist(plistText) as Record<string, unknown>;
    assert.equal(plist.Label, LABEL);
    assert.equal(plist.StartInterval, 300);
    assert.ok(!("StartCalendarInterval" in plist));
    assert.deepEqual(plist.ProgramArguments, [binary, "--config", sandbox.config]);
    assert.equal(plist.WorkingDirectory, sandbox.project);
    assert.equal(plist.StandardOutPath, join(mac.logDir, "cron.log"));
    assert.equal(plist.StandardErrorPath, join(mac.logDir, "cron.log"));
    // launchd opens the log itself: the directory exists and is writable after the install.
    assert.ok((await Deno.stat(mac.logDir)).isDirectory);
    await Deno.writeTextFile(join(mac.logDir, "probe"), "");
    assert.ok((plist.ExitTimeOut as number) > 10);
    const env = plist.EnvironmentVariables as Record<string, string>;
    assert.equal(env.HOME, sandbox.home);
    assert.equal(env.TELECLAUDE_API_SOCKET, sandbox.socket);
    const servicePath = env.PATH!.split(":");
    assert.ok(servicePath.includes(mac.agentDir), "the PATH reaches the agent CLI");
    assert.ok(servicePath.every((dir) => dir.startsWith("/")), "absolute directories only");
    // launchd expands neither ~ nor $HOME: no value may hold one.
    for (const value of strings(plist)) assert.doesNotMatch(value, /~|\$HOME|@[A-Z_]+@/, value);
    assert.ok((plist.ProgramArguments as string[]).every((arg) => !arg.includes("~")));

    const made = await calls(mac);
    const flags = await permissionFlags({
      HOME: sandbox.home,
      TELECLAUDE_API_SOCKET: sandbox.socket,
    });
    const uid = 501;
    assert.equal(made[0], `launchctl print gui/${uid}`);
    // The compile of a stamped copy of this tree (scripts/stage.ts), into a new file beside the
    // binary, moved into place only once it exists.
    assert.match(
      made[1]!,
      new RegExp(
        `^deno compile ${
          flags.join(" ")
        } --include (/\\S+)/lib --config \\1/deno\\.runtime\\.json ` +
          `--lock \\1/deno\\.runtime\\.lock --frozen --output \\S+/\\.teleclaude/bin/` +
          `\\.teleclaude-cron\\.new\\.\\d+ \\1/main\\.ts$`,
      ),
    );
    assert.deepEqual(made.slice(2), [
      `launchctl print gui/${uid}/${LABEL}`,
      `plutil -lint ${plistPath}`,
      `launchctl bootout gui/${uid}/${LABEL}`,
      `launchctl bootstrap gui/${uid} ${plistPath}`,
      `launchctl print gui/${uid}/${LABEL}`,
    ]);
    // Under ~/.teleclaude, as the runner's own files: the user's alone.
    assert.equal((await Deno.stat(binary)).mode! & 0o777, 0o700);
    assert.equal((await Deno.stat(join(sandbox.home, ".teleclaude"))).mode! & 0o777, 0o700);
    assert.match(
      new TextDecoder().decode(
        (await new Deno.Command(binary, { args: ["--version"] }).output()).stdout,
      ),
      /^teleclaude-cron \S+ \(compiled, build [0-9a-f]{12}; matches /,
    );

    // Again: the plist is left as it is, and so is the loaded job: booting it out would stop a
    // tick it is running.
    await Deno.remove(mac.calls);
    const second = await initSh(mac);
    assert.match(second, /unchanged: .*ai\.instrukt\.teleclaude\.cron\.plist/);
    assert.match(second, /loaded already: ai\.instrukt\.teleclaude\.cron/);
    assert.equal(await Deno.readTextFile(plistPath), plistText);
    assert.deepEqual((await calls(mac)).filter((call) => !call.startsWith("deno compile")), [
      `launchctl print gui/${uid}`,
      `launchctl print gui/${uid}/${LABEL}`,
      `plutil -lint ${plistPath}`,
    ]);

    await Deno.remove(mac.calls);
    const removed = await initSh(mac, ["--uninstall"]);
    assert.match(removed, /^init\.sh: uninstalled: /m);
    await assert.rejects(Deno.stat(plistPath), Deno.errors.NotFound);
    assert.deepEqual(await treeOf(join(sandbox.home, ".teleclaude")), []);
    assert.deepEqual(await calls(mac), [
      `launchctl print gui/${uid}/${LABEL}`,
      `launchctl bootout gui/${uid}/${LABEL}`,
    ]);
  },
});

Deno.test("init.sh creates the log directory with sudo when it cannot itself", async () => {
  await using sandbox = await makeSandbox();
  const mac = await fakeTools(sandbox, "Darwin");
  // A directory under a regular file cannot be created, not even by root.
  await Deno.writeTextFile(join(sandbox.dir, "file"), "");
  mac.env.TELECLAUDE_CRON_LOG_DIR = join(sandbox.dir, "file/log");
  await initSh(mac);
  const made = await calls(mac);
  assert.ok(made.includes(`sudo mkdir -p ${join(sandbox.dir, "file/log")}`), made.join("\n"));
  assert.ok(made.includes("sudo chown tester " + join(sandbox.dir, "file/log")), made.join("\n"));
});

Deno.test("init.sh loads the plist with unload and load where launchctl bootstrap fails", async () => {
  await using sandbox = await makeSandbox();
  const mac = await fakeTools(sandbox, "Darwin");
  const { plist } = paths(sandbox);
  const result = await runInitSh(mac, [], undefined, { FAKE_BOOTSTRAP: "fail" });
  assert.equal(result.code, 0, result.stdout + result.stderr);
  assert.match(result.stdout, /launchctl bootstrap failed; falling back to unload\/load/);
  assert.deepEqual((await calls(mac)).slice(-5), [
    `launchctl bootout gui/501/${LABEL}`,
    `launchctl bootstrap gui/501 ${plist}`,
    `launchctl unload ${plist}`,
    `launchctl load ${plist}`,
    `launchctl print gui/501/${LABEL}`,
  ]);
});

Deno.test("init.sh on a Mac without a GUI session says so and writes nothing", async () => {
  await using sandbox = await makeSandbox();
  const mac = await fakeTools(sandbox, "Darwin");
  const result = await runInitSh(mac, [], undefined, { FAKE_LAUNCHD_GUI: "none" });
  assert.equal(result.code, 2);
  assert.match(
    result.stderr,
    /^init\.sh: error: no launchd GUI session for uid 501 \(launchctl print gui\/501: Could not find domain for user gui: 501\): a LaunchAgent runs in the session of a user logged in at this Mac's desktop\. Fix: log in there/m,
  );
  assert.deepEqual(await calls(mac), ["launchctl print gui/501"]);
  assert.deepEqual(await treeOf(sandbox.home), []);
});

Deno.test("init.sh on Linux installs a systemd user service and timer and checks the timer is on", async () => {
  await using sandbox = await makeSandbox();
  const linux = await fakeTools(sandbox, "Linux");
  await writeFile(
    sandbox.config,
    "jobs:\n  a: { script: /bin/true, timeout: 1800 }\n  b: { script: /bin/true, timeout: 300 }\n",
  );
  const printed = await initSh(linux);
  assert.match(printed, /^init\.sh: installed: teleclaude-cron\.timer runs every 5 minutes/m);
  const { units, binary } = paths(sandbox);
  const service = await Deno.readTextFile(join(units, "teleclaude-cron.service"));
  const timer = await Deno.readTextFile(join(units, "teleclaude-cron.timer"));
  assert.match(service, /^Type=oneshot$/m);
  assert.match(service, new RegExp(`^ExecStart="${binary}" --config "${sandbox.config}"$`, "m"));
  assert.match(service, /^KillMode=mixed$/m);
  // The sum of the job timeouts (1800 + 300) plus a 600 s margin.
  assert.match(service, /^TimeoutStartSec=2700$/m);
  assert.match(service, new RegExp(`PATH=[^"]*${linux.agentDir}`));
  assert.match(timer, /^OnCalendar=\*:0\/5$/m);
  assert.match(timer, /^Persistent=true$/m);
  assert.match(timer, /^WantedBy=timers\.target$/m);
  assert.deepEqual((await calls(linux)).filter((call) => !call.startsWith("deno compile")), [
    "systemctl --user show-environment",
    "systemctl --user is-enabled teleclaude-cron.timer",
    "systemctl --user daemon-reload",
    "systemctl --user enable --now teleclaude-cron.timer",
    "systemctl --user is-enabled teleclaude-cron.timer",
    "systemctl --user is-active teleclaude-cron.timer",
  ]);

  await Deno.remove(linux.calls);
  await initSh(linux, ["--uninstall"]);
  assert.deepEqual(await treeOf(units), []);
  assert.deepEqual(await treeOf(join(sandbox.home, ".teleclaude")), []);
  assert.deepEqual(await calls(linux), [
    "systemctl --user show-environment",
    "systemctl --user disable --now teleclaude-cron.timer",
    "systemctl --user stop teleclaude-cron.service",
    "systemctl --user daemon-reload",
    "systemctl --user is-active teleclaude-cron.timer",
  ]);
});

Deno.test("init.sh --uninstall with no user manager answering removes every file and names what it could not stop", async () => {
  await using sandbox = await makeSandbox();
  const linux = await fakeTools(sandbox, "Linux");
  await initSh(linux);
  // What systemd itself writes for a Persistent timer once it has run.
  const stamp = join(sandbox.home, ".local/share/systemd/timers/stamp-teleclaude-cron.timer");
  await writeFile(stamp, "");
  const removed = await runInitSh(linux, ["--uninstall"], null, { FAKE_SYSTEMD: "none" });
  assert.equal(removed.code, 1, removed.stdout + removed.stderr);
  assert.match(
    removed.stderr,
    /^init\.sh: could not stop: teleclaude-cron\.timer: no systemd user manager answers here \(log in as tester and run init\.sh --uninstall again to be sure it stopped\)$/m,
  );
  assert.match(removed.stdout, /^init\.sh: uninstalled every file: /m);
  assert.deepEqual(await treeOf(paths(sandbox).units), []);
  assert.deepEqual(await treeOf(join(sandbox.home, ".teleclaude")), []);
  await assert.rejects(Deno.stat(stamp), Deno.errors.NotFound);
});

Deno.test("init.sh --dry-run checks, prints every action and says would install, changing nothing", async (t) => {
  for (const os of ["Darwin", "Linux"] as const) {
    await t.step(os, async () => {
      await using sandbox = await makeSandbox();
      const installer = await fakeTools(sandbox, os);
      const printed = await initSh(installer, ["--dry-run"]);
      assert.match(
        printed,
        /^\+ sh \S+\/scripts\/compile\.sh \S+\/\.teleclaude\/bin\/teleclaude-cron /m,
      );
      assert.match(printed, /^init\.sh: would install: /m);
      assert.doesNotMatch(printed, /^init\.sh: installed/m);
      if (os === "Darwin") {
        assert.match(printed, /^\+ write \S+ai\.instrukt\.teleclaude\.cron\.plist$/m);
        assert.match(printed, /^\+ launchctl bootstrap gui\/501 /m);
      } else {
        assert.match(printed, /^\+ systemctl --user enable --now teleclaude-cron\.timer$/m);
      }
      // What it asked (is there a session, is the job loaded) and nothing it would change.
      for (const call of await calls(installer)) {
        assert.match(call, /^(launchctl print|systemctl --user (show-environment|is-enabled))/);
      }
      assert.deepEqual(await treeOf(sandbox.home), []);
      await assert.rejects(Deno.stat(installer.logDir), Deno.errors.NotFound);
    });
  }
});

Deno.test("init.sh --help prints the usage and nothing else", async () => {
  await using sandbox = await makeSandbox();
  const linux = await fakeTools(sandbox, "Linux");
  const result = await runInitSh(linux, ["--help"], null);
  assert.equal(result.code, 0);
  assert.match(
    result.stdout,
    /^Usage: \.\/init\.sh \[--config PATH\] \[--source\] \[--dry-run\]\n/,
  );
  assert.match(result.stdout, /^Exit status: 0 done; 1 a step failed/m);
  assert.doesNotMatch(result.stdout, /set -|^#/m);
  assert.equal(result.stderr, "");
  assert.deepEqual(await calls(linux), []);
});

Deno.test("init.sh takes back what it put in place when a later step fails", async (t) => {
  await t.step("a first install: nothing is left", async () => {
    await using sandbox = await makeSandbox();
    const linux = await fakeTools(sandbox, "Linux");
    const result = await runInitSh(linux, [], undefined, { FAKE_ENABLE: "fail" });
    assert.equal(result.code, 1, result.stdout + result.stderr);
    assert.match(
      result.stderr,
      /^init\.sh: error: systemctl --user enable --now teleclaude-cron\.timer failed$/m,
    );
    assert.match(result.stdout, /took back what this run had put in place/);
    assert.doesNotMatch(result.stdout, /^init\.sh: installed/m);
    assert.deepEqual(await treeOf(sandbox.home), []);
    assert.ok((await calls(linux)).includes("systemctl --user daemon-reload"));
  });
  await t.step("over an earlier install: it is as it was, byte for byte", async () => {
    await using sandbox = await makeSandbox();
    const linux = await fakeTools(sandbox, "Linux");
    await initSh(linux);
    const before = await snapshot(sandbox.home);
    await writeFile(sandbox.config, "jobs:\n  a: { script: /bin/true, timeout: 60 }\n");
    const result = await runInitSh(linux, [], undefined, { FAKE_ENABLE: "fail" });
    assert.equal(result.code, 1, result.stdout + result.stderr);
    assert.deepEqual(await snapshot(sandbox.home), before);
    // The restored units were reloaded, and the timer that was on is on again.
    assert.deepEqual((await calls(linux)).slice(-2), [
      "systemctl --user daemon-reload",
      "systemctl --user enable --now teleclaude-cron.timer",
    ]);
  });
});

/** Every file under `dir` with its content (links as their target), for "as it was" checks. */
async function snapshot(dir: string): Promise<Record<string, string>> {
  const files: Record<string, string> = {};
  for (const path of await treeOf(dir)) {
    const full = join(dir, path);
    const info = await Deno.lstat(full);
    if (info.isSymlink) files[path] = `-> ${await Deno.readLink(full)}`;
    else if (info.isFile) files[path] = await Deno.readTextFile(full);
  }
  return files;
}

Deno.test("init.sh as root warns that claude jobs would fail, and installs", async () => {
  await using sandbox = await makeSandbox();
  const linux = await fakeTools(sandbox, "Linux");
  const asRoot = await runInitSh(linux, [], undefined, { FAKE_UID: "0" });
  assert.equal(asRoot.code, 0, asRoot.stderr);
  assert.match(
    asRoot.stderr,
    /^init\.sh: warning: installing as root: the service will run as root, where claude refuses to skip its permission prompts, so claude jobs would fail; script jobs and the other agents work/m,
  );
  assert.match(asRoot.stdout, /^init\.sh: installed: /m);
  const asUser = await runInitSh(linux, []);
  assert.doesNotMatch(asUser.stderr, /as root/);
});

Deno.test("init.sh names an agent the service would not find, with the fix", async () => {
  await using sandbox = await makeSandbox();
  const linux = await fakeTools(sandbox, "Linux");
  await writeFile(
    sandbox.config,
    "jobs:\n  brief: { job: brief, agent: gemini }\n  draft: { job: draft, agent: claude }\n",
  );
  const result = await runInitSh(linux, []);
  assert.equal(result.code, 0, result.stderr);
  assert.match(
    result.stderr,
    /^init\.sh: warning: the service will not find gemini, which jobs of \S+ use: gemini CLI not found .*install it, run init\.sh again from a shell where `gemini` works \(its directory goes into the service's PATH\), or set agents\.gemini\.binary$/m,
  );
  // claude is found (its directory is on the installer's PATH): not named.
  assert.doesNotMatch(result.stderr, /find claude/);
});

Deno.test("init.sh refuses a config that does not load, before writing anything", async () => {
  await using sandbox = await makeSandbox();
  const linux = await fakeTools(sandbox, "Linux");
  await writeFile(sandbox.config, "jobs:\n  bad: { script: x, when: { every: soon } }\n");
  const result = await runInitSh(linux, []);
  assert.equal(result.code, 2);
  assert.match(
    result.stderr,
    /teleclaude\.yml:2:\d+: jobs\.bad\.when\.every: "soon" is not a duration/,
  );
  assert.match(result.stderr, /^init\.sh: error: \S+ does not load: fix what is named above/m);
  assert.deepEqual(await treeOf(sandbox.home), []);
});

Deno.test("init.sh installs the source form where deno compile cannot get denort, and says so once", async () => {
  await using sandbox = await makeSandbox();
  const linux = await fakeTools(sandbox, "Linux");
  await initSh(linux);
  const { units, binary, runtime } = paths(sandbox);
  const compiledUnits = await snapshot(units);
  const result = await runInitSh(linux, [], undefined, { FAKE_COMPILE: "no-denort" });
  assert.equal(result.code, 0, result.stdout + result.stderr);
  const sentence = result.stdout.split("\n").filter((line) => /denort/.test(line));
  assert.deepEqual(sentence, [
    "init.sh: deno compile cannot get its runtime base, denort (no DENORT_BIN, none cached, " +
    "and https://dl.deno.land/release/v2.9.6/denort-x86_64-unknown-linux-gnu.zip cannot be " +
    "fetched): installing the source form instead, this tree's runtime files run by deno run",
  ]);
  assert.match(result.stdout, /^init\.sh: installed: .*, the source form \(deno run of \S+\)/m);
  // The service runs the same path with the same arguments, whichever form is behind it.
  assert.deepEqual(await snapshot(units), compiledUnits);
  const launcher = await Deno.readTextFile(binary);
  assert.match(launcher, /--cached-only --frozen/);
  assert.equal((await Deno.stat(binary)).mode! & 0o777, 0o700);
  const [version] = (await treeOf(runtime)).filter((path) => !path.includes("/"));
  assert.match(version!, /^\d+\.\d+\.\d+-[0-9a-f]{12}$/);
  assert.ok(launcher.includes(`runtime='${join(runtime, version!)}'`), launcher);
  const answer = await new Deno.Command(binary, {
    args: ["--version"],
    env: linux.env,
    clearEnv: true,
  })
    .output();
  assert.match(
    new TextDecoder().decode(answer.stdout),
    new RegExp(`^teleclaude-cron \\S+ \\(source form, build ${version!.split("-")[1]}; matches `),
  );

  // Asked for with --source, over the same: no compile is tried, and nothing changes.
  await Deno.remove(linux.calls);
  const again = await initSh(linux, ["--source"]);
  assert.ok(!(await calls(linux)).some((call) => call.startsWith("deno compile")));
  assert.doesNotMatch(again, /denort/);
  assert.match(again, /^init\.sh: unchanged: \S+\/\.teleclaude\/bin\/teleclaude-cron$/m);
  assert.match(again, /^init\.sh: unchanged: \S+\/\.teleclaude\/runtime\/\S+$/m);
  assert.deepEqual(await snapshot(units), compiledUnits);
});

/** A config in a folder whose name holds what each service format must escape. */
async function hostileConfig(sandbox: Sandbox): Promise<string> {
  const config = join(sandbox.dir, `we&ird %h "q' <x>`, "teleclaude.yml");
  await writeFile(config, "jobs: {}\n");
  return config;
}

Deno.test("init.sh escapes &, %, quotes and <> per format: the plist and the units name the real paths", async (t) => {
  await t.step({
    name: "macOS: XML entities; the plist parses back to the exact paths",
    ignore: parser === null,
    async fn() {
      await using sandbox = await makeSandbox();
      const mac = await fakeTools(sandbox, "Darwin");
      const config = await hostileConfig(sandbox);
      await initSh(mac, [], config);
      const plist = await parsePlist(await Deno.readTextFile(paths(sandbox).plist)) as Record<
        string,
        unknown
      >;
      assert.deepEqual((plist.ProgramArguments as string[]).slice(1), ["--config", config]);
      assert.equal(plist.WorkingDirectory, join(sandbox.dir, `we&ird %h "q' <x>`));
    },
  });
  await t.step(
    "Linux: systemd quoting and %% (systemd-analyze verify agrees where it is installed)",
    async () => {
      await using sandbox = await makeSandbox();
      const linux = await fakeTools(sandbox, "Linux");
      const config = await hostileConfig(sandbox);
      await initSh(linux, [], config);
      const service = await Deno.readTextFile(
        join(paths(sandbox).units, "teleclaude-cron.service"),
      );
      const quoted = config.replaceAll("%", "%%").replaceAll('"', '\\"');
      assert.ok(service.includes(`--config "${quoted}"`), service);
      assert.doesNotMatch(service, /&amp;|&lt;/);
    },
  );
});

Deno.test("init.sh refuses a path no service file can hold, and writes nothing", async (t) => {
  await t.step("a newline in the config's path", async () => {
    await using sandbox = await makeSandbox();
    const linux = await fakeTools(sandbox, "Linux");
    const config = join(sandbox.dir, "two\nlines", "teleclaude.yml");
    await writeFile(config, "jobs: {}\n");
    const result = await runInitSh(linux, [], config);
    assert.equal(result.code, 2);
    assert.match(result.stderr, /CONFIG contains a newline or another control character/);
    assert.doesNotMatch(result.stdout, /installed/);
    assert.deepEqual(await treeOf(sandbox.home), []);
  });
  await t.step("a quote in the binary's path, on Linux", async () => {
    await using sandbox = await makeSandbox();
    const linux = await fakeTools(sandbox, "Linux");
    const home = join(sandbox.dir, 'ho"me');
    await Deno.mkdir(home);
    linux.env.HOME = home;
    const result = await runInitSh(linux, []);
    assert.equal(result.code, 2);
    assert.match(
      result.stderr,
      /BINARY contains a quote, backslash or \$, which a systemd unit cannot hold/,
    );
    assert.deepEqual(await treeOf(home), []);
  });
});
