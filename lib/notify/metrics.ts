/**
 * The metrics file (`cron.metrics_file`): the state of every configured job in the Prometheus
 * text format 0.0.4, for node_exporter's textfile collector, rewritten after every tick so that
 * "no tick for 15 min" and "nightly has not succeeded in 26 h" are one alert rule each
 * (README.md ("Metrics for monitoring")). Rendering is pure; writing replaces the file atomically.
 */

import { AGENTS_REPORTING_COST, type Config, type Job } from "../config/job.ts";
import { dirname } from "../posix_path.ts";
import { pendingRetry } from "../select.ts";
import { atomicWrite, ensurePrivateDir, storeFailure, tempPath } from "../store/fs.ts";
import {
  type CronState,
  jobEntry,
  type JobState,
  type Outcome,
  OUTCOMES,
  parseTimestamp,
} from "../store/state.ts";

/**
 * The label naming the job. Not `job`: Prometheus gives every scraped series a `job` label of its
 * own (the scrape job, e.g. `node`) and renames a conflicting one to `exported_job`, so rules
 * written against `job` would silently match nothing.
 */
const JOB_LABEL = "cron_job";

/**
 * Writes one job's samples of a family to `lines`. `series` is the sample's start, up to and
 * without the closing brace of its labels (`name{cron_job="x"`): a family adds its own labels.
 * Rendering runs on every tick with a metrics file, cold: strings only, no objects per sample.
 */
type JobSamples = (
  lines: string[],
  series: string,
  entry: JobState | undefined,
  job: Job,
) => void;

/** The per-job families: name, type, help, and how one job's entry gives its samples. */
const JOB_FAMILIES: { name: string; type: "gauge" | "counter"; help: string; of: JobSamples }[] = [
  {
    name: "teleclaude_cron_job_last_run_timestamp_seconds",
    type: "gauge",
    help: "When the job's last run started (Unix time); no sample for a job that never ran.",
    of: (lines, series, entry) => timestampSample(lines, series, entry?.last_run),
  },
  {
    name: "teleclaude_cron_job_last_success_timestamp_seconds",
    type: "gauge",
    help: "When the job's last successful run started (Unix time); no sample before its first.",
    // A state written before `last_success` was kept: a last run that succeeded is one.
    of: (lines, series, entry) =>
      timestampSample(
        lines,
        series,
        entry?.last_success ?? (entry?.last_status === "success" ? entry.last_run : null),
      ),
  },
  {
    name: "teleclaude_cron_job_last_duration_seconds",
    type: "gauge",
    help: "How long the job's last run took.",
    of: (lines, series, entry) => {
      if (entry?.duration_ms !== undefined) lines.push(`${series}} ${entry.duration_ms / 1000}`);
    },
  },
  {
    name: "teleclaude_cron_job_last_outcome",
    type: "gauge",
    help: "1 for the outcome of the job's last run, 0 for every other outcome.",
    of: outcomeSamples,
  },
  {
    name: "teleclaude_cron_job_runs_total",
    type: "counter",
    help: "Runs of the job, by outcome.",
    of: runSamples,
  },
  {
    name: "teleclaude_cron_job_consecutive_failures",
    type: "gauge",
    help: "Runs of the job that did not succeed since its last success (usage limits not counted).",
    of: (lines, series, entry) => void lines.push(`${series}} ${entry?.failures ?? 0}`),
  },
  {
    name: "teleclaude_cron_job_retries_total",
    type: "counter",
    help: "Runs of the job that were retries of a failed attempt.",
    of: (lines, series, entry) => void lines.push(`${series}} ${entry?.retries ?? 0}`),
  },
  {
    name: "teleclaude_cron_job_retry_due_timestamp_seconds",
    type: "gauge",
    help: "When the job's next attempt after a failed one is due (Unix time); no sample when none.",
    of: (lines, series, entry, job) => {
      const retry = pendingRetry(job, entry);
      if (retry) timestampSample(lines, series, new Date(retry.at).toISOString());
    },
  },
  {
    name: "teleclaude_cron_job_cost_usd_total",
    type: "counter",
    help: "Dollars the job's runs cost, as its agent reported them, per agent that reports a cost.",
    of: (lines, series, entry, job) => spentSamples(lines, series, entry, job, "usd"),
  },
  {
    name: "teleclaude_cron_job_tokens_total",
    type: "counter",
    help: "Tokens in and out of the job's runs, as its agent reported them, per agent.",
    of: (lines, series, entry, job) => spentSamples(lines, series, entry, job, "tokens"),
  },
  {
    name: "teleclaude_cron_job_paused",
    type: "gauge",
    help: "1 when the job is paused (enabled: false) and no tick runs it, else 0.",
    of: (lines, series, _entry, job) => void lines.push(`${series}} ${job.enabled ? 0 : 1}`),
  },
];

