import assert from "node:assert/strict";
import { join } from "node:path";
import { type Check, formatChecks, runDoctor } from "../../lib/cli/doctor.ts";
import { acquireRunnerLock, isHeld } from "../../lib/store/lock.ts";
import { runnerPaths } from "../../lib/paths.ts";
import { buildId, SHORT_BUILD } from "../../lib/build.ts";
import { VERSION } from "../../lib/version.ts";
import { writeFakeAgent } from "../helpers/fake_agent.ts";
import {
  makeSandbox,
  ROOT,
  runCli,
  type Sandbox,
  writeConfig,
  writeFile,
} from "../helpers/sandbox.ts";

/** A machine that cannot show desktop notices (no notifier on this PATH, no session bus). */
const NO_DESKTOP = { os: "linux" as const, path: "/nonexistent", sessionBus: false };

const CONFIG =
  'jobs:\n  nightly: { job: nightly, when: { at: "03:00" } }\n  sync: { script: /bin/true }\n';

/**
 * A Linux setup as init.sh leaves it for a regular user (uid 501, whoever runs the tests): unit
 * files, an enabled timer, the installed binary.
 */
async function installedLinux(
  sandbox: Sandbox,
  servicePath: string,
  timer = "enabled",
  limitSeconds = 4200,
): Promise<void> {
  const unitDir = join(sandbox.home, ".config/systemd/user");
  await writeFile(
    join(unitDir, "teleclaude-cron.service"),
    `[Service]\nType=oneshot\nEnvironment="HOME=${sandbox.home}" "PATH=${servicePath}"\n` +
      `TimeoutStartSec=${limitSeconds}\n`,
  );
  await writeFile(join(sandbox.bin, "id"), "#!/bin/sh\necho 501\n", true);
  await writeFile(
    join(sandbox.bin, "systemctl"),
    `#!/bin/sh\ncase "$*" in *is-enabled*) echo ${timer}; [ ${timer} = enabled ];; *show*) echo "Thu 2026-11-26 07:10:00 UTC";; esac\n`,
    true,
  );
  // What an installed runner of this tree's build answers (lib/build.ts versionLine).
  const build = (await buildId(ROOT)).slice(0, SHORT_BUILD);
  await writeFile(
    join(sandbox.home, ".teleclaude/bin/teleclaude-cron"),
    `#!/bin/sh\necho "teleclaude-cron ${VERSION} (compiled, build ${build}; matches ${ROOT})"\n`,
    true,
  );
  await Deno.chmod(join(sandbox.home, ".teleclaude"), 0o700);
}

/** A Mac as the doctor sees it: fake launchctl and plutil, an installed plist with this PATH and log. */
async function doctorOnMac(
  sandbox: Sandbox,
  setup: { launchctl: string; servicePath: string; logDir: string },
): Promise<Check[]> {
  const tools = join(sandbox.dir, "tools");
  await writeFile(join(tools, "launchctl"), `#!/bin/sh\n${setup.launchctl}\n`, true);
  await writeFile(join(tools, "plutil"), '#!/bin/sh\necho "$2: OK"\n', true);
  await writeFile(join(tools, "id"), "#!/bin/sh\necho 501\n", true);
  await writeFile(
    join(sandbox.home, "Library/LaunchAgents/ai.instrukt.teleclaude.cron.plist"),
    `<plist version="1.0"><dict>
  <key>StandardOutPath</key><string>${setup.logDir}/cron.log</string>
  <key>EnvironmentVariables</key><dict><key>PATH</key><string>${setup.servicePath}</string></dict>
</dict></plist>`,
  );
  // The fake launchctl and plutil come first on the doctor's tool PATH; the process's own
  // environment is left alone (tests run in parallel).
  return await runDoctor({
    configPath: sandbox.config,
    paths: runnerPaths(sandbox.home),
    os: "darwin",
    path: `${sandbox.bin}:/usr/bin:/bin`,
    toolPath: `${tools}:/usr/bin:/bin`,
    socketPath: sandbox.socket,
    env: {},
    desktop: NO_DESKTOP,
  });
}

function byName(checks: Check[]): Record<string, Check[]> {
  const grouped: Record<string, Check[]> = {};
  for (const check of checks) (grouped[check.name] ??= []).push(check);
  return grouped;
}

