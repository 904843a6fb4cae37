/**
 * `--export kubernetes`: the config as Kubernetes manifests, printed and never applied. A v1
 * ConfigMap holds the config and the files its jobs need; a batch/v1 CronJob per job runs this
 * runner for that one job (`--job=NAME --force`) in the image the Dockerfile builds, so outcomes,
 * usage-limit detection and logs behave as they do locally. The mapping rules are listed in the
 * README ("Kubernetes"), the reasons for them in docs/project/design/architecture/jobs-runner.md
 * ("Export"). Reads the config's directory; writes nothing and contacts no cluster.
 */

import { stringify } from "yaml";
import { specDocPath } from "../agents.ts";
import type { Config, Job } from "../config/job.ts";
import { describeFsError } from "../config/load.ts";
import type { Locator } from "../config/locator.ts";
import { readYaml } from "../config/yaml.ts";
import { ConfigError, type Problem } from "../errors.ts";
import { join } from "../posix_path.ts";
import { describeSchedule } from "../schedule.ts";
import { VERSION } from "../version.ts";
import {
  checkSize,
  clusterConfig,
  configIdentity,
  type Found,
  type FoundFile,
  jobFiles,
  notifyFiles,
  readBundle,
} from "./bundle.ts";
import {
  type ClockChangeFiring,
  clockChangeFirings,
  largestClockChange,
  zoneOffsets,
} from "./clock_changes.ts";
import { clusterOffset, type CronSchedule, jobCronSchedules } from "./cron_expression.ts";
import { cronJobBases, cronJobName } from "./names.ts";
import type { ZoneOffsets } from "./zone_offsets.ts";
import {
  checkOptions,
  clusterTimeZone,
  type Context,
  cronJobManifest,
  encodedBytes,
  type KubernetesOptions,
  type Manifest,
  volumeFor,
} from "./manifests.ts";

export type { KubernetesOptions } from "./manifests.ts";

/** The manifests as multi-document YAML, and what a person should know about them. */
export interface Exported {
  yaml: string;
  notes: string[];
}

/** One exported job: its CronJob schedules (null: unscheduled) and the notes it raised. */
interface JobPlan {
  job: Job;
  /** The base of its CronJobs' names (`names.ts`). */
  base: string;
  schedules: CronSchedule[] | null;
  notes: string[];
}

/**
 * The manifests for `config`. Throws a located `ConfigError` for a job that cannot be exported
 * (every one is reported), a `UsageError` for a bad `--namespace`, `--image` or `--secret`.
 */
export function exportKubernetes(config: Config, options: KubernetesOptions): Exported {
  checkOptions(options);
  const timeZone = clusterTimeZone(options.zone, options.tz, options.systemZone);
  const { root, here } = readYaml(configText(config), config.displayName);
  const selected = config.jobs.filter((job) => options.job === null || job.name === options.job);
  const parts = new Map(config.jobs.map((job) => [job.name, partsOf(job)]));
  const bases = cronJobBases(
    config.jobs.map((job) => ({ name: job.name, parts: parts.get(job.name)!.length > 1 })),
  );
  checkUniqueNames(config.jobs, selected, parts, bases, here);
  const place = placer(config, here);
  const found = foundFiles(config, place);
  const plans = planJobs(selected, bases, found, place);
  const mounted = configMapFor(config, root, found, place, options);
  const zone = zoneOffsets(timeZone, options.now);
  const clockChangeMinutes = largestClockChange(zone);
  const { volume } = mounted;
  const context: Context = {
    ...options,
    timeZone,
    clockChangeMinutes,
    volume,
    configFile: config.file,
  };
  const cronJobs = plans.flatMap((plan) => cronJobsOf(plan, context));
  const notes = [
    ...mounted.notes,
    ...cronNotes(config, found.get(null)),
    ...plans.flatMap((plan) => plan.notes),
  ];
  notes.push(...clockChangeNotes(plans, zone, options.now, place));
  const documents = [mounted.configMap, ...cronJobs.map(({ manifest }) => manifest)];
  const header = `# teleclaude-cron ${VERSION} --export kubernetes, from ${config.file}: ` +
    `${cronJobs.length} CronJob(s) and the ConfigMap they mount. Apply with kubectl apply -f -\n`;
  const yaml = header + documents.map((document) => `---\n${toYaml(document)}`).join("");
  return { yaml, notes };
}

/**
 * The ConfigMap and the volume that mounts it: the cluster's config and every job's files,
 * whichever jobs are exported (applying one job's export must not take the files of the others
 * out of the ConfigMap they share), within what a ConfigMap holds.
 */
