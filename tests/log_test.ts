import assert from "node:assert/strict";
import { formatProblem } from "../lib/errors.ts";
import { logLine, printable } from "../lib/log.ts";

Deno.test("logLine() writes logfmt, quoting values with blanks, quotes or =, and skips empty ones", () => {
  const line = logLine(
    "error",
    "job_finished",
    {
      job: "nightly",
      status: "failed",
      error: 'said "no" = bad',
      exit_code: 3,
      log: undefined,
      message: null,
      empty: "",
    },
    new Date("2026-11-26T07:00:00Z"),
  );
  assert.equal(
    line,
    'ts=2026-11-26T07:00:00.000Z level=error event=job_finished job=nightly status=failed error="said \\"no\\" = bad" exit_code=3',
  );
});

Deno.test("printable() writes every control character as its escape, C1 and NUL included", () => {
  assert.equal(
    printable("a\nb\rc\td\u001b[2J\u001b]0;x\u0007\u0000\u009b\u007fé"),
    "a\\nb\\rc\\td\\x1b[2J\\x1b]0;x\\x07\\x00\\x9b\\x7fé",
  );
});

Deno.test("formatProblem() keeps what a config quotes on one line of plain characters", () => {
  assert.equal(
    formatProblem({
      file: "t.yml",
      line: 2,
      column: 5,
      field: "jobs.j.\u001b]0;x",
      message: "m\r",
    }),
    "t.yml:2:5: jobs.j.\\x1b]0;x: m\\r",
  );
});