Deno.test("--doctor passes on a good setup and exits 0", async () => {
  await using sandbox = await makeSandbox();
  await writeConfig(sandbox, CONFIG, ["nightly"]);
  await writeFakeAgent(sandbox.bin, "claude", { kind: "exit", code: 0 });
  await installedLinux(sandbox, `${sandbox.bin}:/usr/bin:/bin`);
  const result = await runCli(sandbox, ["--doctor"]);
  assert.equal(result.code, 0, result.stdout + result.stderr);
  assert.match(result.stdout, /^ok {3}config: \S+ is valid \(2 jobs\)$/m);
  assert.match(result.stdout, /^ok {3}agent claude: found for the service: \S+\/bin\/claude$/m);
  assert.match(
    result.stdout,
    /^ok {3}timer: teleclaude-cron\.timer is enabled; next run Thu 2026-11-26 07:10:00 UTC$/m,
  );
  assert.match(result.stdout, /^ok {3}binary: .* like this source tree$/m);
  // The daemon is the default notification channel: its absence is worth a warning, not a fail.
  assert.match(result.stdout, /^warn daemon: not answering .*notifications wait in the outbox/m);
  assert.doesNotMatch(result.stdout, /FAIL/);
  // Passing through ~/.teleclaude (what node_exporter needs to reach the metrics) reads nothing.
  await Deno.chmod(join(sandbox.home, ".teleclaude"), 0o711);
  const traversable = await runCli(sandbox, ["--doctor"]);
  assert.equal(traversable.code, 0, traversable.stdout);
  assert.match(traversable.stdout, /^ok {3}permissions: /m);
});

Deno.test("--doctor names each problem of a broken Linux setup with its fix, and exits 1", async () => {
  await using sandbox = await makeSandbox();
  await writeConfig(sandbox, CONFIG); // no spec doc
  await writeFakeAgent(sandbox.bin, "claude", { kind: "exit", code: 0 });
  await installedLinux(sandbox, "/usr/bin:/bin", "disabled"); // the service PATH misses claude
  await Deno.chmod(join(sandbox.home, ".teleclaude"), 0o755);
  const result = await runCli(sandbox, ["--doctor", "--json"]);
  assert.equal(result.code, 1);
  const checks = byName(JSON.parse(result.stdout));
  assert.match(
    checks["spec docs"]![0]!.detail,
    /^nightly: spec doc not found: \S+docs\/project\/spec\/jobs\/nightly\.md$/,
  );
  const [shell, service] = checks["agent claude"]!;
  assert.equal(shell!.status, "ok");
  assert.equal(service!.status, "fail");
  assert.match(service!.fix!, /re-run \.\/init\.sh from a shell where `claude` works/);
  assert.equal(checks.timer![0]!.status, "fail");
  assert.match(checks.timer![0]!.fix!, /systemctl --user enable --now teleclaude-cron\.timer/);
  assert.equal(checks.permissions![0]!.status, "fail");
  assert.match(checks.permissions![0]!.fix!, /chmod 700 \S+\.teleclaude/);
});

Deno.test("--doctor on a Mac: plist not loaded, log dir missing, agent off the service PATH", async () => {
  await using sandbox = await makeSandbox();
  await writeConfig(sandbox, CONFIG, ["nightly"]);
  await writeFakeAgent(sandbox.bin, "claude", { kind: "exit", code: 0 });
  const checks = await doctorOnMac(sandbox, {
    launchctl: "echo 'Could not find service' >&2; exit 113",
    servicePath: "/usr/bin:/bin",
    logDir: join(sandbox.dir, "no-such-log-dir"),
  });
  const grouped = byName(checks);
  assert.equal(grouped.plist![0]!.status, "ok");
  assert.equal(grouped.launchd![0]!.status, "fail");
  assert.match(grouped.launchd![0]!.fix!, /run \.\/init\.sh/);
  assert.equal(grouped["service log"]![0]!.status, "fail");
  assert.match(grouped["service log"]![0]!.fix!, /sudo mkdir -p \S+no-such-log-dir && sudo chown/);
  assert.equal(grouped["agent claude"]![1]!.status, "fail");
  const text = formatChecks(checks, true);
  assert.match(text, /^✗ launchd: ai\.instrukt\.teleclaude\.cron is not loaded\n {4}fix: /m);
  assert.match(text, /^✓ config: /m);
});

