/** The doctor on the config: it parses, its spec docs exist, and which jobs are paused. */

import { specDocPath } from "../../agents.ts";
import type { Config } from "../../config/job.ts";
import { loadConfig } from "../../config/load.ts";
import { ConfigError, formatProblem } from "../../errors.ts";
import { join } from "../../posix_path.ts";
import { type Check, type DoctorContext, exists } from "./check.ts";

export async function checkConfig(context: DoctorContext, checks: Check[]): Promise<Config | null> {
  try {
    const { config, discoveryProblems } = await loadConfig(context.configPath, null);
    const scheduled = config.jobs.filter((job) =>
      !(job.type === "script" && job.discovered)
    ).length;
    checks.push({
      name: "config",
      status: "ok",
      detail: `${context.configPath} is valid (${scheduled} jobs)`,
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
      checks.push({
        name: "config",
        status: "info",
        detail: `warning: ${warning.field}: ${warning.message}`,
      });
    }
    checkPaused(config, checks);
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
