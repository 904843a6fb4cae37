/**
 * Where a job's output goes: both streams copied into its run log, with the tails kept for the
 * verdict and the runner's own log, and the time of the last output for the idle watchdog.
 */

import { writeAll } from "../store/fs.ts";

const TAIL_CHARS = 64 * 1024;

/** Copies both output streams into the log file, keeping the tails and the time of last output. */
export class OutputSink {
  stdoutTail = "";
  combinedTail = "";
  lastOutputAt = performance.now();
  private writing: Promise<void> = Promise.resolve();
  private closed = false;

  constructor(private readonly file: Deno.FsFile) {}

  /** Copies one stream until it ends (or is cancelled). */
  async pump(stream: ReadableStream<Uint8Array>, name: "stdout" | "stderr"): Promise<void> {
    const decoder = new TextDecoder();
    try {
      for await (const chunk of stream) {
        this.lastOutputAt = performance.now();
        // Writes are chained so stdout and stderr chunks never interleave mid-chunk.
        this.writing = this.writing.then(() =>
          this.closed ? undefined : writeAll(this.file, chunk)
        );
        const text = decoder.decode(chunk, { stream: true });
        if (name === "stdout") this.stdoutTail = (this.stdoutTail + text).slice(-TAIL_CHARS);
        this.combinedTail = (this.combinedTail + text).slice(-TAIL_CHARS);
      }
    } catch (error) {
      // A cancelled read (see drain in spawn.ts) ends the copy; anything else is a real failure.
      if (
        !(error instanceof Deno.errors.Interrupted || error instanceof DOMException ||
          error instanceof TypeError)
      ) {
        throw error;
      }
    }
  }

  /** Waits for the pending writes and closes the log file. */
  async close(): Promise<void> {
    await this.writing;
    if (this.closed) return;
    this.closed = true;
    this.file.close();
  }
}