Deno.test("--doctor on a good Mac setup: plist lints, job loaded, log dir writable", async () => {
  await using sandbox = await makeSandbox();
  await writeConfig(sandbox, CONFIG, ["nightly"]);
  await writeFakeAgent(sandbox.bin, "claude", { kind: "exit", code: 0 });
  const logDir = join(sandbox.dir, "log");
  await Deno.mkdir(logDir);
  const checks = await doctorOnMac(sandbox, {
    launchctl: 'echo "state = running"',
    servicePath: `${sandbox.bin}:/usr/bin:/bin`,
    logDir,
  });
  const grouped = byName(checks);
  for (
    const name of [
      "config",
      "plist",
      "launchd",
      "spec docs",
      "service log",
      "run logs",
      "lock",
      "state",
    ]
  ) {
    assert.equal(grouped[name]![0]!.status, "ok", `${name}: ${grouped[name]![0]!.detail}`);
  }
  assert.deepEqual(grouped["agent claude"]!.map((check) => check.status), ["ok", "ok"]);
  // Only the binary is missing in this setup.
  assert.deepEqual(checks.filter((check) => check.status === "fail").map((check) => check.name), [
    "binary",
  ]);
});

Deno.test("--doctor reports a bad config, a corrupt state, a held lock and a stale binary", async () => {
  await using sandbox = await makeSandbox();
  await writeConfig(sandbox, "jobs:\n  bad: { script: x, when: { every: soon } }\n");
  const paths = runnerPaths(sandbox.home);
  await Deno.mkdir(paths.root, { recursive: true, mode: 0o700 });
  await Deno.writeTextFile(paths.state, "{ torn", { mode: 0o600 });
  await writeFile(
    join(paths.root, "bin/teleclaude-cron"),
    "#!/bin/sh\necho teleclaude-cron 0.0.1\n",
    true,
  );
  const lock = acquireRunnerLock(paths.lock);
  let checks: Check[];
  try {
    checks = await runDoctor({
      configPath: sandbox.config,
      paths,
      os: "linux",
      path: "/usr/bin:/bin",
      toolPath: `${sandbox.bin}:/usr/bin:/bin`,
      socketPath: sandbox.socket,
      env: {},
      desktop: NO_DESKTOP,
    });
  } finally {
    if (isHeld(lock)) lock.release();
  }
  const grouped = byName(checks);
  assert.equal(grouped.config![0]!.status, "fail");
  assert.match(grouped.config![0]!.detail, /jobs\.bad\.when\.every: "soon" is not a duration/);
  assert.equal(grouped.state![0]!.status, "fail");
  assert.match(grouped.state![0]!.detail, /is corrupt/);
  assert.match(
    grouped.lock![0]!.detail,
    new RegExp(`^held by a running runner \\(pid ${Deno.pid}\\) since \\d{4}-`),
  );
  assert.equal(grouped.binary![0]!.status, "fail");
  assert.match(
    grouped.binary![0]!.detail,
    new RegExp(`says "teleclaude-cron 0\\.0\\.1", this source tree is ${VERSION}`),
  );
});