/**
 * What a job's runs spent, per agent: its agent's from 0 (so `increase()` sees the first run), and
 * any other agent it ran with before (the counters live in the state, so they survive restarts
 * and a change of agent). Dollars only for agents that report a cost.
 */
function spentSamples(
  lines: string[],
  series: string,
  entry: JobState | undefined,
  job: Job,
  unit: "usd" | "tokens",
): void {
  const spent = entry?.spent ?? {};
  const agents = new Set(Object.keys(spent));
  if (job.type === "agent") agents.add(job.agent);
  for (const agent of [...agents].sort()) {
    if (unit === "usd" && !(AGENTS_REPORTING_COST as readonly string[]).includes(agent)) continue;
    const value = Object.hasOwn(spent, agent) ? spent[agent]![unit] : 0;
    lines.push(`${series},agent="${escapeLabelValue(agent)}"} ${value}`);
  }
}

function timestampSample(lines: string[], series: string, text: string | null | undefined): void {
  const at = parseTimestamp(text);
  if (at !== null) lines.push(`${series}} ${at / 1000}`);
}

/**
 * The outcome of the last run: the state's `outcome`, or the plain status for an entry the
 * Python original wrote (which has none); null when the job never ran.
 */
function lastOutcome(entry: JobState | undefined): Outcome | null {
  if (entry?.outcome !== undefined) return entry.outcome;
  if (entry?.last_status === "success" || entry?.last_status === "failed") return entry.last_status;
  return null;
}

/**
 * One series per possible outcome, 1 for the last and 0 for the rest: a change of outcome then
 * changes values rather than making one series vanish and another appear, so a rule such as
 * `…_last_outcome{outcome="success"} == 0` holds (and its `for:` keeps counting) across changes.
 */
function outcomeSamples(lines: string[], series: string, entry: JobState | undefined): void {
  const last = lastOutcome(entry);
  if (last === null) return;
  for (const outcome of OUTCOMES) {
    lines.push(`${series},outcome="${outcome}"} ${outcome === last ? 1 : 0}`);
  }
}

/**
 * Every known outcome from 0, so `increase()` sees a job's first failure, plus any other outcome
 * the state counted.
 */
function runSamples(lines: string[], series: string, entry: JobState | undefined): void {
  const runs = entry?.runs ?? {};
  for (const outcome of OUTCOMES) {
    lines.push(
      `${series},outcome="${outcome}"} ${Object.hasOwn(runs, outcome) ? runs[outcome] : 0}`,
    );
  }
  const others = Object.keys(runs).filter((outcome) =>
    !(OUTCOMES as readonly string[]).includes(outcome)
  ).sort();
  for (const outcome of others) {
    lines.push(`${series},outcome="${escapeLabelValue(outcome)}"} ${runs[outcome]}`);
  }
}

/**
 * The metrics file's text for `config`'s jobs (in the config's order; entries of jobs no longer
 * configured are left out) and `state`, after the tick at `tickAt` (epoch ms). A family with no
 * sample is left out whole.
 */
