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

/** The most read from a job's pipe at once (the kernel's pipe holds as much). */
const READ_BYTES = 64 * 1024;
/** The runner's view of a job's last output (the verdict, the runner log on failure). */
const TAIL_BYTES = 64 * 1024;
/** The most of a log's tail held in memory, whatever the log's size limit. */
const MAX_LOG_TAIL = 4 * 1024 * 1024;
/** A stdout line longer than this is not an event anyone can use: passed on cut. */
const MAX_LINE_CHARS = 8 * 1024 * 1024;

/** What the sink needs to know. */
export interface SinkOptions {
  /** The most the run log may hold. */
  maxLogBytes: number;
  /**
   * Each complete stdout line, as it arrives (without its newline); true when the line shows
   * progress. With an observer, only progress counts for the idle watchdog.
   */
  onStdoutLine?: (line: string) => boolean;
}

/** Copies a job's output into its log and keeps what the runner needs of it. */
export class OutputSink {
  // Tails are kept as bytes and decoded once, when asked: decoding every chunk of a job that
  // prints gigabytes would make as much garbage as it prints.
  private readonly stdoutBytes = new ByteTail(TAIL_BYTES);
  private readonly stderrBytes = new ByteTail(TAIL_BYTES);
  private readonly combinedBytes = new ByteTail(TAIL_BYTES);
  lastOutputAt = performance.now();
  /** When the observer last saw progress (`lastOutputAt` when there is no observer). */
  lastProgressAt = performance.now();
  /** Why the log is incomplete, when it is (a full disk, say); null when it is whole. */
  logProblem: string | null = null;
  private written = 0;
  private cut = 0;
  private readonly head: number;
  private readonly tail: ByteTail;
  private partialLine = "";
  private readonly readers: ReadableStreamBYOBReader[] = [];
  private closed = false;

  constructor(private readonly file: Deno.FsFile, private readonly options: SinkOptions) {
    const tailBytes = Math.min(MAX_LOG_TAIL, Math.floor(options.maxLogBytes / 2));
    this.head = options.maxLogBytes - tailBytes;
    this.tail = new ByteTail(tailBytes);
  }

  /**
   * Copies one stream until it ends (or is cancelled), one chunk at a time, into one buffer that
   * is read into again and again (a BYOB reader): a fresh buffer per read would leave V8 a
   * gigabyte of garbage to collect behind a job that prints one.
   */
  async pump(stream: ReadableStream<Uint8Array>, name: "stdout" | "stderr"): Promise<void> {
    const lines = name === "stdout" && this.options.onStdoutLine ? new TextDecoder() : null;
    const reader = stream.getReader({ mode: "byob" });
    this.readers.push(reader);
    let buffer = new Uint8Array(READ_BYTES);
    try {
      while (true) {
        const { value: chunk, done } = await reader.read(buffer);
        if (done || !chunk) break;
        this.lastOutputAt = performance.now();
        // Written before the next read: that is what holds back a job that prints faster than
        // the disk takes it. The write is synchronous, so the two streams' chunks never mix.
        this.store(chunk);
        (name === "stdout" ? this.stdoutBytes : this.stderrBytes).push(chunk);
        this.combinedBytes.push(chunk);
        if (lines) this.lines(lines.decode(chunk, { stream: true }));
        buffer = new Uint8Array(chunk.buffer);
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
      if (observer(this.partialLine)) this.lastProgressAt = performance.now();
      this.partialLine = "";
      start = newline + 1;
    }
  }

  /** Stops reading (a process that left the job's group still holds the pipe open). */
  async cancel(): Promise<void> {
    await Promise.allSettled(this.readers.map((reader) => reader.cancel()));
  }

  /** The last part of stdout, of stderr, of both as they came. */
  get stdoutTail(): string {
    return decodeTail(this.stdoutBytes);
  }

  get stderrTail(): string {
    return decodeTail(this.stderrBytes);
  }

  get combinedTail(): string {
    return decodeTail(this.combinedBytes);
  }

  /** Writes the kept tail (after the cut marker), passes on a last unfinished line, closes. */
  close(): void {
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

/** A byte tail as text; a character cut at its start becomes U+FFFD, nothing worse. */
function decodeTail(tail: ByteTail): string {
  return new TextDecoder().decode(tail.bytes());
}
