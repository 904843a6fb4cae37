/**
 * teleclaude-cron: the scheduled-job runner of TeleClaude. launchd or a systemd timer starts it
 * every five minutes; it runs the due jobs of `teleclaude.yml` (one at a time, or in lanes with
 * `cron.concurrency`) and records each outcome in `~/.teleclaude/cron_state.json`.
 *
 * This file only dispatches: parse the flags, call one command, map errors to exit codes. The
 * tick's stages and the module that owns each are drawn at the top of
 * docs/project/design/architecture/jobs-runner.md.
 */

import { type Flags, parseFlags, USAGE } from "./lib/cli/flags.ts";
import { reportInvalidConfig, runTick } from "./lib/cli/tick.ts";
import { computerOnce } from "./lib/computer.ts";
import type { Config } from "./lib/config/job.ts";
import { loadConfig } from "./lib/config/load.ts";
import { ConfigError, formatProblem, UsageError } from "./lib/errors.ts";
import { lazyImport } from "./lib/lazy.ts";
import { consoleLogger, print } from "./lib/log.ts";
import {
  apiSocketFromEnv,
  checkGrantable,
  homeFromEnv,
  type RunnerPaths,
  runnerPaths,
} from "./lib/paths.ts";
import { type LastTick, readLastTick } from "./lib/store/tick_note.ts";
import { runnerTimeZone, systemZoneName } from "./lib/time_zone.ts";
import { INSTALLED, VERSION } from "./lib/version.ts";
import type * as BuildModule from "./lib/build.ts";
import type * as ViewsModule from "./lib/cli/views.ts";
import type * as NotifyCheckModule from "./lib/cli/notify_check.ts";
import type * as NotifyModule from "./lib/notify/notify.ts";
import type * as DoctorModule from "./lib/cli/doctor.ts";
import type * as KubernetesExportModule from "./lib/export/kubernetes.ts";

/** Runs one command line to its exit code. */
export async function main(args: string[]): Promise<number> {
  const flags = await parseFlags(args);
  switch (flags.mode) {
    case "help":
      print(USAGE);
      return 0;
    case "version":
      print(await versionText());
      return 0;
  }
  const home = homeFromEnv();
  checkGrantable(home, apiSocketFromEnv());
  const paths = runnerPaths(home);
  switch (flags.mode) {
    case "history": {
      const { showHistory } = await views();
      return await showHistory(paths, {
        job: flags.historyJob,
        limit: flags.limit,
        json: flags.json,
      });
    }
    case "logs": {
      const { showLogs } = await views();
      return await showLogs(paths, flags.logsJob!, flags.run);
    }
    case "doctor":
      return await doctor(paths, flags);
    case "export":
      return await exportManifests(flags, paths);
    case "notify-test":
      return await notifyTest(flags, paths);
  }
  const lastTick = readLastTick(paths.lastTick);
  const { config, warnings, cacheIdentity } = await configFor(flags, paths, lastTick);
  const zone = runnerTimeZone();
  const timeZone = zone.zone;
  if (zone.note) {
    if (flags.mode === "run") warnings.push(zone.note);
    else print(`warning: ${zone.note}`, "stderr");
  }
  if (flags.mode === "run") {
    return await runTick({
      config,
      paths,
      force: flags.force,
      only: flags.job,
      timeZone,
      computer: computerOnce(undefined, lastTick?.computer ?? null),
      log: consoleLogger({ debug: flags.debug }),
      warnings,
      cacheIdentity,
    });
  }
  return await showView(flags, config, paths, timeZone);
}

/**
 * `--version`. A source tree answers at once; an installed copy also says its form and checks its
 * build against the tree it came from (a few ms of reading files), loaded only then.
 */
async function versionText(): Promise<string> {
  if (!INSTALLED) return `teleclaude-cron ${VERSION}`;
  const { versionLine } = await lazyImport<typeof BuildModule>("./lib/build.ts", import.meta.url);
  return await versionLine();
}

/** `--list` or `--dry-run`. */
async function showView(
  flags: Flags,
  config: Config,
  paths: RunnerPaths,
  timeZone: string,
): Promise<number> {
  const { showDryRun, showList } = await views();
  const view = {
    config,
    paths,
    job: flags.job,
    json: flags.json,
    force: flags.force,
    timeZone,
    computer: computerOnce(),
  };
  return flags.mode === "list" ? showList(view) : showDryRun(view);
}

/** The views, loaded only when one is asked for (docs/benchmarks.md, "Idle tick"). */
function views() {
  return lazyImport<typeof ViewsModule>("./lib/cli/views.ts", import.meta.url);
}

/**
 * The config a run or a view works on. The config's own warnings are printed when they are news
 * (a fresh parse, or a person asking); what loading says every time (a `jobs/` entry skipped, an
 * unusable cache) goes to a person's terminal, or into the tick's log.
 */
