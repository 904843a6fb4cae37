import assert from "node:assert/strict";
import { logLine } from "../lib/log.ts";

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
