/**
 * Where a job's output goes: both streams into its run log, at most `maxLogBytes` of it (the head
 * as it comes, the tail kept and written at the end, a `[… N bytes cut …]` marker between),
 * stdout line by line to an observer (the agent's event reader), the tails for the runner's own
 * log, and the time of the last output for the idle watchdog.
 *
 * Memory stays bounded whatever a job prints, at any speed: each chunk is written (or dropped)
 * before the next is read, so a job that prints faster than the disk takes it is held back by
 * its pipe, not buffered here. A full disk stops the log, never the job.
 */

import { isDiskFull, writeAllSync } from "../store/fs.ts";

/** The runner log's view of a failed job: this much of its last output. */
const TAIL_CHARS = 64 * 1024;
/** The most of a log's tail held in memory, whatever the log's size limit. */
const MAX_LOG_TAIL = 4 * 1024 * 1024;
/** A stdout line longer than this is not an event anyone can use: passed on cut. */
const MAX_LINE_CHARS = 8 * 1024 * 1024;

/** The last `max` characters of a text that arrives in parts, without copying it per part. */
export class TextTail {
  private parts: string[] = [];
  private size = 0;

  constructor(private readonly max: number) {}

  push(text: string): void {
    if (!text) return;
    this.parts.push(text);
    this.size += text.length;
    while (this.parts.length > 1 && this.size - this.parts[0]!.length >= this.max) {
      this.size -= this.parts.shift()!.length;
    }
  }

  toString(): string {
    const text = this.parts.join("");
    this.parts = text ? [text] : [];
    return text.length > this.max ? text.slice(-this.max) : text;
  }
}

/** What the sink needs to know. */
export interface SinkOptions {
  /** The most the run log may hold. */
  maxLogBytes: number;
  /** Each complete stdout line, as it arrives (without its newline). */
  onStdoutLine?: (line: string) => void;
}

/** Copies a job's output into its log and keeps what the runner needs of it. */
export class OutputSink {
  readonly stdoutTail = new TextTail(TAIL_CHARS);
  readonly stderrTail = new TextTail(TAIL_CHARS);
  readonly combinedTail = new TextTail(TAIL_CHARS);
  lastOutputAt = performance.now();
  /** Why the log is incomplete, when it is (a full disk, say); null when it is whole. */
  logProblem: string | null = null;
  private written = 0;
  private cut = 0;
  private readonly head: number;
  private readonly tail: ByteTail;
  private writing: Promise<void> = Promise.resolve();
  private partialLine = "";
  private closed = false;

  constructor(private readonly file: Deno.FsFile, private readonly options: SinkOptions) {
    const tailBytes = Math.min(MAX_LOG_TAIL, Math.floor(options.maxLogBytes / 2));
    this.head = options.maxLogBytes - tailBytes;
    this.tail = new ByteTail(tailBytes);
  }

  /** Copies one stream until it ends (or is cancelled), one chunk at a time. */
  async pump(stream: ReadableStream<Uint8Array>, name: "stdout" | "stderr"): Promise<void> {
    const decoder = new TextDecoder();
    try {
      for await (const chunk of stream) {
        this.lastOutputAt = performance.now();
        // Both streams share the file: each chunk waits for the one before it, and the pump
        // waits for its own, which is what holds a fast job back.
        this.writing = this.writing.then(() => this.store(chunk));
        await this.writing;
        const text = decoder.decode(chunk, { stream: true });
        (name === "stdout" ? this.stdoutTail : this.stderrTail).push(text);
        this.combinedTail.push(text);
        if (name === "stdout") this.lines(text);
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

  private store(chunk: Uint8Array): void {
    const room = Math.max(0, this.head - this.written);
    if (room > 0) this.append(chunk.subarray(0, room));
    if (chunk.length > room) {
      const rest = chunk.subarray(room);
      this.cut += this.tail.push(rest);
    }
  }

  /** Writes to the log unless it has stopped; `note` tries even then (once the job is done). */
  private append(bytes: Uint8Array, note = false): void {
    if (this.closed || (this.logProblem !== null && !note) || bytes.length === 0) return;
    try {
      writeAllSync(this.file, bytes);
      this.written += bytes.length;
    } catch (error) {
      if (!isDiskFull(error)) throw error;
      this.logProblem ??= "the disk filled up: the rest of the output was not kept";
    }
  }

  private lines(text: string): void {
    const observer = this.options.onStdoutLine;
    if (!observer) return;
    for (let start = 0;;) {
      const newline = text.indexOf("\n", start);
      const piece = newline === -1 ? text.slice(start) : text.slice(start, newline);
      // An endless line is cut, not held: the rest of it is dropped up to its newline.
      const room = MAX_LINE_CHARS - this.partialLine.length;
      if (room > 0) this.partialLine += piece.length > room ? piece.slice(0, room) : piece;
      if (newline === -1) return;
      observer(this.partialLine);
      this.partialLine = "";
      start = newline + 1;
    }
  }

  /** Writes the kept tail (after the cut marker), passes on a last unfinished line, closes. */
  async close(): Promise<void> {
    await this.writing;
    if (this.closed) return;
    if (this.partialLine) this.options.onStdoutLine?.(this.partialLine);
    this.partialLine = "";
    if (this.cut > 0) {
      this.append(new TextEncoder().encode(`\n[… ${this.cut} bytes cut …]\n`));
      this.append(this.tail.bytes());
    }
    if (this.logProblem !== null) {
      // There may be room for this line now that the job has stopped writing; if not, the
      // runner's own log says it (logProblem).
      this.append(new TextEncoder().encode(`\n[… ${this.logProblem} …]\n`), true);
    }
    this.closed = true;
    this.file.close();
  }
}

/** The last `max` bytes of a byte stream; `push` returns how many bytes fell out. */
class ByteTail {
  private buffer: Uint8Array | null = null;
  private start = 0;
  private size = 0;

  constructor(private readonly max: number) {}

  push(bytes: Uint8Array): number {
    if (this.max === 0) return bytes.length;
    // Allocated on first use: most jobs never print past the head.
    const buffer = this.buffer ??= new Uint8Array(this.max);
    if (bytes.length >= this.max) {
      const dropped = this.size + bytes.length - this.max;
      buffer.set(bytes.subarray(bytes.length - this.max));
      [this.start, this.size] = [0, this.max];
      return dropped;
    }
    const dropped = Math.max(0, this.size + bytes.length - this.max);
    this.start = (this.start + dropped) % this.max;
    this.size -= dropped;
    const end = (this.start + this.size) % this.max;
    const first = Math.min(bytes.length, this.max - end);
    buffer.set(bytes.subarray(0, first), end);
    buffer.set(bytes.subarray(first), 0);
    this.size += bytes.length;
    return dropped;
  }

  bytes(): Uint8Array {
    const out = new Uint8Array(this.size);
    if (!this.buffer) return out;
    const first = Math.min(this.size, this.max - this.start);
    out.set(this.buffer.subarray(this.start, this.start + first));
    out.set(this.buffer.subarray(0, this.size - first), first);
    return out;
  }
}
