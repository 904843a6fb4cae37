/**
 * What a job needs before it can start, and why it cannot when it cannot: an agent job its spec
 * doc, a script job its program. The run checks the spec doc here before spawning anything; the
 * views and the doctor ask the same question so that they never call "due now" a job that cannot
 * start.
 */

import { specDocPath } from "../agents.ts";
import type { Job } from "../config/job.ts";
import { isAbsolute, join, resolve } from "../posix_path.ts";
import { describeFsError } from "../regular_file.ts";

/**
 * Why `job` cannot start as configured, in words that name the file; null when it can. `path` is
 * the PATH a script's bare program name is looked up on.
 */
export function startProblem(job: Job, configDir: string, path: string): string | null {
  if (job.type === "agent") return specDocProblem(join(configDir, specDocPath(job.spec)));
  const program = job.command[0]!;
  const command = scriptPath(program, configDir);
  if (command === program && !program.includes("/")) {
    // As the system's own lookup does: the first executable file of that name on PATH.
    return path.split(":").some((dir) => dir && programProblem(join(dir, program)) === null)
      ? null
      : `program not found: ${program} is in neither ${configDir} nor PATH (${path})`;
  }
  return programProblem(command);
}

/** Why the spec doc at `path` cannot be read by the agent; null when it is there. */
export function specDocProblem(path: string): string | null {
  return fileProblem("spec doc", path);
}

function programProblem(path: string): string | null {
  const problem = fileProblem("program", path);
  if (problem !== null) return problem;
  const mode = Deno.statSync(path).mode;
  return mode !== null && (mode & 0o111) === 0
    ? `program ${path} is not executable (chmod +x ${path})`
    : null;
}

/** What keeps `path` from being a regular file, naming it as `what`; null when nothing does. */
function fileProblem(what: string, path: string): string | null {
  let info: Deno.FileInfo;
  try {
    info = Deno.statSync(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return `${what} not found: ${path}`;
    if (error instanceof Deno.errors.NotADirectory) {
      return `${what} not found: ${path} (a part of its path is a file, not a folder)`;
    }
    return `${what} ${path} cannot be read (${describeFsError(error)})`;
  }
  if (info.isDirectory) return `${what} ${path} is a directory, not a file`;
  return info.isFile ? null : `${what} ${path} is not a regular file (a FIFO, socket or device)`;
}

/** A script path: absolute as given, else relative to the config's directory, else from PATH. */
export function scriptPath(program: string, configDir: string): string {
  if (isAbsolute(program)) return program;
  if (program.includes("/")) return resolve(configDir, program);
  try {
    Deno.statSync(join(configDir, program));
    return join(configDir, program);
  } catch {
    return program;
  }
}