function configMapFor(
  config: Config,
  root: unknown,
  found: Map<string | null, Found>,
  place: Place,
  options: KubernetesOptions,
): { configMap: Manifest; volume: Record<string, unknown>; notes: string[] } {
  const cluster = clusterConfig(root, config.displayName);
  const all = [...found.values()].flatMap((one) => one.files);
  const locate = (file: FoundFile, message: string) => place(file.owner, file.field, message);
  const configBytes = new TextEncoder().encode(cluster.text).length;
  const bundled = readBundle(all, config.dir, configBytes, locate);
  const { configMap, volume } = volumeFor(cluster.text, bundled, options.namespace);
  checkSize(all, encodedBytes(configMap), locate);
  return { configMap, volume, notes: cluster.notes };
}

/** Where a problem is reported: at a job's field, or the notify command's (`owner` null). */
type Place = (owner: string | null, field: string, message: string) => Problem;

function placer(config: Config, here: Locator): Place {
  const jobs = new Map(config.jobs.map((job) => [job.name, job]));
  return (owner, field, message) => {
    if (owner === null) return here.problem(["cron", "notify", field], message);
    const job = jobs.get(owner)!;
    // A job discovered in jobs/ has no entry in the config: its file is its place.
    return job.type === "script" && job.discovered
      ? { file: join(config.dir, job.command[0]!), message }
      : here.problem(["jobs", owner, ...field.split(".")], message);
  };
}

/**
 * The files every job and the notify command need (by job name; null: the notify command),
 * found but not read. The notify command's problems stop the export whichever jobs it prints:
 * every exported runner tells through it.
 */
function foundFiles(config: Config, place: Place): Map<string | null, Found> {
  const identity = configIdentity(config.file);
  const found = new Map<string | null, Found>(
    config.jobs.map((job) => [job.name, jobFiles(job, config.dir, identity)]),
  );
  const command = config.cron.notify.command;
  if (command !== null) {
    const notify = notifyFiles(command, config.dir, identity);
    if (notify.problems.length > 0) {
      throw new ConfigError(
        notify.problems.map(({ field, message }) => place(null, field, message)),
      );
    }
    found.set(null, notify);
  }
  return found;
}

/** What a person should know about the runner's own `cron:` settings on a cluster. */
function cronNotes(config: Config, notify: Found | undefined): string[] {
  const notes = (notify?.notes ?? []).map((note) => `cron.notify.command: ${note}`);
  if (config.cron.metricsFile !== null) {
    notes.push(
      "cron.metrics_file is written inside each pod and goes with it: on a cluster, watch the " +
        "CronJobs' Jobs instead",
    );
  }
  if (Object.keys(config.cron.budget).length > 0) {
    // Each pod starts with an empty state: its tally never reaches a ceiling.
    notes.push(
      "cron.budget counts within each pod, which starts with nothing spent: on a cluster it " +
        "holds no job back (cap each run with max_budget_usd or max_turns)",
    );
  }
  return notes;
}

/** YAML as kubectl reads it: no folded lines, no anchors for objects that repeat. */
function toYaml(document: Manifest): string {
  return stringify(document, { lineWidth: 0, aliasDuplicateObjects: false });
}

function configText(config: Config): string {
  try {
    return Deno.readTextFileSync(config.file);
  } catch (error) {
    throw new ConfigError({
      file: config.displayName,
      message: `cannot be read: ${describeFsError(error)}`,
    });
  }
}

