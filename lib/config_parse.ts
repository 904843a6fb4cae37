/**
 * Parses the text of `teleclaude.yml` into a validated `Config`: YAML with line and column
 * errors (`npm:yaml`), field shapes with zod, and the rules that span fields by hand.
 * Only the `jobs:` and `agents:` keys are read; other top-level keys belong to other components.
 */

import { dirname } from "./posix_path.ts";
import { isMap, isPair, isScalar, LineCounter, type Node, parseDocument } from "yaml";
import { z } from "zod";
import { DEFAULT_MODELS } from "./agents.ts";
import {
  AGENT_NAMES,
  type AgentJob,
  type AgentName,
  type AgentOverride,
  type Config,
  DEFAULT_IDLE_TIMEOUT_SECONDS,
  DEFAULT_TIMEOUT_SECONDS,
  type Job,
  type Schedule,
  type ScriptJob,
  THINKING_MODES,
  type ThinkingMode,
} from "./config.ts";
import { ConfigError, type Problem } from "./errors.ts";

export const WEEKDAY_NAMES = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"] as const;

const JOB_NAME = /^[a-z0-9_-]+$/;
const DURATION = /^(\d+)([mhd])$/;
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
  timeout: z.int().positive().optional(),
  idle_timeout: z.int().min(0).optional(),
  role: z.string().min(1).optional(),
  message: z.unknown().optional(),
  when: whenSchema.optional(),
  schedule: z.enum(["hourly", "daily", "weekly", "monthly"]).optional(),
  preferred_hour: z.int().min(0).max(23).optional(),
  preferred_weekday: z.int().min(0).max(6).optional(),
  preferred_day: z.int().min(1).max(31).optional(),
  max_turns: z.int().positive().optional(),
  max_budget_usd: z.number().positive().optional(),
});
type RawJob = z.infer<typeof jobSchema>;
const KNOWN_JOB_KEYS = Object.keys(jobSchema.shape);
const AGENT_ONLY_KEYS = ["agent", "thinking_mode", "role", "max_turns", "max_budget_usd"] as const;

// `agents:` may carry keys of other TeleClaude components: only the fields we use are checked.
const agentOverrideSchema = z.looseObject({
  binary: z.string().min(1).optional(),
  models: z.looseObject(
    Object.fromEntries(THINKING_MODES.map((mode) => [mode, z.string().min(1).optional()])),
  ).optional(),
});

/** Where the text came from: the name used in messages and the absolute path. */
export interface ConfigSource {
  displayName: string;
  file: string;
}

