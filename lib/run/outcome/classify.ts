/**
 * What an agent run really did, decided once from what its reader gathered (`claude.ts`,
 * `codex.ts`, `gemini.ts`), its exit code and its stderr. An exit code alone lies both ways:
 * claude exits 0 with `is_error`, gemini exits 0 after loop detection or a signal, codex exits 0
 * after retries it recovered from. The order below is the order of what a person must know first.
 */

import type { AgentName } from "../../config/job.ts";
import type { Outcome } from "../../store/state.ts";
import { claudeReader } from "./claude.ts";
import { codexReader } from "./codex.ts";
import {
  type AgentFacts,
  type AgentReader,
  errorText,
  eventOf,
  objectAt,
  type RunUsage,
  textOf,
} from "./facts.ts";
import { geminiReader } from "./gemini.ts";
import { statedReset } from "./reset.ts";

/** The verdict on an agent run, with whatever the agent reported about itself. */
export interface AgentVerdict {
  outcome: Outcome;
  /** The agent's own words for what went wrong; null on success. */
  error: string | null;
  /** For a usage limit: when the agent says it resets (epoch ms), if it says. */
  resetsAt: number | null;
  usage: RunUsage;
  /** Trouble the agent retried and got past (transient errors, per-minute limits). */
  retries: string[];
}

/**
 * A reader for one run of `agent`. `clock` and the zone place a stated reset on the calendar: the
 * clock is read when the words are, so "retry in 3600s" counts from when the agent said it, not
 * from when the run started.
 */
export function agentReader(
  agent: AgentName,
  clock: () => number,
  timeZone: string,
): AgentReader {
  const reset = (text: string) => statedReset(text, clock(), timeZone);
  switch (agent) {
    case "claude":
      return claudeReader(reset);
    case "codex":
      return codexReader(reset);
    case "gemini":
      return geminiReader(reset);
  }
}

/**
 * Gemini's exit codes that say more than its output: 41 no auth configured, 144/145/147 the API
 * refused the key (HTTP 400/401/403 mod 256), 53 its turn limit, 55 an untrusted folder, 173 a
 * quota (HTTP 429 mod 256). An API error exits with its HTTP status mod 256, so 244 to 255 are
 * 500 to 511: the service failing or overloaded (503 is 247) after gemini's retries.
 */
const GEMINI_EXITS: Record<number, Outcome> = {
  41: "auth",
  144: "auth",
  145: "auth",
  147: "auth",
  53: "max_turns",
  55: "untrusted",
  173: "usage_limit",
};

/** What gemini's exit code says, if anything (`GEMINI_EXITS`, and 244-255 for 500-511). */
function geminiExitOutcome(code: number): Outcome | undefined {
  return code >= 244 && code <= 255 ? "unavailable" : GEMINI_EXITS[code];
}

/** What each agent is called by its makers, for a program that does not print like it. */
const PRODUCTS: Record<AgentName, string> = {
  claude: "Claude Code",
  codex: "Codex CLI",
  gemini: "Gemini CLI",
};

/** What the runner saw of a run besides its events: who ran, and what it printed that was not one. */
interface RunSeen {
  /** The program that ran (named when its output shows it is not the agent). */
  binary?: string;
  /** The end of its stdout. */
  stdoutTail?: string;
}

/**
 * The verdict on a run that exited with `exitCode`, given its reader's facts and stderr, and
 * (`seen`) the program and its stdout, for a program that turns out not to be the agent.
 */
export function agentVerdict(
  agent: AgentName,
  exitCode: number,
  facts: AgentFacts,
  stderrTail: string,
  seen: RunSeen = {},
): AgentVerdict {
  const { usage, retries } = facts;
  const verdict = (outcome: Outcome, error: string | null, resetsAt: number | null = null) => ({
    outcome,
    error,
    resetsAt,
    usage,
    retries,
  });
  const words = facts.error ?? lastWords(stderrTail);
  // A per-minute limit gemini retried and still hit exits 173 like a spent quota.
  const byExit = agent === "gemini" && !facts.unavailable ? geminiExitOutcome(exitCode) : undefined;
  if (facts.limit || byExit === "usage_limit") {
    return verdict("usage_limit", facts.limit?.text ?? words, facts.limit?.resetsAt ?? null);
  }
  if (byExit) return verdict(byExit, words ?? `${agent} exited with code ${exitCode}`);
  if (facts.auth) return verdict("auth", words);
  if (facts.budget) return verdict("budget", words);
  if (facts.maxTurns) return verdict("max_turns", words);
  if (facts.unavailable) return verdict("unavailable", words);
  if (facts.failed) return verdict("failed", words);
  if (facts.stoppedEarly) return verdict("failed", `${agent} stopped early: ${facts.stoppedEarly}`);
  if (exitCode !== 0) return verdict("failed", words ?? `${agent} exited with code ${exitCode}`);
  if (!facts.finished) {
    if (facts.events === 0) {
      return verdict(
        "failed",
        notTheAgent(agent, seen.binary ?? agent, firstLine(seen.stdoutTail ?? ""), words),
      );
    }
    return verdict(
      "failed",
      `${agent} ended without its final result (stopped by a signal, or its output was cut)` +
        (words ? `: ${words}` : ""),
    );
  }
  return verdict("success", null);
}

