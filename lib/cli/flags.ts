/**
 * The command line: which mode, which options, and the usage text. A flag that the chosen mode
 * would ignore is a usage error, so a mistyped command never silently does something else
 * (`--json` alone would otherwise start a real run).
 */

import { DEFAULT_CONFIG_FILE } from "../config/load.ts";
import { isJobName } from "../config/job.ts";
import { closest, UsageError } from "../errors.ts";
import { VERSION } from "../version.ts";

/** What the runner is asked to do. `run` (no mode flag) is the tick launchd starts. */
export type Mode =
  | "run"
  | "dry-run"
  | "list"
  | "history"
  | "logs"
  | "doctor"
  | "export"
  | "notify-test"
  | "help"
  | "version";

/** What `--export` can print manifests for. */
export const EXPORT_TARGETS = ["kubernetes"] as const;
export type ExportTarget = typeof EXPORT_TARGETS[number];

/** The parsed command line. */
export interface Flags {
  mode: Mode;
  config: string;
  force: boolean;
  job: string | null;
  json: boolean;
  /** `--history NAME`: only that job's runs. */
  historyJob: string | null;
  /** `--logs NAME`: the job whose run log to print. */
  logsJob: string | null;
  run: number;
  limit: number;
  debug: boolean;
  /** `--export TARGET`: what to print manifests for. */
  exportTarget: ExportTarget | null;
  /** `--namespace`, `--image`, `--secret`: with `--export` only; checked by the export. */
  namespace: string | null;
  image: string | null;
  secret: string | null;
}

/** Every default, in one place. */
export const DEFAULT_FLAGS: Readonly<Flags> = {
  mode: "run",
  config: DEFAULT_CONFIG_FILE,
  force: false,
  job: null,
  json: false,
  historyJob: null,
  logsJob: null,
  run: 1,
  limit: 20,
  debug: false,
  exportTarget: null,
  namespace: null,
  image: null,
  secret: null,
};

export const USAGE = `teleclaude-cron ${VERSION}: run the due jobs of teleclaude.yml

Usage: teleclaude-cron [--config PATH] [MODE] [options]

With no mode, runs every due job once (one at a time, or as many at once as
cron.concurrency says) and records each outcome.

Modes (one at a time):
  --dry-run          say for each job whether it is due and why; run and write nothing
  --list             a table of every job: schedule, last run, status, next due
  --history [NAME]   the latest runs, newest first (--limit N, default 20)
  --logs NAME        print the log of a job's latest run (--run N: the Nth latest)
  --doctor           check the setup (config, spec docs, agent CLIs, service, permissions)
  --notify-test      send a test notification through every configured channel, say how each went
  --export kubernetes
                     print a CronJob per job and a ConfigMap with the config and its files,
                     YAML for kubectl apply -f -; writes nothing, contacts no cluster
  --help, --version  this text; the version (they win over any other flag)

Options:
  --config PATH      the config file (default: ./teleclaude.yml)
  --force            with a run or --dry-run: ignore schedules, usage limits and budgets
  --job NAME         with a run, --dry-run, --list or --export: only this job
                     (--job=NAME for a name that starts with -)
  --json             with --list, --history or --doctor: JSON instead of text
  --namespace N      with --export: the manifests' namespace (default: none, kubectl's own)
  --image IMAGE      with --export: the runner's image (default: teleclaude-cron:${VERSION},
                     built from the Dockerfile)
  --secret NAME      with --export: a Secret whose keys become the jobs' environment (API keys)
  --debug            also log debug lines (daemon health and the like)

Exit status: 0 every job that ran succeeded (or none was due); 1 a job failed (or --doctor
found a problem); 2 bad usage or bad config; 70 an internal error (a bug: please report it);
128+N stopped by signal N.
Files: ~/.teleclaude/cron_state.json, ~/.teleclaude/logs/cron/<job>/, ~/.teleclaude/cron_history.jsonl`;

/**
 * launchd and systemd call `teleclaude-cron --config PATH`, 288 times a day. That form is read
 * here directly: importing node:util starts Deno's Node layer (docs/benchmarks.md, "Idle tick").
 * Anything else goes to `parseFlags`.
 */
export function tickFlags(args: string[]): Flags | null {
  if (args.length === 0) return { ...DEFAULT_FLAGS };
  if (args.length === 2 && args[0] === "--config" && !args[1]!.startsWith("-")) {
    return { ...DEFAULT_FLAGS, config: args[1]! };
  }
  return null;
}

type Values = Awaited<ReturnType<typeof readArgs>>["values"];

/** Parses the command line; throws `UsageError` for anything it cannot take. */
export async function parseFlags(args: string[]): Promise<Flags> {
  const quick = tickFlags(args);
  if (quick) return quick;
  // They win over everything, a flag the runner does not know included.
  if (args.includes("--help") || args.includes("-h")) return { ...DEFAULT_FLAGS, mode: "help" };
  if (args.includes("--version")) return { ...DEFAULT_FLAGS, mode: "version" };
  const { values, positionals } = await readArgs(args);
  const mode = modeOf(values);
  if (positionals.length > 0 && !(mode === "history" && positionals.length === 1)) {
    throw new UsageError(`unexpected argument ${JSON.stringify(positionals[0])} (see --help)`);
  }
  checkCombination(mode, values);
  return {
    mode,
    config: values.config ?? DEFAULT_FLAGS.config,
    force: values.force ?? DEFAULT_FLAGS.force,
    job: values.job ?? DEFAULT_FLAGS.job,
    json: values.json ?? DEFAULT_FLAGS.json,
    historyJob: positionals[0] ?? DEFAULT_FLAGS.historyJob,
    logsJob: values.logs === undefined ? DEFAULT_FLAGS.logsJob : logsJob(values.logs),
    run: values.run === undefined ? DEFAULT_FLAGS.run : count("run", values.run),
    limit: values.limit === undefined ? DEFAULT_FLAGS.limit : count("limit", values.limit),
    debug: values.debug ?? DEFAULT_FLAGS.debug,
    exportTarget: values.export === undefined ? null : exportTarget(values.export),
    namespace: values.namespace ?? DEFAULT_FLAGS.namespace,
    image: values.image ?? DEFAULT_FLAGS.image,
    secret: values.secret ?? DEFAULT_FLAGS.secret,
  };
}

