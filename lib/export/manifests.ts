/**
 * The Kubernetes objects of the export: a CronJob for one of a job's cron schedules, the ConfigMap
 * and the volume that place the config's files beside it in the container, the zone they run in,
 * and the checks of the names a person passes. Pure.
 */

import { type Job, jobOption } from "../config/job.ts";
import { ConfigError, UsageError } from "../errors.ts";
import { LOCAL_TIME_ZONE, type RunnerZone } from "../time_zone.ts";
import { VERSION } from "../version.ts";
import type { BundledFile } from "./bundle.ts";
import { cronExpression, type CronSchedule, longestGapMinutes } from "./cron_expression.ts";
import {
  CONFIG_KEY,
  configMapKeys,
  cronJobName,
  isDnsLabel,
  isDnsSubdomain,
  jobLabel,
} from "./names.ts";

/** What the command line asks of the export, and the zone the local runner uses. */
export interface KubernetesOptions {
  /** `--job`: only this job's CronJobs (the ConfigMap still holds every job's files). */
  job: string | null;
  namespace: string | null;
  image: string | null;
  /** A Secret whose keys become the container's environment; only its name is ever used. */
  secret: string | null;
  /** `runnerTimeZone()`, and the `TZ` and system zone name it came from. */
  zone: RunnerZone;
  tz: string | undefined;
  systemZone: string | null;
  /** Now, for the clock changes of the coming year. */
  now: number;
}

/** A Kubernetes object, as printed. */
export interface Manifest {
  apiVersion: string;
  kind: string;
  metadata: {
    name: string;
    namespace?: string;
    labels: Record<string, string>;
    annotations?: Record<string, string>;
  };
  [field: string]: unknown;
}

/** What every CronJob of one export shares. */
export interface Context extends KubernetesOptions {
  /** The IANA name of the local runner's zone. */
  timeZone: string;
  /** The largest change of that zone's clocks in the coming year, in minutes (0: none). */
  clockChangeMinutes: number;
  volume: Record<string, unknown>;
  /** The config the manifests came from (an annotation). */
  configFile: string;
}

/** The image the export names unless `--image` says otherwise: what the README's build tags. */
export const DEFAULT_IMAGE = `teleclaude-cron:${VERSION}`;
/** Where the ConfigMap is mounted: the config's directory in the container. */
export const CONFIG_DIR = "/etc/teleclaude";
export const CONFIG_MAP_NAME = "teleclaude-cron";
/**
 * `activeDeadlineSeconds` is the job's `timeout` plus this. The runner stops the job at its
 * timeout itself (TERM, 10 s, KILL) and records why, so the deadline is only a backstop for a
 * runner that hangs; it counts from the Job's start, and pulling the ~1 GB image onto a cold node
 * can take minutes.
 */
export const DEADLINE_GRACE_SECONDS = 300;
/** Finished Jobs kept per CronJob and outcome: their pods keep their logs for `kubectl logs`. */
export const HISTORY_LIMIT = 3;
/** An unscheduled job's CronJob is suspended; the schedule field must still hold something. */
export const UNSCHEDULED_PLACEHOLDER = "0 0 1 1 *";

const BASE_LABELS: Readonly<Record<string, string>> = {
  "app.kubernetes.io/name": "teleclaude-cron",
  "app.kubernetes.io/part-of": "teleclaude",
};

/** Refuses a `--namespace`, `--secret` or `--image` Kubernetes would refuse. */
export function checkOptions(options: KubernetesOptions): void {
  const { namespace, secret, image } = options;
  if (namespace !== null && !isDnsLabel(namespace)) {
    throw new UsageError(
      `--namespace ${JSON.stringify(namespace)} is not a namespace name (a-z, 0-9 and -, ` +
        `at most 63, beginning and ending with a letter or digit)`,
    );
  }
  if (secret !== null && !isDnsSubdomain(secret)) {
    throw new UsageError(
      `--secret ${JSON.stringify(secret)} is not a Secret name (a-z, 0-9, - and ., at most 253)`,
    );
  }
  if (image !== null && !/^[^\s\p{Cc}]{1,4096}$/u.test(image)) {
    throw new UsageError(
      `--image ${JSON.stringify(image)} is not an image reference ` +
        `(e.g. registry.example.com/teleclaude-cron:${VERSION})`,
    );
  }
}

