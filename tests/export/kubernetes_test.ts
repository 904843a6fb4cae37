import assert from "node:assert/strict";
import { join } from "node:path";
import { specDocPath } from "../../lib/agents.ts";
import { DEFAULT_FLAGS, parseFlags } from "../../lib/cli/flags.ts";
import { loadConfig } from "../../lib/config/load.ts";
import { parseConfig } from "../../lib/config/parse.ts";
import { ConfigError, UsageError } from "../../lib/errors.ts";
import { exportKubernetes, type KubernetesOptions } from "../../lib/export/kubernetes.ts";
import { jitterOffset } from "../../lib/schedule.ts";
import { cronInstants } from "../helpers/cron.ts";
import {
  configOf,
  cronJobs,
  type Document,
  exported,
  manifestProblems,
  materialize,
  OPTIONS,
  parseManifests,
  thrown,
} from "../helpers/kubernetes.ts";
import { makeSandbox, type Sandbox, writeConfig, writeFile } from "../helpers/sandbox.ts";

/** Every schedule shape the config has, agent and script jobs, and what else a file may hold. */
const EVERY_SHAPE = `
telegram:
  bot_token: SECRET-123   # another component's: must stay home
agents:
  claude:
    binary: /Users/me/.claude/local/claude
    models: { med: sonnet }
jobs:
  every_15m:
    job: quarter
    when: { every: 15m }
  every_2h:
    script: jobs/two_hourly.sh
    when: { every: 2h }
  every_day:
    script: jobs/two_hourly.sh --daily
    when: { every: 1d }
    timeout: 60
  at_times:
    job: briefing
    agent: gemini
    when: { at: ["07:30", "13:00"], weekdays: [mon, tue, wed, thu, fri] }
  at_once:
    job: team/review
    agent: codex
    when: { at: "09:00" }
  hourly_sync:
    script: [jobs/sync.sh]
    schedule: hourly
    timeout: 300
  daily_default:
    script: jobs/sync.sh
  daily_report:
    job: report
    thinking_mode: med
    schedule: daily
    preferred_hour: 7
  weekly_review:
    job: report
    schedule: weekly
    preferred_weekday: 4
    preferred_hour: 18
  monthly_bill:
    script: python3 jobs/bill.py
    schedule: monthly
    preferred_day: 28
    preferred_hour: 5
    computer: [studio, laptop]
`;

const SPECS = ["quarter", "briefing", "team/review", "report"];

async function everyShape(sandbox: Sandbox): Promise<void> {
  await writeConfig(sandbox, EVERY_SHAPE, SPECS);
  for (const script of ["two_hourly.sh", "sync.sh", "reindex.sh"]) {
    await writeFile(join(sandbox.project, "jobs", script), "#!/bin/sh\necho ok\n", true);
  }
  await writeFile(join(sandbox.project, "jobs/bill.py"), "print('billed')\n");
}

Deno.test("a config of every schedule shape exports to manifests a cluster would take", async () => {
  await using sandbox = await makeSandbox();
  await everyShape(sandbox);
  const { documents } = await exported(sandbox);
  for (const document of documents) {
    assert.deepEqual(manifestProblems(document), [], JSON.stringify(document.metadata));
  }
  assert.deepEqual(documents.map((document) => document.kind).slice(0, 2), [
    "ConfigMap",
    "CronJob",
  ]);
  const schedules = [...cronJobs(documents)].map(([name, cronJob]) =>
    `${name}: ${cronJob.spec.schedule} ${cronJob.spec.timeZone}${
      cronJob.spec.suspend ? " suspended" : ""
    }`
  );
  assert.deepEqual(schedules, [
    "every-15m: */15 * * * * Etc/UTC",
    "every-2h: 0 */2 * * * Etc/UTC",
    "every-day: 0 0 * * * Etc/UTC",
    "at-times-0730: 30 7 * * 1-5 Europe/Amsterdam",
    "at-times-1300: 0 13 * * 1-5 Europe/Amsterdam",
    "at-once: 0 9 * * * Europe/Amsterdam",
    "hourly-sync: 0 * * * * Etc/UTC",
    "daily-default: 0 6 * * * Europe/Amsterdam",
    "daily-report: 0 7 * * * Europe/Amsterdam",
    "weekly-review: 0 18 * * 5 Europe/Amsterdam",
    "monthly-bill: 0 5 28 * * Europe/Amsterdam",
    "reindex: 0 0 1 1 * Europe/Amsterdam suspended",
  ]);
  // Every key a volume names is in the ConfigMap.
  const configMap = documents[0]!;
  const keys = new Set([
    ...Object.keys(configMap.data),
    ...Object.keys(configMap.binaryData ?? {}),
  ]);
  for (const cronJob of cronJobs(documents).values()) {
    const volume = cronJob.spec.jobTemplate.spec.template.spec.volumes[0];
    for (const item of volume.configMap.items) assert.ok(keys.has(item.key), item.key);
    assert.equal(volume.configMap.name, configMap.metadata.name);
  }
});