const OPTIONS = {
  config: { type: "string" },
  force: { type: "boolean" },
  job: { type: "string" },
  "dry-run": { type: "boolean" },
  list: { type: "boolean" },
  json: { type: "boolean" },
  history: { type: "boolean" },
  logs: { type: "string" },
  run: { type: "string" },
  limit: { type: "string" },
  debug: { type: "boolean" },
  doctor: { type: "boolean" },
  export: { type: "string" },
  "notify-test": { type: "boolean" },
  namespace: { type: "string" },
  image: { type: "string" },
  secret: { type: "string" },
  help: { type: "boolean", short: "h" },
  version: { type: "boolean" },
} as const;

async function readArgs(args: string[]) {
  const { parseArgs } = await import("node:util");
  try {
    return parseArgs({ args, allowPositionals: true, options: OPTIONS });
  } catch (error) {
    throw new UsageError(argsProblem(error, args));
  }
}

/** What node's parseArgs refused, in the runner's words (it adds advice about `--` too). */
function argsProblem(error: unknown, args: string[]): string {
  const message = error instanceof Error ? error.message : String(error);
  const dashed = /^Option '(--[a-z-]+)' argument is ambiguous/.exec(message)?.[1];
  if (dashed !== undefined) {
    // A job may be named `-x`; after `--job` it reads as an option of its own.
    const value = args[args.indexOf(dashed) + 1] ?? "";
    return `${dashed} ${JSON.stringify(value)}: a value that starts with - goes after =: ` +
      `${dashed}=${value}`;
  }
  const unknown = /^Unknown option '(-[^']*)'/.exec(message)?.[1];
  if (unknown !== undefined) {
    const guess = closest(unknown.replace(/^-+/, ""), Object.keys(OPTIONS));
    return `unknown option ${unknown} (${guess ? `did you mean --${guess}?` : "see --help"})`;
  }
  const first = message.split(/\.(\s|$)/)[0]!;
  return `${first[0]!.toLowerCase()}${first.slice(1)} (see --help)`;
}

/** `--logs NAME` names a job's folder of run logs: a job's name, never a path. */
function logsJob(name: string): string {
  if (!isJobName(name)) {
    throw new UsageError(
      `--logs takes a job's name (a-z, 0-9, _ and -), got ${JSON.stringify(name)}`,
    );
  }
  return name;
}

/** The one mode the flags ask for (--help and --version were answered before, in parseFlags). */
function modeOf(values: Values): Mode {
  const asked: [Mode, boolean][] = [
    ["dry-run", values["dry-run"] === true],
    ["list", values.list === true],
    ["history", values.history === true],
    ["logs", values.logs !== undefined],
    ["doctor", values.doctor === true],
    ["export", values.export !== undefined],
    ["notify-test", values["notify-test"] === true],
  ];
  const modes = asked.filter(([, on]) => on).map(([mode]) => mode);
  if (modes.length > 1) {
    throw new UsageError(
      `--${
        modes.join(" and --")
      } cannot be combined: use one of --dry-run, --list, --history, --logs, --doctor, --export, --notify-test`,
    );
  }
  return modes[0] ?? "run";
}

/** Which options each mode takes; the others would be silently ignored, so they are refused. */
const OPTIONS_OF: Record<Mode, readonly string[]> = {
  run: ["config", "force", "job", "debug"],
  "dry-run": ["config", "force", "job", "debug"],
  list: ["config", "job", "json", "debug"],
  history: ["config", "json", "limit", "debug"],
  logs: ["config", "run", "debug"],
  doctor: ["config", "json", "debug"],
  export: ["config", "job", "namespace", "image", "secret", "debug"],
  "notify-test": ["config", "debug"],
  help: [],
  version: [],
};

function checkCombination(mode: Mode, values: Values): void {
  const modeFlags = new Set([
    "dry-run",
    "list",
    "history",
    "logs",
    "doctor",
    "export",
    "notify-test",
  ]);
  for (const [name, value] of Object.entries(values)) {
    if (value === undefined || modeFlags.has(name) || OPTIONS_OF[mode].includes(name)) continue;
    const where = mode === "run" ? "a run (no mode)" : `--${mode}`;
    const takers = (Object.keys(OPTIONS_OF) as Mode[])
      .filter((other) => OPTIONS_OF[other].includes(name))
      .map((other) => other === "run" ? "a run" : `--${other}`);
    throw new UsageError(`--${name} does not go with ${where} (it goes with ${takers.join(", ")})`);
  }
}

function exportTarget(text: string): ExportTarget {
  const target = EXPORT_TARGETS.find((known) => known === text);
  if (target === undefined) {
    throw new UsageError(
      `--export takes ${EXPORT_TARGETS.join(", ")}, got ${JSON.stringify(text)} (see --help)`,
    );
  }
  return target;
}

function count(name: string, text: string): number {
  const value = Number(text);
  if (!Number.isInteger(value) || value < 1) {
    throw new UsageError(`--${name} takes a whole number ≥ 1, got "${text}"`);
  }
  return value;
}
