/**
 * teleclaude-cron: the scheduled-job runner of TeleClaude. launchd or a systemd timer starts it
 * every five minutes; it runs the due jobs of `teleclaude.yml` one at a time and records each
 * outcome in `~/.teleclaude/cron_state.json`.
 *
 * This file only parses arguments, wires the modules together and maps errors to exit codes.
 */

import { type Config, loadConfig } from "./lib/config.ts";
import { ConfigError, formatProblem, UsageError } from "./lib/errors.ts";
import { acquireRunnerLock, isHeld } from "./lib/lock.ts";
import { consoleLogger, type Logger, print } from "./lib/log.ts";
import { apiSocketFromEnv, homeFromEnv, type RunnerPaths, runnerPaths } from "./lib/paths.ts";
import { runDueJobs } from "./lib/runner.ts";
import { localTimeZone } from "./lib/schedule.ts";
import { readLastTick, readState, recordTick } from "./lib/state.ts";
import { VERSION } from "./lib/version.ts";

const USAGE = `teleclaude-cron ${VERSION}: run the due jobs of teleclaude.yml

Usage: teleclaude-cron [options]

With no option, runs every due job once, one at a time, and records each outcome.

Options:
  --config PATH    the config file (default: ./teleclaude.yml)
  --force          ignore schedules (and usage-limit deferrals)
  --job NAME       only this job
  --dry-run        say for each job whether it is due and why; run and write nothing
  --list           a table of every job: schedule, last run, status, next due
  --json           with --list or --history: JSON instead of a table
  --history [NAME] the latest runs, newest first (--limit N, default 20)
  --logs NAME      print the log of a job's latest run (--run N: the Nth latest)
  --doctor         check the setup (config, spec docs, agent CLIs, service, permissions)
  --debug          also log debug lines (daemon health and the like)
  --help           this text
  --version        the version

Exit status: 0 every job that ran succeeded (or none was due); 1 a job failed;
2 bad usage or bad config; 128+N stopped by signal N.
Files: ~/.teleclaude/cron_state.json, ~/.teleclaude/logs/cron/<job>/, ~/.teleclaude/cron_history.jsonl`;

/** Milliseconds between SIGTERM and SIGKILL when a job's process group is stopped. */
function graceFromEnv(): number {
  const text = Deno.env.get("TELECLAUDE_CRON_GRACE_MS");
  if (text === undefined || text === "") return 10_000;
  const grace = Number(text);
  if (!Number.isInteger(grace) || grace < 0) {
    throw new UsageError(
      `TELECLAUDE_CRON_GRACE_MS must be a whole number of milliseconds, got "${text}"`,
    );
  }
  return grace;
}
const SIGNALS = ["SIGTERM", "SIGINT", "SIGHUP"] as const;
const SIGNAL_NUMBERS: Record<string, number> = { SIGHUP: 1, SIGINT: 2, SIGTERM: 15 };

interface Flags {
  config: string;
  force: boolean;
  job: string | null;
  dryRun: boolean;
  list: boolean;
  json: boolean;
  history: boolean;
  historyJob: string | null;
  logs: string | null;
  run: number;
  limit: number;
  debug: boolean;
  doctor: boolean;
  help: boolean;
  version: boolean;
}

const DEFAULT_FLAGS: Flags = {
  config: "teleclaude.yml",
  force: false,
  job: null,
  dryRun: false,
  list: false,
  json: false,
  history: false,
  historyJob: null,
  logs: null,
  run: 1,
  limit: 20,
  debug: false,
  doctor: false,
  help: false,
  version: false,
};

/**
 * launchd and systemd call `teleclaude-cron --config PATH`, 288 times a day. That form is read
 * here directly: importing node:util starts Deno's Node layer, which alone would cost the idle
 * tick a third of a bare Deno start (docs/benchmarks.md). Anything else goes to parseArgs.
 */
function tickFlags(args: string[]): Flags | null {
  if (args.length === 0) return DEFAULT_FLAGS;
  if (args.length === 2 && args[0] === "--config" && !args[1]!.startsWith("-")) {
    return { ...DEFAULT_FLAGS, config: args[1]! };
  }
  return null;
}