Deno.test("each CronJob runs the runner for its one job, forced, with the job's timeout and labels", async () => {
  await using sandbox = await makeSandbox();
  await everyShape(sandbox);
  const { documents } = await exported(sandbox);
  const all = cronJobs(documents);
  const bill = all.get("monthly-bill")!;
  assert.equal(bill.spec.concurrencyPolicy, "Forbid");
  assert.equal(bill.spec.successfulJobsHistoryLimit, 3);
  assert.equal(bill.spec.failedJobsHistoryLimit, 3);
  // The longest gap of a day of the month is 31 days, and an hour for a clock change.
  assert.equal(bill.spec.startingDeadlineSeconds, (31 * 24 + 1) * 3600);
  assert.equal(all.get("every-15m")!.spec.startingDeadlineSeconds, 15 * 60);
  assert.equal(all.get("at-times-0730")!.spec.startingDeadlineSeconds, (3 * 24 + 1) * 3600);
  assert.equal(all.get("reindex")!.spec.startingDeadlineSeconds, undefined);
  const job = bill.spec.jobTemplate.spec;
  assert.equal(job.backoffLimit, 0);
  assert.equal(job.activeDeadlineSeconds, 1800 + 300);
  assert.equal(all.get("every-day")!.spec.jobTemplate.spec.activeDeadlineSeconds, 60 + 300);
  const pod = job.template.spec;
  assert.equal(pod.restartPolicy, "Never");
  assert.deepEqual(pod.securityContext, { runAsNonRoot: true });
  const [container] = pod.containers;
  assert.deepEqual(container.args, [
    "--config",
    "/etc/teleclaude/teleclaude.yml",
    "--job=monthly_bill",
    "--force",
  ]);
  assert.equal(container.image, "teleclaude-cron:0.1.0");
  assert.deepEqual(container.env, [{ name: "TZ", value: "Europe/Amsterdam" }]);
  assert.equal(container.envFrom, undefined);
  assert.deepEqual(container.volumeMounts, [
    { name: "config", mountPath: "/etc/teleclaude", readOnly: true },
  ]);
  assert.deepEqual(bill.metadata.labels, {
    "app.kubernetes.io/name": "teleclaude-cron",
    "app.kubernetes.io/part-of": "teleclaude",
    "teleclaude.ai/job": "monthly_bill",
    "teleclaude.ai/type": "script",
  });
  assert.deepEqual(job.template.metadata.labels, bill.metadata.labels);
  assert.deepEqual(bill.metadata.annotations, {
    "teleclaude.ai/job": "monthly_bill",
    "teleclaude.ai/schedule": "monthly day 28 05:00",
    "teleclaude.ai/config": sandbox.config,
    "teleclaude.ai/script": "python3 jobs/bill.py",
    "teleclaude.ai/computers": "studio,laptop",
  });
  assert.equal(all.get("at-times-0730")!.metadata.labels["teleclaude.ai/agent"], "gemini");
});

Deno.test("the ConfigMap's volume lays out a config directory the runner reads as the original", async () => {
  await using sandbox = await makeSandbox();
  await everyShape(sandbox);
  const { documents, config } = await exported(sandbox);
  const cluster = join(sandbox.dir, "cluster");
  await materialize(documents, cluster);
  const { config: there } = await loadConfig(join(cluster, "teleclaude.yml"), null);
  // The same jobs, the discovered script included (jobs/ with mode 0755).
  assert.deepEqual(there.jobs, config.jobs);
  assert.deepEqual(there.agents, { claude: { models: { med: "sonnet" } } });
  for (const job of there.jobs) {
    const needed = job.type === "agent" ? specDocPath(job.spec) : job.command[0]!;
    if (needed === "python3") continue;
    const info = await Deno.stat(join(cluster, needed));
    assert.ok(info.isFile, needed);
    if (job.type === "script") assert.equal(info.mode! & 0o777, 0o755, needed);
  }
  assert.equal((await Deno.stat(join(cluster, "jobs/bill.py"))).mode! & 0o777, 0o644);
});

