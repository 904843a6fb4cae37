import assert from "node:assert/strict";
import { join } from "node:path";
import { appendHistory, type HistoryEntry, readHistory } from "../../lib/store/history.ts";
import { makeSandbox } from "../helpers/sandbox.ts";

const entry = (job: string, index: number): HistoryEntry => ({
  job,
  type: "script",
  started: new Date(Date.UTC(2026, 10, 26, 0, index)).toISOString(),
  finished: new Date(Date.UTC(2026, 10, 26, 0, index, 1)).toISOString(),
  duration_ms: 1000,
  status: "success",
  exit_code: 0,
  error: null,
  log_path: null,
});

Deno.test("appendHistory() rotates by size and readHistory() reads newest first across both files", async () => {
  await using sandbox = await makeSandbox();
  const path = join(sandbox.home, ".teleclaude/cron_history.jsonl");
  for (let index = 0; index < 10; index++) {
    await appendHistory(path, entry(index % 2 ? "odd" : "even", index), 1000);
  }
  assert.ok((await Deno.stat(`${path}.1`)).size >= 1000);
  assert.ok((await Deno.stat(path)).size < 1000);
  assert.equal((await Deno.stat(path)).mode! & 0o777, 0o600);
  const latest = (await readHistory(path, { limit: 3 })).entries;
  assert.deepEqual(latest.map((item) => item.started.slice(14, 16)), ["09", "08", "07"]);
  // Each line is 187 bytes, so the file rotates before the 7th: runs 0-5 in .1, 6-9 after.
  const odd = (await readHistory(path, { job: "odd", limit: 100 })).entries;
  assert.deepEqual(odd.map((item) => item.started.slice(14, 16)), ["09", "07", "05", "03", "01"]);
});

Deno.test("readHistory() skips a line cut short by a crash and keeps the rest", async () => {
  await using sandbox = await makeSandbox();
  const path = join(sandbox.home, "history.jsonl");
  await appendHistory(path, entry("a", 1));
  await Deno.writeTextFile(path, '{"job": "b", "sta', { append: true });
  assert.deepEqual((await readHistory(path, { limit: 5 })).entries.map((item) => item.job), ["a"]);
  await appendHistory(path, entry("c", 2));
  assert.deepEqual((await readHistory(path, { limit: 5 })).entries.map((item) => item.job), [
    "c",
    "a",
  ]);
});

Deno.test("readHistory() reads lines across its 64 KiB blocks, and skips one too long to be a run", async () => {
  await using sandbox = await makeSandbox();
  const path = join(sandbox.home, "history.jsonl");
  // Entries with errors of growing length, so line ends fall everywhere in the blocks, and one
  // line of 2 MiB that is no entry.
  const lines: string[] = [];
  for (let index = 0; index < 40; index++) {
    lines.push(JSON.stringify({ ...entry(`job${index}`, index), error: "e".repeat(index * 3001) }));
    if (index === 20) lines.push("x".repeat(2 * 1024 * 1024));
  }
  await Deno.writeTextFile(path, `${lines.join("\n")}\n`);
  const read = await readHistory(path, { limit: 100 });
  assert.deepEqual(
    read.entries.map((item) => item.job),
    lines.flatMap((line) => {
      try {
        return [JSON.parse(line).job as string];
      } catch {
        return [];
      }
    }).reverse(),
  );
  assert.equal(read.skipped, 1);
  assert.deepEqual(read.truncated, []);
});