/** Each job's schedules and notes, or every problem found, located, in one `ConfigError`. */
function planJobs(
  jobs: Job[],
  bases: Map<string, string>,
  found: Map<string | null, Found>,
  place: Place,
): JobPlan[] {
  const problems: Problem[] = [];
  const plans: JobPlan[] = [];
  for (const job of jobs) {
    const mapping = jobCronSchedules(job);
    const files = found.get(job.name)!;
    problems.push(...files.problems.map(({ field, message }) => place(job.name, field, message)));
    if (mapping.kind === "unmappable") {
      problems.push(place(job.name, mapping.field, mapping.reason));
      continue;
    }
    const schedules = mapping.kind === "cron" ? mapping.schedules : null;
    const notes = files.notes.map((note) => `jobs.${job.name}: ${note}`);
    const base = bases.get(job.name)!;
    if (!job.enabled && schedules !== null) notes.push(pausedNote(job, base, schedules));
    if (schedules === null) {
      const name = cronJobName(base, null);
      notes.push(
        `jobs.${job.name} has no schedule (found in jobs/): its CronJob ${name} is suspended; ` +
          `start a run with kubectl create job --from=cronjob/${name} ${name}-by-hand`,
      );
    }
    plans.push({ job, base, schedules, notes });
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return plans;
}

/** What a paused job's suspended CronJobs need to run on their schedule. */
function pausedNote(job: Job, base: string, schedules: CronSchedule[]): string {
  const names = schedules.map((schedule) => cronJobName(base, schedule.part)).join(", ");
  return `jobs.${job.name} is paused (enabled: false): its CronJob ${names} is suspended; ` +
    `kubectl patch cronjob NAME -p '{"spec":{"suspend":false}}' resumes it`;
}

/** The CronJobs of one job: one per cron expression, one suspended for an unscheduled job. */
function cronJobsOf(plan: JobPlan, context: Context): { job: Job; manifest: Manifest }[] {
  const { job, base, schedules } = plan;
  const annotations: Record<string, string> = {
    "teleclaude.ai/job": job.name,
    "teleclaude.ai/schedule": describeSchedule(job.schedule) + jitterWords(job),
    "teleclaude.ai/config": context.configFile,
    ...(job.type === "agent"
      ? { "teleclaude.ai/spec": specDocPath(job.spec) }
      : { "teleclaude.ai/script": job.command.join(" ") }),
  };
  // The container runs its job whatever computer it is on (`--force --job`): the pinning is
  // kept in sight, never silently dropped.
  if (job.computers !== null) annotations["teleclaude.ai/computers"] = job.computers.join(",");
  return (schedules ?? [null]).map((schedule) => ({
    job,
    manifest: cronJobManifest(job, base, schedule, annotations, context),
  }));
}

/** The schedule annotation's note of a jitter: the offset the CronJobs run at. */
function jitterWords(job: Job): string {
  const offset = clusterOffset(job);
  return offset === null ? "" : ` +${offset}m (jitter ${job.jitterMinutes}m)`;
}

/** The parts of a job's CronJob names: one per cron expression (null: a single CronJob). */
function partsOf(job: Job): (string | null)[] {
  const mapping = jobCronSchedules(job);
  return mapping.kind === "cron" ? mapping.schedules.map((schedule) => schedule.part) : [null];
}

/**
 * No two CronJobs of the config may share a name, exported now or not (the next export would
 * overwrite one with the other): say which jobs, at the later one's key.
 */
function checkUniqueNames(
  jobs: Job[],
  selected: Job[],
  parts: Map<string, (string | null)[]>,
  bases: Map<string, string>,
  here: Locator,
): void {
  const owners = new Map<string, string>();
  const problems: Problem[] = [];
  for (const job of jobs) {
    for (
      const name of parts.get(job.name)!.map((part) => cronJobName(bases.get(job.name)!, part))
    ) {
      const owner = owners.get(name);
      const concerned = selected.some((one) => one.name === job.name || one.name === owner);
      if (owner !== undefined && owner !== job.name && concerned) {
        problems.push(here.keyProblem(
          ["jobs", job.name],
          `its CronJob would be named "${name}", as one of job ${owner}'s: rename one of the two`,
        ));
      }
      owners.set(name, owner ?? job.name);
    }
  }
  if (problems.length > 0) throw new ConfigError(problems);
}

/**
 * Where the jobs' CronJobs and the runner part ways in the coming year, as notes; a schedule the
 * controller would stop firing for good is a located error.
 */
function clockChangeNotes(
  plans: JobPlan[],
  zone: ZoneOffsets,
  now: number,
  place: Place,
): string[] {
  const notes: string[] = [];
  const problems: Problem[] = [];
  for (const plan of plans) {
    for (const schedule of plan.schedules ?? []) {
      if (schedule.utc) continue;
      for (const firing of clockChangeFirings(schedule.fields, zone, now)) {
        const text = describeFiring(firing, zone.zone);
        if (firing.change !== "stops") notes.push(`jobs.${plan.job.name}: ${text}`);
        else problems.push(place(plan.job.name, hourField(plan.job), text));
      }
    }
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return notes;
}

/** The field that says when a job runs: where a time the controller cannot take is refused. */
function hourField(job: Job): string {
  return job.schedule.kind === "at" ? "when.at" : "preferred_hour";
}

const LIBRARY = "the cron library the controller uses (robfig/cron v3)";

function describeFiring(firing: ClockChangeFiring, zone: string): string {
  const { date, time } = firing;
  switch (firing.change) {
    case "skipped":
      return `${time} does not occur in ${zone} on ${date} (the clocks skip it): Kubernetes ` +
        `skips that run, where the runner here runs it late`;
    case "repeated":
      return `${time} occurs twice in ${zone} on ${date} (the clocks go back): Kubernetes runs ` +
        `the job twice, where the runner here runs it once`;
    case "later":
      return `${time} occurs twice in ${zone} on ${date} (the clocks go back): Kubernetes runs ` +
        `the job the second time, where the runner here runs it the first`;
    case "dropped":
      return `Kubernetes skips the run at ${time} on ${date} in ${zone}, where the runner here ` +
        `runs it: after the clocks change, ${LIBRARY} steps over it`;
    case "extra":
      return `Kubernetes also runs the job at ${time} on ${date} in ${zone}, a time it is not ` +
        `set for, where the runner here does not: after the clocks change, ${LIBRARY} stops there`;
    case "stops":
      return `the CronJob would stop for good at ${time} on ${date} in ${zone}: after the ` +
        `clocks go back, ${LIBRARY} gives that time as the next one after itself, and the ` +
        `controller refuses such a schedule until it is changed; choose another time of day`;
  }
}