Deno.test("the ConfigMap holds the runner's part of the config: no other component's keys, no agent binary", async () => {
  await using sandbox = await makeSandbox();
  await everyShape(sandbox);
  const { yaml, documents, notes } = await exported(sandbox);
  assert.ok(!yaml.includes("SECRET-123"), "another component's secret was printed");
  assert.ok(!yaml.includes("/Users/me/.claude"), "a local binary path was printed");
  assert.deepEqual(Object.keys(configOf(documents[0]!)), ["agents", "jobs"]);
  assert.ok(
    notes.includes(
      "agents.claude.binary is left out of the cluster's config: it names a file on this " +
        "machine, and the image has claude on its PATH",
    ),
    notes.join("\n"),
  );
  const original = parseConfig(EVERY_SHAPE, { displayName: "a.yml", file: "/a/a.yml" });
  const shipped = parseConfig(documents[0]!.data["teleclaude.yml"], {
    displayName: "b.yml",
    file: "/b/teleclaude.yml",
  });
  assert.deepEqual(shipped.jobs, original.jobs);
});

Deno.test("the runner's cron: section travels as it is; a metrics file and a budget are noted as lost with their pod", async () => {
  await using sandbox = await makeSandbox();
  await writeConfig(
    sandbox,
    "other: 1\ncron:\n  notify:\n    on: [failure]\njobs:\n  x:\n    job: x\n",
    ["x"],
  );
  const { documents, notes } = await exported(sandbox);
  assert.deepEqual(configOf(documents[0]!), {
    cron: { notify: { on: ["failure"] } },
    jobs: { x: { job: "x" } },
  });
  assert.deepEqual(notes, []);
  await writeConfig(sandbox, "cron:\n  metrics_file: ~/.teleclaude/metrics/cron.prom\njobs: {}\n");
  assert.deepEqual((await exported(sandbox)).notes, [
    "cron.metrics_file is written inside each pod and goes with it: on a cluster, watch the " +
    "CronJobs' Jobs instead",
  ]);
  await writeConfig(sandbox, "cron:\n  budget: { claude: { daily_usd: 3 } }\njobs: {}\n");
  assert.deepEqual((await exported(sandbox)).notes, [
    "cron.budget counts within each pod, which starts with nothing spent: on a cluster it " +
    "holds no job back (cap each run with max_budget_usd or max_turns)",
  ]);
});

Deno.test("--secret puts the named Secret in the environment by name only; without it there is none", async () => {
  await using sandbox = await makeSandbox();
  await everyShape(sandbox);
  const { documents } = await exported(sandbox, { secret: "agent-keys", namespace: "cron" });
  for (const document of documents) {
    assert.equal(document.metadata.namespace, "cron");
    if (document.kind !== "CronJob") continue;
    const [container] = document.spec.jobTemplate.spec.template.spec.containers;
    assert.deepEqual(container.envFrom, [{ secretRef: { name: "agent-keys" } }]);
    assert.deepEqual(manifestProblems(document), []);
  }
  const plain = await exported(sandbox);
  assert.ok(!plain.yaml.includes("envFrom") && !plain.yaml.includes("namespace:"));
});

Deno.test("--namespace, --secret and --image that Kubernetes would refuse are usage errors", async () => {
  await using sandbox = await makeSandbox();
  await everyShape(sandbox);
  const { config } = await loadConfig(sandbox.config, null);
  const refuse = (options: Partial<KubernetesOptions>, message: RegExp) =>
    assert.match(
      thrown(UsageError, () => exportKubernetes(config, { ...OPTIONS, ...options })).message,
      message,
    );
  refuse({ namespace: "Cron_Jobs" }, /^--namespace "Cron_Jobs" is not a namespace name/);
  refuse({ namespace: "x".repeat(64) }, /^--namespace/);
  refuse({ secret: "keys!" }, /^--secret "keys!" is not a Secret name/);
  refuse({ image: "my image" }, /^--image "my image" is not an image reference/);
  refuse({ image: "" }, /^--image "" is not/);
});

