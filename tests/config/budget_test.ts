/** `cron.budget`: ceilings per agent per day and month, each mistake a located error. */

import assert from "node:assert/strict";
import { parseConfig } from "../../lib/config/parse.ts";
import { problemsOf, source } from "../helpers/config.ts";

const JOBS = "jobs:\n  n: { job: n }\n";

Deno.test("cron.budget gives each agent its ceilings; an agent not named, and no budget, has none", () => {
  const config = parseConfig(
    `${JOBS}cron:
  budget:
    claude: { daily_usd: 10, monthly_usd: 150.5 }
    codex: { daily_tokens: 2000000 }
    gemini: { monthly_tokens: 50000000 }
`,
    source,
  );
  assert.deepEqual(config.cron.budget, {
    claude: { dailyUsd: 10, monthlyUsd: 150.5, dailyTokens: null, monthlyTokens: null },
    codex: { dailyUsd: null, monthlyUsd: null, dailyTokens: 2_000_000, monthlyTokens: null },
    gemini: { dailyUsd: null, monthlyUsd: null, dailyTokens: null, monthlyTokens: 50_000_000 },
  });
  assert.deepEqual(parseConfig(JOBS, source).cron.budget, {});
  // claude reports tokens too: a token ceiling is as good as a dollar one.
  const tokens = parseConfig(`${JOBS}cron: { budget: { claude: { daily_tokens: 5 } } }\n`, source);
  assert.equal(tokens.cron.budget.claude?.dailyTokens, 5);
});

Deno.test("cron.budget mistakes are located errors that say what to write", async (t) => {
  const cases: [string, string, string][] = [
    [
      "an unknown agent, with the likely one",
      "cron:\n  budget:\n    claud: { daily_usd: 10 }\n",
      "teleclaude.yml:5:5: cron.budget.claud: unknown agent (did you mean claude?)",
    ],
    [
      "a name far from any agent",
      "cron:\n  budget:\n    openai: { daily_tokens: 10 }\n",
      "teleclaude.yml:5:5: cron.budget.openai: unknown agent (use claude, codex, gemini)",
    ],
    [
      "a ceiling of zero",
      "cron:\n  budget:\n    claude: { daily_usd: 0 }\n",
      "teleclaude.yml:5:26: cron.budget.claude.daily_usd: 0 is too small (it must be more than 0)",
    ],
    [
      "a negative ceiling",
      "cron:\n  budget:\n    codex: { monthly_tokens: -5 }\n",
      "teleclaude.yml:5:30: cron.budget.codex.monthly_tokens: -5 is too small (it must be more than 0)",
    ],
    [
      "a fraction of a token",
      "cron:\n  budget:\n    codex: { daily_tokens: 1.5 }\n",
      "teleclaude.yml:5:28: cron.budget.codex.daily_tokens: must be a whole number, got 1.5",
    ],
    [
      "a ceiling in words",
      'cron:\n  budget:\n    claude: { daily_usd: "10$" }\n',
      'teleclaude.yml:5:26: cron.budget.claude.daily_usd: must be a number, got "10$"',
    ],
    [
      "a dollar ceiling for an agent that reports no cost",
      "cron:\n  budget:\n    codex: { daily_usd: 5 }\n",
      "teleclaude.yml:5:14: cron.budget.codex.daily_usd: codex reports no cost, only tokens, " +
      "so a dollar ceiling would never be reached: use daily_tokens",
    ],
    [
      "a mistyped ceiling",
      "cron:\n  budget:\n    gemini: { dayly_tokens: 5 }\n",
      "teleclaude.yml:5:15: cron.budget.gemini.dayly_tokens: unknown key (allowed: daily_usd, " +
      "monthly_usd, daily_tokens, monthly_tokens)",
    ],
    [
      "an agent with no ceiling",
      "cron:\n  budget:\n    gemini: {}\n",
      "teleclaude.yml:5:13: cron.budget.gemini: sets no ceiling: give one of daily_tokens, " +
      "monthly_tokens",
    ],
    [
      "a budget that is not a mapping",
      "cron:\n  budget: 10\n",
      "teleclaude.yml:4:11: cron.budget: must be a mapping of agent to ceilings (e.g. claude: " +
      "{ daily_usd: 10 }), got 10",
    ],
  ];
  for (const [what, cron, expected] of cases) {
    await t.step(what, () => assert.deepEqual(problemsOf(`${JOBS}${cron}`), [expected]));
  }
});
