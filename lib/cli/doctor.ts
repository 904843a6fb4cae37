/**
 * `--doctor`: one command that says why a job would not run, without reading code. Each check
 * returns ok, fail (with the fix to apply) or info (worth knowing, never a failure).
 */

import { resolveAgentBinary, specDocPath } from "../agents.ts";
import type { AgentName, Config } from "../config/job.ts";
import { loadConfig } from "../config/load.ts";
import { checkDaemonHealth } from "../daemon.ts";
import { ConfigError } from "../errors.ts";
import type { RunnerPaths } from "../paths.ts";
import { dirname, join, resolve } from "../posix_path.ts";
import { inspectRunnerLock } from "../store/lock.ts";
import { readState } from "../store/state.ts";
import { readLastTick } from "../store/tick_note.ts";
import { commandOutput } from "../subprocess.ts";
import { VERSION } from "../version.ts";

/** One line of the checklist. */
export interface Check {
  name: string;
  status: "ok" | "fail" | "info";
  detail: string;
  fix?: string;
}

/** What the doctor looks at. `os` is a parameter so both service kinds can be tested anywhere. */
export interface DoctorContext {
  configPath: string;
  paths: RunnerPaths;
  os: typeof Deno.build.os;
  /** PATH of the current environment: where agent CLIs are looked for "from this shell". */
  path: string;
  /** Where the service tools (launchctl, plutil, systemctl, id) are looked for. */
  toolPath: string;
  socketPath: string;
}

export const LAUNCHD_LABEL = "ai.instrukt.teleclaude.cron";
export const SYSTEMD_UNIT = "teleclaude-cron";

/** Runs every check, in the order a person would fix things. */
export async function runDoctor(context: DoctorContext): Promise<Check[]> {
  const checks: Check[] = [];
  const config = await checkConfig(context, checks);
  const service = await checkService(context, checks);
  if (config) {
    checkSpecDocs(config, checks);
    checkAgents(config, context, service?.path ?? null, checks);
  }
  checkPrivateModes(context.paths, checks);
  checkState(context.paths, checks);
  await checkWritable("run logs", context.paths.logs, true, checks);
  if (service?.logFile) await checkWritable("service log", dirname(service.logFile), false, checks);
  await checkLock(context.paths, checks);
  checkLastTick(context, checks);
  await checkDaemon(context.socketPath, checks);
  await checkBinary(context.paths, checks);
  return checks;
}

async function checkConfig(context: DoctorContext, checks: Check[]): Promise<Config | null> {
  try {
    const { config } = await loadConfig(context.configPath, null);
    const scheduled = config.jobs.filter((job) =>
      !(job.type === "script" && job.discovered)
    ).length;
    checks.push({
      name: "config",
      status: "ok",
      detail: `${context.configPath} is valid (${scheduled} jobs)`,
    });
    for (const warning of config.warnings) {
      checks.push({
        name: "config",
        status: "info",
        detail: `warning: ${warning.field}: ${warning.message}`,
      });
    }
    return config;
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    checks.push({
      name: "config",
      status: "fail",
      detail: error.message,
      fix: "correct the config as the message says",
    });
    return null;
  }
}

function checkSpecDocs(config: Config, checks: Check[]): void {
  const missing: string[] = [];
  for (const job of config.jobs) {
    if (job.type !== "agent") continue;
    const path = join(config.dir, specDocPath(job.spec));
    if (!exists(path)) missing.push(`${job.name}: ${path}`);
  }
  checks.push(
    missing.length
      ? {
        name: "spec docs",
        status: "fail",
        detail: `missing: ${missing.join("; ")}`,
        fix: "write the spec doc, or correct the job's `job:` field",
      }
      : { name: "spec docs", status: "ok", detail: "every agent job's spec doc exists" },
  );
}

function checkAgents(
  config: Config,
  context: DoctorContext,
  servicePath: string | null,
  checks: Check[],
): void {
  const agents = [
    ...new Set(config.jobs.flatMap((job) => job.type === "agent" ? [job.agent] : [])),
  ] as AgentName[];
  const environments: [string, string][] = [["this shell", context.path]];
  if (servicePath !== null) environments.push(["the service", servicePath]);
  for (const agent of agents) {
    for (const [where, path] of environments) {
      const found = resolveAgentBinary(agent, config.agents[agent], {
        path,
        home: context.paths.home,
        os: context.os,
      });
      checks.push(
        found.found
          ? { name: `agent ${agent}`, status: "ok", detail: `found for ${where}: ${found.path}` }
          : {
            name: `agent ${agent}`,
            status: "fail",
            detail: `not found for ${where}: ${found.reason}`,
            fix: where === "the service"
              ? `re-run ./init.sh from a shell where \`${agent}\` works (it writes that PATH into the service), or set agents.${agent}.binary`
              : `install the ${agent} CLI, or set agents.${agent}.binary to its full path`,
          },
      );
    }
  }
}