/** Parses and validates a config text. Throws `ConfigError` listing every problem found. */
export function parseConfig(text: string, source: ConfigSource): Config {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  const here = new Locator(doc.contents, lineCounter, source.displayName);
  if (doc.errors.length > 0) {
    throw new ConfigError(doc.errors.map((error) => {
      const position = lineCounter.linePos(error.pos[0]);
      return {
        file: source.displayName,
        line: position.line,
        column: position.col,
        message: `YAML syntax error: ${error.message.split("\n")[0]}`,
      };
    }));
  }
  const root: unknown = doc.toJS();
  const problems: Problem[] = [];
  const warnings: Problem[] = [];
  if (root !== null && (typeof root !== "object" || Array.isArray(root))) {
    throw new ConfigError(here.problem([], "the config must be a mapping of top-level keys"));
  }
  const top = (root ?? {}) as Record<string, unknown>;
  const agents = parseAgents(top.agents, here, problems);
  const jobs: Job[] = [];
  const rawJobs = top.jobs;
  if (rawJobs !== undefined && rawJobs !== null) {
    if (typeof rawJobs !== "object" || Array.isArray(rawJobs)) {
      problems.push(
        here.problem(["jobs"], `must be a mapping of job name to job, got ${describe(rawJobs)}`),
      );
    } else {
      for (const [name, raw] of Object.entries(rawJobs as Record<string, unknown>)) {
        const job = parseJob(name, raw, agents, here, problems, warnings);
        if (job) jobs.push(job);
      }
    }
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return {
    file: source.file,
    displayName: source.displayName,
    dir: dirname(source.file),
    jobs,
    agents,
    warnings,
  };
}

function parseAgents(
  raw: unknown,
  here: Locator,
  problems: Problem[],
): Partial<Record<AgentName, AgentOverride>> {
  const agents: Partial<Record<AgentName, AgentOverride>> = {};
  if (raw === undefined || raw === null) return agents;
  if (typeof raw !== "object" || Array.isArray(raw)) {
    problems.push(here.problem(["agents"], `must be a mapping, got ${describe(raw)}`));
    return agents;
  }
  for (const name of AGENT_NAMES) {
    const value = (raw as Record<string, unknown>)[name];
    if (value === undefined || value === null) continue;
    const result = agentOverrideSchema.safeParse(value);
    if (!result.success) {
      problems.push(...zodProblems(result.error, ["agents", name], value, here));
      continue;
    }
    const override: AgentOverride = {};
    if (result.data.binary) override.binary = result.data.binary;
    const models = result.data.models as Partial<Record<ThinkingMode, string>> | undefined;
    if (models) {
      override.models = Object.fromEntries(
        THINKING_MODES.filter((mode) => models[mode]).map((mode) => [mode, models[mode]]),
      );
    }
    agents[name] = override;
  }
  return agents;
}

function parseJob(
  name: string,
  raw: unknown,
  agents: Partial<Record<AgentName, AgentOverride>>,
  here: Locator,
  problems: Problem[],
  warnings: Problem[],
): Job | null {
  const path = ["jobs", name];
  const before = problems.length;
  if (!JOB_NAME.test(name)) {
    problems.push(
      here.keyProblem(
        path,
        `job name "${name}" may use only a-z, 0-9, _ and - (e.g. nightly_report)`,
      ),
    );
  }
  if (raw === null || typeof raw !== "object" || Array.isArray(raw)) {
    problems.push(here.problem(path, `must be a mapping of job fields, got ${describe(raw)}`));
    return null;
  }
  for (const key of Object.keys(raw)) {
    if (KNOWN_JOB_KEYS.includes(key)) continue;
    const guess = closest(key, KNOWN_JOB_KEYS);
    warnings.push(
      here.keyProblem(
        [...path, key],
        `unknown key ignored${
          guess ? ` (did you mean ${guess}?)` : " (it may belong to another component)"
        }`,
      ),
    );
  }
  const result = jobSchema.safeParse(raw);
  if (!result.success) {
    problems.push(...zodProblems(result.error, path, raw, here));
    return null;
  }
  const fields = result.data;
  if (fields.message !== undefined) {
    problems.push(
      here.keyProblem(
        [...path, "message"],
        `"message" is no longer supported: put the instructions in docs/project/spec/jobs/<name>.md and set job: <name>`,
      ),
    );
  }
  const schedule = parseSchedule(fields, path, here, problems, warnings);
  const type = jobType(fields, path, here, problems);
  if (problems.length > before || schedule === null || type === null) return null;

  const base = {
    name,
    schedule,
    timeoutSeconds: fields.timeout ?? DEFAULT_TIMEOUT_SECONDS,
    // Agents that hang print nothing; scripts may be quiet by nature, so theirs is opt-in.
    idleTimeoutSeconds: fields.idle_timeout ??
      (type === "agent" ? DEFAULT_IDLE_TIMEOUT_SECONDS : 0),
  };
  if (type === "script") {
    for (const key of AGENT_ONLY_KEYS) {
      if (fields[key] !== undefined) {
        warnings.push(here.keyProblem([...path, key], "ignored: only agent jobs use it"));
      }
    }
    const script = fields.script!;
    const command = typeof script === "string" ? splitCommand(script) : script;
    if (command.length === 0) {
      problems.push(here.problem([...path, "script"], "is empty: name the program to run"));
      return null;
    }
    return { ...base, type: "script", command, discovered: false } satisfies ScriptJob;
  }
  const agent = fields.agent ?? "claude";
  const thinkingMode = fields.thinking_mode ?? "fast";
  const model = agents[agent]?.models?.[thinkingMode] ?? DEFAULT_MODELS[agent][thinkingMode];
  if (model === null) {
    const modes = THINKING_MODES.filter((mode) => DEFAULT_MODELS[agent][mode] !== null);
    problems.push(
      here.problem(
        [...path, "thinking_mode"],
        `${agent} has no model for "${thinkingMode}" (use ${
          modes.join(", ")
        }, or set agents.${agent}.models.${thinkingMode})`,
      ),
    );
    return null;
  }
  return {
    ...base,
    type: "agent",
    spec: fields.job!,
    agent,
    thinkingMode,
    role: fields.role ?? "admin",
    maxTurns: fields.max_turns ?? null,
    maxBudgetUsd: fields.max_budget_usd ?? null,
  } satisfies AgentJob;
}

function jobType(
  fields: RawJob,
  path: string[],
  here: Locator,
  problems: Problem[],
): "agent" | "script" | null {
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
      problems.push(
        here.problem(
          path,
          "needs script: (a program to run) or job: (the spec doc of an agent job)",
        ),
      );
    }
    return null;
  }
  if (fields.type !== undefined && fields.type !== implied) {
    const needs = fields.type === "agent" ? "job:" : "script:";
    problems.push(
      here.problem(
        [...path, "type"],
        `is "${fields.type}" but the job has ${
          implied === "script" ? "script:" : "job:"
        } (a ${fields.type} job needs ${needs})`,
      ),
    );
    return null;
  }
  return implied;
}