/**
 * The local runner's zone as the IANA name `spec.timeZone` needs: `TZ` when it names a zone, else
 * the system's. A POSIX `TZ` rule, or a system zone with no readable name, is refused.
 */
export function clusterTimeZone(
  zone: RunnerZone,
  tz: string | undefined,
  systemZone: string | null,
): string {
  const setTz = "run the export with TZ set to the zone's IANA name (e.g. TZ=Europe/Amsterdam)";
  if (zone.zone.startsWith("posix:")) {
    throw new ConfigError({
      message: `TZ=${tz} is a POSIX rule, not a zone name, and a CronJob's spec.timeZone takes ` +
        `only an IANA name: ${setTz}`,
    });
  }
  const name = zone.zone !== LOCAL_TIME_ZONE ? zone.zone : tz ? tz.replace(/^:/, "") : systemZone;
  if (name === null) {
    throw new ConfigError({
      message: `this machine's time zone has no name the runner can read (/etc/localtime is not ` +
        `a link into /usr/share/zoneinfo), and a CronJob's spec.timeZone needs one: ${setTz}`,
    });
  }
  try {
    new Intl.DateTimeFormat("en-US", { timeZone: name });
  } catch (error) {
    if (!(error instanceof RangeError)) throw error;
    throw new ConfigError({
      message: `the time zone "${name}" is not an IANA name Kubernetes knows: ${setTz}`,
    });
  }
  return name;
}

/**
 * The CronJob that runs `job` on one of its schedules (null: an unscheduled job's); suspended
 * for an unscheduled or a paused job.
 */
export function cronJobManifest(
  job: Job,
  base: string,
  schedule: CronSchedule | null,
  annotations: Record<string, string>,
  context: Context,
): Manifest {
  const labels = jobLabels(job, base);
  const gap = schedule === null ? null : longestGapMinutes(schedule.fields);
  const spec: Record<string, unknown> = {
    schedule: schedule === null ? UNSCHEDULED_PLACEHOLDER : cronExpression(schedule.fields),
    timeZone: schedule?.utc ? "Etc/UTC" : context.timeZone,
    // The runner's lock: a job never overlaps itself.
    concurrencyPolicy: "Forbid",
  };
  // Unscheduled, or paused (`enabled: false`): it runs only when a person starts it.
  if (schedule === null || !job.enabled) spec.suspend = true;
  // A missed firing (controller down, the previous run still going) still starts once, until
  // the next firing: the longest gap between firings, and the zone's largest clock change.
  const change = schedule?.utc ? 0 : context.clockChangeMinutes;
  if (gap !== null) spec.startingDeadlineSeconds = (gap + change) * 60;
  spec.successfulJobsHistoryLimit = HISTORY_LIMIT;
  spec.failedJobsHistoryLimit = HISTORY_LIMIT;
  spec.jobTemplate = {
    metadata: { labels },
    spec: {
      // Never retried behind the runner's back: a failed agent run is recorded, as locally.
      backoffLimit: 0,
      activeDeadlineSeconds: job.timeoutSeconds + DEADLINE_GRACE_SECONDS,
      template: { metadata: { labels }, spec: podSpec(job, context) },
    },
  };
  const name = cronJobName(base, schedule?.part ?? null);
  return {
    apiVersion: "batch/v1",
    kind: "CronJob",
    metadata: metadata(name, context.namespace, labels, annotations),
    spec,
  };
}