Deno.test("an every that divides neither the hour nor the day stops the export at its place", async () => {
  await using sandbox = await makeSandbox();
  await writeConfig(
    sandbox,
    "jobs:\n  ok:\n    script: jobs/a.sh\n  odd:\n    script: jobs/a.sh\n    when:\n      every: 7m\n  long:\n    script: jobs/a.sh\n    when: { every: 90m }\n",
  );
  await writeFile(join(sandbox.project, "jobs/a.sh"), "#!/bin/sh\n", true);
  const { config } = await loadConfig(sandbox.config, null);
  const error = thrown(ConfigError, () => exportKubernetes(config, OPTIONS));
  assert.equal(error.exitCode, 2);
  assert.deepEqual(error.message.split("\n"), [
    `${sandbox.config}:7:14: jobs.odd.when.every: "7m" cannot be exported: a CronJob fires at ` +
    `clock times and has no "since the last run" schedule, so an interval must divide the hour ` +
    `or the day evenly (use 1m–6m, 10m, 12m, 15m, 20m, 30m, 1h–4h, 6h, 8h, 12h or 1d)`,
    `${sandbox.config}:10:20: jobs.long.when.every: "90m" cannot be exported: a CronJob fires ` +
    `at clock times and has no "since the last run" schedule, so an interval must divide the ` +
    `hour or the day evenly (use 1m–6m, 10m, 12m, 15m, 20m, 30m, 1h–4h, 6h, 8h, 12h or 1d)`,
  ]);
  // --job picks one job: another job's schedule does not stand in its way.
  const { documents } = await exported(sandbox, { job: "ok" });
  assert.deepEqual([...cronJobs(documents).keys()], ["ok"]);
});

Deno.test("--job exports that job's CronJobs; the ConfigMap keeps every job's files", async () => {
  await using sandbox = await makeSandbox();
  await everyShape(sandbox);
  const { documents } = await exported(sandbox, { job: "at_times" });
  assert.deepEqual([...cronJobs(documents).keys()], ["at-times-0730", "at-times-1300"]);
  const items = documents[1]!.spec.jobTemplate.spec.template.spec.volumes[0].configMap.items
    .map((item: { path: string }) => item.path);
  assert.deepEqual(items, [
    "teleclaude.yml",
    "docs/project/spec/jobs/briefing.md",
    "docs/project/spec/jobs/quarter.md",
    "docs/project/spec/jobs/report.md",
    "docs/project/spec/jobs/team/review.md",
    "jobs/bill.py",
    "jobs/reindex.sh",
    "jobs/sync.sh",
    "jobs/two_hourly.sh",
  ]);
});

Deno.test("script programs travel from beside the config; outside it they are refused at script:", async () => {
  await using sandbox = await makeSandbox();
  await writeConfig(
    sandbox,
    [
      "jobs:",
      "  absolute:\n    script: /usr/local/bin/backup",
      "  above:\n    script: ../tools/backup.sh",
      "  missing:\n    script: jobs/nothing.sh",
      "  spec_missing:\n    job: nowhere",
      "  from_path:\n    script: [rsync, -a, data/, /backup/]",
      "",
    ].join("\n"),
  );
  const { config } = await loadConfig(sandbox.config, null);
  const error = thrown(ConfigError, () => exportKubernetes(config, OPTIONS));
  const travels = ": only the config's directory travels to the cluster (in the ConfigMap), so " +
    "put the program beside the config and name it relative to it, or install it in the image " +
    "and name it without a path";
  assert.deepEqual(error.message.split("\n"), [
    `${sandbox.config}:3:13: jobs.absolute.script: "/usr/local/bin/backup" is a path on this machine${travels}`,
    `${sandbox.config}:5:13: jobs.above.script: "../tools/backup.sh" is outside the config's directory${travels}`,
    `${sandbox.config}:7:13: jobs.missing.script: "jobs/nothing.sh" does not exist beside the config`,
    `${sandbox.config}:9:10: jobs.spec_missing.job: its spec doc docs/project/spec/jobs/nowhere.md ` +
    `does not exist: the job cannot run without it (write the doc, or name the right one)`,
  ]);
  const { notes } = await exported(sandbox, { job: "from_path" });
  assert.deepEqual(notes, [
    "jobs.from_path: rsync is not beside the config: it must be on the image's PATH",
  ]);
});