function parseSchedule(
  fields: RawJob,
  path: string[],
  here: Locator,
  problems: Problem[],
  warnings: Problem[],
): Schedule | null {
  const hour = fields.preferred_hour ?? 6;
  if (fields.when !== undefined) {
    if (fields.schedule !== undefined) {
      warnings.push(here.keyProblem([...path, "schedule"], "ignored: when takes precedence"));
    }
    return parseWhen(fields.when, [...path, "when"], here, problems);
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
      // The seed's fallback: a job with no schedule runs daily at preferred_hour.
      return { kind: "daily", hour };
  }
}

function parseWhen(
  when: z.infer<typeof whenSchema>,
  path: string[],
  here: Locator,
  problems: Problem[],
): Schedule | null {
  if (when.every !== undefined && when.at !== undefined) {
    problems.push(here.problem(path, "has both every and at: use one of them"));
    return null;
  }
  if (when.every !== undefined) {
    if (when.weekdays !== undefined) {
      problems.push(here.keyProblem([...path, "weekdays"], "only goes with at, not with every"));
      return null;
    }
    const match = DURATION.exec(when.every.trim());
    const count = match ? Number(match[1]) : 0;
    if (!match || count < 1) {
      problems.push(
        here.problem([...path, "every"], `"${when.every}" is not a duration (use 10m, 2h or 1d)`),
      );
      return null;
    }
    const unit = { m: 1, h: 60, d: 1440 }[match[2] as "m" | "h" | "d"];
    return { kind: "every", minutes: count * unit };
  }
  if (when.at !== undefined) {
    const list = Array.isArray(when.at) ? when.at : [when.at];
    const times: string[] = [];
    list.forEach((value, index) => {
      const match = TIME_OF_DAY.exec(value.trim());
      if (!match) {
        const field = Array.isArray(when.at) ? [...path, "at", String(index)] : [...path, "at"];
        problems.push(
          here.problem(field, `"${value}" is not a time of day (use HH:MM, e.g. 09:00)`),
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
  problems.push(here.problem(path, 'needs every (e.g. every: 10m) or at (e.g. at: "09:00")'));
  return null;
}

/**
 * Splits `script: path arg "quoted arg"` into argv without a shell: whitespace separates,
 * single and double quotes group.
 */
export function splitCommand(text: string): string[] {
  const words: string[] = [];
  const pattern = /"([^"]*)"|'([^']*)'|(\S+)/g;
  for (const match of text.matchAll(pattern)) words.push(match[1] ?? match[2] ?? match[3]!);
  return words;
}

function zodProblems(error: z.ZodError, base: string[], value: unknown, here: Locator): Problem[] {
  return error.issues.map((issue) => {
    const path = [...base, ...issue.path.map(String)];
    const actual = valueAt(value, issue.path);
    return issue.code === "unrecognized_keys"
      ? here.keyProblem(
        [...path, issue.keys[0] ?? ""],
        `unknown key (allowed: ${Object.keys(whenSchema.shape).join(", ")})`,
      )
      : here.problem(path, describeIssue(issue, actual));
  });
}

function describeIssue(issue: z.core.$ZodIssue, actual: unknown): string {
  switch (issue.code) {
    case "invalid_value":
      return `${describe(actual)} is not one of ${issue.values.map(String).join(", ")}`;
    case "invalid_type":
      return `must be ${article(issue.expected)}, got ${describe(actual)}`;
    case "invalid_union":
      return `has the wrong shape, got ${describe(actual)} (see the example teleclaude.yml)`;
    case "too_small":
      return issue.origin === "array"
        ? `must not be empty`
        : issue.origin === "string"
        ? `must not be empty`
        : `${describe(actual)} is too small (minimum ${issue.minimum})`;
    case "too_big":
      return `${describe(actual)} is too large (maximum ${issue.maximum})`;
    default:
      return `${issue.message}, got ${describe(actual)}`;
  }
}

function article(expected: string): string {
  if (expected === "int") return "a whole number";
  return /^[aeiou]/.test(expected) ? `an ${expected}` : `a ${expected}`;
}

function describe(value: unknown): string {
  if (value === undefined) return "nothing";
  if (value === null) return "an empty value";
  if (typeof value === "string") return JSON.stringify(value);
  if (Array.isArray(value)) return "a list";
  if (typeof value === "object") return "a mapping";
  return String(value);
}

function valueAt(value: unknown, path: readonly PropertyKey[]): unknown {
  let current = value;
  for (const key of path) {
    if (current === null || typeof current !== "object") return undefined;
    current = (current as Record<PropertyKey, unknown>)[key];
  }
  return current;
}

/** The known key nearest to a typo, when it is close enough to be the likely intent. */
function closest(key: string, known: string[]): string | null {
  let best: string | null = null;
  let bestDistance = Math.max(2, Math.floor(key.length / 3)) + 1;
  for (const candidate of known) {
    const distance = editDistance(key, candidate);
    if (distance < bestDistance) [best, bestDistance] = [candidate, distance];
  }
  return best;
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, index) => index);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      current[j] = Math.min(previous[j]! + 1, current[j - 1]! + 1, previous[j - 1]! + cost);
    }
    previous = current;
  }
  return previous[b.length]!;
}

