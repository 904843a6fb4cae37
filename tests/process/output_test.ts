import assert from "node:assert/strict";
import { join } from "node:path";
import { OutputSink } from "../../lib/process/output.ts";
import { makeSandbox } from "../helpers/sandbox.ts";

/** A stream that yields `chunks` as they are, so lines and characters can be cut anywhere. */
function streamOf(chunks: Uint8Array[]): ReadableStream<Uint8Array> {
  return new ReadableStream({
    type: "bytes",
    pull(controller) {
      const chunk = chunks.shift();
      if (chunk === undefined) {
        controller.close();
        controller.byobRequest?.respond(0);
        return;
      }
      controller.enqueue(chunk);
    },
  });
}

/** What an observer is given when `chunks` reach stdout, and the log the sink wrote. */
async function linesSeen(chunks: Uint8Array[]): Promise<{ lines: string[]; log: Uint8Array }> {
  await using sandbox = await makeSandbox();
  const logPath = join(sandbox.dir, "run.log");
  const lines: string[] = [];
  const sink = new OutputSink(await Deno.open(logPath, { write: true, create: true }), {
    maxLogBytes: 64 * 1024 * 1024,
    onStdoutLine: (line) => (lines.push(line), false),
  });
  await sink.pump(streamOf(chunks), "stdout");
  sink.close();
  return { lines, log: await Deno.readFile(logPath) };
}

const bytes = (text: string) => new TextEncoder().encode(text);

Deno.test("OutputSink passes on each event line whole, however the chunks cut it", async () => {
  const text = '{"type":"a","text":"héllo → wörld"}\n{"type":"b"}\r\n  {"type":"c"}\n';
  const all = bytes(text);
  // Cut at every byte: inside a multibyte character, at the newline, at the carriage return.
  for (let cut = 1; cut < all.length; cut++) {
    const { lines, log } = await linesSeen([all.slice(0, cut), all.slice(cut)]);
    assert.deepEqual(
      lines.map((line) => line.trim()),
      ['{"type":"a","text":"héllo → wörld"}', '{"type":"b"}', '{"type":"c"}'],
      `cut at byte ${cut}`,
    );
    assert.deepEqual(log, all, "the log holds every byte as it came");
  }
});

Deno.test("OutputSink never gives an observer a line that cannot be a JSON event", async () => {
  const { lines, log } = await linesSeen([
    bytes("plain text\n{not closed\n  \n[1,2]\n{} trailing\n"),
    bytes('{"type":"kept"}\nno newline at the end, not an event'),
  ]);
  assert.deepEqual(lines, ['{"type":"kept"}']);
  assert.equal(new TextDecoder().decode(log).split("\n").length, 7, "the log still has it all");
});

Deno.test("OutputSink passes on a last event line that has no newline when it closes", async () => {
  const { lines } = await linesSeen([bytes('{"type":"a"}\n{"type":"last"}')]);
  assert.deepEqual(lines, ['{"type":"a"}', '{"type":"last"}']);
});

Deno.test("OutputSink drops a line past 8 MiB whole and reads the next one", async () => {
  const huge = new Uint8Array(9 * 1024 * 1024).fill(0x61);
  huge[0] = 0x7b;
  huge[huge.length - 1] = 0x7d;
  const chunks = [];
  for (let at = 0; at < huge.length; at += 64 * 1024) chunks.push(huge.slice(at, at + 64 * 1024));
  const { lines } = await linesSeen([...chunks, bytes('\n{"type":"after"}\n')]);
  assert.deepEqual(lines, ['{"type":"after"}']);
});

Deno.test("OutputSink counts only event lines the observer calls progress for the idle watchdog", async () => {
  await using sandbox = await makeSandbox();
  const sink = new OutputSink(
    await Deno.open(join(sandbox.dir, "run.log"), { write: true, create: true }),
    { maxLogBytes: 1024 * 1024, onStdoutLine: (line) => line.includes("progress") },
  );
  const before = sink.lastProgressAt;
  await new Promise((resolve) => setTimeout(resolve, 5));
  await sink.pump(streamOf([bytes('retrying…\n{"type":"notice"}\n')]), "stdout");
  assert.equal(sink.lastProgressAt, before, "output without progress is no sign of life");
  assert.ok(sink.lastOutputAt > before, "but it is output");
  await sink.pump(streamOf([bytes('{"type":"progress"}\n')]), "stdout");
  assert.ok(sink.lastProgressAt > before);
  sink.close();
});
