/**
 * Each run's output: `~/.teleclaude/logs/cron/<job>/<YYMMDD-HHMMSS>Z-<n>.log`, UTC time and a
 * counter that only grows, so their order is the order of the runs whatever the clock or the
 * zone did meanwhile. The newest `LOGS_KEPT` are kept, within a total size. `--logs` reads them
 * through `listRunLogs` too, so pruning and reading agree on their order. Logs named by earlier
 * versions (local time, no counter) sort before all of these, oldest first.
 */

import { join } from "../posix_path.ts";
import { createNewFile, ensurePrivateDir, pathKind, removeIfFileOrLink } from "../store/fs.ts";

/** Run logs kept per job. */
export const LOGS_KEPT = 20;

const NEW_NAME = /^(\d{6}-\d{6})Z-(\d+)\.log$/;
const OLD_NAME = /^(\d{6}-\d{6})(?:-(\d+))?\.log$/;

/** A fresh, private log file for a run; its path. `root` is `~/.teleclaude`. */
export function newRunLog(logsDir: string, root: string, job: string, started: number): string {
  const dir = join(logsDir, job);
  ensurePrivateDir(dir, root);
  const stamp = new Date(started).toISOString().replace(
    /^\d\d(\d\d)-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d).*$/,
    "$1$2$3-$4$5$6",
  );
  let counter = (listRunLogs(dir).map(runNumber).at(-1) ?? 0) + 1;
  for (;; counter++) {
    const path = join(dir, `${stamp}Z-${counter}.log`);
    try {
      createNewFile(path).close();
      return path;
    } catch (error) {
      if (!(error instanceof Deno.errors.AlreadyExists)) throw error;
    }
  }
}

/** A log's run counter; 0 for the names of earlier versions. */
function runNumber(name: string): number {
  return Number(NEW_NAME.exec(name)?.[2] ?? 0);
}

/** The sort key of a log name: counter first, then the old names' stamp and suffix. */
function order(name: string): [number, string, number] {
  const current = NEW_NAME.exec(name);
  if (current) return [Number(current[2]), current[1]!, 0];
  const old = OLD_NAME.exec(name)!;
  return [0, old[1]!, Number(old[2] ?? 1)];
}

/**
 * A job's run logs, oldest first: only regular files with a run log's name (anything else in
 * the directory, a link above all, is not the runner's and is never read or pruned).
 */
export function listRunLogs(dir: string): string[] {
  if (pathKind(dir) !== "directory") return [];
  const names: string[] = [];
  for (const entry of Deno.readDirSync(dir)) {
    if (entry.isFile && (NEW_NAME.test(entry.name) || OLD_NAME.test(entry.name))) {
      names.push(entry.name);
    }
  }
  return names.sort((a, b) => {
    const [countA, stampA, suffixA] = order(a);
    const [countB, stampB, suffixB] = order(b);
    if (countA !== countB) return countA - countB;
    if (stampA !== stampB) return stampA < stampB ? -1 : 1;
    return suffixA - suffixB;
  });
}

/**
 * Keeps the newest `keep` run logs of a job, and of those only as many of the newest as fit in
 * `maxTotalBytes` (the newest is always kept).
 */
export function pruneRunLogs(dir: string, keep: number, maxTotalBytes: number): void {
  const names = listRunLogs(dir).reverse();
  let total = 0;
  names.forEach((name, index) => {
    const path = join(dir, name);
    total += Deno.lstatSync(path).size;
    if (index >= keep || (index > 0 && total > maxTotalBytes)) removeIfFileOrLink(path);
  });
}
