/**
 * init.sh with fake launchctl, systemctl, plutil, sudo, uname and deno on PATH and a temp HOME:
 * what it would do on a Mac and on Linux, checked exactly.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { parsePlist } from "./helpers/plist.ts";
import { makeSandbox, permissionFlags, ROOT, type Sandbox, writeFile } from "./helpers/sandbox.ts";

interface Installer {
  sandbox: Sandbox;
  calls: string;
  logDir: string;
  agentDir: string;
  env: Record<string, string>;
}

/** Fake system tools that append their argv to one calls file. */
async function fakeTools(sandbox: Sandbox, os: "Darwin" | "Linux"): Promise<Installer> {
  const tools = join(sandbox.dir, "tools");
  const calls = join(sandbox.dir, "calls.txt");
  const agentDir = join(sandbox.dir, "agent-bin");
  const record = (name: string) => `echo "${name} $*" >> "${calls}"`;
  await writeFile(join(tools, "uname"), `#!/bin/sh\necho ${os}\n`, true);
  for (const tool of ["launchctl", "systemctl", "plutil", "sudo"]) {
    await writeFile(join(tools, tool), `#!/bin/sh\n${record(tool)}\n`, true);
  }
  // The fake deno "compiles" a binary that answers --list --json with two job timeouts.
  await writeFile(
    join(tools, "deno"),
    `#!/bin/sh
${record("deno")}
while [ $# -gt 0 ]; do [ "$1" = --output ] && out=$2; shift; done
printf '#!/bin/sh\\necho "  \\\\"timeout_seconds\\\\": 1800,"\\necho "  \\\\"timeout_seconds\\\\": 300,"\\n' > "$out"
chmod +x "$out"
`,
    true,
  );
  await writeFile(join(agentDir, "claude"), "#!/bin/sh\n", true);
  await writeFile(sandbox.config, "jobs: {}\n");
  const logDir = join(sandbox.dir, "log");
  return {
    sandbox,
    calls,
    logDir,
    agentDir,
    env: {
      HOME: sandbox.home,
      PATH: `${tools}:${agentDir}:/usr/bin:/bin`,
      TELECLAUDE_CRON_LOG_DIR: logDir,
      TELECLAUDE_API_SOCKET: sandbox.socket,
    },
  };
}

async function runInitSh(installer: Installer, args: string[], config = installer.sandbox.config) {
  const output = await new Deno.Command("bash", {
    args: [join(ROOT, "init.sh"), "--config", config, ...args],
    cwd: installer.sandbox.project,
    env: installer.env,
    clearEnv: true,
    stdout: "piped",
    stderr: "piped",
  }).output();
  return {
    code: output.code,
    stdout: new TextDecoder().decode(output.stdout),
    stderr: new TextDecoder().decode(output.stderr),
  };
}

async function initSh(installer: Installer, args: string[] = [], config?: string) {
  const { code, stdout, stderr } = await runInitSh(installer, args, config);
  assert.equal(code, 0, stdout + stderr);
  return stdout;
}

async function calls(installer: Installer): Promise<string[]> {
  try {
    return (await Deno.readTextFile(installer.calls)).trim().split("\n");
  } catch {
    return [];
  }
}

