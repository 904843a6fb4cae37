/**
 * The verdict on real agent output: every stream here was printed by the pinned CLIs against the
 * loopback model stand-in (tests/testdata/streams/README.md says how), replayed line by line
 * through the reader the runner uses, with the exit code and stderr the CLI gave.
 */

import assert from "node:assert/strict";
import type { AgentName } from "../../lib/config/job.ts";
import {
  agentReader,
  agentVerdict,
  idleVerdict,
  lastWords,
} from "../../lib/run/outcome/classify.ts";
import { type AgentFacts, MAX_ANSWER_CHARS } from "../../lib/run/outcome/facts.ts";
import { statedReset } from "../../lib/run/outcome/reset.ts";
import { usageBackoffMs } from "../../lib/run/record.ts";

const STREAMS = new URL("../testdata/streams/", import.meta.url);

interface Capture {
  stdout: string;
  stderr: string;
  exitCode: number;
  capturedAt: number;
  timeZone: string;
}

function capture(agent: AgentName, name: string): Capture {
  const dir = new URL(`${agent}/${name}/`, STREAMS);
  const meta = JSON.parse(Deno.readTextFileSync(new URL("capture.json", dir)));
  let stderr = "";
  try {
    stderr = Deno.readTextFileSync(new URL("stderr", dir));
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
  return {
    stdout: Deno.readTextFileSync(new URL("stdout", dir)),
    stderr,
    exitCode: meta.exit_code,
    capturedAt: Date.parse(meta.captured_at),
    timeZone: meta.time_zone,
  };
}

/** Replays a capture as the runner reads a run: line by line, then the exit code and stderr. */
function replay(agent: AgentName, name: string) {
  const run = capture(agent, name);
  const reader = agentReader(agent, () => run.capturedAt, run.timeZone);
  let progress = 0;
  for (const line of run.stdout.split("\n")) if (reader.line(line)) progress++;
  const verdict = agentVerdict(agent, run.exitCode, reader.facts, run.stderr.slice(-8192));
  return { ...verdict, facts: reader.facts as AgentFacts, progress, run };
}

interface Expected {
  outcome: string;
  error?: RegExp;
  resetsAt?: string | null;
  retried?: boolean;
}

const EXPECTED: Record<AgentName, Record<string, Expected>> = {
  claude: {
    success_tool: { outcome: "success", retried: false },
    transient_then_success: { outcome: "success", retried: true },
    rate_limit_minute: { outcome: "success", retried: true },
    max_turns: { outcome: "max_turns", error: /^Reached maximum number of turns \(1\)$/ },
    budget: { outcome: "budget", error: /^Reached maximum budget \(\$0\.01\)$/ },
    auth: { outcome: "auth", error: /^Invalid API key/ },
    auth_oauth: { outcome: "auth", error: /^Not logged in/ },
    usage_limit_5h: {
      outcome: "usage_limit",
      error: /^You've hit your 5-hour limit · resets 11:50am \(UTC\)$/,
      resetsAt: "2026-11-26T11:50:01Z",
    },
    usage_limit_5h_tz_newyork: { outcome: "usage_limit", resetsAt: "2026-11-26T11:40:52Z" },
    usage_limit_weekly: { outcome: "usage_limit", resetsAt: "2026-11-29T09:38:51Z" },
    usage_limit_weekly_tz_berlin: { outcome: "usage_limit", resetsAt: "2026-11-29T09:40:53Z" },
    oneshot_usage_limit_5h: { outcome: "usage_limit", resetsAt: "2026-11-26T11:40:00Z" },
    // With an API key a 429 is the key's rate limit, which claude retried: not a usage window,
    // and one that lifts within minutes, so a later retry helps.
    usage_limit_5h_apikey: {
      outcome: "unavailable",
      error: /Request rejected \(429\)/,
      retried: true,
    },
    server_throttle: { outcome: "unavailable", error: /not your usage limit/, retried: true },
    overloaded: { outcome: "unavailable", error: /^API Error: 529 Overloaded/, retried: true },
    server_error: { outcome: "unavailable", error: /^API Error: 500 Internal server error/ },
    gateway_503: { outcome: "unavailable", error: /^API Error: 503 Service Temporarily/ },
    unreachable: { outcome: "unavailable", error: /Connection refused/, retried: true },
    // No answer within API_TIMEOUT_MS, each try: claude files it as a server error too.
    stall: { outcome: "unavailable", error: /^Request timed out/ },
    hang: { outcome: "unavailable", error: /^Request timed out/, retried: true },
    root_refusal: {
      outcome: "failed",
      error: /^--dangerously-skip-permissions cannot be used with root\/sudo privileges/,
    },
  },
  codex: {
    success_tool: { outcome: "success", retried: false },
    // Codex retries a failed request silently; only a dropped stream's retries are printed.
    transient_then_success: { outcome: "success", retried: false },
    transient_then_success_no_request_retries: { outcome: "success", retried: true },
    rate_limit_minute: { outcome: "success", retried: true },
    auth: { outcome: "auth", error: /401 Unauthorized: Incorrect API key/ },
    auth_missing_env_key: { outcome: "auth", error: /^Missing environment variable/ },
    usage_not_included: { outcome: "auth", error: /upgrade to Plus/ },
    // Codex states a local time to the minute; a minute is added so the retry is never early.
    usage_limit: {
      outcome: "usage_limit",
      error: /^You’ve hit your usage limit\. .*try again at 11:51 AM\.$/,
      resetsAt: "2026-11-26T11:52:00Z",
    },
    usage_limit_tz_new_york: { outcome: "usage_limit", resetsAt: "2026-11-26T11:52:00Z" },
    usage_limit_weekly: { outcome: "usage_limit", resetsAt: "2026-11-29T10:47:00Z" },
    usage_limit_no_reset: { outcome: "usage_limit", resetsAt: null },
    quota_exceeded: { outcome: "usage_limit", error: /^Quota exceeded/, resetsAt: null },
    rate_limit_always: {
      outcome: "unavailable",
      error: /exceeded retry limit, last status: 429/,
    },
    overloaded: { outcome: "unavailable", error: /503 Service Unavailable/, retried: true },
    // codex words a 500 as high demand, and an overloaded response as a model at capacity.
    server_error: { outcome: "unavailable", error: /^We’re currently experiencing high demand/ },
    gateway_502: { outcome: "unavailable", error: /^unexpected status 502 Bad Gateway/ },
    overloaded_sse: { outcome: "unavailable", error: /^Selected model is at capacity/ },
    unreachable: { outcome: "unavailable", error: /^Connection failed/, retried: true },
    stall: { outcome: "unavailable", error: /idle timeout waiting for SSE/, retried: true },
  },
  gemini: {
    success_tool: { outcome: "success" },
    transient_then_success: { outcome: "success" },
    rate_limit_minute: { outcome: "success" },
    auth: { outcome: "auth", error: /invalid authentication credentials/ },
    auth_400: { outcome: "auth", error: /API key not valid/ },
    auth_missing_key: { outcome: "auth", error: /must specify the GEMINI_API_KEY/ },
    quota_daily: {
      outcome: "usage_limit",
      error: /exhausted your daily quota/,
      resetsAt: null,
    },
    quota_retry_long: { outcome: "usage_limit", resetsAt: "2026-11-26T10:53:02Z" },
    // A per-minute limit gemini retried until it gave up exits 173 too: no usage limit.
    rate_limit_persistent: {
      outcome: "unavailable",
      error: /Please retry in 2s\./,
      resetsAt: null,
    },
    resource_exhausted: { outcome: "usage_limit", error: /Resource has been exhausted/ },
    loop: { outcome: "failed", error: /^gemini stopped early: Loop detected/ },
    max_turns: { outcome: "max_turns", error: /^Reached max session turns/ },
    untrusted: { outcome: "untrusted", error: /not running in a trusted directory/ },
    // Exit 244, 246, 247: HTTP 500, 502, 503 mod 256.
    server_error: { outcome: "unavailable", error: /"code":500/ },
    gateway_502: { outcome: "unavailable", error: /502 Bad Gateway/ },
    overloaded: { outcome: "unavailable", error: /The model is overloaded/ },
    unreachable: { outcome: "unavailable", error: /fetch failed/ },
    sigterm_hang: { outcome: "failed", error: /ended without its final result/ },
    no_finish_reason: { outcome: "failed", error: /without a finish reason/ },
    // Headers, then silence past gemini's body timeout: undici's "terminated".
    stall: { outcome: "unavailable", error: /terminated/ },
  },
};

for (const [agent, cases] of Object.entries(EXPECTED) as [AgentName, Record<string, Expected>][]) {
  Deno.test(`agentVerdict() judges ${agent}'s real output`, () => {
    for (const [name, expected] of Object.entries(cases)) {
      const verdict = replay(agent, name);
      const what = `${agent}/${name}`;
      assert.equal(verdict.outcome, expected.outcome, `${what}: ${verdict.error}`);
      if (expected.outcome === "success") assert.equal(verdict.error, null, what);
      else assert.ok(verdict.error, `${what} names no error`);
      if (expected.error) assert.match(verdict.error ?? "", expected.error, what);
      if (expected.resetsAt !== undefined) {
        const resetsAt = expected.resetsAt === null ? null : Date.parse(expected.resetsAt);
        assert.equal(verdict.resetsAt, resetsAt, what);
      }
      if (expected.retried !== undefined) {
        assert.equal(verdict.retries.length > 0, expected.retried, `${what}: ${verdict.retries}`);
      }
      // Every run that printed events showed progress to the idle watchdog.
      if (verdict.run.stdout.trim()) assert.ok(verdict.progress > 0, `${what} showed no progress`);
    }
  });
}

Deno.test("agentVerdict() keeps usage and the answer from each agent's final event", () => {
  const claude = replay("claude", "success_tool");
  assert.deepEqual(claude.usage, {
    turns: 2,
    cost_usd: 0.00004,
    input_tokens: 200,
    output_tokens: 40,
  });
  assert.equal(claude.facts.answer, "All done.");
  const codex = replay("codex", "success_tool");
  assert.deepEqual(codex.usage, { turns: 1, input_tokens: 2400, output_tokens: 68 });
  assert.equal(codex.facts.answer, "All done.");
  const gemini = replay("gemini", "success_tool");
  // Gemini prints no turns: a tool call, then the answer after its result, are two.
  assert.deepEqual(gemini.usage, { turns: 2, input_tokens: 2000, output_tokens: 40 });
  assert.equal(replay("gemini", "max_turns").usage.turns, 3);
  // Gemini streams its answer in pieces; the space between them is part of the answer.
  assert.equal(gemini.facts.answer, "All done.");
});

Deno.test("a retried per-minute limit is a note on a success, never a deferral", () => {
  for (const agent of ["claude", "codex"] as const) {
    const verdict = replay(agent, "rate_limit_minute");
    assert.equal(verdict.facts.limit, null, agent);
    assert.equal(verdict.resetsAt, null, agent);
  }
  assert.match(replay("claude", "transient_then_success").retries.join("\n"), /\(5\d\d\)/);
  assert.match(
    replay("codex", "transient_then_success_no_request_retries").retries[0]!,
    /^Reconnecting\.\.\. 1\//,
  );
});

Deno.test("a stated wait counts from when the agent said it, not from when the run began", () => {
  const run = capture("gemini", "quota_retry_long");
  let now = run.capturedAt - 60_000;
  const reader = agentReader("gemini", () => now, run.timeZone);
  const [first, ...rest] = run.stdout.split("\n");
  reader.line(first!);
  now = run.capturedAt; // the quota error arrives a minute into the run
  for (const line of rest) reader.line(line);
  assert.equal(reader.facts.limit?.resetsAt, run.capturedAt + 3_600_000);
});

Deno.test("claude's reset in words agrees with the reset it states as an epoch", () => {
  for (const name of ["usage_limit_5h", "usage_limit_5h_tz_newyork", "usage_limit_weekly"]) {
    const verdict = replay("claude", name);
    const inWords = statedReset(verdict.error!, verdict.run.capturedAt, verdict.run.timeZone);
    // The words name the minute; the epoch has the seconds.
    assert.equal(inWords, Math.floor(verdict.resetsAt! / 60_000) * 60_000, name);
  }
});

Deno.test("lastWords() reads the error object gemini prints last, and skips banners", () => {
  assert.equal(
    lastWords(capture("gemini", "oneshot_quota_daily").stderr),
    "You have exhausted your daily quota on this model.",
  );
  assert.match(lastWords(capture("gemini", "oneshot_auth_400").stderr)!, /API key not valid/);
  assert.equal(
    lastWords("YOLO mode is enabled. All tool calls will be automatically approved.\n\n"),
    null,
  );
  assert.equal(lastWords("one\ntwo\nthree\nfour\n    at frame (x.js:1:1)\n"), "two\nthree\nfour");
});

Deno.test("agentVerdict() reads gemini's exit codes where its output says nothing", () => {
  const none = { ...replay("gemini", "success_tool").facts, finished: false, answer: null };
  const cases: [number, string][] = [
    [41, "auth"],
    [53, "max_turns"],
    [55, "untrusted"],
    [
      173,
      "usage_limit",
    ],
    [1, "failed"],
    [0, "failed"],
  ];
  for (const [code, outcome] of cases) {
    assert.equal(agentVerdict("gemini", code, none, "").outcome, outcome, String(code));
  }
  assert.equal(agentVerdict("gemini", 9, none, "").error, "gemini exited with code 9");
});

/**
 * A capture cut where the runner would have stopped it: the stdout lines before the first that
 * matches `stop` (the agent's final word on the outage), and stderr up to its last retry notice.
 */
function cutBefore(agent: AgentName, name: string, stop: RegExp) {
  const run = capture(agent, name);
  const reader = agentReader(agent, () => run.capturedAt, run.timeZone);
  const lines = run.stdout.split("\n");
  const kept = lines.slice(0, lines.findIndex((line) => stop.test(line)));
  for (const line of kept) reader.line(line);
  const lastRetry = run.stderr.lastIndexOf("Retrying");
  const stderr = lastRetry === -1 ? "" : run.stderr.slice(0, run.stderr.indexOf("\n", lastRetry));
  const outputTail = `${kept.join("\n")}\n${stderr}`;
  return idleVerdict(agent, reader.facts, outputTail, "idle for 600s");
}

Deno.test("idleVerdict() calls a run stopped while it retried an outage unavailable, not idle", async (t) => {
  await t.step("claude retrying a 529 or a 500 (its api_retry events)", () => {
    assert.deepEqual(cutBefore("claude", "overloaded", /"type":"assistant"/), {
      outcome: "unavailable",
      error: "idle for 600s while claude retried: overloaded (529)",
    });
    assert.equal(
      cutBefore("claude", "server_error", /"type":"assistant"/)?.error,
      "idle for 600s while claude retried: server_error (500)",
    );
  });
  await t.step("codex reconnecting after a 503", () => {
    assert.match(
      cutBefore("codex", "overloaded", /"type":"turn\.failed"/)?.error ?? "",
      /^idle for 600s while codex retried: Reconnecting\.\.\. 2\/2 \(unexpected status 503/,
    );
  });
  await t.step("gemini retrying a 503 (on stderr, after its last event)", () => {
    assert.equal(
      cutBefore("gemini", "overloaded", /"type":"result"/)?.error,
      "idle for 600s while gemini retried: Attempt 2 failed with status 503. Retrying with backoff...",
    );
  });
  await t.step("gemini waiting out a per-minute limit (a notice over several lines)", () => {
    const error = cutBefore("gemini", "rate_limit_persistent", /"type":"result"/)?.error ?? "";
    assert.match(error, /^idle for 600s while gemini retried: Attempt 1 failed: You exceeded your/);
    assert.match(
      error,
      / Please retry in 2s\. Suggested retry after 2s\.\. Retrying after \d+ms\.\.\.$/,
    );
  });
  await t.step("a service that never answered: the agent hung, idle stands", () => {
    // claude says `unknown` of a try with no answer; codex reconnects after a silent stream.
    assert.equal(cutBefore("claude", "hang", /"type":"assistant"/), null);
    assert.equal(cutBefore("codex", "stall", /"type":"turn\.failed"/), null);
    // gemini's notice without a status is also what a request that got no headers gets.
    assert.equal(cutBefore("gemini", "unreachable", /"type":"result"/), null);
  });
  await t.step("progress after the retries: it was not waiting on them when stopped", () => {
    assert.equal(cutBefore("claude", "transient_then_success", /"type":"result"/), null);
    // gemini's retry notices, then the events of the answer that came after them.
    const gemini = capture("gemini", "transient_then_success");
    const reader = agentReader("gemini", Date.now, "UTC");
    for (const line of gemini.stdout.split("\n")) reader.line(line);
    const tail = `${gemini.stderr}\n${gemini.stdout}`;
    assert.match(tail, /^Attempt 2 failed with status 503\. Retrying/m);
    assert.equal(idleVerdict("gemini", reader.facts, tail, "idle for 600s"), null);
  });
});

Deno.test("agentVerdict() names a program that exits 0 without one of the agent's events", () => {
  const run = (agent: AgentName, stdout: string, stderr = "") => {
    const reader = agentReader(agent, Date.now, "UTC");
    for (const line of stdout.split("\n")) reader.line(line);
    return agentVerdict(agent, 0, reader.facts, stderr, {
      binary: `/opt/bin/${agent}`,
      stdoutTail: stdout,
    });
  };
  const text = run("claude", "Hello from my own claude script\nsecond line\n");
  assert.equal(text.outcome, "failed");
  assert.equal(
    text.error,
    '/opt/bin/claude printed no JSON event, only text ("Hello from my own claude script"); ' +
      "it exited 0: is it Claude Code?",
  );
  assert.equal(
    run("codex", "", "codex: unknown command exec\n").error,
    "/opt/bin/codex printed nothing on stdout and on stderr: codex: unknown command exec; " +
      "it exited 0: is it Codex CLI?",
  );
  // What it printed is quoted as JSON: a control character cannot reach a terminal raw.
  assert.match(
    run("gemini", "\u001b[31mred\rline").error!,
    /\("\\u001b\[31mred\\rline"\).*Gemini CLI\?$/,
  );
  // gemini's one-shot answer is one object over many lines, read whole by its caller: finished.
  const whole = { ...agentReader("gemini", Date.now, "UTC").facts, finished: true };
  assert.equal(
    agentVerdict("gemini", 0, whole, "", { binary: "/opt/bin/gemini" }).outcome,
    "success",
  );
  // An agent whose events stop short is still an agent: its output was cut.
  const first = capture("claude", "success_tool").stdout.split("\n")[0]!;
  assert.match(run("claude", first).error!, /ended without its final result/);
});

Deno.test("statedReset() reads the shapes agents use for reset times", () => {
  const now = Date.parse("2026-11-26T10:00:00Z");
  const at = (text: string, zone = "UTC") => statedReset(text, now, zone);
  assert.equal(at("resets 3pm (UTC)"), Date.parse("2026-11-26T15:00:00Z"));
  assert.equal(at("resets 9:30am (UTC)"), Date.parse("2026-11-27T09:30:00Z")); // tomorrow
  assert.equal(at("resets Nov 29, 9:38am (Europe/Berlin)"), Date.parse("2026-11-29T08:38:00Z"));
  assert.equal(at("resets Jan 2, 1am (UTC)"), Date.parse("2027-01-02T01:00:00Z")); // next year
  assert.equal(at("resets 12am", "Europe/Amsterdam"), Date.parse("2026-11-26T23:00:00Z"));
  assert.equal(at("try again at 6:51 AM.", "America/New_York"), Date.parse("2026-11-26T11:52:00Z"));
  assert.equal(at("try again at Nov 29th, 2026 10:46 AM."), Date.parse("2026-11-29T10:47:00Z"));
  assert.equal(at("Please retry in 3600s."), now + 3_600_000);
  assert.equal(at("Suggested retry after 2.5s."), now + 2500);
  assert.equal(at("Claude AI usage limit reached|1764180000"), 1764180000 * 1000);
  assert.equal(at("resets at 2026-11-26T12:00:00Z"), Date.parse("2026-11-26T12:00:00Z"));
  assert.equal(at("try again in 2h 30m"), now + 150 * 60_000);
  assert.equal(at("rate limited"), null);
  assert.equal(at("resets 25:00"), null);
  assert.equal(at("resets Foo 3, 1am"), null);
});

Deno.test("usageBackoffMs() doubles from 15 minutes up to 4 hours", () => {
  assert.deepEqual([1, 2, 3, 4, 5, 6, 9].map((attempt) => usageBackoffMs(attempt) / 60_000), [
    15,
    30,
    60,
    120,
    240,
    240,
    240,
  ]);
});

Deno.test("the gemini reader keeps at most the last 4 MiB of a long run's answer", () => {
  const reader = agentReader("gemini", Date.now, "UTC");
  const delta = "x".repeat(64 * 1024 - 1) + "y";
  for (let piece = 0; piece < 80; piece++) {
    reader.line(JSON.stringify({ type: "message", role: "assistant", content: delta }));
  }
  assert.equal(reader.facts.answer!.length, MAX_ANSWER_CHARS);
  assert.ok(reader.facts.answer!.endsWith("y"), "its end is kept");
});

Deno.test("an agent that retries without end with long words each holds a few KiB of them", () => {
  const reader = agentReader("claude", Date.now, "UTC");
  const error = "e".repeat(1024 * 1024);
  for (let retry = 0; retry < 50; retry++) {
    reader.line(JSON.stringify({ type: "system", subtype: "api_retry", error, error_status: 529 }));
  }
  assert.equal(reader.facts.retryCount, 50);
  const kept = reader.facts.retries.reduce((sum, note) => sum + note.length, 0);
  assert.ok(kept <= 10 * 2000, `${kept} characters of retry notes kept`);
});
