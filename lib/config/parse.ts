/**
 * Parses the text of `teleclaude.yml` into a validated `Config`: YAML with line and column
 * errors (`npm:yaml`), field shapes with zod, and the rules that span fields by hand.
 * Only the `jobs:` and `agents:` keys are read; other top-level keys belong to other components.
 */

import { z } from "zod";
import { DEFAULT_MODELS, modelFor } from "../agents.ts";
import { ConfigError } from "../errors.ts";
import { dirname, isAbsolute, resolve } from "../posix_path.ts";
import {
  AGENT_NAMES,
  type AgentJob,
  type AgentName,
  type AgentOverride,
  COMPUTER_NAME,
  type Config,
  type CronSettings,
  DEFAULT_IDLE_TIMEOUT_SECONDS,
  DEFAULT_ROLE,
  DEFAULT_TIMEOUT_SECONDS,
  durationMinutes,
  isJobName,
  type Job,
  type JobBase,
  MAX_CONCURRENCY,
  MAX_EVERY_MINUTES,
  MAX_JOB_NAME,
  MAX_LOG_BYTES,
  MAX_TIMEOUT_SECONDS,
  MIN_LOG_BYTES,
  type Schedule,
  type ScriptJob,
  SPEC_NAME,
  splitCommand,
  THINKING_MODES,
  type ThinkingMode,
  WEEKDAY_NAMES,
} from "./job.ts";
import { closest, describe, type Findings, zodProblems } from "./locator.ts";
import { parseCron, parseJobNotify } from "./notify.ts";
import { jobJitter, parseRetry } from "./timing.ts";
import { readYaml } from "./yaml.ts";

const TIME_OF_DAY = /^([01]?\d|2[0-3]):([0-5]\d)$/;

const whenSchema = z.strictObject({
  every: z.string().optional(),
  at: z.union([z.string(), z.array(z.string()).min(1)]).optional(),
  weekdays: z.array(z.enum(WEEKDAY_NAMES)).min(1).optional(),
});

const jobSchema = z.object({
  type: z.enum(["agent", "script"]).optional(),
  script: z.union([z.string().min(1), z.array(z.string().min(1)).min(1)]).optional(),
  job: z.string().min(1).optional(),
  agent: z.enum(AGENT_NAMES).optional(),
  thinking_mode: z.enum(THINKING_MODES).optional(),
  timeout: z.int().positive().max(MAX_TIMEOUT_SECONDS).optional(),
  idle_timeout: z.int().min(0).max(MAX_TIMEOUT_SECONDS).optional(),
  max_log_size: z.union([z.int(), z.string()]).optional(),
  role: z.string().min(1).optional(),
  message: z.unknown().optional(),
  when: whenSchema.optional(),
  schedule: z.enum(["hourly", "daily", "weekly", "monthly"]).optional(),
  preferred_hour: z.int().min(0).max(23).optional(),
  preferred_weekday: z.int().min(0).max(6).optional(),
  preferred_day: z.int().min(1).max(31).optional(),
  max_turns: z.int().positive().optional(),
  max_budget_usd: z.number().positive().optional(),
  computer: z.union([z.string(), z.array(z.string()).min(1)]).optional(),
  notify: z.unknown().optional(),
  enabled: z.boolean().optional(),
  jitter: z.union([z.string(), z.number()]).optional(),
  retry: z.unknown().optional(),
});
type RawJob = z.infer<typeof jobSchema>;
/** The fields a job may have; any other is another component's, or a typo (warned of). */
export const KNOWN_JOB_KEYS = Object.keys(jobSchema.shape);
const AGENT_ONLY_KEYS = ["agent", "thinking_mode", "role", "max_turns", "max_budget_usd"] as const;
const WHEN_KEYS = Object.keys(whenSchema.shape);

// `agents:` may carry keys of other TeleClaude components: only the fields we use are checked.
const agentOverrideSchema = z.looseObject({
  binary: z.string().min(1).optional(),
  models: z.looseObject(
    Object.fromEntries(THINKING_MODES.map((mode) => [mode, z.string().min(1).optional()])),
  ).optional(),
  concurrency: z.int().min(1).max(MAX_CONCURRENCY).optional(),
});