function podSpec(job: Job, context: Context): Record<string, unknown> {
  const container: Record<string, unknown> = {
    name: "runner",
    image: context.image ?? DEFAULT_IMAGE,
    args: ["--config", `${CONFIG_DIR}/${CONFIG_KEY}`, jobOption(job.name), "--force"],
    // The runner reads times (a usage limit's "resets 3pm") in its own zone, as it does here.
    env: [{ name: "TZ", value: context.timeZone }],
  };
  if (context.secret !== null) container.envFrom = [{ secretRef: { name: context.secret } }];
  container.securityContext = { allowPrivilegeEscalation: false };
  container.volumeMounts = [{ name: "config", mountPath: CONFIG_DIR, readOnly: true }];
  return {
    restartPolicy: "Never",
    // More than the runner's own TERM-to-KILL grace (10 s), so it stops its job and records why.
    terminationGracePeriodSeconds: 30,
    // claude refuses to skip its permission prompts as root; the image's user is 1000.
    securityContext: { runAsNonRoot: true },
    containers: [container],
    volumes: [context.volume],
  };
}

function jobLabels(job: Job, base: string): Record<string, string> {
  return {
    ...BASE_LABELS,
    "teleclaude.ai/job": jobLabel(job.name, base),
    "teleclaude.ai/type": job.type,
    ...(job.type === "agent" ? { "teleclaude.ai/agent": job.agent } : {}),
  };
}

function metadata(
  name: string,
  namespace: string | null,
  labels: Record<string, string>,
  annotations?: Record<string, string>,
): Manifest["metadata"] {
  return {
    name,
    ...(namespace === null ? {} : { namespace }),
    labels,
    ...(annotations === undefined ? {} : { annotations }),
  };
}

/**
 * The ConfigMap holding the config and `files`, and the volume that mounts each where the runner
 * looks for it: spec docs under `docs/project/spec/jobs/`, programs with mode 0755, and the
 * cluster's config also where an argument names the config. Its size is the caller's to check.
 */
export function volumeFor(
  configText: string,
  files: BundledFile[],
  namespace: string | null,
): { configMap: Manifest; volume: Record<string, unknown> } {
  const byPath = new Map<string, BundledFile>();
  for (const file of files) {
    const before = byPath.get(file.path);
    const executable = file.kind === "file" &&
      (file.executable || (before?.kind === "file" && before.executable));
    byPath.set(file.path, file.kind === "file" ? { ...file, executable } : file);
  }
  const sorted = [...byPath.values()].filter((file) => file.path !== CONFIG_KEY)
    .sort((a, b) => a.path < b.path ? -1 : a.path > b.path ? 1 : 0);
  const keys = configMapKeys(sorted.flatMap((file) => file.kind === "file" ? [file.path] : []));
  const data: Record<string, string> = { [CONFIG_KEY]: configText };
  const binaryData: Record<string, string> = {};
  const items: Record<string, unknown>[] = [{ key: CONFIG_KEY, path: CONFIG_KEY }];
  for (const file of sorted) {
    if (file.kind === "config") {
      items.push({ key: CONFIG_KEY, path: file.path });
      continue;
    }
    const key = keys.get(file.path)!;
    const text = utf8(file.bytes);
    if (text === null) binaryData[key] = base64(file.bytes);
    else data[key] = text;
    items.push({ key, path: file.path, ...(file.executable ? { mode: 0o755 } : {}) });
  }
  const configMap: Manifest = {
    apiVersion: "v1",
    kind: "ConfigMap",
    metadata: metadata(CONFIG_MAP_NAME, namespace, { ...BASE_LABELS }),
    data,
    ...(Object.keys(binaryData).length > 0 ? { binaryData } : {}),
  };
  const volume = {
    name: "config",
    configMap: { name: CONFIG_MAP_NAME, defaultMode: 0o644, items },
  };
  return { configMap, volume };
}

/** The bytes an object takes as the API server stores it (its JSON). */
export function encodedBytes(manifest: Manifest): number {
  return new TextEncoder().encode(JSON.stringify(manifest)).length;
}

function utf8(bytes: Uint8Array): string | null {
  try {
    return new TextDecoder("utf-8", { fatal: true, ignoreBOM: true }).decode(bytes);
  } catch {
    return null;
  }
}

function base64(bytes: Uint8Array): string {
  let binary = "";
  for (let at = 0; at < bytes.length; at += 0x8000) {
    binary += String.fromCharCode(...bytes.subarray(at, at + 0x8000));
  }
  return btoa(binary);
}
