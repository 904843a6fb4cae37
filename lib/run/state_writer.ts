/**
 * The one writer of the state while jobs run. The runner's lanes share one `CronState` in memory
 * and interleave only where they await; every change goes through `commit`, which applies it and
 * saves the whole state in one synchronous step, so no await ever falls between a change and its
 * save: no lane saves another's change half made, and the file is always a state the runner held
 * whole at some instant. A step that must await before its change (the record step queues its
 * event first) works on a draft and commits the draft (`finish.ts`).
 */

import { StoreError } from "../errors.ts";
import type { Logger } from "../log.ts";
import { isDiskFull, openForAppend, pathKind, storeFailure, writeAllSync } from "../store/fs.ts";
import { type CronState, saveState } from "../store/state.ts";

export class StateWriter {
  private unsaved = false;

  constructor(
    readonly path: string,
    readonly state: CronState,
    private readonly log: Logger,
  ) {}

  /**
   * Applies `change` and saves at once. `logPath` is the run log that may be cut to make room
   * when the disk is full (`saveOrFree`); throws `StoreError` when even then nothing is saved.
   */
  commit(change: (state: CronState) => void, logPath: string | null = null): void {
    change(this.state);
    saveOrFree(this.path, this.state, logPath, this.log);
    this.unsaved = false;
  }

  /** A change that need not be saved on its own: the next commit (or `flush`) carries it. */
  amend(change: (state: CronState) => void): void {
    change(this.state);
    this.unsaved = true;
  }

  /** Saves what `amend` left unsaved, if anything. */
  flush(): void {
    if (this.unsaved) this.commit(() => {});
  }
}

/**
 * Saves the state; when the disk is full, first frees what this run wrote (its log, cut to its
 * first 64 KiB) and tries once more. When even that fails nothing can be recorded, and a job that
 * cannot be recorded would run again every five minutes: the `StoreError` ends the tick (exit 1),
 * and the next tick recovers by itself once there is space.
 */
export function saveOrFree(
  path: string,
  state: CronState,
  logPath: string | null,
  log: Logger,
): void {
  for (let attempt = 1;; attempt++) {
    try {
      saveState(path, state);
      return;
    } catch (error) {
      if (!isDiskFull(error)) throw storeFailure(path, error);
      if (attempt > 1 || logPath === null) {
        throw new StoreError(
          path,
          `cannot be written: the disk is full (${(error as Error).message}); job outcomes ` +
            `cannot be recorded, so no job starts until there is space`,
          1,
        );
      }
      truncateRunLog(logPath, log);
    }
  }
}

/** Frees the disk a run's log took: keeps its first 64 KiB and says where it was cut. */
function truncateRunLog(logPath: string, log: Logger): void {
  const keep = 64 * 1024;
  try {
    if (pathKind(logPath) !== "file" || Deno.lstatSync(logPath).size <= keep) return;
    Deno.truncateSync(logPath, keep);
    log.warn("run_log_truncated", { log: logPath, kept_bytes: keep, reason: "the disk is full" });
    const file = openForAppend(logPath);
    try {
      writeAllSync(file, new TextEncoder().encode("\n[… cut here: the disk was full …]\n"));
    } finally {
      file.close();
    }
  } catch (error) {
    if (error instanceof Deno.errors.NotCapable) throw error;
    // Nothing more to free: the caller's second save says what happened.
  }
}