/** Where the text came from: the name used in messages and the absolute path. */
export interface ConfigSource {
  displayName: string;
  file: string;
  /** The home `~` means in paths (`cron.metrics_file`); HOME when not given. */
  home?: string;
}

/** Parses and validates a config text. Throws `ConfigError` listing every problem found. */
export function parseConfig(text: string, source: ConfigSource): Config {
  const { root, here } = readYaml(text, source.displayName);
  if (root !== null && (typeof root !== "object" || Array.isArray(root))) {
    throw new ConfigError(here.problem([], "the config must be a mapping of top-level keys"));
  }
  const top = (root ?? {}) as Record<string, unknown>;
  const found: Findings = { here, problems: [], warnings: [] };
  const agents = parseAgents(top.agents, dirname(source.file), found);
  // The jobs need `cron.jitter`; the section's problems are still listed after theirs.
  const cronFound: Findings = { here, problems: [], warnings: [] };
  const parsed = parseCron(top.cron, source, cronFound);
  const jobs = parseJobs(top.jobs, agents, found, parsed?.jitterMinutes ?? 0);
  found.problems.push(...cronFound.problems);
  found.warnings.push(...cronFound.warnings);
  if (found.problems.length > 0 || parsed === null) throw new ConfigError(found.problems);
  const { jitterMinutes: _, ...cron } = parsed;
  return {
    file: source.file,
    displayName: source.displayName,
    dir: dirname(source.file),
    jobs,
    agents,
    cron,
    warnings: found.warnings,
  };
}

/**
 * The `cron:` section of a config alone, when it is valid (the rest may not be): how to tell a
 * person that the config does not load. Null when the section is wrong or the text not YAML.
 */
export function parseCronSection(text: string, source: ConfigSource): CronSettings | null {
  try {
    const { root, here } = readYaml(text, source.displayName);
    if (root === null || typeof root !== "object" || Array.isArray(root)) return null;
    const found: Findings = { here, problems: [], warnings: [] };
    const cron = parseCron((root as Record<string, unknown>).cron, source, found);
    if (found.problems.length > 0 || cron === null) return null;
    const { jitterMinutes: _, ...settings } = cron;
    return settings;
  } catch {
    return null;
  }
}

function parseJobs(
  raw: unknown,
  agents: Partial<Record<AgentName, AgentOverride>>,
  found: Findings,
  cronJitter: number,
): Job[] {
  if (raw === undefined || raw === null) return [];
  if (typeof raw !== "object" || Array.isArray(raw)) {
    found.problems.push(
      found.here.problem(["jobs"], `must be a mapping of job name to job, got ${describe(raw)}`),
    );
    return [];
  }
  const jobs: Job[] = [];
  for (const [name, value] of Object.entries(raw as Record<string, unknown>)) {
    const job = parseJob(name, value, agents, found, cronJitter);
    if (job) jobs.push(job);
  }
  return jobs;
}

/** `agents:`; a relative `binary` is relative to the config's directory, as scripts are. */
function parseAgents(
  raw: unknown,
  configDir: string,
  found: Findings,
): Partial<Record<AgentName, AgentOverride>> {
  const agents: Partial<Record<AgentName, AgentOverride>> = {};
  if (raw === undefined || raw === null) return agents;
  if (typeof raw !== "object" || Array.isArray(raw)) {
    found.problems.push(found.here.problem(["agents"], `must be a mapping, got ${describe(raw)}`));
    return agents;
  }
  for (const name of AGENT_NAMES) {
    const value = (raw as Record<string, unknown>)[name];
    if (value === undefined || value === null) continue;
    const result = agentOverrideSchema.safeParse(value);
    if (!result.success) {
      found.problems.push(
        ...zodProblems(result.error, ["agents", name], value, found.here, () => []),
      );
      continue;
    }
    const override: AgentOverride = {};
    const binary = result.data.binary;
    if (binary) override.binary = isAbsolute(binary) ? binary : resolve(configDir, binary);
    const models = result.data.models as Partial<Record<ThinkingMode, string>> | undefined;
    if (models) {
      override.models = Object.fromEntries(
        THINKING_MODES.filter((mode) => models[mode]).map((mode) => [mode, models[mode]]),
      );
    }
    if (result.data.concurrency !== undefined) override.concurrency = result.data.concurrency;
    agents[name] = override;
  }
  return agents;
}