Deno.test("a_b beside a-b are two CronJobs; a name another job's part takes is refused at its key", async () => {
  await using sandbox = await makeSandbox();
  await writeConfig(sandbox, "jobs:\n  a_b:\n    job: x\n  a-b:\n    job: x\n", ["x"]);
  const names = [...cronJobs((await exported(sandbox)).documents).keys()];
  assert.equal(names[1], "a-b");
  assert.match(names[0]!, /^a-b-[0-9a-f]{8}$/);
  await writeConfig(
    sandbox,
    'jobs:\n  a:\n    job: x\n    when: { at: ["07:30", "08:00"] }\n  a-0730:\n    job: x\n',
    ["x"],
  );
  const { config } = await loadConfig(sandbox.config, null);
  assert.equal(
    thrown(ConfigError, () => exportKubernetes(config, OPTIONS)).message,
    `${sandbox.config}:5:3: jobs.a-0730: its CronJob would be named "a-0730", as one of job a's: ` +
      "rename one of the two",
  );
  // Exported alone it would still be overwritten by the other's next export.
  assert.match(
    thrown(ConfigError, () => exportKubernetes(config, { ...OPTIONS, job: "a-0730" })).message,
    /jobs\.a-0730: its CronJob would be named "a-0730"/,
  );
});

Deno.test("the CronJobs' zone is the runner's: TZ's name or the system's; a POSIX rule or no name is refused", async () => {
  await using sandbox = await makeSandbox();
  await writeConfig(sandbox, "jobs:\n  x:\n    job: x\n", ["x"]);
  const { config } = await loadConfig(sandbox.config, null);
  const zoneOf = (options: Partial<KubernetesOptions>) =>
    (parseManifests(exportKubernetes(config, { ...OPTIONS, ...options }).yaml) as Document[])[1]!
      .spec.timeZone;
  assert.equal(zoneOf({ tz: ":America/New_York" }), "America/New_York");
  assert.equal(zoneOf({ tz: undefined, systemZone: "Asia/Tokyo" }), "Asia/Tokyo");
  // A TZ that is no zone at all: the runner falls back to a named zone, and so does the export.
  assert.equal(zoneOf({ zone: { zone: "Europe/Berlin", note: "…" }, tz: "Mars" }), "Europe/Berlin");
  const refused = (options: Partial<KubernetesOptions>) =>
    thrown(ConfigError, () => exportKubernetes(config, { ...OPTIONS, ...options })).message;
  assert.equal(
    refused({
      zone: { zone: "posix:CET-1CEST,M3.5.0,M10.5.0/3", note: null },
      tz: "CET-1CEST,M3.5.0,M10.5.0/3",
    }),
    "TZ=CET-1CEST,M3.5.0,M10.5.0/3 is a POSIX rule, not a zone name, and a CronJob's " +
      "spec.timeZone takes only an IANA name: run the export with TZ set to the zone's IANA " +
      "name (e.g. TZ=Europe/Amsterdam)",
  );
  assert.match(
    refused({ tz: undefined, systemZone: null }),
    /^this machine's time zone has no name/,
  );
  assert.match(refused({ tz: "posix/Europe/Amsterdam" }), /is not an IANA name Kubernetes knows/);
});

Deno.test("the export notes clock changes that part Kubernetes from the runner; a daily at 03:00 is daily on both", async () => {
  await using sandbox = await makeSandbox();
  await writeConfig(
    sandbox,
    'jobs:\n  night:\n    job: x\n    when: { at: "02:30" }\n  early:\n    job: x\n    schedule: daily\n    preferred_hour: 3\n',
    ["x"],
  );
  const { notes } = await exported(sandbox);
  assert.deepEqual(notes, [
    "jobs.night: 02:30 occurs twice in Europe/Amsterdam on 2026-10-25 (the clocks go back): " +
    "Kubernetes runs the job twice, where the runner here runs it once",
    "jobs.night: 02:30 does not occur in Europe/Amsterdam on 2027-03-28 (the clocks skip it): " +
    "Kubernetes skips that run, where the runner here runs it late",
  ]);
});

