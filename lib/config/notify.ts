/**
 * The runner's own settings: the top-level `cron:` section (notifications, the metrics file, the
 * budget: `budget.ts`, jitter, how many jobs run at once) and a job's `notify:`. Validated like
 * every other field: located problems, exit 2. The section is the runner's alone, so an unknown
 * key in it is an error, not a warning.
 */

import { z } from "zod";
import { isAbsolute, join, resolve } from "../posix_path.ts";
import {
  type CronSettings,
  DEFAULT_NOTIFY,
  durationMinutes,
  type JobNotify,
  MAX_CONCURRENCY,
  NOTIFY_ON,
  type NotifySettings,
  splitCommand,
} from "./job.ts";
import { parseBudget } from "./budget.ts";
import { describe, type Findings, zodProblems } from "./locator.ts";
import { jitterOf } from "./timing.ts";

const onSchema = z.array(z.enum(NOTIFY_ON));
const notifySchema = z.strictObject({
  on: onSchema.optional(),
  repeat: z.string().optional(),
  desktop: z.boolean().optional(),
  daemon: z.union([
    z.boolean(),
    // Sent as a header: no blank and no control character can be in it.
    z.strictObject({
      // deno-lint-ignore no-control-regex -- matching control characters is the point.
      email: z.string().regex(/^[^\s\u0000-\u001f\u007f]+$/, "must be one address, no blanks")
        .optional(),
    }),
  ]).optional(),
  command: z.union([z.string().min(1), z.array(z.string().min(1)).min(1)]).optional(),
});
const cronSchema = z.strictObject({
  notify: notifySchema.optional(),
  metrics_file: z.string().min(1).optional(),
  jitter: z.union([z.string(), z.number()]).optional(),
  budget: z.unknown().optional(),
  concurrency: z.int().min(1).max(MAX_CONCURRENCY).optional(),
});
const jobNotifySchema = z.union([
  z.boolean(),
  z.strictObject({
    // A config problem is the runner's to tell, not a job's.
    on: z.array(z.enum(NOTIFY_ON.filter((on) => on !== "config"))).optional(),
    repeat: z.string().optional(),
  }),
]);

/** Where the text came from, as far as the `cron:` section cares. */
interface CronSource {
  file: string;
  home?: string;
}

/**
 * `cron:`; null (and problems) when it is wrong; the defaults when it is absent. `jitterMinutes`
 * (`cron.jitter`, 0 when absent) is the jitter of every job without one of its own: the parser
 * gives it to the jobs (`timing.ts`), so it is not kept among the settings.
 */
export function parseCron(
  raw: unknown,
  source: CronSource,
  found: Findings,
): (CronSettings & { jitterMinutes: number }) | null {
  const result = cronSchema.safeParse(raw ?? {});
  if (!result.success) {
    found.problems.push(
      ...zodProblems(result.error, ["cron"], raw, found.here, (path) => allowedKeys(path)),
    );
    return null;
  }
  const { notify = {}, metrics_file, jitter, concurrency } = result.data;
  const before = found.problems.length;
  const budget = parseBudget(result.data.budget, ["cron", "budget"], found);
  const jitterMinutes = jitter === undefined ? 0 : jitterOf(jitter, ["cron", "jitter"], found);
  const repeatMs = repeatOf(notify.repeat, ["cron", "notify", "repeat"], found);
  const command = notify.command === undefined
    ? null
    : commandOf(notify.command, source, ["cron", "notify", "command"], found);
  const metricsFile = metrics_file === undefined
    ? null
    : metricsPath(metrics_file, source, ["cron", "metrics_file"], found);
  if (found.problems.length > before || jitterMinutes === undefined || budget === undefined) {
    return null;
  }
  const settings: NotifySettings = {
    on: notify.on ?? [...DEFAULT_NOTIFY.on],
    repeatMs: repeatMs ?? DEFAULT_NOTIFY.repeatMs,
    desktop: notify.desktop ?? null,
    daemon: notify.daemon === false
      ? false
      : { email: typeof notify.daemon === "object" ? notify.daemon.email ?? null : null },
    command,
  };
  return {
    notify: settings,
    metricsFile,
    budget,
    jitterMinutes,
    ...(concurrency === undefined ? {} : { concurrency }),
  };
}

function allowedKeys(path: PropertyKey[]): string[] {
  if (path[0] === "notify") return Object.keys(notifySchema.shape);
  return Object.keys(cronSchema.shape);
}

/** A job's `notify:`: false mutes it, true or absent is null (the runner's settings). */
export function parseJobNotify(
  raw: unknown,
  path: string[],
  found: Findings,
): JobNotify | false | null | undefined {
  if (raw === undefined || raw === true) return null;
  const on = (raw as { on?: unknown } | null)?.on;
  if (Array.isArray(on) && on.includes("config")) {
    found.problems.push(found.here.problem(
      [...path, "on"],
      "config is told for the whole config, by cron.notify.on, not by a job",
    ));
    return undefined;
  }
  const result = jobNotifySchema.safeParse(raw);
  if (!result.success) {
    found.problems.push(
      ...zodProblems(result.error, path, raw, found.here, () => ["on", "repeat"]),
    );
    return undefined;
  }
  if (result.data === false) return false;
  if (result.data === true) return null;
  const repeatMs = repeatOf(result.data.repeat, [...path, "repeat"], found);
  if (repeatMs === undefined) return undefined;
  return { on: result.data.on ?? null, repeatMs };
}

/** The notify command as argv; `~/` in its program is the home. Null (and a problem) when empty. */
function commandOf(
  raw: string | string[],
  source: CronSource,
  path: string[],
  found: Findings,
): string[] | null {
  const argv = typeof raw === "string" ? splitCommand(raw) : raw;
  if (argv.length === 0 || argv[0]!.trim() === "") {
    found.problems.push(found.here.problem(path, "must name a program to run"));
    return null;
  }
  const home = source.home ?? Deno.env.get("HOME") ?? "";
  const program = argv[0]!.startsWith("~/") && home ? join(home, argv[0]!.slice(2)) : argv[0]!;
  return [program, ...argv.slice(1)];
}

/** `repeat:` in ms: null when absent, undefined (and a problem) when wrong. */
function repeatOf(
  raw: string | undefined,
  path: string[],
  found: Findings,
): number | null | undefined {
  if (raw === undefined) return null;
  const minutes = durationMinutes(raw);
  if (minutes !== null) return minutes * 60_000;
  found.problems.push(
    found.here.problem(path, `${describe(raw)} is not a duration (use 30m, 24h or 7d)`),
  );
  return undefined;
}

/**
 * The metrics file: `~/` is the home; relative is to the config's directory. It must be a `.prom`
 * file under `~/.teleclaude`: the runner may write nowhere else (its permission flags), and the
 * textfile collector reads only `.prom` files.
 */
function metricsPath(
  raw: string,
  source: CronSource,
  path: string[],
  found: Findings,
): string | null {
  const home = source.home ?? Deno.env.get("HOME") ?? "";
  const expanded = raw.startsWith("~/") ? join(home, raw.slice(2)) : raw;
  const file = isAbsolute(expanded)
    ? resolve(expanded)
    : resolve(join(source.file, ".."), expanded);
  const root = join(home, ".teleclaude");
  if (home && file.startsWith(`${root}/`) && file.endsWith(".prom")) return file;
  found.problems.push(found.here.problem(
    path,
    `${describe(raw)} must be a .prom file under ~/.teleclaude (the runner writes nowhere else): ` +
      "e.g. ~/.teleclaude/metrics/cron.prom, with node_exporter's --collector.textfile.directory there",
  ));
  return null;
}
