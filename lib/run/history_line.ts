/**
 * A finished run's history line, crash-safe. The record step saves the line in the job's state
 * entry (`history_pending`) in the same atomic write as the run's outcome, then appends it to
 * `cron_history.jsonl`, and the field is dropped at the next save. A runner killed at any instant
 * leaves the line in the state, in the history, or in both; the next tick appends it where it is
 * only in the state (`settle`), so every run has exactly one line and `--list` never shows a run
 * `--history` lacks.
 */

import { StoreError } from "../errors.ts";
import type { Logger } from "../log.ts";
import { storeFailure } from "../store/fs.ts";
import { appendHistory, recentRuns, runKey } from "../store/history.ts";
import { type CronState, type HistoryEntry, jobEntry } from "../store/state.ts";
import type { StateWriter } from "./state_writer.ts";

/**
 * How many of the history's newest entries are looked through for a pending line, at least.
 * Between a line's append and the save that drops its field, only runs already recorded can
 * append theirs (at most one per job): a few per lane, never hundreds.
 */
const RECENT_ENTRIES = 1000;

/** The history lines of one runner, appended one at a time (a rotation never races an append). */
export class HistoryLines {
  private chain: Promise<unknown> = Promise.resolve();

  constructor(private readonly path: string, private readonly log: Logger) {}

  /**
   * Appends the line pending in `job`'s entry, then drops the field (saved at the next commit).
   * A line that cannot be written (a full disk) stays pending, for a later tick to append.
   */
  append(writer: StateWriter, job: string): Promise<void> {
    return this.serially(async () => {
      const line = jobEntry(writer.state, job)?.history_pending;
      if (line === undefined) return;
      if (await this.write(line)) writer.amend((state) => dropPending(state, job, line));
    });
  }

  /**
   * The lines a runner that stopped left pending: each appended unless the history's newest
   * entries hold that run (its job and start) already, then dropped. Returns the jobs whose line
   * was appended.
   */
  settle(writer: StateWriter): Promise<string[]> {
    return this.serially(async () => {
      const pending = Object.entries(writer.state.jobs).flatMap(([job, entry]) =>
        entry.history_pending ? [[job, entry.history_pending] as const] : []
      );
      if (pending.length === 0) return [];
      const window = Math.max(RECENT_ENTRIES, 2 * Object.keys(writer.state.jobs).length);
      const recent = await recentRuns(this.path, window);
      const appended: string[] = [];
      for (const [job, line] of pending) {
        const there = recent.has(runKey(line.job, line.started));
        if (!there && !(await this.write(line))) continue;
        if (!there) appended.push(job);
        this.log.info("history_settled", {
          job,
          started: line.started,
          appended: !there,
          reason: there
            ? "the history holds the run already"
            : "the runner stopped before writing the run's history line",
        });
        writer.amend((state) => dropPending(state, job, line));
      }
      return appended;
    });
  }

  /** Appends one line; a failure of the store is a warning, and false. */
  private async write(line: HistoryEntry): Promise<boolean> {
    try {
      await appendHistory(this.path, line);
      return true;
    } catch (error) {
      const failure = storeFailure(this.path, error);
      if (!(failure instanceof StoreError)) throw failure;
      this.log.warn("history_not_written", { path: this.path, error: failure.message });
      return false;
    }
  }

  private serially<T>(step: () => Promise<T>): Promise<T> {
    const next = this.chain.then(step);
    this.chain = next.catch(() => {});
    return next;
  }
}

/** Drops a job's pending line, if it is still that one (a later run's replaces it). */
function dropPending(state: CronState, job: string, line: HistoryEntry): void {
  const entry = jobEntry(state, job);
  if (entry?.history_pending === line) delete entry.history_pending;
}