Deno.test("--doctor on the agent CLIs: versions, claude as root, gemini's trust, codex's provider", async () => {
  await using sandbox = await makeSandbox();
  await writeConfig(
    sandbox,
    "jobs:\n  a: { job: s, agent: claude }\n  b: { job: s, agent: codex }\n  c: { job: s, agent: gemini }\n",
    ["s"],
  );
  await writeFile(join(sandbox.bin, "claude"), '#!/bin/sh\necho "2.0.1 (Claude Code)"\n', true);
  await writeFile(join(sandbox.bin, "codex"), '#!/bin/sh\necho "codex-cli 0.200.0"\n', true);
  await writeFile(
    join(sandbox.bin, "gemini"),
    "#!/bin/sh\necho unknown option >&2\nexit 1\n",
    true,
  );
  const root = join(sandbox.dir, "root-tools");
  await writeFile(join(root, "id"), "#!/bin/sh\necho 0\n", true);
  const doctor = async (env: Record<string, string> = {}) =>
    byName(
      await runDoctor({
        configPath: sandbox.config,
        paths: runnerPaths(sandbox.home),
        os: "linux",
        path: `${sandbox.bin}:/usr/bin:/bin`,
        toolPath: `${root}:/usr/bin:/bin`,
        socketPath: sandbox.socket,
        env,
        desktop: NO_DESKTOP,
      }),
    );
  await writeFile(
    join(sandbox.home, ".gemini/trustedFolders.json"),
    `// gemini allows comments\n${JSON.stringify({ [sandbox.project]: "DO_NOT_TRUST" })}\n`,
  );
  await writeFile(
    join(sandbox.home, ".codex/config.toml"),
    'model_provider = "standin"\n\n[model_providers.standin]\nbase_url = "http://127.0.0.1:9/v1"\n',
  );
  let checks = await doctor();
  const claude = checks["claude version"]![0]!;
  assert.equal(claude.status, "fail");
  assert.match(claude.detail, /^2\.0\.1 \(\S+\/claude\) is older than 2\.1\.332/);
  assert.equal(
    claude.fix,
    "update it: npm install -g @anthropic-ai/claude-code@2.1.332 (or newer)",
  );
  assert.equal(checks["codex version"]![0]!.status, "info");
  assert.match(checks["codex version"]![0]!.detail, /^0\.200\.0 is newer than 0\.169\.0/);
  assert.match(
    checks["gemini version"]![0]!.detail,
    /--version printed no version \(unknown option\); verified: 0\.61\.0$/,
  );
  assert.equal(checks["claude as root"]![0]!.status, "fail");
  assert.match(
    checks["gemini trust"]![0]!.detail,
    /is marked DO_NOT_TRUST in \S+trustedFolders\.json; gemini jobs pass --skip-trust/,
  );
  assert.match(checks["codex provider"]![0]!.detail, /^standin at http:\/\/127\.0\.0\.1:9\/v1 \(/);

  await writeFile(join(sandbox.home, ".gemini/trustedFolders.json"), '{"/x": "BOGUS"}');
  await writeFile(join(sandbox.home, ".codex/config.toml"), 'model_provider = "gone"\n');
  checks = await doctor({ IS_SANDBOX: "1" });
  assert.equal(checks["claude as root"]![0]!.status, "info");
  assert.equal(checks["gemini trust"]![0]!.status, "fail");
  assert.match(
    checks["gemini trust"]![0]!.detail,
    /invalid trust level "BOGUS" for \/x: gemini stops before any job \(exit 52\)/,
  );
  assert.equal(checks["codex provider"]![0]!.status, "fail");
  checks = await doctor({ GEMINI_CLI_TRUST_WORKSPACE: "false" });
  assert.match(checks["gemini trust"]![0]!.detail, /^GEMINI_CLI_TRUST_WORKSPACE=false is set/);
});

Deno.test("--doctor warns of an outbox larger than any the runner writes", async () => {
  await using sandbox = await makeSandbox();
  await writeConfig(sandbox, "jobs: {}\n");
  const outbox = join(sandbox.home, ".teleclaude/cron_outbox.jsonl");
  await writeFile(outbox, "");
  await Deno.truncate(outbox, 33 * 1024 * 1024); // sparse: no 33 MiB written
  const result = await runCli(sandbox, ["--doctor", "--json"]);
  const check = (JSON.parse(result.stdout) as Check[]).find((c) => c.name === "notify outbox");
  assert.equal(check?.status, "warn");
  assert.match(check!.detail, /is larger than any outbox the runner writes/);
});

Deno.test("--doctor lists the paused jobs, as information, not a failure", async () => {
  await using sandbox = await makeSandbox();
  await writeConfig(
    sandbox,
    "jobs:\n  nightly: { script: /bin/true, enabled: false }\n  sync: { script: /bin/true }\n" +
      "  backup: { script: /bin/true, enabled: false }\n",
  );
  const checks = await runDoctor({
    configPath: sandbox.config,
    paths: runnerPaths(sandbox.home),
    os: "linux",
    path: `${sandbox.bin}:/usr/bin:/bin`,
    toolPath: `${sandbox.bin}:/usr/bin:/bin`,
    socketPath: sandbox.socket,
    env: {},
    desktop: NO_DESKTOP,
  });
  assert.deepEqual(byName(checks)["paused jobs"], [{
    name: "paused jobs",
    status: "info",
    detail:
      "nightly, backup: enabled: false, so no tick runs them (--force --job NAME runs one now)",
  }]);
});

Deno.test("--doctor fails when the service's limit on a tick is shorter than the jobs' timeouts now", async () => {
  await using sandbox = await makeSandbox();
  await writeConfig(sandbox, CONFIG, ["nightly"]);
  await writeFakeAgent(sandbox.bin, "claude", { kind: "exit", code: 0 });
  // Installed when the config had one job: 1800 s + 10 min. Two jobs' timeouts need 4200 s.
  await installedLinux(sandbox, `${sandbox.bin}:/usr/bin:/bin`, "enabled", 2400);
  const result = await runCli(sandbox, ["--doctor"]);
  assert.equal(result.code, 1);
  assert.match(
    result.stdout,
    /^FAIL service limit: the service lets a tick run 2400 s, but this config's job timeouts add up to 3600 s/m,
  );
  assert.match(result.stdout, /run \.\/init\.sh again/);
});
