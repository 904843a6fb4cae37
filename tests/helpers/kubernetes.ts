/**
 * Checks an exported manifest the way a cluster would, offline: the Kubernetes API schema of
 * `batch/v1` CronJob and `v1` ConfigMap (the kubernetes-models package's `validate()`), plus what
 * that schema does not check and the API server does: cron syntax, the time zone, negative
 * numbers, name and label syntax, and fields the API does not have (a strict allow-list whose
 * every key is checked against the models' types by `deno check`). And what the export tests share:
 * its options, an in-process export of a sandbox's config, and the directory a ConfigMap's volume
 * lays out.
 */

import assert from "node:assert/strict";
import { dirname, join } from "node:path";
import { parse, parseAllDocuments } from "yaml";
import type { Config } from "../../lib/config/job.ts";
import { loadConfig } from "../../lib/config/load.ts";
import { exportKubernetes, type KubernetesOptions } from "../../lib/export/kubernetes.ts";
import { LOCAL_TIME_ZONE } from "../../lib/time_zone.ts";
import { ConfigMap, type ConfigMap as ConfigMapModel } from "kubernetes-models/v1/ConfigMap";
import { CronJob, type ICronJob } from "kubernetes-models/batch/v1/CronJob";
import { parseCron } from "./cron.ts";
import type { Sandbox } from "./sandbox.ts";

/** Parses multi-document YAML; throws when a document does not parse. */
export function parseManifests(text: string): Record<string, unknown>[] {
  return parseAllDocuments(text).map((document) => {
    if (document.errors.length > 0) throw new Error(document.errors[0]!.message);
    return document.toJS() as Record<string, unknown>;
  });
}

type Shape =
  | { kind: "leaf" }
  | { kind: "map" }
  | { kind: "list"; of: Shape }
  | { kind: "object"; fields: Record<string, Shape> };

const LEAF: Shape = { kind: "leaf" };
const MAP: Shape = { kind: "map" };
const list = (of: Shape): Shape => ({ kind: "list", of });
/** The fields an object may have; a key its model type lacks fails `deno check`. */
const object = <T>(fields: { [K in keyof Required<T>]?: Shape }): Shape => ({
  kind: "object",
  fields: fields as Record<string, Shape>,
});

type Meta = NonNullable<ICronJob["metadata"]>;
type JobTemplate = ICronJob["spec"]["jobTemplate"];
type JobSpec = NonNullable<JobTemplate["spec"]>;
type PodTemplate = JobSpec["template"];
type PodSpec = NonNullable<PodTemplate["spec"]>;
type Container = PodSpec["containers"][number];
type EnvFrom = NonNullable<Container["envFrom"]>[number];
type Volume = NonNullable<PodSpec["volumes"]>[number];
type ConfigMapSource = NonNullable<Volume["configMap"]>;

const META = object<Meta>({ name: LEAF, namespace: LEAF, labels: MAP, annotations: MAP });
const CONTAINER = object<Container>({
  name: LEAF,
  image: LEAF,
  args: list(LEAF),
  env: list(object<NonNullable<Container["env"]>[number]>({ name: LEAF, value: LEAF })),
  envFrom: list(
    object<EnvFrom>({ secretRef: object<NonNullable<EnvFrom["secretRef"]>>({ name: LEAF }) }),
  ),
  securityContext: object<NonNullable<Container["securityContext"]>>({
    allowPrivilegeEscalation: LEAF,
  }),
  volumeMounts: list(
    object<NonNullable<Container["volumeMounts"]>[number]>({
      name: LEAF,
      mountPath: LEAF,
      readOnly: LEAF,
    }),
  ),
});
const VOLUME = object<Volume>({
  name: LEAF,
  configMap: object<ConfigMapSource>({
    name: LEAF,
    defaultMode: LEAF,
    items: list(
      object<NonNullable<ConfigMapSource["items"]>[number]>({ key: LEAF, path: LEAF, mode: LEAF }),
    ),
  }),
});
const POD_SPEC = object<PodSpec>({
  restartPolicy: LEAF,
  terminationGracePeriodSeconds: LEAF,
  securityContext: object<NonNullable<PodSpec["securityContext"]>>({ runAsNonRoot: LEAF }),
  containers: list(CONTAINER),
  volumes: list(VOLUME),
});
const CRON_JOB = object<ICronJob>({
  apiVersion: LEAF,
  kind: LEAF,
  metadata: META,
  spec: object<ICronJob["spec"]>({
    schedule: LEAF,
    timeZone: LEAF,
    concurrencyPolicy: LEAF,
    startingDeadlineSeconds: LEAF,
    suspend: LEAF,
    successfulJobsHistoryLimit: LEAF,
    failedJobsHistoryLimit: LEAF,
    jobTemplate: object<JobTemplate>({
      metadata: META,
      spec: object<JobSpec>({
        backoffLimit: LEAF,
        activeDeadlineSeconds: LEAF,
        template: object<PodTemplate>({ metadata: META, spec: POD_SPEC }),
      }),
    }),
  }),
});
const CONFIG_MAP = object<ConfigMapModel>({
  apiVersion: LEAF,
  kind: LEAF,
  metadata: META,
  data: MAP,
  binaryData: MAP,
});

