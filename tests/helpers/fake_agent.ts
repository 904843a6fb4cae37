/**
 * Fake agent CLIs: small shell scripts a test writes onto PATH. Each records its argv, its role,
 * its working directory and its stdin under $RECORDS/<name>.*, then does what the test asked.
 */

import { join } from "node:path";
import { VERIFIED_VERSIONS } from "../../lib/agents.ts";
import type { AgentName } from "../../lib/config/job.ts";
import { writeFile } from "./sandbox.ts";

/** What a fake agent does after recording its call. */
export type FakeBehaviour =
  /** Prints `stdout`, by default (on exit 0) what the real CLI printed for a run with a tool. */
  | { kind: "exit"; code: number; stdout?: string }
  | { kind: "hang" } // ignores SIGTERM and starts a grandchild that also ignores it
  | { kind: "silent-then-exit"; seconds: number };

/** Writes an executable fake named `name` into `dir` and returns its path. */
export async function writeFakeAgent(
  dir: string,
  name: string,
  behaviour: FakeBehaviour,
): Promise<string> {
  const path = join(dir, name);
  // `--version` answers as the verified CLI does (the doctor asks); RECORDS must be set, so a
  // fake run outside a sandbox's environment never writes at the root of the filesystem.
  const record = `#!/bin/sh
if [ "$1" = --version ]; then echo "${versionLine(name)}"; exit 0; fi
: "\${RECORDS:?the fake ${name} needs RECORDS}"
printf '%s\\n' "$@" > "$RECORDS/${name}.args"
printf '%s\\n' "$TELECLAUDE_JOB_ROLE" > "$RECORDS/${name}.role"
pwd > "$RECORDS/${name}.cwd"
printf '%s\n' "\${GEMINI_CLI_SYSTEM_SETTINGS_PATH-}" > "$RECORDS/${name}.settings"
cat > "$RECORDS/${name}.stdin"
echo $$ > "$RECORDS/${name}.pid"
`;
  let act: string;
  switch (behaviour.kind) {
    case "exit": {
      const stdout = behaviour.stdout ??
        (behaviour.code === 0 ? await realSuccess(name) : undefined);
      act = `${
        stdout !== undefined ? `cat <<'FAKE_EOF'\n${stdout.trimEnd()}\nFAKE_EOF\n` : ""
      }exit ${behaviour.code}\n`;
      break;
    }
    case "hang":
      act = `trap '' TERM
sh -c 'trap "" TERM; echo $$ > "$RECORDS/${name}.grandchild"; while :; do sleep 1; done' &
echo started
while :; do sleep 1; done
`;
      break;
    case "silent-then-exit":
      act = `sleep ${behaviour.seconds}\nexit 0\n`;
      break;
  }
  await writeFile(path, record + act, true);
  return path;
}

/** What the CLI `name` prints for `--version` at the version the runner was verified with. */
function versionLine(name: string): string {
  const version = VERIFIED_VERSIONS[name as AgentName] ?? "0.0.0";
  return name === "claude"
    ? `${version} (Claude Code)`
    : name === "codex"
    ? `codex-cli ${version}`
    : version;
}

/** The output the real CLI `name` printed for a successful run (tests/testdata/streams/). */
export async function realSuccess(name: string): Promise<string | undefined> {
  try {
    return await Deno.readTextFile(
      new URL(`../testdata/streams/${name}/success_tool/stdout`, import.meta.url),
    );
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return undefined;
    throw error;
  }
}

/** Reads what a fake agent recorded, or null when it never ran. */
export async function readRecord(
  records: string,
  name: string,
  what: "args" | "role" | "cwd" | "stdin" | "pid" | "settings",
): Promise<string | string[] | null> {
  try {
    const text = await Deno.readTextFile(join(records, `${name}.${what}`));
    return what === "args" ? text.replace(/\n$/, "").split("\n") : text.replace(/\n$/, "");
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return null;
    throw error;
  }
}