async function parseFlags(args: string[]): Promise<Flags> {
  const quick = tickFlags(args);
  if (quick) return quick;
  const { parseArgs } = await import("node:util");
  let parsed;
  try {
    parsed = parseArgs({
      args,
      allowPositionals: true,
      options: {
        config: { type: "string", default: "teleclaude.yml" },
        force: { type: "boolean", default: false },
        job: { type: "string" },
        "dry-run": { type: "boolean", default: false },
        list: { type: "boolean", default: false },
        json: { type: "boolean", default: false },
        history: { type: "boolean", default: false },
        logs: { type: "string" },
        run: { type: "string", default: "1" },
        limit: { type: "string", default: "20" },
        debug: { type: "boolean", default: false },
        doctor: { type: "boolean", default: false },
        help: { type: "boolean", short: "h", default: false },
        version: { type: "boolean", default: false },
      },
    });
  } catch (error) {
    throw new UsageError(`${error instanceof Error ? error.message : String(error)} (see --help)`);
  }
  const { values, positionals } = parsed;
  if (positionals.length > 0 && !(values.history && positionals.length === 1)) {
    throw new UsageError(`unexpected argument ${JSON.stringify(positionals[0])} (see --help)`);
  }
  const count = (name: string, text: string) => {
    const value = Number(text);
    if (!Number.isInteger(value) || value < 1) {
      throw new UsageError(`--${name} takes a whole number ≥ 1, got "${text}"`);
    }
    return value;
  };
  const modes = [values["dry-run"], values.list, values.history, values.logs !== undefined].filter(
    Boolean,
  );
  if (modes.length > 1) {
    throw new UsageError("use one of --dry-run, --list, --history, --logs at a time");
  }
  return {
    config: values.config,
    force: values.force,
    job: values.job ?? null,
    dryRun: values["dry-run"],
    list: values.list,
    json: values.json,
    history: values.history,
    historyJob: positionals[0] ?? null,
    logs: values.logs ?? null,
    run: count("run", values.run),
    limit: count("limit", values.limit),
    debug: values.debug,
    doctor: values.doctor,
    help: values.help,
    version: values.version,
  };
}

async function main(args: string[]): Promise<number> {
  const flags = await parseFlags(args);
  if (flags.help) {
    print(USAGE);
    return 0;
  }
  if (flags.version) {
    print(`teleclaude-cron ${VERSION}`);
    return 0;
  }
  const paths = runnerPaths(homeFromEnv());
  const timeZone = localTimeZone();
  if (flags.history) return await showHistory(paths, flags);
  if (flags.logs !== null) return await showLogs(paths, flags.logs, flags.run);
  if (flags.doctor) return await doctor(paths, flags);

  const interactive = flags.list || flags.dryRun;
  const { config, fromCache } = await loadConfig(flags.config, paths.cache);
  if (!fromCache || interactive) {
    for (const warning of config.warnings) print(`warning: ${formatProblem(warning)}`, "stderr");
  }
  if (flags.job !== null && !config.jobs.some((job) => job.name === flags.job)) {
    const known = config.jobs.map((job) => job.name).join(", ") || "none";
    throw new UsageError(`unknown job "${flags.job}" in ${flags.config} (known jobs: ${known})`);
  }
  if (interactive) return await showJobs(config, paths, flags, timeZone);

  const log = consoleLogger({ debug: flags.debug });
  return await runTick(config, paths, flags, timeZone, log);
}

async function showJobs(
  config: Config,
  paths: RunnerPaths,
  flags: Flags,
  timeZone: string,
): Promise<number> {
  const { dueReason, listRows, listTable } = await import("./lib/format.ts");
  // Read only: a corrupt state file is reported here, never moved or rewritten.
  const read = readState(paths.state);
  if (read.kind === "corrupt") {
    print(
      `warning: ${paths.state} is corrupt (${read.reason}); showing ${
        read.recoveredFrom === "backup" ? "its last good copy (.bak)" : "no history"
      }. The next run moves it aside.`,
      "stderr",
    );
  }
  const now = Date.now();
  const jobs = config.jobs.filter((job) => flags.job === null || job.name === flags.job);
  if (flags.list) {
    const ticks = { last: readLastTick(paths.lastTick), config: config.file };
    const rows = listRows(jobs, read.state, now, timeZone, ticks);
    print(
      flags.json
        ? JSON.stringify(rows, null, 2)
        : rows.length
        ? listTable(rows, now, timeZone)
        : `no jobs in ${flags.config}`,
    );
    return 0;
  }
  for (const job of jobs) print(dueReason(job, read.state, now, timeZone, flags.force));
  if (jobs.length === 0) print(`no jobs in ${flags.config}`);
  return 0;
}