/** One job entry: its name, its fields' shapes, then its schedule and its kind. */
function parseJob(
  name: string,
  raw: unknown,
  agents: Partial<Record<AgentName, AgentOverride>>,
  found: Findings,
  cronJitter: number,
): Job | null {
  const path = ["jobs", name];
  const before = found.problems.length;
  if (!isJobName(name)) {
    found.problems.push(found.here.keyProblem(
      path,
      `job name ${describe(name.length > 60 ? `${name.slice(0, 57)}...` : name)} may use only ` +
        `a-z, 0-9, _ and -, at most ${MAX_JOB_NAME} of them (e.g. nightly_report)`,
    ));
  }
  const fields = jobFields(raw, path, found);
  if (fields === null) return null;
  const schedule = parseSchedule(fields, path, found);
  const type = jobType(fields, path, found);
  if (found.problems.length > before || schedule === null || type === null) return null;
  const maxLogBytes = parseLogSize(fields.max_log_size, [...path, "max_log_size"], found);
  const computers = parseComputers(fields.computer, [...path, "computer"], found);
  const notify = parseJobNotify(fields.notify, [...path, "notify"], found);
  const jitterMinutes = jobJitter(fields.jitter, schedule, cronJitter, path, found);
  const retry = parseRetry(fields.retry, type, [...path, "retry"], found);
  if (
    maxLogBytes === undefined || computers === undefined || notify === undefined ||
    jitterMinutes === undefined || retry === undefined
  ) return null;
  const base = {
    name,
    schedule,
    timeoutSeconds: fields.timeout ?? DEFAULT_TIMEOUT_SECONDS,
    // Agents that hang print nothing; scripts may be quiet by nature, so theirs is opt-in.
    idleTimeoutSeconds: fields.idle_timeout ??
      (type === "agent" ? DEFAULT_IDLE_TIMEOUT_SECONDS : 0),
    maxLogBytes,
    computers,
    notify,
    enabled: fields.enabled ?? true,
    jitterMinutes,
    retry,
  };
  return type === "script"
    ? scriptJob(base, fields, path, found)
    : agentJob(base, fields, agents, path, found);
}

/**
 * The job's fields checked for shape. An unknown key that is a near miss of a known one is a typo
 * that changes what runs (`scheduel: hourly` would run daily): an error. Any other unknown key
 * may be another component's: a warning.
 */
function jobFields(raw: unknown, path: string[], found: Findings): RawJob | null {
  const { here, problems, warnings } = found;
  if (raw === null || typeof raw !== "object" || Array.isArray(raw)) {
    problems.push(here.problem(path, `must be a mapping of job fields, got ${describe(raw)}`));
    return null;
  }
  for (const key of Object.keys(raw)) {
    if (KNOWN_JOB_KEYS.includes(key)) continue;
    const guess = closest(key, KNOWN_JOB_KEYS);
    if (guess) {
      problems.push(here.keyProblem(
        [...path, key],
        `unknown key (did you mean ${guess}?): the job would run as if it were not there`,
      ));
    } else {
      warnings.push(here.keyProblem(
        [...path, key],
        "unknown key ignored (it may belong to another component)",
      ));
    }
  }
  const result = jobSchema.safeParse(raw);
  if (!result.success) {
    problems.push(...zodProblems(result.error, path, raw, here, () => WHEN_KEYS));
    return null;
  }
  if (result.data.message !== undefined) {
    problems.push(here.keyProblem(
      [...path, "message"],
      `"message" is no longer supported: put the instructions in docs/project/spec/jobs/<name>.md and set job: <name>`,
    ));
  }
  return result.data;
}

