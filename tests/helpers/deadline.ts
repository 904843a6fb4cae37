/**
 * Running the CLI under a deadline, for tests of what must never hang (a FIFO where a file
 * belongs): a run still going at the deadline is killed and reported as hung, so the test fails
 * with a message instead of hanging the suite.
 */

import { type CliResult, type Sandbox, spawnCli } from "./sandbox.ts";

/** What a bounded run printed and how it ended; `hung` when the deadline stopped it. */
export interface BoundedResult extends CliResult {
  hung: boolean;
}

/** `runCli` (`--config` the sandbox's config, then `args`) that gives up after `deadlineMs`. */
export async function runCliWithin(
  sandbox: Sandbox,
  args: string[],
  deadlineMs: number,
  extraEnv: Record<string, string> = {},
): Promise<BoundedResult> {
  const child = await spawnCli(sandbox, ["--config", sandbox.config, ...args], extraEnv);
  const output = child.output();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const deadline = new Promise<"hung">((resolve) => {
    timer = setTimeout(() => resolve("hung"), deadlineMs);
  });
  const first = await Promise.race([output, deadline]);
  clearTimeout(timer);
  if (first === "hung") child.kill("SIGKILL");
  const done = await output;
  return {
    hung: first === "hung",
    code: done.code,
    stdout: new TextDecoder().decode(done.stdout),
    stderr: new TextDecoder().decode(done.stderr),
  };
}
