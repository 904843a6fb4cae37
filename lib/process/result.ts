/**
 * What one run of one job came to, however it ended: the record the runner writes (`run/`) and
 * tells of (`notify/`), which is why it lives below both, beside the process it came from.
 */

import type { Outcome } from "../store/state.ts";
import type { SpawnResult } from "./spawn.ts";

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

/** A result with every field at its empty value but those given (a failure unless said). */
export function jobResult(overrides: Partial<JobResult>): JobResult {
  return {
    outcome: "failed",
    exitCode: null,
    error: null,
    durationMs: 0,
    message: null,
    itemsProcessed: null,
    outputTail: "",
    usage: {},
    resetsAt: null,
    reportPath: null,
    details: {},
    logProblem: null,
    ...overrides,
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
