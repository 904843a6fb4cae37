/**
 * Kubernetes names for the export: a CronJob name per job (a DNS-1123 label of at most 52
 * characters, as Kubernetes needs room to add a Job's suffix), label values, ConfigMap keys, and
 * the checks for the names a person passes (`--namespace`, `--secret`). Pure.
 */

/** Kubernetes appends 11 characters to a CronJob's name for each Job: 52 + 11 = 63. */
export const MAX_CRONJOB_NAME = 52;

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const LABEL_VALUE = /^([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?$/;
/** Eight hex digits of a hash, and the `-` before them. */
const SUFFIX_LENGTH = 9;

/** A DNS-1123 label (a namespace, a container, a CronJob): `a-z0-9` and inner `-`. */
export function isDnsLabel(text: string, max = 63): boolean {
  return text.length <= max && DNS_LABEL.test(text);
}

/** A DNS-1123 subdomain (a Secret, a ConfigMap): labels joined by dots, at most 253. */
export function isDnsSubdomain(text: string): boolean {
  return text.length <= 253 && text.split(".").every((label) => DNS_LABEL.test(label));
}

/** A valid label value: at most 63 of `A-Za-z0-9-_.`, beginning and ending alphanumeric. */
export function isLabelValue(text: string): boolean {
  return text.length <= 63 && LABEL_VALUE.test(text);
}

/** A part's suffix (`-0730`): room kept for it in the name of a job with several CronJobs. */
export const PART_ROOM = 5;

/**
 * The base of each job's CronJob names, decided over all the config's jobs at once. A job name is
 * kept, with `_` as `-`, when that makes a DNS label short enough (`PART_ROOM` less for a job
 * with parts) and is not another job's name too; any other (`a_b` beside a job `a-b`, a `-` or
 * `_` at either end, too long) is shortened and given a hash of the job name. A name changes only
 * when its job is renamed or a job that reads the same is added; two hashes that happen to clash
 * are refused by the export (`kubernetes.ts`).
 */
export function cronJobBases(jobs: { name: string; parts: boolean }[]): Map<string, string> {
  const readable = (name: string) => name.replaceAll("_", "-");
  const names = new Set(jobs.map((job) => job.name));
  const count = new Map<string, number>();
  for (const name of names) count.set(readable(name), (count.get(readable(name)) ?? 0) + 1);
  const bases = new Map<string, string>();
  for (const { name, parts } of jobs) {
    const max = MAX_CRONJOB_NAME - (parts ? PART_ROOM : 0);
    const wanted = readable(name);
    // A name that needed no change is its own; a changed one keeps its form only if unshared.
    const mine = wanted === name || count.get(wanted) === 1;
    if (mine && isDnsLabel(wanted, max)) {
      bases.set(name, wanted);
      continue;
    }
    const shortened = wanted.replace(/^-+/, "").slice(0, max - SUFFIX_LENGTH).replace(/-+$/, "");
    bases.set(name, shortened === "" ? fnv1a(name) : `${shortened}-${fnv1a(name)}`);
  }
  return bases;
}

/** A CronJob's name: the job's base, and the part when the job has several CronJobs. */
export function cronJobName(base: string, part: string | null): string {
  return part === null ? base : `${base}-${part}`;
}

/** The job's name as a label value: itself when valid, else `base`, its CronJob names' base. */
export function jobLabel(job: string, base: string): string {
  return isLabelValue(job) ? job : base;
}

/** The ConfigMap key that holds the config itself. */
export const CONFIG_KEY = "teleclaude.yml";

const KEY_UNSAFE = /[^\-._a-zA-Z0-9]/g;

/**
 * A ConfigMap key for each file path (keys allow no `/`): the file's name when no other file has
 * it, else the name after a hash of the path. Decided over the whole set, so a key does not depend
 * on the order the files come in.
 */
export function configMapKeys(paths: string[]): Map<string, string> {
  const name = (path: string) =>
    (path.split("/").at(-1) ?? "").replace(KEY_UNSAFE, "_").slice(0, 200);
  const count = new Map<string, number>([[CONFIG_KEY, 1]]);
  for (const path of new Set(paths)) count.set(name(path), (count.get(name(path)) ?? 0) + 1);
  const keys = new Map<string, string>();
  for (const path of paths) {
    const plain = name(path);
    const valid = plain !== "" && plain !== "." && plain !== "..";
    keys.set(
      path,
      valid && count.get(plain) === 1 ? plain : valid ? `${fnv1a(path)}.${plain}` : fnv1a(path),
    );
  }
  return keys;
}

/** FNV-1a, 32 bits, as eight hex digits: short, stable, and plenty to tell job names apart. */
function fnv1a(text: string): string {
  let hash = 0x811c9dc5;
  for (const byte of new TextEncoder().encode(text)) {
    hash = Math.imul(hash ^ byte, 0x01000193) >>> 0;
  }
  return hash.toString(16).padStart(8, "0");
}