function checkPrivateModes(paths: RunnerPaths, checks: Check[]): void {
  const loose: string[] = [];
  for (const [path, wanted] of [[paths.root, 0o700], [paths.state, 0o600]] as const) {
    try {
      const mode = Deno.statSync(path).mode! & 0o777;
      if (mode & 0o077) {
        loose.push(`${path} is ${mode.toString(8)} (chmod ${wanted.toString(8)} ${path})`);
      }
    } catch (error) {
      if (!(error instanceof Deno.errors.NotFound)) throw error;
    }
  }
  checks.push(
    loose.length
      ? {
        name: "permissions",
        status: "fail",
        detail: loose.join("; "),
        fix: loose.map((line) => line.split("(")[1]!.slice(0, -1)).join("; "),
      }
      : {
        name: "permissions",
        status: "ok",
        detail: `${paths.root} and its state are private to you`,
      },
  );
}

function checkState(paths: RunnerPaths, checks: Check[]): void {
  const read = readState(paths.state);
  if (read.kind === "corrupt") {
    checks.push({
      name: "state",
      status: "fail",
      detail: `${paths.state} is corrupt: ${read.reason}`,
      fix: "the next run moves it aside and goes on from the .bak copy; run the runner once",
    });
  } else {
    checks.push({
      name: "state",
      status: "ok",
      detail: read.kind === "missing"
        ? "no state yet (nothing has run)"
        : `${Object.keys(read.state.jobs).length} jobs recorded`,
    });
  }
}

async function checkWritable(
  name: string,
  dir: string,
  mayCreate: boolean,
  checks: Check[],
): Promise<void> {
  // When the runner creates the directory itself, the nearest existing ancestor decides.
  let probe = dir;
  while (mayCreate && !isDirectory(probe) && probe !== "/") probe = dirname(probe);
  const writable = isDirectory(probe) && await testWritable(probe);
  checks.push(
    writable ? { name, status: "ok", detail: `${dir} is writable` } : {
      name,
      status: "fail",
      detail: `${dir} ${isDirectory(dir) || mayCreate ? "is not writable" : "does not exist"}`,
      fix: mayCreate
        ? `chmod u+w ${probe}`
        : `sudo mkdir -p ${dir} && sudo chown $(id -un) ${dir}   (launchd fails the job with exit 78 and no message otherwise)`,
    },
  );
}

/** Whether this user may write `path` (`test -w` asks the kernel, ACLs and all). */
async function testWritable(path: string): Promise<boolean> {
  return (await commandOutput("test", ["-w", path]))?.success ?? false;
}

async function checkLock(paths: RunnerPaths, checks: Check[]): Promise<void> {
  const lock = await inspectRunnerLock(paths.lock);
  checks.push(
    lock.held
      ? {
        name: "lock",
        status: "ok",
        detail: `held by a running runner (pid ${lock.holderPid ?? "unknown"}) since ${
          lock.since?.toISOString() ?? "?"
        }`,
      }
      : { name: "lock", status: "ok", detail: "free" },
  );
}

function checkLastTick(context: DoctorContext, checks: Check[]): void {
  const tick = readLastTick(context.paths.lastTick);
  const config = resolve(context.configPath);
  checks.push({
    name: "last tick",
    status: "info",
    detail: tick === null
      ? "no runner has taken the lock yet"
      : `a runner last looked at the schedules at ${new Date(tick.at).toISOString()}${
        tick.config === config ? "" : `, with another config: ${tick.config}`
      }`,
  });
}

async function checkDaemon(socketPath: string, checks: Check[]): Promise<void> {
  const health = await checkDaemonHealth(socketPath);
  checks.push({
    name: "daemon",
    status: "info",
    detail: health.healthy
      ? `answers on ${socketPath}: agent jobs get their configured role`
      : `not answering on ${socketPath} (${health.reason}): agent jobs run as admin, which is fine`,
  });
}

async function checkBinary(paths: RunnerPaths, checks: Check[]): Promise<void> {
  const binary = join(paths.root, "bin", "teleclaude-cron");
  if (!exists(binary)) {
    checks.push({
      name: "binary",
      status: "fail",
      detail: `${binary} is not installed`,
      fix: "run ./init.sh",
    });
    return;
  }
  const version = (await commandOutput(binary, ["--version"]))?.stdout.trim() ?? "";
  checks.push(
    version === `teleclaude-cron ${VERSION}`
      ? { name: "binary", status: "ok", detail: `${binary} is ${VERSION}, like this source tree` }
      : {
        name: "binary",
        status: "fail",
        detail: `${binary} says ${
          JSON.stringify(version || "nothing")
        }, this source tree is ${VERSION}`,
        fix: "run ./init.sh to rebuild and reinstall it",
      },
  );
}

/** What the installed service tells: its PATH and log file; null when none is installed. */
interface ServiceFacts {
  path: string | null;
  logFile: string | null;
}