/** One tick: take the lock, run what is due, release the lock. */
async function runTick(
  config: Config,
  paths: RunnerPaths,
  flags: Flags,
  timeZone: string,
  log: Logger,
): Promise<number> {
  const graceMs = graceFromEnv();
  const lock = acquireRunnerLock(paths.lock);
  if (!isHeld(lock)) {
    log.info("runner_busy", {
      message: `another cron runner (pid ${lock.holderPid ?? "unknown"}) is active`,
      holder_pid: lock.holderPid ?? undefined,
    });
    return 0;
  }
  const stop = new AbortController();
  // A listener replaces Deno's default exit-on-signal: the running job's group is stopped and
  // recorded before the runner exits. `deno task` forwards the signal it gets, so a second one
  // may arrive during that shutdown; it must not cut the cleanup short. Installed only when a job
  // is due: an idle tick has nothing to clean up, and the listeners cost it a millisecond.
  const listeners: [Deno.Signal, () => void][] = [];
  const installSignalListeners = () => {
    for (const signal of SIGNALS) {
      const listener = () => {
        if (stop.signal.aborted) {
          log.warn("signal_ignored", { signal, reason: "already stopping" });
          return;
        }
        log.warn("runner_stopping", { signal });
        stop.abort(signal);
      };
      Deno.addSignalListener(signal, listener);
      listeners.push([signal, listener]);
    }
  };
  try {
    if (!recordTick(paths.lastTick, config.file, Date.now())) {
      log.warn("tick_not_recorded", { path: paths.lastTick });
    }
    log.info("runner_start", { pid: Deno.pid, config: config.file, jobs: config.jobs.length });
    const summary = await runDueJobs({
      config,
      paths,
      force: flags.force,
      only: flags.job,
      timeZone,
      socketPath: apiSocketFromEnv(),
      graceMs,
      log,
      stop: stop.signal,
      onJobsDue: installSignalListeners,
    });
    log.info("runner_done", {
      ran: summary.ran,
      failed: summary.failed,
      stopped_by: summary.interruptedBy ?? undefined,
    });
    if (summary.interruptedBy) return 128 + (SIGNAL_NUMBERS[summary.interruptedBy] ?? 15);
    return summary.failed > 0 ? 1 : 0;
  } finally {
    lock.release();
    for (const [signal, listener] of listeners) Deno.removeSignalListener(signal, listener);
  }
}

async function doctor(paths: RunnerPaths, flags: Flags): Promise<number> {
  const { formatChecks, runDoctor } = await import("./lib/doctor.ts");
  const checks = await runDoctor({
    configPath: flags.config,
    paths,
    os: Deno.build.os,
    path: Deno.env.get("PATH") ?? "",
    socketPath: apiSocketFromEnv(),
  });
  print(
    flags.json ? JSON.stringify(checks, null, 2) : formatChecks(checks, Deno.stdout.isTerminal()),
  );
  return checks.some((check) => check.status === "fail") ? 1 : 0;
}

async function showHistory(paths: RunnerPaths, flags: Flags): Promise<number> {
  const [{ readHistory }, { table }] = await Promise.all([
    import("./lib/history.ts"),
    import("./lib/format.ts"),
  ]);
  const entries = await readHistory(paths.history, { job: flags.historyJob, limit: flags.limit });
  if (flags.json) {
    print(JSON.stringify(entries, null, 2));
    return 0;
  }
  if (entries.length === 0) {
    print(
      flags.historyJob ? `no runs of ${flags.historyJob} recorded yet` : "no runs recorded yet",
    );
    return 0;
  }
  const rows = entries.map((entry) => [
    entry.started.replace("T", " ").slice(0, 19),
    entry.job,
    entry.agent ? `agent:${entry.agent}` : entry.type,
    entry.status,
    `${(entry.duration_ms / 1000).toFixed(1)} s`,
    entry.exit_code === null ? "-" : String(entry.exit_code),
    entry.error ?? "",
  ]);
  print(table([["STARTED (UTC)", "JOB", "TYPE", "STATUS", "DURATION", "EXIT", "ERROR"], ...rows]));
  return 0;
}

async function showLogs(paths: RunnerPaths, job: string, run: number): Promise<number> {
  const { listRunLogs } = await import("./lib/job_loop.ts");
  const dir = `${paths.logs}/${job}`;
  const names = (await listRunLogs(dir)).reverse();
  const name = names[run - 1];
  if (!name) {
    throw new UsageError(
      names.length
        ? `${job} has ${names.length} run logs; --run ${run} is past the oldest`
        : `no run logs for ${job} in ${dir}`,
    );
  }
  print(`# ${dir}/${name}`, "stderr");
  await Deno.stdout.write(await Deno.readFile(`${dir}/${name}`));
  return 0;
}

if (import.meta.main) {
  let code: number;
  try {
    code = await main(Deno.args);
  } catch (error) {
    if (error instanceof ConfigError) {
      print(`teleclaude-cron: ${error.message.replaceAll("\n", "\nteleclaude-cron: ")}`, "stderr");
      code = error.exitCode;
    } else {
      print(
        `teleclaude-cron: internal error: ${error instanceof Error ? error.stack : String(error)}`,
        "stderr",
      );
      code = 70;
    }
  }
  Deno.exit(code);
}
