/**
 * `--export kubernetes` as a person runs it: main.ts as a real process under the production
 * permission flags, with a temp HOME.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { systemZoneName } from "../../lib/time_zone.ts";
import { manifestProblems, parseManifests } from "../helpers/kubernetes.ts";
import { makeSandbox, runCli, type Sandbox, writeConfig, writeFile } from "../helpers/sandbox.ts";

/** A parsed manifest, read freely: what it holds is checked by `manifestProblems()`. */
// deno-lint-ignore no-explicit-any
type Document = Record<string, any>;

const CONFIG = `
jobs:
  nightly_report:
    job: nightly_report
    when: { at: "06:30", weekdays: [mon, fri] }
  inbox_sync:
    script: jobs/inbox_sync.sh
    when: { every: 15m }
  weekly:
    job: nightly_report
    agent: codex
    schedule: weekly
`;

async function project(sandbox: Sandbox): Promise<void> {
  await writeConfig(sandbox, CONFIG, ["nightly_report"]);
  await writeFile(join(sandbox.project, "jobs/inbox_sync.sh"), "#!/bin/sh\necho ok\n", true);
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.lstat(path);
    return true;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return false;
    throw error;
  }
}

Deno.test("--export kubernetes prints manifests a cluster would take, and writes nothing", async () => {
  await using sandbox = await makeSandbox({ tz: "Europe/Amsterdam" });
  await project(sandbox);
  const result = await runCli(sandbox, [
    "--export",
    "kubernetes",
    "--namespace",
    "cron",
    "--secret",
    "agent-keys",
  ]);
  assert.equal(result.code, 0, result.stderr);
  assert.equal(result.stderr, "");
  const documents = parseManifests(result.stdout) as Document[];
  assert.deepEqual(documents.map((document) => document.kind), [
    "ConfigMap",
    "CronJob",
    "CronJob",
    "CronJob",
  ]);
  for (const document of documents) {
    assert.deepEqual(manifestProblems(document), []);
    assert.equal(document.metadata.namespace, "cron");
  }
  assert.deepEqual(
    documents.slice(1).map((cronJob) => [
      cronJob.metadata.name,
      cronJob.spec.schedule,
      cronJob.spec.timeZone,
      cronJob.spec.jobTemplate.spec.template.spec.containers[0].envFrom[0].secretRef.name,
    ]),
    [
      ["nightly-report", "30 6 * * 1,5", "Europe/Amsterdam", "agent-keys"],
      ["inbox-sync", "*/15 * * * *", "Etc/UTC", "agent-keys"],
      ["weekly", "0 6 * * 1", "Europe/Amsterdam", "agent-keys"],
    ],
  );
  // Not even the config cache or a state directory: ~/.teleclaude is never created.
  assert.equal(await exists(join(sandbox.home, ".teleclaude")), false);
});

Deno.test("--export kubernetes --job prints that job's CronJob and says what a person should know", async () => {
  await using sandbox = await makeSandbox({ tz: "Europe/Amsterdam" });
  await writeConfig(
    sandbox,
    'jobs:\n  night:\n    script: [rsync, -a, ./, /backup/]\n    when: { at: "02:15" }\n  other:\n    script: [rsync]\n',
  );
  const result = await runCli(sandbox, ["--export", "kubernetes", "--job", "night"]);
  assert.equal(result.code, 0, result.stderr);
  const documents = parseManifests(result.stdout) as Document[];
  assert.deepEqual(documents.map((document) => document.metadata.name), [
    "teleclaude-cron",
    "night",
  ]);
  const notes = result.stderr.trim().split("\n");
  assert.equal(
    notes[0],
    "note: jobs.night: rsync is not beside the config: it must be on the image's PATH",
  );
  // The clock changes of the coming year, whichever comes first from today.
  const changes = notes.slice(1).sort();
  assert.equal(changes.length, 2, result.stderr);
  assert.match(
    changes[0]!,
    /^note: jobs\.night: 02:15 does not occur in Europe\/Amsterdam on \d{4}-03-/,
  );
  assert.match(
    changes[1]!,
    /^note: jobs\.night: 02:15 occurs twice in Europe\/Amsterdam on \d{4}-10-/,
  );
});

Deno.test("--export kubernetes with an every it cannot map exits 2 with the place, printing nothing", async () => {
  await using sandbox = await makeSandbox();
  await writeConfig(sandbox, "jobs:\n  sync:\n    script: [rsync]\n    when:\n      every: 7m\n");
  const result = await runCli(sandbox, ["--export", "kubernetes"]);
  assert.equal(result.code, 2);
  assert.equal(result.stdout, "");
  assert.equal(
    result.stderr,
    `teleclaude-cron: ${sandbox.config}:5:14: jobs.sync.when.every: "7m" cannot be exported: a ` +
      `CronJob fires at clock times and has no "since the last run" schedule, so an interval ` +
      `must divide the hour or the day evenly (use 1m–6m, 10m, 12m, 15m, 20m, 30m, 1h–4h, 6h, ` +
      `8h, 12h or 1d)\n`,
  );
  assert.equal(await exists(join(sandbox.home, ".teleclaude")), false);
});

Deno.test("--export kubernetes refuses a POSIX TZ, and takes the system's zone name when TZ is unset", async () => {
  await using sandbox = await makeSandbox({ tz: "CET-1CEST,M3.5.0,M10.5.0/3" });
  await writeConfig(sandbox, "jobs:\n  x:\n    script: [rsync]\n");
  const posix = await runCli(sandbox, ["--export", "kubernetes"]);
  assert.equal(posix.code, 2);
  assert.equal(posix.stdout, "");
  assert.match(
    posix.stderr,
    /^teleclaude-cron: TZ=CET-1CEST,M3\.5\.0,M10\.5\.0\/3 is a POSIX rule, not a zone name/,
  );
  const unset = await runCli(sandbox, ["--export", "kubernetes"], { TZ: "" });
  const system = systemZoneName();
  if (system === null) {
    assert.equal(unset.code, 2);
    assert.match(unset.stderr, /this machine's time zone has no name/);
  } else {
    assert.equal(unset.code, 0, unset.stderr);
    const cronJob = (parseManifests(unset.stdout) as Document[])[1]!;
    assert.equal(cronJob.spec.timeZone, system);
  }
});
