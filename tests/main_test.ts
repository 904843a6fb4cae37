import assert from "node:assert/strict";
import { errorReport } from "../main.ts";
import { ConfigError, UsageError } from "../lib/errors.ts";

Deno.test("errorReport(): a user's mistake is its own exit code; a bug is 70 with its stack", () => {
  const config = errorReport(
    new ConfigError([{ file: "t.yml", line: 3, message: "bad" }, {
      message: "worse",
    }]),
  );
  assert.deepEqual(config, {
    code: 2,
    text: "teleclaude-cron: t.yml:3: bad\nteleclaude-cron: worse",
  });
  assert.equal(errorReport(new UsageError("unknown job")).code, 2);
  const bug = errorReport(new TypeError("x is undefined"));
  assert.equal(bug.code, 70);
  assert.match(
    bug.text,
    /^teleclaude-cron: internal error \(a bug; please report it\): TypeError: x is undefined\n\s+at /,
  );
  assert.equal(errorReport("thrown string").code, 70);
});