/** Script jobs at these local times, from a program on the image's PATH. */
function atTimes(times: string[]): string {
  return "jobs:\n" +
    times.map((time) =>
      `  at_${time.replace(":", "")}:\n    script: date\n    when: { at: "${time}" }\n`
    ).join("");
}

const IN_2027 = { now: Date.UTC(2027, 0, 1) };

Deno.test("in Australia/Lord_Howe the export notes each firing robfig/cron steps over or adds after the 30-minute changes", async () => {
  await using sandbox = await makeSandbox();
  await writeConfig(sandbox, atTimes(["00:00", "01:30", "03:15", "03:45"]));
  const { notes } = await exported(sandbox, { ...IN_2027, tz: "Australia/Lord_Howe" });
  const library = "after the clocks change, the cron library the controller uses (robfig/cron v3)";
  const skips = (job: string, time: string, date: string) =>
    `jobs.${job}: Kubernetes skips the run at ${time} on ${date} in Australia/Lord_Howe, where ` +
    `the runner here runs it: ${library} steps over it`;
  assert.deepEqual(notes.filter((note) => !note.endsWith("on the image's PATH")), [
    skips("at_0000", "00:00", "2027-04-05"),
    skips("at_0000", "00:00", "2027-10-04"),
    "jobs.at_0130: 01:30 occurs twice in Australia/Lord_Howe on 2027-04-04 (the clocks go " +
    "back): Kubernetes runs the job twice, where the runner here runs it once",
    "jobs.at_0130: Kubernetes also runs the job at 02:30 on 2027-10-03 in Australia/Lord_Howe, " +
    `a time it is not set for, where the runner here does not: ${library} stops there`,
    skips("at_0315", "03:15", "2027-04-04"),
    skips("at_0315", "03:15", "2027-10-03"),
  ]);
});

Deno.test("startingDeadlineSeconds is the longest gap and the zone's largest clock change: 2 h in Antarctica/Troll, none in Asia/Tokyo", async () => {
  await using sandbox = await makeSandbox();
  await writeConfig(sandbox, atTimes(["03:00"]));
  const deadline = async (tz: string) =>
    cronJobs((await exported(sandbox, { ...IN_2027, tz })).documents).get("at-0300")!.spec
      .startingDeadlineSeconds;
  assert.equal(await deadline("Antarctica/Troll"), (24 + 2) * 3600);
  assert.equal(await deadline("Australia/Lord_Howe"), (24 + 0.5) * 3600);
  assert.equal(await deadline("Europe/Amsterdam"), (24 + 1) * 3600);
  assert.equal(await deadline("Asia/Tokyo"), 24 * 3600);
});

Deno.test("a time at which robfig/cron would stop the CronJob for good (Pacific/Chatham, 03:45) is refused at its place", async () => {
  await using sandbox = await makeSandbox();
  await writeConfig(sandbox, atTimes(["03:30", "03:45"]));
  const { config } = await loadConfig(sandbox.config, null);
  const error = thrown(
    ConfigError,
    () => exportKubernetes(config, { ...OPTIONS, ...IN_2027, tz: "Pacific/Chatham" }),
  );
  assert.equal(error.exitCode, 2);
  assert.equal(
    error.message,
    `${sandbox.config}:7:17: jobs.at_0345.when.at: the CronJob would stop for good at 02:45 on ` +
      "2027-04-04 in Pacific/Chatham: after the clocks go back, the cron library the controller " +
      "uses (robfig/cron v3) gives that time as the next one after itself, and the controller " +
      "refuses such a schedule until it is changed; choose another time of day",
  );
});

Deno.test("a file that is not text travels as binaryData; a ConfigMap past 1 MiB is refused", async () => {
  await using sandbox = await makeSandbox();
  await writeConfig(sandbox, "jobs:\n  tool:\n    script: bin/tool\n");
  const bytes = Uint8Array.from([0x7f, 0x45, 0x4c, 0x46, 0xff, 0x00]);
  await Deno.mkdir(join(sandbox.project, "bin"));
  await Deno.writeFile(join(sandbox.project, "bin/tool"), bytes, { mode: 0o755 });
  const { documents } = await exported(sandbox);
  assert.deepEqual(documents[0]!.binaryData, { tool: btoa(String.fromCharCode(...bytes)) });
  assert.deepEqual(manifestProblems(documents[0]!), []);
  await Deno.writeFile(join(sandbox.project, "bin/tool"), new Uint8Array(800 * 1024));
  const { config } = await loadConfig(sandbox.config, null);
  assert.match(
    thrown(ConfigError, () => exportKubernetes(config, OPTIONS)).message,
    /^.*:3:13: jobs\.tool\.script: "bin\/tool" \(800 KiB\), with the config, makes the ConfigMap 4\.7 MiB as Kubernetes stores it, and a ConfigMap holds at most 1 MiB/,
  );
});

