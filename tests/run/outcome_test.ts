import assert from "node:assert/strict";
import type { AgentName } from "../../lib/config/job.ts";
import { agentVerdict } from "../../lib/run/outcome/classify.ts";
import { statedReset } from "../../lib/run/outcome/reset.ts";
import { usageBackoffMs } from "../../lib/run/record.ts";

const NOW = Date.parse("2026-11-26T10:00:00Z");
const stream = (name: string) =>
  Deno.readTextFileSync(new URL(`../testdata/streams/${name}.jsonl`, import.meta.url));
const verdict = (agent: AgentName, code: number, name: string) =>
  agentVerdict(agent, code, stream(name), NOW, "UTC");

Deno.test("agentVerdict() reads success, turns, tokens and cost from claude's result event", () => {
  assert.deepEqual(verdict("claude", 0, "claude_success"), {
    outcome: "success",
    error: null,
    resetsAt: null,
    usage: { turns: 4, cost_usd: 0.0214, input_tokens: 5120, output_tokens: 640 },
  });
});

Deno.test("agentVerdict() fails a claude run that exits 0 with is_error, quoting its error", () => {
  const result = verdict("claude", 0, "claude_is_error");
  assert.equal(result.outcome, "failed");
  assert.equal(result.error, "API Error: 529 Overloaded");
});

Deno.test("agentVerdict() tells max turns apart from success and failure", () => {
  assert.equal(verdict("claude", 0, "claude_max_turns").outcome, "max_turns");
  assert.equal(agentVerdict("gemini", 53, "", NOW, "UTC").outcome, "max_turns");
});

Deno.test("agentVerdict() recognises usage limits and the stated reset time", () => {
  const claude = verdict("claude", 1, "claude_usage_limit");
  assert.equal(claude.outcome, "usage_limit");
  assert.equal(claude.resetsAt, Date.parse("2026-11-26T15:00:00Z"));
  const codex = verdict("codex", 1, "codex_usage_limit");
  assert.equal(codex.outcome, "usage_limit");
  assert.equal(codex.resetsAt, NOW + (2 * 60 + 5) * 60_000);
});

Deno.test("agentVerdict() reads codex and gemini streams", () => {
  assert.deepEqual(verdict("codex", 0, "codex_success").usage, {
    turns: 1,
    input_tokens: 2400,
    output_tokens: 310,
  });
  assert.equal(verdict("codex", 0, "codex_success").outcome, "success");
  assert.deepEqual(verdict("gemini", 0, "gemini_success").usage, {
    input_tokens: 800,
    output_tokens: 100,
  });
  const failed = verdict("gemini", 1, "gemini_error");
  assert.deepEqual([failed.outcome, failed.error], ["failed", "Please set an Auth method"]);
});

Deno.test("agentVerdict() falls back to the exit code when there is no stream", () => {
  assert.deepEqual(
    agentVerdict("codex", 9, "plain text\n", NOW, "UTC").error,
    "codex exited with code 9",
  );
  assert.equal(agentVerdict("claude", 0, "", NOW, "UTC").outcome, "success");
});

Deno.test("statedReset() reads the shapes agents use for reset times", () => {
  assert.equal(statedReset("resets 3pm", NOW, "UTC"), Date.parse("2026-11-26T15:00:00Z"));
  assert.equal(statedReset("resets at 9:30", NOW, "UTC"), Date.parse("2026-11-27T09:30:00Z")); // tomorrow
  assert.equal(
    statedReset("limit resets 12am", NOW, "Europe/Amsterdam"),
    Date.parse("2026-11-26T23:00:00Z"),
  );
  assert.equal(
    statedReset("Claude AI usage limit reached|1764180000", NOW, "UTC"),
    1764180000 * 1000,
  );
  assert.equal(statedReset("try again in 45m", NOW, "UTC"), NOW + 45 * 60_000);
  assert.equal(statedReset("rate limited", NOW, "UTC"), null);
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