/** The most of a stray line quoted: enough to recognise the program, never its whole output. */
const MAX_STRAY_CHARS = 200;

/** The first line with something on it, trimmed and cut short; null when there is none. */
function firstLine(text: string): string | null {
  const line = text.split("\n").find((line) => line.trim() !== "");
  return line === undefined ? null : line.trim().slice(0, MAX_STRAY_CHARS);
}

/** What a program that exited 0 without one event of the agent's printed: it is not the agent. */
function notTheAgent(
  agent: AgentName,
  binary: string,
  stray: string | null,
  stderrWords: string | null,
): string {
  const seen = stray === null
    ? "printed nothing on stdout"
    : `printed no JSON event, only text (${JSON.stringify(stray)})`;
  const stderr = stderrWords === null ? "" : ` and on stderr: ${stderrWords}`;
  return errorText(`${binary} ${seen}${stderr}; it exited 0: is it ${PRODUCTS[agent]}?`);
}

/**
 * The verdict on a run the runner stopped for making no progress (`idleError` says how long):
 * `unavailable` when the agent was retrying a service that kept answering with an outage (those
 * retries are not progress, yet the agent was not hung: the service kept it waiting); null when
 * it hung, and `idle` stands. Claude's and codex's retries are in their events; gemini says its
 * own ("Attempt 2 failed with status 503. Retrying with backoff...") on stderr only, so they are
 * read from the output after its last event.
 */
export function idleVerdict(
  agent: AgentName,
  facts: AgentFacts,
  outputTail: string,
  idleError: string,
): { outcome: "unavailable"; error: string } | null {
  const retrying = agent === "gemini" ? geminiRetrying(outputTail) : facts.retryingOutage;
  if (retrying === null) return null;
  return {
    outcome: "unavailable",
    error: errorText(`${idleError} while ${agent} retried: ${retrying}`),
  };
}

/**
 * A retry notice of gemini's, up to the wait it announces (the error it quotes after that, over
 * many lines, is left out); it never runs on into the next notice.
 */
const GEMINI_RETRY =
  /^Attempt \d+ failed\b(?:(?!\nAttempt \d)[\s\S])*?Retrying (?:with backoff|after \d+ms)\.\.\./gm;

/**
 * Gemini's notice of the retry it was making when its output ended, when the try had failed on
 * a status (5xx, 429) rather than on no answer at all ("Attempt 1 failed. Retrying with
 * backoff...", which is also what a request without headers for 60 s gets).
 */
function geminiRetrying(outputTail: string): string | null {
  const lastEvent = outputTail.lastIndexOf('\n{"type":');
  const since = lastEvent === -1 ? outputTail : outputTail.slice(lastEvent + 1);
  const last = since.match(GEMINI_RETRY)?.at(-1);
  if (last === undefined || /^Attempt \d+ failed\. Retrying/.test(last)) return null;
  return last.replace(/\s+/g, " ");
}

/**
 * Lines agents print on stderr in every run, which say nothing about this one: gemini's banners,
 * codex's note about helper binaries, stack frames under an error.
 */
const NOISE = [
  /^YOLO mode is enabled/,
  /^Warning: 256-color support not detected/,
  /^Ripgrep is not available/,
  /^\[STARTUP\]/,
  /^WARNING: proceeding, even though we could not create PATH aliases/,
  /^\s+at /,
  /^\s*$/,
];

/**
 * The agent's own last words on stderr: the message of the error object it ended with (gemini in
 * json mode prints one, over many lines), else its last three lines without the noise; or null.
 */
export function lastWords(stderrTail: string): string | null {
  const reported = endingError(stderrTail);
  if (reported !== null) return errorText(reported);
  const lines = stderrTail.split("\n").filter((line) => !NOISE.some((noise) => noise.test(line)));
  const last = lines.slice(-3).join("\n").trim();
  return last ? errorText(last) : null;
}

/** The message of a pretty-printed `{"error": {"message": …}}` that ends `text`, if one does. */
function endingError(text: string): string | null {
  const trimmed = text.trimEnd();
  if (!trimmed.endsWith("}")) return null;
  const from = trimmed.lastIndexOf("\n{\n");
  return textOf(
    objectAt(eventOf(from === -1 ? trimmed : trimmed.slice(from + 1)), "error")?.message,
  );
}
