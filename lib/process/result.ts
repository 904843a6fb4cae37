/**
 * What one run of one job came to, however it ended: the record the runner writes (`run/`) and
 * tells of (`notify/`), which is why it lives below both, beside the process it came from.
 */

import type { Outcome } from "../store/state.ts";
import type { SpawnResult } from "./spawn.ts";

/** How many of a failed run's last lines of output it is told and logged with. */
export const OUTPUT_TAIL_LINES = 20;

/** Turns, tokens and cost, where the agent reports them (`run/outcome/` reads them). */
export interface RunUsage {
  turns?: number;
  input_tokens?: number;
  output_tokens?: number;
  cost_usd?: number;
}

/** What one run of one job came to. */
export interface JobResult {
  outcome: Outcome;
  exitCode: number | null;
  /** Why it failed, for the state file and the log; null on success. */
  error: string | null;
  durationMs: number;
  /** A script's JSON result message, if it printed one. */
  message: string | null;
  itemsProcessed: number | null;
  /** The last lines of output, copied into the runner's log on failure. */
  outputTail: string;
  usage: RunUsage;
  /** For a usage limit: when the agent said it resets (epoch ms). */
  resetsAt: number | null;
  /** The run report an agent job wrote, if any. */
  reportPath: string | null;
  /** Extra facts for the log line (agent, role). */
  details: Record<string, string>;
  /** Why the run's log is incomplete (a full disk), or null. */
  logProblem: string | null;
}

/** The most of an error or a script's message kept: its start and its end, the middle cut. */
export const MAX_ERROR_CHARS = 2000;

/**
 * `text` within `max` characters: its start and its end, with `[… N characters cut …]` between.
 * Errors come from outside (a script's result line, an agent's words) and travel into the state,
 * the log, every notification and a notifier's environment: each place gets the bounded text.
 */
export function boundText(text: string, max = MAX_ERROR_CHARS): string {
  if (text.length <= max) return text;
  const tail = Math.floor(max / 4);
  const head = max - tail - 40;
  const cut = text.length - head - tail;
  return `${text.slice(0, head)}[… ${cut} characters cut …]${text.slice(-tail)}`;
}

/** A result with every field at its empty value but those given (a failure unless said). */
export function jobResult(overrides: Partial<JobResult>): JobResult {
  const bound = (text: string | null | undefined) => (text ? boundText(text) : text ?? null);
  return {
    outcome: "failed",
    exitCode: null,
    durationMs: 0,
    itemsProcessed: null,
    outputTail: "",
    usage: {},
    resetsAt: null,
    reportPath: null,
    details: {},
    logProblem: null,
    ...overrides,
    error: bound(overrides.error),
    message: bound(overrides.message),
  };
}

/**
 * The result of a process that did not simply exit (timed out, went idle, was interrupted,
 * killed by a signal, could not start); null for a plain exit, which its job type judges.
 */
export function abnormalEnd(result: SpawnResult): Partial<JobResult> | null {
  const common = {
    durationMs: result.durationMs,
    outputTail: result.outputTail,
    logProblem: result.logProblem,
  };
  switch (result.kind) {
    case "exited":
      return null;
    case "timed-out":
      return {
        ...common,
        outcome: "timed_out",
        error: `timed out after ${result.afterMs / 1000}s`,
      };
    case "idle":
      return { ...common, outcome: "idle", error: `idle for ${result.afterMs / 1000}s` };
    case "interrupted":
      return { ...common, outcome: "interrupted", error: `interrupted by ${result.signal}` };
    case "signalled":
      return { ...common, outcome: "failed", error: `killed by ${result.signal}` };
    case "spawn-failed":
      return { ...common, outcome: "failed", error: `could not start: ${result.error}` };
  }
}