async function checkService(context: DoctorContext, checks: Check[]): Promise<ServiceFacts | null> {
  return context.os === "darwin"
    ? await checkLaunchd(context, checks)
    : await checkSystemd(context, checks);
}

async function checkLaunchd(context: DoctorContext, checks: Check[]): Promise<ServiceFacts | null> {
  const plist = join(context.paths.home, "Library/LaunchAgents", `${LAUNCHD_LABEL}.plist`);
  let text: string;
  try {
    text = await Deno.readTextFile(plist);
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
    checks.push({
      name: "service",
      status: "fail",
      detail: `${plist} is not installed`,
      fix: "run ./init.sh",
    });
    return null;
  }
  const lint = await tool(context, "plutil", ["-lint", plist]);
  checks.push(
    lint === null || lint.success
      ? { name: "plist", status: "ok", detail: `${plist} is installed${lint ? " and lints" : ""}` }
      : {
        name: "plist",
        status: "fail",
        detail: `${plist} does not lint: ${lint.output}`,
        fix: "run ./init.sh to rewrite it",
      },
  );
  const uid = await tool(context, "id", ["-u"]);
  const loaded = await tool(context, "launchctl", [
    "print",
    `gui/${uid?.output.trim() ?? ""}/${LAUNCHD_LABEL}`,
  ]);
  checks.push(
    loaded?.success ? { name: "launchd", status: "ok", detail: `${LAUNCHD_LABEL} is loaded` } : {
      name: "launchd",
      status: "fail",
      detail: `${LAUNCHD_LABEL} is not loaded`,
      fix: "run ./init.sh (it bootstraps the job)",
    },
  );
  const stringAfter = (key: string) =>
    new RegExp(`<key>${key}</key>\\s*<string>([^<]*)</string>`).exec(text)?.[1]?.replaceAll(
      "&amp;",
      "&",
    ) ?? null;
  return { path: stringAfter("PATH"), logFile: stringAfter("StandardOutPath") };
}

async function checkSystemd(context: DoctorContext, checks: Check[]): Promise<ServiceFacts | null> {
  const unitDir = join(
    Deno.env.get("XDG_CONFIG_HOME") ?? join(context.paths.home, ".config"),
    "systemd/user",
  );
  let text: string;
  try {
    text = await Deno.readTextFile(join(unitDir, `${SYSTEMD_UNIT}.service`));
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
    checks.push({
      name: "service",
      status: "fail",
      detail: `${SYSTEMD_UNIT}.service is not installed in ${unitDir}`,
      fix: "run ./init.sh",
    });
    return null;
  }
  const enabled = await tool(context, "systemctl", [
    "--user",
    "is-enabled",
    `${SYSTEMD_UNIT}.timer`,
  ]);
  const next = await tool(context, "systemctl", [
    "--user",
    "show",
    `${SYSTEMD_UNIT}.timer`,
    "-p",
    "NextElapseUSecRealtime",
    "--value",
  ]);
  checks.push(
    enabled?.success && enabled.output.trim() === "enabled"
      ? {
        name: "timer",
        status: "ok",
        detail: `${SYSTEMD_UNIT}.timer is enabled; next run ${next?.output.trim() || "unknown"}`,
      }
      : {
        name: "timer",
        status: "fail",
        detail: `${SYSTEMD_UNIT}.timer is ${enabled?.output.trim() || "not enabled"}`,
        fix: `systemctl --user enable --now ${SYSTEMD_UNIT}.timer   (or run ./init.sh)`,
      },
  );
  const path = /"PATH=([^"]*)"/.exec(text)?.[1] ?? null;
  return { path, logFile: null };
}

/** A service tool's answer, found on the context's tool PATH; null when it is not installed. */
async function tool(
  context: DoctorContext,
  name: string,
  args: string[],
): Promise<{ success: boolean; output: string } | null> {
  const result = await commandOutput(name, args, { path: context.toolPath });
  return result && { success: result.success, output: (result.stdout + result.stderr).trim() };
}

function isDirectory(path: string): boolean {
  try {
    return Deno.statSync(path).isDirectory;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound || error instanceof Deno.errors.NotADirectory) {
      return false;
    }
    throw error;
  }
}

function exists(path: string): boolean {
  try {
    Deno.statSync(path);
    return true;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound || error instanceof Deno.errors.NotADirectory) {
      return false;
    }
    throw error;
  }
}

/** The checklist as text: ✓/✗ on a terminal, ok/FAIL otherwise; each failure with its fix. */
export function formatChecks(checks: Check[], fancy: boolean): string {
  const mark = { ok: fancy ? "✓" : "ok  ", fail: fancy ? "✗" : "FAIL", info: fancy ? "·" : "info" };
  return checks.map((check) => {
    const line = `${mark[check.status]} ${check.name}: ${check.detail}`;
    return check.fix ? `${line}\n    fix: ${check.fix}` : line;
  }).join("\n");
}