/** `computer:` as a list of names: null when not set, undefined (and a problem) when wrong. */
function parseComputers(
  raw: string | string[] | undefined,
  path: string[],
  found: Findings,
): string[] | null | undefined {
  if (raw === undefined) return null;
  const names = typeof raw === "string" ? [raw] : raw;
  const bad = names.find((name) => !COMPUTER_NAME.test(name));
  if (bad === undefined) return names;
  found.problems.push(found.here.problem(
    path,
    `${describe(bad)} is not a computer name (letters, digits, ., _ and -, as \`--doctor\` shows ` +
      "this computer's)",
  ));
  return undefined;
}

const SIZE = /^(\d+)\s*(B|KiB|MiB|GiB)?$/;
const SIZE_UNITS: Record<string, number> = { B: 1, KiB: 1024, MiB: 1024 ** 2, GiB: 1024 ** 3 };

/** `max_log_size` in bytes: null when not set, undefined (and a problem) when wrong. */
function parseLogSize(
  raw: number | string | undefined,
  path: string[],
  found: Findings,
): number | null | undefined {
  if (raw === undefined) return null;
  const match = SIZE.exec(String(raw).trim());
  const bytes = match ? Number(match[1]) * SIZE_UNITS[match[2] ?? "B"]! : NaN;
  if (Number.isSafeInteger(bytes) && bytes >= MIN_LOG_BYTES && bytes <= MAX_LOG_BYTES) return bytes;
  found.problems.push(found.here.problem(
    path,
    `${describe(raw)} is not a log size from 64KiB to 1GiB (use e.g. 10MiB, 512KiB, 1GiB)`,
  ));
  return undefined;
}

function scriptJob(base: JobBase, fields: RawJob, path: string[], found: Findings): Job | null {
  for (const key of AGENT_ONLY_KEYS) {
    if (fields[key] !== undefined) {
      found.warnings.push(
        found.here.keyProblem([...path, key], "ignored: only agent jobs use it"),
      );
    }
  }
  const script = fields.script!;
  const command = typeof script === "string" ? splitCommand(script) : script;
  if (command.length === 0) {
    found.problems.push(
      found.here.problem([...path, "script"], "is empty: name the program to run"),
    );
    return null;
  }
  return { ...base, type: "script", command, discovered: false } satisfies ScriptJob;
}

function agentJob(
  base: JobBase,
  fields: RawJob,
  agents: Partial<Record<AgentName, AgentOverride>>,
  path: string[],
  found: Findings,
): Job | null {
  if (!SPEC_NAME.test(fields.job!)) {
    found.problems.push(found.here.problem(
      [...path, "job"],
      `${describe(fields.job)} is not a spec name: use letters, digits, - and _, with / between ` +
        `subfolders of docs/project/spec/jobs/ (no .., no leading /)`,
    ));
    return null;
  }
  const agent = fields.agent ?? "claude";
  const thinkingMode = fields.thinking_mode ?? "fast";
  if (modelFor(agent, thinkingMode, agents[agent]) === null) {
    const modes = THINKING_MODES.filter((mode) => DEFAULT_MODELS[agent][mode] !== null);
    found.problems.push(found.here.problem(
      [...path, "thinking_mode"],
      `${agent} has no model for "${thinkingMode}" (use ${
        modes.join(", ")
      }, or set agents.${agent}.models.${thinkingMode})`,
    ));
    return null;
  }
  return {
    ...base,
    type: "agent",
    spec: fields.job!,
    agent,
    thinkingMode,
    role: fields.role ?? DEFAULT_ROLE,
    maxTurns: fields.max_turns ?? null,
    maxBudgetUsd: fields.max_budget_usd ?? null,
  } satisfies AgentJob;
}