async function configFor(
  flags: Flags,
  paths: RunnerPaths,
  lastTick: LastTick | null = readLastTick(paths.lastTick),
): Promise<{ config: Config; warnings: string[]; cacheIdentity: string | null }> {
  const interactive = flags.mode !== "run";
  // Views read the cache but never write it: --list and --dry-run write nothing.
  const loaded = await loadConfig(flags.config, {
    root: paths.root,
    dir: paths.cache,
    write: !interactive,
    trusted: lastTick?.cache ?? null,
  }).catch(async (error) => {
    // A tick that cannot load its config runs nothing: a person must hear of it.
    if (error instanceof ConfigError && !interactive) await tellInvalidConfig(error, flags, paths);
    throw error;
  });
  const { config } = loaded;
  if (!loaded.fromCache || interactive) {
    for (const warning of config.warnings) print(`warning: ${formatProblem(warning)}`, "stderr");
  }
  const warnings = loaded.discoveryProblems.map(formatProblem);
  if (loaded.cacheProblem) warnings.push(`config cache not written: ${loaded.cacheProblem}`);
  if (interactive) { for (const warning of warnings) print(`warning: ${warning}`, "stderr"); }
  if (flags.job !== null && !config.jobs.some((job) => job.name === flags.job)) {
    const known = config.jobs.map((job) => job.name).join(", ") || "none";
    throw new UsageError(`unknown job "${flags.job}" in ${flags.config} (known jobs: ${known})`);
  }
  return { config, warnings: interactive ? [] : warnings, cacheIdentity: loaded.cacheIdentity };
}

/** Tells a person the config does not load; a failure to tell is a warning, never the exit. */
async function tellInvalidConfig(error: ConfigError, flags: Flags, paths: RunnerPaths) {
  try {
    await reportInvalidConfig({
      error,
      configPath: flags.config,
      paths,
      log: consoleLogger({ debug: flags.debug }),
      computer: computerOnce(),
    });
  } catch (failure) {
    print(`warning: the config problem could not be told: ${(failure as Error).message}`, "stderr");
  }
}

/** `--notify-test`: a test event through every channel of the config. */
async function notifyTest(flags: Flags, paths: RunnerPaths): Promise<number> {
  const { config } = await configFor(flags, paths);
  const [{ sendTestNotification }, { desktopFromEnv }] = await Promise.all([
    lazyImport<typeof NotifyCheckModule>(
      "./lib/cli/notify_check.ts",
      import.meta.url,
    ),
    lazyImport<typeof NotifyModule>("./lib/notify/notify.ts", import.meta.url),
  ]);
  return await sendTestNotification({
    config,
    paths,
    socketPath: apiSocketFromEnv(),
    desktop: desktopFromEnv(),
    host: computerOnce()(),
  });
}

async function doctor(paths: RunnerPaths, flags: Flags): Promise<number> {
  const [{ formatChecks, runDoctor }, { desktopFromEnv }] = await Promise.all([
    lazyImport<typeof DoctorModule>("./lib/cli/doctor.ts", import.meta.url),
    lazyImport<typeof NotifyModule>("./lib/notify/notify.ts", import.meta.url),
  ]);
  const path = Deno.env.get("PATH") ?? "";
  const checks = await runDoctor({
    configPath: flags.config,
    paths,
    os: Deno.build.os,
    path,
    toolPath: path,
    socketPath: apiSocketFromEnv(),
    env: Deno.env.toObject(),
    desktop: desktopFromEnv(),
  });
  print(
    flags.json ? JSON.stringify(checks, null, 2) : formatChecks(checks, Deno.stdout.isTerminal()),
  );
  return checks.some((check) => check.status === "fail") ? 1 : 0;
}

/** `--export`: the manifests on stdout, what to know about them on stderr; writes nothing. */
async function exportManifests(flags: Flags, paths: RunnerPaths): Promise<number> {
  const { config } = await configFor(flags, paths);
  const { exportKubernetes } = await lazyImport<typeof KubernetesExportModule>(
    "./lib/export/kubernetes.ts",
    import.meta.url,
  );
  const zone = runnerTimeZone();
  if (zone.note) print(`warning: ${zone.note}`, "stderr");
  const exported = exportKubernetes(config, {
    job: flags.job,
    namespace: flags.namespace,
    image: flags.image,
    secret: flags.secret,
    zone,
    tz: Deno.env.get("TZ"),
    systemZone: systemZoneName(),
    now: Date.now(),
  });
  for (const note of exported.notes) print(`note: ${note}`, "stderr");
  print(exported.yaml.trimEnd());
  return 0;
}

/**
 * What to say and which exit code to give for an error that reached the top: the error's own code
 * for something the user must fix, 70 (EX_SOFTWARE) with the stack for a bug.
 */
export function errorReport(error: unknown): { code: number; text: string } {
  if (error instanceof ConfigError) {
    return {
      code: error.exitCode,
      text: `teleclaude-cron: ${error.message.replaceAll("\n", "\nteleclaude-cron: ")}`,
    };
  }
  const detail = error instanceof Error ? error.stack : String(error);
  return { code: 70, text: `teleclaude-cron: internal error (a bug; please report it): ${detail}` };
}

if (import.meta.main) {
  let code: number;
  try {
    code = await main(Deno.args);
  } catch (error) {
    const report = errorReport(error);
    print(report.text, "stderr");
    code = report.code;
  }
  // Deno.exit rather than letting the event loop end: tearing the isolate down costs an idle
  // tick 3 ms (docs/benchmarks.md, "Idle tick"), and no handle left open can keep it alive.
  Deno.exit(code);
}
