/**
 * `--export kubernetes`: the config as Kubernetes manifests, printed and never applied. A v1
 * ConfigMap holds the config and the files its jobs need; a batch/v1 CronJob per job runs this
 * runner for that one job (`--job NAME --force`) in the image the Dockerfile builds, so outcomes,
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
import { clusterConfig, jobFiles } from "./bundle.ts";
import { clockChangeFirings } from "./clock_changes.ts";
import { clusterOffset, type CronSchedule, jobCronSchedules } from "./cron_expression.ts";
import { cronJobBases, cronJobName } from "./names.ts";
import {
  checkOptions,
  clusterTimeZone,
  type Context,
  cronJobManifest,
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
  const plans = planJobs(config, selected, bases, here);
  const cluster = clusterConfig(root, config.displayName);
  // Every job's files, whichever are exported: applying one job's export must not take the
  // files of the others out of the ConfigMap they share.
  const files = config.jobs.flatMap((job) => jobFiles(job, config.dir).files);
  const { configMap, volume } = volumeFor(cluster.text, files, options.namespace);
  const context: Context = { ...options, timeZone, volume, configFile: config.file };
  const cronJobs = plans.flatMap((plan) => cronJobsOf(plan, context));
  const notes = [...cluster.notes, ...plans.flatMap((plan) => plan.notes)];
  for (const plan of plans) notes.push(...clockChangeNotes(plan, timeZone, options.now));
  const documents = [configMap, ...cronJobs.map(({ manifest }) => manifest)];
  const header = `# teleclaude-cron ${VERSION} --export kubernetes, from ${config.file}: ` +
    `${cronJobs.length} CronJob(s) and the ConfigMap they mount. Apply with kubectl apply -f -\n`;
  const yaml = header + documents.map((document) => `---\n${toYaml(document)}`).join("");
  return { yaml, notes };
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

/** Each job's schedules and files, or every problem found, located, in one `ConfigError`. */
function planJobs(
  config: Config,
  jobs: Job[],
  bases: Map<string, string>,
  here: Locator,
): JobPlan[] {
  const problems: Problem[] = [];
  const plans: JobPlan[] = [];
  for (const job of jobs) {
    const place = (field: string, message: string): Problem =>
      job.type === "script" && job.discovered
        ? { file: join(config.dir, job.command[0]!), message }
        : here.problem(["jobs", job.name, ...field.split(".")], message);
    const mapping = jobCronSchedules(job);
    const files = jobFiles(job, config.dir);
    problems.push(...files.problems.map(({ field, message }) => place(field, message)));
    if (mapping.kind === "unmappable") {
      problems.push(place(mapping.field, mapping.reason));
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

/** Where the job's times fall in a clock change of its zone within the coming year. */
function clockChangeNotes(plan: JobPlan, timeZone: string, now: number): string[] {
  const notes: string[] = [];
  for (const schedule of plan.schedules ?? []) {
    if (schedule.utc) continue;
    for (const firing of clockChangeFirings(schedule.fields, timeZone, now)) {
      notes.push(
        firing.change === "skipped"
          ? `jobs.${plan.job.name}: ${firing.time} does not occur in ${timeZone} on ` +
            `${firing.date} (the clocks skip it): Kubernetes skips that run, where the runner ` +
            `here runs it late`
          : `jobs.${plan.job.name}: ${firing.time} occurs twice in ${timeZone} on ` +
            `${firing.date} (the clocks go back): Kubernetes runs the job twice, where the ` +
            `runner here runs it once`,
      );
    }
  }
  return notes;
}