Deno.test("a discovered script is a suspended CronJob, with a note on how to start it", async () => {
  await using sandbox = await makeSandbox();
  await writeConfig(sandbox, "jobs: {}\n");
  await writeFile(join(sandbox.project, "jobs/_hidden.sh"), "#!/bin/sh\n", true);
  await writeFile(join(sandbox.project, "jobs/re_index.sh"), "#!/bin/sh\n", true);
  const { documents, notes } = await exported(sandbox);
  const [[name, cronJob]] = [...cronJobs(documents)] as [[string, Document]];
  assert.equal(name, "re-index");
  assert.equal(cronJob.spec.suspend, true);
  assert.equal(cronJob.metadata.annotations["teleclaude.ai/schedule"], "unscheduled");
  assert.deepEqual(notes, [
    "jobs.re_index has no schedule (found in jobs/): its CronJob re-index is suspended; start " +
    "a run with kubectl create job --from=cronjob/re-index re-index-by-hand",
  ]);
});

Deno.test("a CronJob's args name its job as --job=NAME, which parses back to that job whatever its name", async () => {
  await using sandbox = await makeSandbox();
  await writeConfig(
    sandbox,
    "jobs:\n  -x:\n    job: x\n  --:\n    job: x\n  plain:\n    job: x\n",
    ["x"],
  );
  const { documents } = await exported(sandbox);
  const parsed = await Promise.all(
    [...cronJobs(documents).values()].map((cronJob) =>
      parseFlags(cronJob.spec.jobTemplate.spec.template.spec.containers[0].args)
    ),
  );
  assert.deepEqual(
    parsed,
    ["-x", "--", "plain"].map((job) => ({
      ...DEFAULT_FLAGS,
      config: "/etc/teleclaude/teleclaude.yml",
      job,
      force: true,
    })),
  );
});

Deno.test("a paused job is a suspended CronJob on its schedule; a jittered one fires at the job name's offset", async () => {
  await using sandbox = await makeSandbox();
  await writeConfig(
    sandbox,
    `cron:
  jitter: 30m
jobs:
  held: { script: jobs/a.sh, when: { at: "04:00" }, enabled: false, jitter: 0 }
  spread: { script: jobs/a.sh, when: { at: "03:00" } }
  poll: { script: jobs/a.sh, when: { every: 15m }, jitter: 10m }
`,
  );
  await writeFile(join(sandbox.project, "jobs/a.sh"), "#!/bin/sh\n", true);
  const { documents, notes } = await exported(sandbox);
  for (const document of documents) assert.deepEqual(manifestProblems(document), []);
  const all = cronJobs(documents);
  const held = all.get("held")!;
  assert.deepEqual([held.spec.schedule, held.spec.suspend], ["0 4 * * *", true]);
  assert.ok(
    notes.some((note) =>
      note.startsWith("jobs.held is paused (enabled: false): its CronJob held is suspended")
    ),
  );
  // The cluster is one more computer: its offset is the job name's own, the same every export.
  const spread = jitterOffset("spread", "", 30)!;
  assert.equal(all.get("spread")!.spec.schedule, `${spread} 3 * * *`);
  assert.equal(all.get("spread")!.spec.suspend, undefined);
  assert.equal(
    all.get("spread")!.metadata.annotations["teleclaude.ai/schedule"],
    `at 03:00 +${spread}m (jitter 30m)`,
  );
  const poll = jitterOffset("poll", "", 10)!;
  const firings = cronInstants(
    all.get("poll")!.spec.schedule,
    "Etc/UTC",
    OPTIONS.now,
    OPTIONS.now + 3600_000,
  );
  assert.deepEqual(
    firings.map((instant) => new Date(instant).getUTCMinutes()),
    [poll, poll + 15, poll + 30, poll + 45],
  );
  assert.equal(all.get("poll")!.spec.timeZone, "Etc/UTC");
});
