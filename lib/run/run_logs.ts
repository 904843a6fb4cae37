/**
 * Each run's output: `~/.teleclaude/logs/cron/<job>/<YYMMDD-HHMMSS>.log`, the newest few kept.
 * `--logs` reads them through `listRunLogs` too, so pruning and reading agree on their order.
 */

import { join } from "../posix_path.ts";
import { localTime } from "../schedule.ts";
import { ensurePrivateDir } from "../store/fs.ts";

/** Run logs kept per job. */
export const LOGS_KEPT = 20;

/** A fresh log file path for a run: `<logs>/<job>/<YYMMDD-HHMMSS>.log`, unique. */
export async function newRunLog(
  logsDir: string,
  job: string,
  started: number,
  timeZone: string,
): Promise<string> {
  const dir = join(logsDir, job);
  await ensurePrivateDir(dir);
  const local = localTime(started, timeZone);
  const pad = (value: number) => String(value).padStart(2, "0");
  const stamp = `${pad(local.year % 100)}${pad(local.month)}${pad(local.day)}-${pad(local.hour)}${
    pad(local.minute)
  }${pad(local.second)}`;
  for (let suffix = 1;; suffix++) {
    const path = join(dir, suffix === 1 ? `${stamp}.log` : `${stamp}-${suffix}.log`);
    try {
      const file = await Deno.open(path, { write: true, createNew: true, mode: 0o600 });
      file.close();
      return path;
    } catch (error) {
      if (!(error instanceof Deno.errors.AlreadyExists)) throw error;
    }
  }
}

/**
 * A job's run logs, oldest first. Names are `YYMMDD-HHMMSS.log`, then `-2`, `-3` … for runs that
 * started in the same second (so plain string order would put `-2` before its first run).
 */
export async function listRunLogs(dir: string): Promise<string[]> {
  const names: string[] = [];
  try {
    for await (const entry of Deno.readDir(dir)) {
      if (entry.isFile && entry.name.endsWith(".log")) names.push(entry.name);
    }
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
  const key = (name: string) => {
    const [date = "", time = "", suffix = "1"] = name.slice(0, -".log".length).split("-");
    return [`${date}-${time}`, Number(suffix)] as const;
  };
  return names.sort((a, b) => {
    const [stampA, countA] = key(a);
    const [stampB, countB] = key(b);
    return stampA < stampB ? -1 : stampA > stampB ? 1 : countA - countB;
  });
}

/** Keeps the newest `keep` run logs of a job. */
export async function pruneRunLogs(dir: string, keep: number): Promise<void> {
  const names = await listRunLogs(dir);
  for (const name of names.slice(0, Math.max(0, names.length - keep))) {
    await Deno.remove(join(dir, name));
  }
}
