/** The doctor on the config: it parses, its spec docs exist, its programs can be started, and which jobs are paused. */

import { specDocPath } from "../../agents.ts";
import type { Config } from "../../config/job.ts";
import { loadConfig } from "../../config/load.ts";
import { ConfigError, formatProblem } from "../../errors.ts";
import { counted } from "../../log.ts";
import { join } from "../../posix_path.ts";
import { specDocProblem, startProblem } from "../../run/preflight.ts";
import { type Check, type DoctorContext } from "./check.ts";

export async function checkConfig(context: DoctorContext, checks: Check[]): Promise<Config | null> {
  try {
    const { config, discoveryProblems } = await loadConfig(context.configPath, null);
    const scheduled = config.jobs.filter((job) =>
      !(job.type === "script" && job.discovered)
    ).length;
    checks.push({
      name: "config",
      status: "ok",
      detail: `${context.configPath} is valid (${counted(scheduled, "job")})`,
    });
    checks.push(
      discoveryProblems.length
        ? {
          name: "jobs folder",
          status: "fail",
          detail: discoveryProblems.map(formatProblem).join("; "),
          fix: "remove or repair these entries of jobs/ (the configured jobs still run)",
        }
        : { name: "jobs folder", status: "ok", detail: "every entry of jobs/ could be looked at" },
    );
    for (const warning of config.warnings) {
      checks.push({ name: "config", status: "warn", detail: formatProblem(warning) });
    }
    checkPaused(config, checks);
    return config;
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    checks.push({
      name: "config",
      status: "fail",
      detail: error.message,
      fix: `edit ${context.configPath} where the message points`,
    });
    return null;
  }
}

/** Jobs paused with `enabled: false`: configured, listed, and never run by a tick. */
function checkPaused(config: Config, checks: Check[]): void {
  const paused = config.jobs.filter((job) => !job.enabled).map((job) => job.name);
  if (paused.length === 0) return;
  checks.push({
    name: "paused jobs",
    status: "info",
    detail: `${paused.join(", ")}: enabled: false, so no tick runs ${
      paused.length === 1 ? "it" : "them"
    } (--force --job NAME runs one now)`,
  });
}

export function checkSpecDocs(config: Config, checks: Check[]): void {
  const missing: string[] = [];
  for (const job of config.jobs) {
    if (job.type !== "agent") continue;
    const problem = specDocProblem(join(config.dir, specDocPath(job.spec)));
    if (problem) missing.push(`${job.name}: ${problem}`);
  }
  checks.push(
    missing.length
      ? {
        name: "spec docs",
        status: "fail",
        detail: missing.join("; "),
        fix: "write the spec doc, or correct the job's `job:` field",
      }
      : { name: "spec docs", status: "ok", detail: "every agent job's spec doc exists" },
  );
}

/**
 * Every script job's program is there and executable, as the run will look for it: from the
 * config's directory, else (a bare name) on this shell's PATH and the service's.
 */
export function checkPrograms(
  config: Config,
  context: DoctorContext,
  servicePath: string | null,
  checks: Check[],
): void {
  const scripts = config.jobs.filter((job) => job.type === "script" && !job.discovered);
  if (scripts.length === 0) return;
  const problems: string[] = [];
  for (const job of scripts) {
    const here = startProblem(job, config.dir, context.path);
    const there = here === null && servicePath !== null
      ? startProblem(job, config.dir, servicePath)
      : null;
    if (here) problems.push(`${job.name}: ${here}`);
    else if (there) problems.push(`${job.name}: for the service, ${there}`);
  }
  checks.push(
    problems.length
      ? {
        name: "programs",
        status: "fail",
        detail: problems.join("; "),
        fix: "correct each job's `script:` or the file it names (a program must be executable)",
      }
      : { name: "programs", status: "ok", detail: "every script job's program can be started" },
  );
}
