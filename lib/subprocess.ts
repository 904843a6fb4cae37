/**
 * Running a small helper program and reading what it printed (`ps`, `launchctl`, `plutil`,
 * `systemctl`): the one place the runner asks another program a question.
 */

/** What a helper program printed, and whether it exited 0. */
export interface CommandOutput {
  success: boolean;
  stdout: string;
  stderr: string;
}

/** Where and how long a helper program runs. */
export interface CommandOptions {
  /** A PATH value: where to look for the program. */
  path?: string;
  /** The whole environment of the program (nothing else of the runner's is passed). */
  env?: Record<string, string>;
  /** SIGTERM after this long (a program that hangs gives no answer: `success` false). */
  timeoutMs?: number;
}

/**
 * Runs `program` with `args`, stdin closed, and returns its output; null when the program is not
 * installed (or not executable). `path` says where to look for it and `env` what it sees, so a
 * caller (and a test) can name the environment without changing the runner's own.
 */
export async function commandOutput(
  program: string,
  args: string[],
  options: CommandOptions = {},
): Promise<CommandOutput | null> {
  const resolved = options.path === undefined ? program : findProgram(program, options.path);
  if (resolved === null) return null;
  try {
    const command = new Deno.Command(resolved, {
      args,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
      ...(options.env ? { env: options.env, clearEnv: true } : {}),
    });
    if (options.timeoutMs !== undefined) {
      return await outputWithin(command.spawn(), options.timeoutMs);
    }
    const output = await command.output();
    const decoder = new TextDecoder();
    return {
      success: output.success,
      stdout: decoder.decode(output.stdout),
      stderr: decoder.decode(output.stderr),
    };
  } catch (error) {
    // Not installed, or not executable: either way there is no answer to read.
    if (error instanceof Deno.errors.NotFound || error instanceof Deno.errors.PermissionDenied) {
      return null;
    }
    throw error;
  }
}

/**
 * A child's output; after `timeoutMs` it is killed and what it printed so far is its answer
 * (`success` false). Its pipes are let go rather than read to their end: a child of its own that
 * still holds them must not hold the caller.
 */
async function outputWithin(child: Deno.ChildProcess, timeoutMs: number): Promise<CommandOutput> {
  const readers = [child.stdout.getReader(), child.stderr.getReader()];
  let late = false;
  const timer = setTimeout(() => {
    late = true;
    try {
      child.kill("SIGKILL");
    } catch {
      // It exited just now.
    }
    for (const reader of readers) reader.cancel().catch(() => {});
  }, timeoutMs);
  try {
    const [stdout, stderr, status] = await Promise.all([
      readAll(readers[0]!),
      readAll(readers[1]!),
      child.status,
    ]);
    return { success: status.success && !late, stdout, stderr };
  } finally {
    clearTimeout(timer);
  }
}

async function readAll(reader: ReadableStreamDefaultReader<Uint8Array>): Promise<string> {
  const decoder = new TextDecoder();
  let text = "";
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return text + decoder.decode();
    text += decoder.decode(value, { stream: true });
  }
}

/** The first executable file named `program` in the directories of `path`; null when none. */
export function findProgram(program: string, path: string): string | null {
  if (program.includes("/")) return isExecutableFile(program) ? program : null;
  for (const dir of path.split(":")) {
    if (dir && isExecutableFile(`${dir}/${program}`)) return `${dir}/${program}`;
  }
  return null;
}

/** Whether `path` is a regular file with an execute bit. */
export function isExecutableFile(path: string): boolean {
  try {
    const info = Deno.statSync(path);
    return info.isFile && info.mode !== null && (info.mode & 0o111) !== 0;
  } catch (error) {
    if (isUnreachablePath(error)) return false;
    throw error;
  }
}

/**
 * Whether a failed look at a path says only that nothing usable is there: missing, a file where
 * a folder should be, not ours to see, a loop of links, a name too long. (A Deno permission
 * error is a bug of the runner's flags, not a missing file: never this.)
 */
export function isUnreachablePath(error: unknown): boolean {
  if (error instanceof Deno.errors.NotCapable) return false;
  return error instanceof Deno.errors.NotFound || error instanceof Deno.errors.NotADirectory ||
    error instanceof Deno.errors.PermissionDenied || error instanceof Deno.errors.FilesystemLoop ||
    (error as { code?: unknown } | null)?.code === "ENAMETOOLONG";
}