export function renderMetrics(config: Config, state: CronState, tickAt: number): string {
  const out: string[] = [];
  const tick = "teleclaude_cron_last_tick_timestamp_seconds";
  family(out, tick, "gauge", "When the runner last looked at the schedules (Unix time).", [
    `${tick} ${tickAt / 1000}`,
  ]);
  const running = "teleclaude_cron_running_jobs";
  family(out, running, "gauge", "Jobs running now (each with its running record in the state).", [
    `${running} ${Object.values(state.jobs).filter((entry) => entry.running).length}`,
  ]);
  const jobs = config.jobs.map((job) => ({
    job,
    label: `{${JOB_LABEL}="${escapeLabelValue(job.name)}"`,
    entry: jobEntry(state, job.name),
  }));
  for (const { name, type, help, of } of JOB_FAMILIES) {
    const lines: string[] = [];
    for (const job of jobs) of(lines, `${name}${job.label}`, job.entry, job.job);
    family(out, name, type, help, lines);
  }
  const deferred = "teleclaude_cron_agent_deferred_until_timestamp_seconds";
  const backoff = state.agent_backoff ?? {};
  const lines: string[] = [];
  for (const agent of Object.keys(backoff).sort()) {
    const until = parseTimestamp(backoff[agent]?.until);
    if (until !== null) {
      lines.push(`${deferred}{agent="${escapeLabelValue(agent)}"} ${until / 1000}`);
    }
  }
  family(
    out,
    deferred,
    "gauge",
    "Until when an agent is held back by a usage limit (Unix time); no sample when it is not.",
    lines,
  );
  return out.join("");
}

/** One family's HELP, TYPE and samples; nothing when it has no sample. */
function family(
  out: string[],
  name: string,
  type: "gauge" | "counter",
  help: string,
  lines: string[],
): void {
  if (lines.length === 0) return;
  out.push(`# HELP ${name} ${escapeHelp(help)}\n# TYPE ${name} ${type}\n${lines.join("\n")}\n`);
}

/** A label value as the text format writes it: backslash, double quote and newline escaped. */
export function escapeLabelValue(text: string): string {
  // Job names and outcomes never need it: no regular expression on the common path.
  if (!text.includes("\\") && !text.includes('"') && !text.includes("\n")) return text;
  return text.replace(/[\\"\n]/g, (char) => char === "\n" ? "\\n" : `\\${char}`);
}

/** HELP text as the text format writes it: backslash and newline escaped (a quote is plain). */
export function escapeHelp(text: string): string {
  return text.replace(/[\\\n]/g, (char) => char === "\n" ? "\\n" : "\\\\");
}

/**
 * Replaces `file`, which lies under `root` (`~/.teleclaude`), with `text` atomically: the
 * collector reads the old file or the new one, never half of one. Missing directories are
 * created 0700; a link at the file or at a directory below `root` is refused, never followed.
 * Throws a `StoreError` naming the path at fault for what the user must fix (a link or a directory
 * in the way, no permission, a full disk), for the caller to log.
 *
 * The file is 0644, unlike the runner's other files (0600): node_exporter usually runs as a user
 * of its own, and the file is a new one every tick, so a mode the user set on it would not last.
 * Who may read it is decided by the directory, which stays 0700 until the user opens it to the
 * collector (README.md ("Metrics for monitoring")). It holds job names, times, counts and outcomes; no error text.
 */
export function writeMetrics(file: string, root: string, text: string): void {
  try {
    ensurePrivateDir(dirname(file), root);
    atomicWrite(file, new TextEncoder().encode(text), {
      // Rewritten every tick: after a crash the next tick rewrites it, so no fsync.
      sync: false,
      // On the temp file, before the rename, so the collector never meets the file unreadable.
      // The temp file was just created anew (never through a link) in a directory only the
      // runner's user can write to.
      beforeRename: () => Deno.chmodSync(tempPath(file), 0o644),
    });
  } catch (error) {
    throw storeFailure(file, error);
  }
}
