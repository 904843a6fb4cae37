/**
 * What the notification tests share: the sandbox's outbox, a script job as the config makes it,
 * events and outbox entries as the runner writes them, loggers that keep or drop what is logged.
 */

import { join } from "node:path";
import { runDueJobs } from "../../lib/cli/tick.ts";
import type { Config, Job } from "../../lib/config/job.ts";
import type { Logger } from "../../lib/log.ts";
import { type CronEvent, type EventKind, testEvent } from "../../lib/notify/events.ts";
import { runnerPaths } from "../../lib/paths.ts";
import type { JobResult } from "../../lib/process/result.ts";
import type { RunSummary } from "../../lib/run/loop.ts";
import type { OutboxEntry } from "../../lib/store/outbox.ts";
import { type Sandbox, writeConfig, writeFile } from "./sandbox.ts";
import * as jobs from "./jobs.ts";

/** The sandbox's outbox file. */
export const outboxOf = (sandbox: Sandbox): string =>
  join(sandbox.home, ".teleclaude/cron_outbox.jsonl");

/** The outbox's lines, parsed; none when there is no file. */
export async function outboxLines(sandbox: Sandbox): Promise<Record<string, unknown>[]> {
  try {
    const text = await Deno.readTextFile(outboxOf(sandbox));
    return text.split("\n").filter(Boolean).map((line) => JSON.parse(line));
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return [];
    throw error;
  }
}

/** A job that fails, printing what it printed; hourly, so a second tick does not run it. */
export async function failingJob(sandbox: Sandbox, cron = ""): Promise<void> {
  await writeConfig(
    sandbox,
    `${cron}jobs:\n  nightly: { script: jobs/fail.sh, when: { every: 1h } }\n`,
  );
  await writeFile(
    join(sandbox.project, "jobs/fail.sh"),
    '#!/bin/sh\necho "checking the backups"\necho "disk full" >&2\nexit 3\n',
    true,
  );
}

/** A script job `name` whose last stdout line is `report` (the Python original's JobResult). */
export async function reportingJob(
  sandbox: Sandbox,
  name: string,
  report: unknown,
): Promise<void> {
  await writeFile(join(sandbox.project, `jobs/${name}.json`), `${JSON.stringify(report)}\n`);
  await writeFile(
    join(sandbox.project, `jobs/${name}.sh`),
    `#!/bin/sh\ncat jobs/${name}.json\n`,
    true,
  );
}

/** A script job as the config makes it: every 10 minutes, under the runner's notify settings. */
export function scriptJob(name = "nightly", notify: Job["notify"] = null): Job {
  return jobs.scriptJob(name, { kind: "every", minutes: 10 }, { command: ["/bin/false"], notify });
}

/** An event of `kind` about `job`, decided at `at`, as the runner makes one. */
export function eventOf(
  kind: EventKind,
  job: string | null,
  at: number,
  fields: Partial<CronEvent> = {},
): CronEvent {
  const iso = new Date(at).toISOString();
  return {
    ...testEvent("/cfg/teleclaude.yml", "mini", at),
    event: kind,
    id: `${job ?? "config"}@${iso}`,
    summary: `${job ?? "config"} ${kind}`,
    job,
    started: iso,
    escalation_id: `cron/mini/${job ?? "config"}/${iso}`,
    ...fields,
  };
}

/** The outbox entry of `event`, queued when it was decided, never tried. */
export function entryOf(event: CronEvent, fields: Partial<OutboxEntry> = {}): OutboxEntry {
  return {
    channel: "daemon",
    event: event as unknown as OutboxEntry["event"],
    queued: event.at,
    attempts: 0,
    next: event.at,
    last_error: null,
    ...fields,
  };
}

/** A logger that drops every line. */
export function quietLog(): Logger {
  const nothing = () => {};
  return { info: nothing, warn: nothing, error: nothing, debug: nothing, raw: nothing };
}

/** A logger that keeps every line's event name and fields. */
export function recordingLog(): Logger & { lines: [string, Record<string, unknown>][] } {
  const lines: [string, Record<string, unknown>][] = [];
  const keep = (event: string, fields: Record<string, unknown> = {}) => lines.push([event, fields]);
  return { lines, info: keep, warn: keep, error: keep, debug: keep, raw: () => {} };
}

/**
 * A notification command (`./tell.sh` in the project) that keeps what it was given: the event
 * JSON from stdin at `<base>.json`, TELECLAUDE_CRON_ERROR at `<base>.env`.
 */
export async function recordingCommand(sandbox: Sandbox): Promise<string> {
  const base = join(sandbox.dir, "received");
  await writeFile(
    join(sandbox.project, "tell.sh"),
    `#!/bin/sh\ncat > "${base}.json"\nprintf '%s' "$TELECLAUDE_CRON_ERROR" > "${base}.env"\n`,
    true,
  );
  return base;
}

/** The real tick in this process over `config`, every job forced, with an injected executor. */
export function tickIn(
  sandbox: Sandbox,
  config: Config,
  run: { log: Logger; execute: () => Promise<JobResult>; clock: () => number },
): Promise<RunSummary> {
  return runDueJobs({
    config,
    paths: runnerPaths(sandbox.home),
    force: true,
    only: null,
    timeZone: "UTC",
    computer: () => "mini",
    socketPath: sandbox.socket,
    graceMs: 100,
    stop: new AbortController().signal,
    ...run,
  });
}
