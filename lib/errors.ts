/**
 * The one domain error: a condition the user must fix (bad config, bad flags). It carries the
 * place it was found and the exit code; `main.ts` catches it in one place and prints it.
 */

import { printable } from "./log.ts";

/** One problem, located as precisely as we know it. */
export interface Problem {
  /** The file the problem is in, as the user named it. */
  file?: string;
  /** YAML line and column, 1-based, when the problem has a place in the file. */
  line?: number;
  column?: number;
  /** Dotted path of the field, e.g. `jobs.nightly.when.every`. */
  field?: string;
  /** What is wrong and what to do about it, quoting the bad value. */
  message: string;
}

/**
 * Formats a problem as `file:line:col: field: message`, on one line of plain characters: a key,
 * a value or a file name it quotes keeps no control character (`printable`).
 */
export function formatProblem(problem: Problem): string {
  let place = problem.file ?? "";
  if (place && problem.line !== undefined) {
    place += `:${problem.line}`;
    if (problem.column !== undefined) place += `:${problem.column}`;
  }
  const parts = [place, problem.field, problem.message].filter((part) => part);
  return printable(parts.join(": "));
}

/** A condition the user must fix. Exit status 2 unless said otherwise. */
export class ConfigError extends Error {
  readonly problems: Problem[];
  readonly exitCode: number;

  constructor(problems: Problem[] | Problem, exitCode = 2) {
    const list = Array.isArray(problems) ? problems : [problems];
    super(list.map(formatProblem).join("\n"));
    this.name = "ConfigError";
    this.problems = list;
    this.exitCode = exitCode;
  }
}

/** Bad command-line usage: unknown flag, unknown job name. Exit status 2. */
export class UsageError extends ConfigError {
  constructor(message: string) {
    super({ message });
    this.name = "UsageError";
  }
}

/**
 * One of the runner's own paths under `~/.teleclaude` is not what it must be (a link, a
 * directory, a FIFO where a file belongs; not writable; a full disk). Exit status 2 for what the
 * user must fix, 1 for a full disk (the next tick recovers by itself once there is space).
 */
export class StoreError extends ConfigError {
  readonly path: string;

  constructor(path: string, message: string, exitCode = 2) {
    super({ file: path, message }, exitCode);
    this.name = "StoreError";
    this.path = path;
  }
}

/**
 * The known name nearest to a typo (a config key, a command-line option), when it is close enough
 * to be the likely intent.
 */
export function closest(key: string, known: readonly string[]): string | null {
  let best: string | null = null;
  let bestDistance = Math.max(2, Math.floor(key.length / 3)) + 1;
  for (const candidate of known) {
    const distance = editDistance(key, candidate);
    if (distance < bestDistance) [best, bestDistance] = [candidate, distance];
  }
  return best;
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, index) => index);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      current[j] = Math.min(previous[j]! + 1, current[j - 1]! + 1, previous[j - 1]! + cost);
    }
    previous = current;
  }
  return previous[b.length]!;
}