/** The paths of fields `shape` does not allow, and of values of the wrong kind. */
function unknownFields(value: unknown, shape: Shape, path: string): string[] {
  const isObject = value !== null && typeof value === "object" && !Array.isArray(value);
  switch (shape.kind) {
    case "leaf":
      return value !== null && typeof value === "object" ? [`${path} is not a scalar`] : [];
    case "map":
      return isObject && Object.values(value).every((entry) => typeof entry === "string")
        ? []
        : [`${path} is not a map of strings`];
    case "list":
      return Array.isArray(value)
        ? value.flatMap((item, index) => unknownFields(item, shape.of, `${path}[${index}]`))
        : [`${path} is not a list`];
    case "object":
      if (!isObject) return [`${path} is not an object`];
      return Object.entries(value).flatMap(([key, entry]) =>
        shape.fields[key] === undefined
          ? [`${path}.${key} is not a field Kubernetes knows`]
          : unknownFields(entry, shape.fields[key], `${path}.${key}`)
      );
  }
}

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const LABEL_NAME = /^([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)$/;
const LABEL_VALUE = /^([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?$/;

function isDnsSubdomain(text: string): boolean {
  return text.length <= 253 && text.split(".").every((label) => DNS_LABEL.test(label));
}

/** A label or annotation key: an optional DNS-subdomain prefix and `/`, then a name of ≤ 63. */
function isQualifiedName(key: string): boolean {
  const [prefix, name] = key.includes("/") ? key.split(/\/(.*)/s) as [string, string] : ["", key];
  return (prefix === "" || isDnsSubdomain(prefix)) && name.length <= 63 && LABEL_NAME.test(name);
}

/** Every number in a manifest: whole and not negative (counts, seconds, modes). */
function negativeOrFractional(value: unknown, path: string): string[] {
  if (typeof value === "number") {
    return Number.isInteger(value) && value >= 0 ? [] : [`${path} is ${value}`];
  }
  if (value === null || typeof value !== "object") return [];
  return Object.entries(value).flatMap(([key, entry]) =>
    negativeOrFractional(entry, `${path}.${key}`)
  );
}

function metadataProblems(meta: Meta, maxName: number): string[] {
  const problems: string[] = [];
  if (!DNS_LABEL.test(meta.name ?? "") || meta.name!.length > maxName) {
    problems.push(`name "${meta.name}" is not a DNS label of at most ${maxName}`);
  }
  for (const [key, value] of Object.entries(meta.labels ?? {})) {
    if (!isQualifiedName(key)) problems.push(`label key "${key}" is not valid`);
    if (value.length > 63 || !LABEL_VALUE.test(value)) {
      problems.push(`label ${key}: "${value}" is not a valid label value`);
    }
  }
  for (const key of Object.keys(meta.annotations ?? {})) {
    if (!isQualifiedName(key)) problems.push(`annotation key "${key}" is not valid`);
  }
  return problems;
}

function timeZoneProblems(timeZone: string | undefined): string[] {
  if (timeZone === undefined) return [];
  try {
    new Intl.DateTimeFormat("en-US", { timeZone });
  } catch {
    return [`timeZone "${timeZone}" is not an IANA zone`];
  }
  // The API server refuses "Local" and anything that is not a zoneinfo name.
  return /^[A-Za-z][A-Za-z0-9_+-]*(\/[A-Za-z0-9_+-]+)*$/.test(timeZone) && timeZone !== "Local"
    ? []
    : [`timeZone "${timeZone}" is not a zoneinfo name`];
}

function podProblems(pod: PodSpec): string[] {
  const problems: string[] = [];
  // The schema reports a field of the wrong kind; these checks look only at well-formed ones.
  const containers = Array.isArray(pod.containers) ? pod.containers : [];
  const volumes = new Set((pod.volumes ?? []).map((volume) => volume.name));
  for (const name of [...volumes, ...containers.map((container) => container.name)]) {
    if (!DNS_LABEL.test(name) || name.length > 63) problems.push(`"${name}" is not a DNS label`);
  }
  for (const mount of containers.flatMap((container) => container.volumeMounts ?? [])) {
    if (!volumes.has(mount.name)) problems.push(`volumeMount "${mount.name}" names no volume`);
  }
  for (const item of (pod.volumes ?? []).flatMap((volume) => volume.configMap?.items ?? [])) {
    if (item.path.startsWith("/") || item.path.split("/").includes("..")) {
      problems.push(`item path "${item.path}" leaves the volume`);
    }
    if ((item.mode ?? 0) > 0o777) problems.push(`item mode ${item.mode} is not a file mode`);
  }
  return problems;
}

function cronJobProblems(document: Record<string, unknown>): string[] {
  const cronJob = document as unknown as ICronJob;
  const problems = metadataProblems(cronJob.metadata ?? {}, 52);
  try {
    parseCron(cronJob.spec.schedule);
  } catch (error) {
    problems.push(`schedule: ${(error as Error).message}`);
  }
  problems.push(...timeZoneProblems(cronJob.spec.timeZone));
  const template = cronJob.spec.jobTemplate;
  problems.push(...metadataProblems({ name: "template", ...template.metadata }, 63));
  problems.push(...podProblems(template.spec!.template.spec!));
  return problems;
}

function configMapProblems(document: Record<string, unknown>): string[] {
  const configMap = document as unknown as ConfigMapModel;
  const problems = metadataProblems(configMap.metadata ?? {}, 253);
  const keys = [...Object.keys(configMap.data ?? {}), ...Object.keys(configMap.binaryData ?? {})];
  for (const key of keys) {
    if (!/^[-._a-zA-Z0-9]{1,253}$/.test(key) || key === "." || key === "..") {
      problems.push(`key "${key}" is not a ConfigMap key`);
    }
  }
  if (new Set(keys).size !== keys.length) problems.push("a key is in data and binaryData both");
  if (JSON.stringify(configMap).length > 1024 * 1024) problems.push("larger than 1 MiB");
  return problems;
}

/**
 * What a cluster would refuse in one exported document, as sentences; empty when it would take
 * it. Only CronJobs and ConfigMaps are expected.
 */
export function manifestProblems(document: Record<string, unknown>): string[] {
  const problems = negativeOrFractional(document, "");
  const validate = (model: { validate(): void }, shape: Shape, specific: string[]) => {
    try {
      model.validate();
    } catch (error) {
      problems.push(`schema: ${(error as Error).message}`);
    }
    problems.push(...unknownFields(document, shape, ""), ...specific);
  };
  if (document.kind === "CronJob" && document.apiVersion === "batch/v1") {
    validate(new CronJob(document as never), CRON_JOB, cronJobProblems(document));
  } else if (document.kind === "ConfigMap" && document.apiVersion === "v1") {
    validate(new ConfigMap(document as never), CONFIG_MAP, configMapProblems(document));
  } else {
    problems.push(`unexpected ${document.apiVersion} ${document.kind}`);
  }
  return problems;
}

/** The config a ConfigMap's `teleclaude.yml` key holds, parsed. */
export function configOf(configMap: Record<string, unknown>): Record<string, unknown> {
  return parse((configMap.data as Record<string, string>)["teleclaude.yml"]!);
}

/** A parsed manifest, read freely: what it holds is checked by `manifestProblems()`. */
// deno-lint-ignore no-explicit-any
export type Document = Record<string, any>;

/** The export's options in the tests: Europe/Amsterdam, from 1 June 2026. */
export const OPTIONS: KubernetesOptions = {
  job: null,
  namespace: null,
  image: null,
  secret: null,
  zone: { zone: LOCAL_TIME_ZONE, note: null },
  tz: "Europe/Amsterdam",
  systemZone: null,
  now: Date.UTC(2026, 5, 1),
};

/** An export in process: its YAML and parsed documents, its notes, the config it came from. */
export interface ExportedConfig {
  yaml: string;
  notes: string[];
  documents: Document[];
  config: Config;
}

/** The export of a sandbox's config, in process. */
export async function exported(
  sandbox: Sandbox,
  options: Partial<KubernetesOptions> = {},
): Promise<ExportedConfig> {
  const { config } = await loadConfig(sandbox.config, null);
  const result = exportKubernetes(config, { ...OPTIONS, ...options });
  return { ...result, documents: parseManifests(result.yaml) as Document[], config };
}

/** The CronJobs of an export by name. */
export function cronJobs(documents: Document[]): Map<string, Document> {
  return new Map(
    documents.filter((document) => document.kind === "CronJob")
      .map((document) => [document.metadata.name, document]),
  );
}

/** The error of kind `kind` that `action` throws; fails when it throws none. */
export function thrown<T extends Error>(
  kind: new (...args: never[]) => T,
  action: () => unknown,
): T {
  try {
    action();
  } catch (error) {
    if (error instanceof kind) return error;
    throw error;
  }
  assert.fail(`expected a ${kind.name}`);
}

/** Writes the ConfigMap's items where its volume would put them, with their modes. */
export async function materialize(documents: Document[], into: string): Promise<void> {
  const configMap = documents[0]!;
  const cronJob = documents[1]!;
  const volume = cronJob.spec.jobTemplate.spec.template.spec.volumes[0].configMap;
  for (const item of volume.items) {
    const path = join(into, item.path);
    await Deno.mkdir(dirname(path), { recursive: true });
    const text = configMap.data[item.key];
    if (text !== undefined) await Deno.writeTextFile(path, text);
    else {
      const binary = atob(configMap.binaryData[item.key]);
      await Deno.writeFile(path, Uint8Array.from(binary, (char) => char.charCodeAt(0)));
    }
    await Deno.chmod(path, item.mode ?? volume.defaultMode);
  }
}
