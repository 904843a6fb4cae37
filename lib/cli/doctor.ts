/**
 * `--doctor`: one command that says why a job would not run, without reading code. Each check
 * returns ok, fail (with the fix to apply) or info (worth knowing, never a failure); the checks
 * live by what they look at in `doctor/`.
 */

import { runsOn, thisComputer } from "../computer.ts";
import { type Config, serviceLimitSeconds } from "../config/job.ts";
import { checkDaemonHealth } from "../daemon.ts";
import { dirname } from "../posix_path.ts";
import { runnerTimeZone, zoneName } from "../time_zone.ts";
import type { Check, DoctorContext } from "./doctor/check.ts";
import { checkAgents } from "./doctor/agents.ts";
import { checkConfig, checkPrograms, checkSpecDocs } from "./doctor/config.ts";
import { checkNotify } from "./doctor/notify.ts";
import { checkInstalledRunner, checkService } from "./doctor/service.ts";
import {
  checkLastTick,
  checkLock,
  checkPrivateModes,
  checkRunnerPaths,
  checkState,
  checkWritable,
} from "./doctor/store.ts";

export type { Check, DoctorContext };
export { LAUNCHD_LABEL, SYSTEMD_UNIT } from "./doctor/service.ts";

/** Runs every check, in the order a person would fix things. */
export async function runDoctor(context: DoctorContext): Promise<Check[]> {
  const checks: Check[] = [];
  const config = await checkConfig(context, checks);
  const service = await checkService(context, checks);
  if (config) {
    checkComputer(config, context, checks);
    checkSpecDocs(config, checks);
    checkPrograms(config, context, service?.path ?? null, checks);
    checkServiceLimit(config, service?.limitSeconds ?? null, checks);
    await checkAgents(config, context, service?.path ?? null, checks);
    await checkNotify(config, context, context.desktop, checks);
  }
  checkPrivateModes(context.paths, checks);
  checkRunnerPaths(context.paths, checks);
  checkState(context.paths, checks);
  await checkWritable("run logs", context.paths.logs, true, checks);
  if (service?.logFile) await checkWritable("service log", dirname(service.logFile), false, checks);
  await checkLock(context.paths, checks);
  checkLastTick(context, checks);
  checkTimeZone(checks);
  await checkDaemon(context.socketPath, config, checks);
  await checkInstalledRunner(context.paths, checks);
  return checks;
}

/**
 * The service manager's limit on one tick, installed from the config as it was then: a job added
 * or a timeout raised since lets systemd stop the runner mid-job (it records that run interrupted)
 * before the job's own timeout would.
 */
function checkServiceLimit(config: Config, limit: number | null, checks: Check[]): void {
  if (limit === null) return;
  const needed = serviceLimitSeconds(config.jobs);
  checks.push(
    limit >= needed
      ? { name: "service limit", status: "ok", detail: `a tick may run ${limit} s` }
      : {
        name: "service limit",
        status: "fail",
        detail: `the service lets a tick run ${limit} s, but this config's job timeouts add up ` +
          `to ${needed - 600} s: systemd would stop a long tick before its jobs' own timeouts`,
        fix: "run ./init.sh again (it writes the limit from the config)",
      },
  );
}

/**
 * This computer's name, and a config that pins jobs to computers none of which is this one (a
 * typo in `computer:` or in TELECLAUDE_COMPUTER silently stops those jobs everywhere).
 */
function checkComputer(config: Config, context: DoctorContext, checks: Check[]): void {
  const computer = thisComputer(context.env.TELECLAUDE_COMPUTER, context.os);
  const named = [...new Set(config.jobs.flatMap((job) => job.computers ?? []))];
  const pinnedHere = config.jobs.filter((job) => job.computers && runsOn(job, computer.name));
  checks.push({
    name: "computer",
    status: "info",
    detail: `this is ${computer.name} (from ${computer.source})` +
      (named.length ? `; ${pinnedHere.length} of the pinned jobs run here` : ""),
  });
  if (named.length > 1 && pinnedHere.length === 0) {
    checks.push({
      name: "computer",
      status: "warn",
      detail: `the config pins jobs to ${named.join(", ")}, and none of them is ${computer.name}`,
      fix: "if this computer should run some of them, correct their `computer:` or set " +
        "TELECLAUDE_COMPUTER where the service runs",
    });
  }
}

/** The zone every schedule is computed in, and whether TZ says something the runner cannot use. */
function checkTimeZone(checks: Check[]): void {
  const zone = runnerTimeZone();
  checks.push(
    zone.note
      ? {
        name: "time zone",
        status: "fail",
        detail: zone.note,
        fix: "set TZ to a zone name such as Europe/Amsterdam (or unset it) where the service runs",
      }
      : {
        name: "time zone",
        status: "info",
        detail: `schedules are computed in ${zoneName(zone)}`,
      },
  );
}

/**
 * Whether the daemon answers. Without it agent jobs run as admin, which is fine; but when the
 * daemon is a notification channel, what is told waits in the outbox until it answers.
 */
async function checkDaemon(
  socketPath: string,
  config: Config | null,
  checks: Check[],
): Promise<void> {
  const health = await checkDaemonHealth(socketPath);
  const tells = config !== null && config.cron.notify.daemon !== false;
  checks.push(
    health.healthy
      ? {
        name: "daemon",
        status: "info",
        detail: `answers on ${socketPath}: agent jobs get their configured role` +
          (tells ? "; notifications reach it" : ""),
      }
      : {
        name: "daemon",
        status: tells ? "warn" : "info",
        detail: `not answering on ${socketPath} (${health.reason}): agent jobs run as admin, ` +
          (tells ? "and notifications wait in the outbox until it answers" : "which is fine"),
        ...(tells
          ? {
            fix: "start the daemon, or set cron.notify.daemon: false (and use desktop or command)",
          }
          : {}),
      },
  );
}

/** The checklist as text: ✓/✗ on a terminal, ok/FAIL otherwise; each failure with its fix. */
export function formatChecks(checks: Check[], fancy: boolean): string {
  const mark = {
    ok: fancy ? "✓" : "ok  ",
    fail: fancy ? "✗" : "FAIL",
    warn: fancy ? "!" : "warn",
    info: fancy ? "·" : "info",
  };
  return checks.map((check) => {
    const line = `${mark[check.status]} ${check.name}: ${check.detail}`;
    return check.fix ? `${line}\n    fix: ${check.fix}` : line;
  }).join("\n");
}
