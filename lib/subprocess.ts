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

/**
 * Runs `program` with `args`, stdin closed, and returns its output; null when the program is not
 * installed (or not executable). `path` (a PATH value) says where to look for it, so a caller (and a test) can name
 * the environment without changing the runner's own.
 */
export async function commandOutput(
  program: string,
  args: string[],
  options: { path?: string } = {},
): Promise<CommandOutput | null> {
  const resolved = options.path === undefined ? program : findProgram(program, options.path);
  if (resolved === null) return null;
  try {
    const output = await new Deno.Command(resolved, {
      args,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).output();
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
    if (error instanceof Deno.errors.NotFound || error instanceof Deno.errors.NotADirectory) {
      return false;
    }
    throw error;
  }
}