function jobType(fields: RawJob, path: string[], found: Findings): "agent" | "script" | null {
  const { here, problems } = found;
  if (fields.script !== undefined && fields.job !== undefined) {
    problems.push(
      here.problem(path, "has both script and job: a job is either a script or an agent job"),
    );
    return null;
  }
  const implied = fields.script !== undefined
    ? "script"
    : fields.job !== undefined
    ? "agent"
    : null;
  if (implied === null) {
    if (fields.message === undefined) {
      problems.push(here.problem(
        path,
        "needs script: (a program to run) or job: (the spec doc of an agent job)",
      ));
    }
    return null;
  }
  if (fields.type !== undefined && fields.type !== implied) {
    const needs = fields.type === "agent" ? "job:" : "script:";
    const has = implied === "script" ? "script:" : "job:";
    problems.push(here.problem(
      [...path, "type"],
      `is "${fields.type}" but the job has ${has} (a ${fields.type} job needs ${needs})`,
    ));
    return null;
  }
  return implied;
}

function parseSchedule(fields: RawJob, path: string[], found: Findings): Schedule | null {
  const hour = fields.preferred_hour ?? 6;
  if (fields.when !== undefined) {
    if (fields.schedule !== undefined) {
      found.warnings.push(
        found.here.keyProblem([...path, "schedule"], "ignored: when takes precedence"),
      );
    }
    return parseWhen(fields.when, [...path, "when"], found);
  }
  switch (fields.schedule) {
    case "hourly":
      return { kind: "hourly" };
    case "weekly":
      return { kind: "weekly", weekday: fields.preferred_weekday ?? 0, hour };
    case "monthly":
      return { kind: "monthly", day: fields.preferred_day ?? 1, hour };
    case "daily":
    case undefined:
      // The Python original's fallback: a job with no schedule runs daily at preferred_hour.
      return { kind: "daily", hour };
  }
}

function parseWhen(
  when: z.infer<typeof whenSchema>,
  path: string[],
  found: Findings,
): Schedule | null {
  if (when.every !== undefined && when.at !== undefined) {
    found.problems.push(found.here.problem(path, "has both every and at: use one of them"));
    return null;
  }
  if (when.every !== undefined) return parseEvery(when, path, found);
  if (when.at !== undefined) return parseAt(when, path, found);
  found.problems.push(
    found.here.problem(path, 'needs every (e.g. every: 10m) or at (e.g. at: "09:00")'),
  );
  return null;
}

function parseEvery(
  when: z.infer<typeof whenSchema>,
  path: string[],
  found: Findings,
): Schedule | null {
  if (when.weekdays !== undefined) {
    found.problems.push(
      found.here.keyProblem([...path, "weekdays"], "only goes with at, not with every"),
    );
    return null;
  }
  const minutes = durationMinutes(when.every!);
  if (minutes === null) {
    found.problems.push(found.here.problem(
      [...path, "every"],
      `"${when.every}" is not a duration (use 10m, 2h or 1d)`,
    ));
    return null;
  }
  if (minutes > MAX_EVERY_MINUTES) {
    found.problems.push(found.here.problem(
      [...path, "every"],
      `"${when.every}" is longer than a year (at most 366d, 8784h or 527040m)`,
    ));
    return null;
  }
  return { kind: "every", minutes };
}

function parseAt(
  when: z.infer<typeof whenSchema>,
  path: string[],
  found: Findings,
): Schedule | null {
  const list = Array.isArray(when.at) ? when.at : [when.at!];
  const times: string[] = [];
  list.forEach((value, index) => {
    const match = TIME_OF_DAY.exec(value.trim());
    if (!match) {
      const field = Array.isArray(when.at) ? [...path, "at", String(index)] : [...path, "at"];
      found.problems.push(
        found.here.problem(field, `"${value}" is not a time of day (use HH:MM, e.g. 09:00)`),
      );
      return;
    }
    times.push(`${match[1]!.padStart(2, "0")}:${match[2]}`);
  });
  if (times.length < list.length) return null;
  const weekdays = when.weekdays?.map((day) => WEEKDAY_NAMES.indexOf(day)) ?? null;
  return {
    kind: "at",
    times: [...new Set(times)].sort(),
    weekdays: weekdays ? [...new Set(weekdays)].sort() : null,
  };
}