Deno.test("init.sh on a Mac installs a user-specific plist that runs the binary every 5 minutes", async () => {
  await using sandbox = await makeSandbox();
  const mac = await fakeTools(sandbox, "Darwin");
  await initSh(mac);
  const binary = join(sandbox.home, ".teleclaude/bin/teleclaude-cron");
  const plistPath = join(sandbox.home, "Library/LaunchAgents/ai.instrukt.teleclaude.cron.plist");
  const plistText = await Deno.readTextFile(plistPath);
  const plist = parsePlist(plistText) as Record<string, unknown>;
  assert.equal(plist.Label, "ai.instrukt.teleclaude.cron");
  assert.equal(plist.StartInterval, 300);
  assert.ok(!("StartCalendarInterval" in plist));
  assert.deepEqual(plist.ProgramArguments, [binary, "--config", sandbox.config]);
  assert.equal(plist.WorkingDirectory, sandbox.project);
  assert.equal(plist.StandardOutPath, join(mac.logDir, "cron.log"));
  assert.equal(plist.StandardErrorPath, join(mac.logDir, "cron.log"));
  assert.ok((plist.ExitTimeOut as number) > 10);
  const env = plist.EnvironmentVariables as Record<string, string>;
  assert.equal(env.HOME, sandbox.home);
  assert.equal(env.TELECLAUDE_API_SOCKET, sandbox.socket);
  const servicePath = env.PATH!.split(":");
  assert.ok(servicePath.includes(mac.agentDir), "the PATH reaches the agent CLI");
  assert.ok(servicePath.every((dir) => dir.startsWith("/")), "absolute directories only");
  assert.doesNotMatch(plistText.replace(/<!--[\s\S]*?-->/g, ""), /@[A-Z_]+@|\$HOME|~\//);

  const made = await calls(mac);
  const flags = await permissionFlags({
    HOME: sandbox.home,
    TELECLAUDE_API_SOCKET: sandbox.socket,
  });
  assert.equal(
    made[0],
    `deno compile ${flags.join(" ")} --include ${join(ROOT, "lib")} --output ${binary} ${
      join(ROOT, "main.ts")
    }`,
  );
  const uid = Deno.uid();
  assert.deepEqual(made.slice(1), [
    `plutil -lint ${plistPath}`,
    `launchctl bootout gui/${uid}/ai.instrukt.teleclaude.cron`,
    `launchctl bootstrap gui/${uid} ${plistPath}`,
  ]);

  await Deno.remove(mac.calls);
  const second = await initSh(mac);
  assert.match(second, /unchanged: .*ai\.instrukt\.teleclaude\.cron\.plist/);
  assert.equal(await Deno.readTextFile(plistPath), plistText);
  assert.deepEqual(await calls(mac), made);

  await Deno.remove(mac.calls);
  await initSh(mac, ["--uninstall"]);
  await assert.rejects(Deno.stat(plistPath), Deno.errors.NotFound);
  await assert.rejects(Deno.stat(binary), Deno.errors.NotFound);
  assert.deepEqual(await calls(mac), [`launchctl bootout gui/${uid}/ai.instrukt.teleclaude.cron`]);
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
  assert.ok(made.some((line) => line.startsWith(`sudo chown `)));
});

Deno.test("init.sh on Linux installs a systemd user service and timer", async () => {
  await using sandbox = await makeSandbox();
  const linux = await fakeTools(sandbox, "Linux");
  await initSh(linux);
  const unitDir = join(sandbox.home, ".config/systemd/user");
  const service = await Deno.readTextFile(join(unitDir, "teleclaude-cron.service"));
  const timer = await Deno.readTextFile(join(unitDir, "teleclaude-cron.timer"));
  const binary = join(sandbox.home, ".teleclaude/bin/teleclaude-cron");
  assert.match(service, /^Type=oneshot$/m);
  assert.match(service, new RegExp(`^ExecStart="${binary}" --config "${sandbox.config}"$`, "m"));
  assert.match(service, /^KillMode=mixed$/m);
  // The sum of the job timeouts (1800 + 300) plus a 600 s margin.
  assert.match(service, /^TimeoutStartSec=2700$/m);
  assert.match(service, new RegExp(`PATH=[^"]*${linux.agentDir}`));
  assert.match(timer, /^OnCalendar=\*:0\/5$/m);
  assert.match(timer, /^Persistent=true$/m);
  assert.match(timer, /^WantedBy=timers\.target$/m);
  const made = await calls(linux);
  assert.deepEqual(made.slice(1), [
    "systemctl --user daemon-reload",
    "systemctl --user enable --now teleclaude-cron.timer",
  ]);

  await Deno.remove(linux.calls);
  await initSh(linux, ["--uninstall"]);
  await assert.rejects(Deno.stat(join(unitDir, "teleclaude-cron.timer")), Deno.errors.NotFound);
  assert.deepEqual(await calls(linux), [
    "systemctl --user disable --now teleclaude-cron.timer",
    "systemctl --user daemon-reload",
  ]);
});

Deno.test("init.sh --dry-run prints every action and changes nothing", async () => {
  await using sandbox = await makeSandbox();
  const mac = await fakeTools(sandbox, "Darwin");
  const printed = await initSh(mac, ["--dry-run"]);
  assert.match(
    printed,
    /^\+ sh \S+\/scripts\/compile\.sh \S+\/\.teleclaude\/bin\/teleclaude-cron$/m,
  );
  assert.match(printed, /^\+ write \S+ai\.instrukt\.teleclaude\.cron\.plist$/m);
  assert.match(printed, /^\+ launchctl bootout gui\/\d+\/ai\.instrukt\.teleclaude\.cron$/m);
  assert.match(printed, /^\+ launchctl bootstrap gui\/\d+ /m);
  assert.deepEqual(await calls(mac), []);
  await assert.rejects(Deno.stat(join(sandbox.home, "Library")), Deno.errors.NotFound);
  await assert.rejects(Deno.stat(mac.logDir), Deno.errors.NotFound);
});

/** A config in a folder whose name holds what each service format must escape. */
async function hostileConfig(sandbox: Sandbox): Promise<string> {
  const config = join(sandbox.dir, `we&ird %h "q' <x>`, "teleclaude.yml");
  await writeFile(config, "jobs: {}\n");
  return config;
}

Deno.test("init.sh escapes &, %, quotes and <> per format: the plist and the units name the real paths", async (t) => {
  await t.step("macOS: XML entities; the plist parses back to the exact paths", async () => {
    await using sandbox = await makeSandbox();
    const mac = await fakeTools(sandbox, "Darwin");
    const config = await hostileConfig(sandbox);
    await initSh(mac, [], config);
    const plist = parsePlist(
      await Deno.readTextFile(
        join(sandbox.home, "Library/LaunchAgents/ai.instrukt.teleclaude.cron.plist"),
      ),
    ) as Record<string, unknown>;
    assert.deepEqual((plist.ProgramArguments as string[]).slice(1), ["--config", config]);
    assert.equal(plist.WorkingDirectory, join(sandbox.dir, `we&ird %h "q' <x>`));
  });
  await t.step(
    "Linux: systemd quoting and %% (systemd-analyze verify agrees where it is installed)",
    async () => {
      await using sandbox = await makeSandbox();
      const linux = await fakeTools(sandbox, "Linux");
      const config = await hostileConfig(sandbox);
      await initSh(linux, [], config);
      const service = await Deno.readTextFile(
        join(sandbox.home, ".config/systemd/user/teleclaude-cron.service"),
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
    assert.notEqual(result.code, 0);
    assert.match(result.stderr, /CONFIG contains a newline or another control character/);
    assert.doesNotMatch(result.stdout, /installed/);
    await assert.rejects(Deno.stat(join(sandbox.home, ".config/systemd")), Deno.errors.NotFound);
  });
  await t.step("a quote in the binary's path, on Linux", async () => {
    await using sandbox = await makeSandbox();
    const linux = await fakeTools(sandbox, "Linux");
    const home = join(sandbox.dir, 'ho"me');
    await Deno.mkdir(home);
    linux.env.HOME = home;
    const result = await runInitSh(linux, []);
    assert.notEqual(result.code, 0);
    assert.match(
      result.stderr,
      /BINARY contains a quote, backslash or \$, which a systemd unit cannot hold/,
    );
    await assert.rejects(Deno.stat(join(home, ".config/systemd")), Deno.errors.NotFound);
  });
});
