/**
 * The doctor on the service: the launchd plist (macOS) or the systemd timer (Linux), and the
 * runner they start.
 */

import { parseVersionLine, SHORT_BUILD, sourceRoot, treeBuild } from "../../build.ts";
import type { RunnerPaths } from "../../paths.ts";
import { join } from "../../posix_path.ts";
import { commandOutput } from "../../subprocess.ts";
import { VERSION } from "../../version.ts";
import { type Check, type DoctorContext, exists, tool } from "./check.ts";

export const LAUNCHD_LABEL = "ai.instrukt.teleclaude.cron";
export const SYSTEMD_UNIT = "teleclaude-cron";

/** What the installed service tells: its PATH and log file; null when none is installed. */
export interface ServiceFacts {
  path: string | null;
  logFile: string | null;
  /** How long the service manager lets one tick run (systemd's `TimeoutStartSec`); null: no limit. */
  limitSeconds: number | null;
}

export async function checkService(
  context: DoctorContext,
  checks: Check[],
): Promise<ServiceFacts | null> {
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
  return { path: stringAfter("PATH"), logFile: stringAfter("StandardOutPath"), limitSeconds: null };
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
  const limit = /^TimeoutStartSec=(\d+)$/m.exec(text)?.[1];
  return { path, logFile: null, limitSeconds: limit === undefined ? null : Number(limit) };
}

/**
 * The runner the service starts, ~/.teleclaude/bin/teleclaude-cron: which form it is (the
 * compiled binary or the source form) and whether it is the build of the source tree, this one,
 * or, asked of an installed runner, the tree it was installed from.
 */
export async function checkInstalledRunner(paths: RunnerPaths, checks: Check[]): Promise<void> {
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
  const said = (await commandOutput(binary, ["--version"]))?.stdout.trim() ?? "";
  const installed = parseVersionLine(said);
  const tree = sourceRoot();
  const expected = await treeBuild(tree);
  const here = "problem" in expected
    ? `${VERSION} (${expected.problem})`
    : `${VERSION}, build ${expected.build.slice(0, SHORT_BUILD)}`;
  if (installed?.version !== VERSION || installed.build === null) {
    checks.push({
      name: "binary",
      status: "fail",
      detail: `${binary} says ${JSON.stringify(said || "nothing")}, this source tree is ${here}`,
      fix: "run ./init.sh to rebuild and reinstall it",
    });
    return;
  }
  const form = installed.form === "source" ? "the source form" : "the compiled binary";
  const what = `${binary} is ${form}, build ${installed.build}`;
  checks.push(
    "problem" in expected
      ? { name: "binary", status: "warn", detail: `${what}; its source tree: ${expected.problem}` }
      : expected.build.startsWith(installed.build)
      ? { name: "binary", status: "ok", detail: `${what}, like this source tree` }
      : {
        name: "binary",
        status: "fail",
        detail: `${what}; the source tree ${tree} is build ${
          expected.build.slice(0, SHORT_BUILD)
        } now`,
        fix: `run ./init.sh in ${tree} to reinstall it`,
      },
  );
}