/** Turns a field path into a located problem, using the YAML node's position. */
class Locator {
  constructor(
    private readonly root: unknown,
    private readonly lines: LineCounter,
    private readonly file: string,
  ) {}

  /** A problem about a field's value. */
  problem(path: string[], message: string): Problem {
    return this.at(path, false, message);
  }

  /** A problem about a field's key (unknown key, bad job name). */
  keyProblem(path: string[], message: string): Problem {
    return this.at(path, true, message);
  }

  private at(path: string[], atKey: boolean, message: string): Problem {
    const node = this.find(path, atKey);
    const problem: Problem = { file: this.file, field: path.join("."), message };
    const offset = node?.range?.[0];
    if (offset !== undefined) {
      const { line, col } = this.lines.linePos(offset);
      problem.line = line;
      problem.column = col;
    }
    return problem;
  }

  private find(path: string[], atKey: boolean): Node | null {
    let node = this.root as Node | null;
    for (const [index, key] of path.entries()) {
      const last = index === path.length - 1;
      if (isMap(node)) {
        const pair = node.items.find((item) =>
          isPair(item) && isScalar(item.key) && String(item.key.value) === key
        );
        if (!pair) return node;
        if (last && atKey) return pair.key as Node;
        node = (pair.value as Node | null) ?? (pair.key as Node);
      } else if (node && "items" in node && Array.isArray(node.items)) {
        const item = node.items[Number(key)] as Node | undefined;
        if (!item) return node;
        node = item;
      } else {
        return node;
      }
    }
    return node;
  }
}
