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
/** A stdout line longer than this is not an event anyone can use: dropped whole. */
const MAX_LINE_BYTES = 8 * 1024 * 1024;

/** What the sink needs to know. */
export interface SinkOptions {
  /** The most the run log may hold. */
  maxLogBytes: number;
  /**
   * Each complete stdout line that may hold a JSON event (its first non-blank character is `{`
   * and its last `}`), as it arrives, without its newline; true when the line shows progress.
   * Other lines are never decoded or parsed: a job printing a gigabyte of anything else costs no
   * strings. With an observer, only progress counts for the idle watchdog.
   */
  onStdoutLine?: (line: string) => boolean;
  /** How much of stdout's end `stdoutTail` keeps (default 64 KiB): a one-shot answer's room. */
  stdoutTailBytes?: number;
}

/** Copies a job's output into its log and keeps what the runner needs of it. */
export class OutputSink {
  // Tails are kept as bytes and decoded once, when asked: decoding every chunk of a job that
  // prints gigabytes would make as much garbage as it prints.
  private readonly stdoutBytes: ByteTail;
  private readonly stderrBytes = new ByteTail(TAIL_BYTES);
  private readonly combinedBytes = new ByteTail(TAIL_BYTES);
  lastOutputAt = performance.now();
  /** When the observer last saw progress (set only when there is one). */
  lastProgressAt = performance.now();
  /** Why the log is incomplete, when it is (a full disk, say); null when it is whole. */
  logProblem: string | null = null;
  private written = 0;
  private cut = 0;
  private readonly head: number;
  private readonly tail: ByteTail;
  private readonly lines: EventLines | null;
  private readonly readers: ReadableStreamBYOBReader[] = [];
  private closed = false;

  constructor(private readonly file: Deno.FsFile, private readonly options: SinkOptions) {
    const tailBytes = Math.min(MAX_LOG_TAIL, Math.floor(options.maxLogBytes / 2));
    this.head = options.maxLogBytes - tailBytes;
    this.tail = new ByteTail(tailBytes);
    this.stdoutBytes = new ByteTail(options.stdoutTailBytes ?? TAIL_BYTES);
    const observer = options.onStdoutLine;
    this.lines = observer
      ? new EventLines((line) => {
        if (observer(line)) this.lastProgressAt = performance.now();
      })
      : null;
  }

  /**
   * Copies one stream until it ends (or is cancelled), one chunk at a time, into one buffer that
   * is read into again and again (a BYOB reader): a fresh buffer per read would leave V8 a
   * gigabyte of garbage to collect behind a job that prints one.
   */
  async pump(stream: ReadableStream<Uint8Array>, name: "stdout" | "stderr"): Promise<void> {
    const lines = name === "stdout" ? this.lines : null;
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
        lines?.push(chunk);
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

  /**
   * The last sign of life the idle watchdog goes by: progress when an observer judges the lines
   * (an agent retrying a dead API prints, and is no less hung), else any output.
   */
  get lastSignAt(): number {
    return this.lines ? this.lastProgressAt : this.lastOutputAt;
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
    this.lines?.end();
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

/**
 * Splits stdout into the lines that may be JSON events, working on bytes: a line whose first
 * non-blank byte is not `{` is skipped as it streams (never held, never decoded), and one that
 * begins like an event is decoded once, when its newline comes, if it also ends like one (`}`).
 * The readers parse each line they get, and a failed `JSON.parse` of garbage is a thrown error:
 * a job printing random bytes would otherwise cost one per 256 lines, and the heap grows with
 * them. A line longer than `MAX_LINE_BYTES` is no event anyone can use: it is dropped, never
 * held whole.
 */
class EventLines {
  private buffer = new Uint8Array(READ_BYTES);
  private length = 0;
  /** Where the line being read stands: no byte but blanks yet, an event line, or skipped. */
  private kind: "blank" | "event" | "skip" = "blank";
  /** The last non-blank byte of the event line so far. */
  private last = 0;
  private readonly decoder = new TextDecoder();

  constructor(private readonly deliver: (line: string) => void) {}

  push(chunk: Uint8Array): void {
    let start = 0;
    while (start < chunk.length) {
      const newline = chunk.indexOf(0x0a, start);
      const end = newline === -1 ? chunk.length : newline;
      this.take(chunk, start, end);
      if (newline === -1) return;
      this.end();
      start = newline + 1;
    }
  }

  /** The line read so far is complete: passed on when it may be an event. */
  end(): void {
    if (this.kind === "event" && this.last === 0x7d) {
      this.deliver(this.decoder.decode(this.buffer.subarray(0, this.length)));
      // One huge event should not pin megabytes for the rest of the run.
      if (this.buffer.length > 16 * READ_BYTES) this.buffer = new Uint8Array(READ_BYTES);
    }
    this.length = 0;
    this.kind = "blank";
    this.last = 0;
  }

  private take(chunk: Uint8Array, start: number, end: number): void {
    if (this.kind === "blank") {
      while (start < end && isBlank(chunk[start]!)) start++;
      if (start === end) return;
      this.kind = chunk[start] === 0x7b ? "event" : "skip";
    }
    if (this.kind === "skip") return;
    if (this.length + (end - start) > MAX_LINE_BYTES) {
      [this.kind, this.length] = ["skip", 0];
      return;
    }
    for (let at = end - 1; at >= start; at--) {
      if (!isBlank(chunk[at]!)) {
        this.last = chunk[at]!;
        break;
      }
    }
    const bytes = chunk.subarray(start, end);
    if (this.length + bytes.length > this.buffer.length) {
      const grown = new Uint8Array(
        Math.min(MAX_LINE_BYTES, Math.max(this.buffer.length * 2, this.length + bytes.length)),
      );
      grown.set(this.buffer.subarray(0, this.length));
      this.buffer = grown;
    }
    this.buffer.set(bytes, this.length);
    this.length += bytes.length;
  }
}

/** Space, tab, carriage return, vertical tab, form feed: what `trim` would take off a line. */
function isBlank(byte: number): boolean {
  return byte === 0x20 || (byte >= 0x09 && byte <= 0x0d);
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
