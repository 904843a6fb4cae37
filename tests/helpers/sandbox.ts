/**
 * A private world for one test: a temp HOME, a project directory for teleclaude.yml and its spec
 * docs, a bin directory put first on PATH for fake agent CLIs, and a daemon socket path of its
 * own. Nothing here touches the real ~/.teleclaude, the real daemon socket or a real agent CLI.
 */

import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

/** The repository root. */
export const ROOT = dirname(dirname(dirname(fileURLToPath(import.meta.url))));
export const MAIN = join(ROOT, "main.ts");

/** One test's temp world; `await using` removes it. */
export interface Sandbox extends AsyncDisposable {
  dir: string;
  home: string;
  project: string;
  bin: string;
  /** Where fake agents record what they were given. */
  records: string;
  socket: string;
  config: string;
  /** The environment the runner gets: HOME, PATH, socket, TZ, DENO_DIR. */
  env: Record<string, string>;
}

let denoDir: string | null = null;

/** Deno's cache directory, so a runner under a temp HOME reuses the npm packages already fetched. */
export async function realDenoDir(): Promise<string> {
  if (denoDir) return denoDir;
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["info", "--json"],
    stdout: "piped",
  }).output();
  denoDir = (JSON.parse(new TextDecoder().decode(output.stdout)) as { denoDir: string }).denoDir;
  return denoDir;
}

/** Creates a sandbox. */
export async function makeSandbox(options: { tz?: string } = {}): Promise<Sandbox> {
  const dir = await Deno.makeTempDir({ prefix: "tc-cron-" });
  const home = join(dir, "home");
  const project = join(dir, "project");
  const bin = join(dir, "bin");
  const records = join(dir, "records");
  for (const path of [home, project, bin, records]) await Deno.mkdir(path, { recursive: true });
  await writeDesktopNotifiers(bin, records);
  const env: Record<string, string> = {
    HOME: home,
    PATH: `${bin}:/usr/bin:/bin`,
    TELECLAUDE_API_SOCKET: join(dir, "api.sock"),
    TZ: options.tz ?? "UTC",
    DENO_DIR: await realDenoDir(),
    NO_COLOR: "1",
    RECORDS: records,
  };
  return {
    dir,
    home,
    project,
    bin,
    records,
    socket: env.TELECLAUDE_API_SOCKET!,
    config: join(project, "teleclaude.yml"),
    env,
    async [Symbol.asyncDispose]() {
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    },
  };
}

/**
 * Stand-ins for the desktop notifiers, first on the sandbox's PATH: a failing job in a test never
 * pops up a notice on the developer's desktop. Each appends its argv, NUL-separated with a blank
 * entry closing each call, to `records/desktop`.
 */
async function writeDesktopNotifiers(bin: string, records: string): Promise<void> {
  const record = `#!/bin/sh\nprintf '%s\\0' "$0" "$@" "" >> "${records}/desktop"\n`;
  for (const name of ["osascript", "notify-send"]) {
    await Deno.writeTextFile(join(bin, name), record, { mode: 0o755 });
  }
}

/** The desktop notices shown in a sandbox: each call's argv, program first. */
export async function desktopNotices(sandbox: Sandbox): Promise<string[][]> {
  let text: string;
  try {
    text = await Deno.readTextFile(join(sandbox.records, "desktop"));
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return [];
    throw error;
  }
  const calls: string[][] = [];
  let call: string[] = [];
  for (const field of text.split("\0").slice(0, -1)) {
    if (field === "") {
      calls.push(call);
      call = [];
    } else {
      call.push(field);
    }
  }
  return calls;
}

/** Writes a file, creating its directory; `executable` sets mode 0755. */
export async function writeFile(path: string, text: string, executable = false): Promise<void> {
  await Deno.mkdir(dirname(path), { recursive: true });
  await Deno.writeTextFile(path, text);
  if (executable) await Deno.chmod(path, 0o755);
}

/** Writes teleclaude.yml and the spec docs it names. */
export async function writeConfig(
  sandbox: Sandbox,
  yaml: string,
  specs: string[] = [],
): Promise<void> {
  await writeFile(sandbox.config, yaml);
  for (const spec of specs) {
    await writeFile(
      join(sandbox.project, "docs/project/spec/jobs", `${spec.replaceAll("_", "-")}.md`),
      `# ${spec}\n`,
    );
  }
}

/** The runner's permission flags, from the one script every entry point uses. */
export async function permissionFlags(env: Record<string, string>): Promise<string[]> {
  const output = await new Deno.Command("sh", {
    args: [join(ROOT, "scripts/permission-flags.sh")],
    env,
    clearEnv: true,
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!output.success) throw new Error(new TextDecoder().decode(output.stderr));
  return new TextDecoder().decode(output.stdout).trim().split("\n");
}

/** What a finished CLI run printed and how it exited. */
export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Starts `main.ts` as launchd would: `deno run` with the production permission flags and only the
 * sandbox's environment. Returns the child so a test can signal it.
 */
export async function spawnCli(
  sandbox: Sandbox,
  args: string[],
  extraEnv: Record<string, string> = {},
  cwd = sandbox.project,
): Promise<Deno.ChildProcess> {
  const env = { ...sandbox.env, ...extraEnv };
  const flags = await permissionFlags(env);
  return new Deno.Command(Deno.execPath(), {
    args: ["run", "--quiet", ...flags, MAIN, ...args],
    cwd,
    env,
    clearEnv: true,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
}

/** Runs `main.ts` to the end. */
export async function runCli(
  sandbox: Sandbox,
  args: string[],
  extraEnv: Record<string, string> = {},
  cwd = sandbox.project,
): Promise<CliResult> {
  const child = await spawnCli(sandbox, ["--config", sandbox.config, ...args], extraEnv, cwd);
  const output = await child.output();
  return {
    code: output.code,
    stdout: new TextDecoder().decode(output.stdout),
    stderr: new TextDecoder().decode(output.stderr),
  };
}

/** Polls `check` until it returns a truthy value or the deadline passes. */
export async function waitFor<T>(
  check: () => T | Promise<T>,
  what: string,
  timeoutMs = 10_000,
): Promise<NonNullable<T>> {
  const deadline = performance.now() + timeoutMs;
  while (true) {
    const value = await check();
    if (value) return value as NonNullable<T>;
    if (performance.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** Reads the state file of a sandbox. */
export async function readStateFile(sandbox: Sandbox): Promise<
  { jobs: Record<string, Record<string, unknown>>; [key: string]: unknown }
> {
  return JSON.parse(await Deno.readTextFile(join(sandbox.home, ".teleclaude/cron_state.json")));
}

/**
 * Whether a process is alive and more than a zombie, asked of `ps` so the answer means the same
 * on macOS (which has no /proc) as on Linux.
 */
export async function processAlive(pid: number): Promise<boolean> {
  const output = await new Deno.Command("ps", {
    args: ["-o", "stat=", "-p", String(pid)],
    stdin: "null",
    stdout: "piped",
    stderr: "null",
  }).output();
  const stat = new TextDecoder().decode(output.stdout).trim();
  return output.success && stat !== "" && !stat.startsWith("Z");
}
