/**
 * No byte a job or a config controls reaches the terminal raw (issue 21, item 12): a failed job's
 * last lines in the runner's log, and the values and keys a config error quotes, have their
 * control characters (ESC, OSC's BEL, CR, NUL, the C1 controls) written as escapes, so a job can
 * neither forge a log line nor send an escape sequence to whoever reads cron.log.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { makeSandbox, runCli, writeConfig, writeFile } from "./helpers/sandbox.ts";

/** Any control character but the newlines that end lines. */
// deno-lint-ignore no-control-regex -- finding control characters is the point.
const RAW_CONTROL = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f]/;

Deno.test("a failed job's last lines reach the runner's log escaped: no forged line, no escape sequence", async () => {
  await using sandbox = await makeSandbox();
  await writeConfig(sandbox, "jobs:\n  evil: { script: jobs/evil.sh, when: { every: 1d } }\n");
  await writeFile(
    join(sandbox.project, "jobs/evil.sh"),
    `#!/bin/sh
printf 'junk\\rts=2026-01-01T00:00:00.000Z level=info event=job_finished job=evil status=success\\n'
printf '\\033[2J\\033]0;owned\\007 nul:\\000: c1:\\302\\233:\\n'
exit 3
`,
    true,
  );
  const result = await runCli(sandbox, []);
  assert.equal(result.code, 1, result.stderr);
  const log = result.stdout + result.stderr;
  assert.doesNotMatch(log, RAW_CONTROL, JSON.stringify(log));
  assert.match(result.stdout, /^ {2}evil \| junk\\rts=2026-01-01T00:00:00\.000Z level=info /m);
  assert.match(result.stdout, /^ {2}evil \| \\x1b\[2J\\x1b\]0;owned\\x07 nul:\\x00: c1:\\x9b:$/m);
  const finished = log.split("\n").filter((line) => /^ts=.* event=job_finished /.test(line));
  assert.deepEqual(finished.map((line) => /status=(\w+)/.exec(line)?.[1]), ["failed"]);
});

Deno.test("a config error quotes keys and values with their control characters escaped", async (t) => {
  await using sandbox = await makeSandbox();
  await t.step("a value, in an error", async () => {
    await writeConfig(
      sandbox,
      'jobs:\n  j: { script: /bin/true, schedule: "\\e[2Jdaily\\u009b" }\n',
    );
    const result = await runCli(sandbox, ["--list"]);
    assert.equal(result.code, 2, result.stderr);
    assert.doesNotMatch(result.stderr, RAW_CONTROL, JSON.stringify(result.stderr));
    assert.match(result.stderr, /jobs\.j\.schedule: "\\u001b\[2Jdaily\\x9b" is not one of hourly/);
  });
  await t.step("a key, in a warning", async () => {
    await writeConfig(sandbox, 'jobs:\n  j: { script: /bin/true, "\\e]0;x\\a": 1 }\n');
    const result = await runCli(sandbox, ["--list"]);
    assert.equal(result.code, 0, result.stderr);
    assert.doesNotMatch(result.stderr, RAW_CONTROL, JSON.stringify(result.stderr));
    assert.match(result.stderr, /warning: \S+:2:27: jobs\.j\.\\x1b\]0;x\\x07: unknown key ignored/);
  });
});
