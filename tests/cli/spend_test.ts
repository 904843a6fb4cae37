/**
 * Spend end to end: main.ts as a real process, the agent CLIs replaying what the real claude,
 * codex and gemini printed for a run with a tool (tests/testdata/streams/), the stand-in daemon on
 * a real socket. What each run cost or used is in the state, `--history` (and its JSON) and the
 * metrics; `--list` says what each agent spent today; a token budget holds codex back with
 * `deferred until … (budget)`, told once, and `--force --job` still runs.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { writeFakeAgent } from "../helpers/fake_agent.ts";
import { type Person, startFakeDaemon } from "../helpers/daemon.ts";
import {
  makeSandbox,
  readStateFile,
  runCli,
  type Sandbox,
  writeConfig,
} from "../helpers/sandbox.ts";

/**
 * A zone where it is about noon now, whatever the time the test runs: the day cannot end during
 * it (the budget's day is the zone's; the turn of a day in a zone with summer time is
 * tests/run/spend_test.ts's). `Etc/GMT-3` is three hours ahead of UTC.
 */
const ZONE = (() => {
  const ahead = 12 - new Date().getUTCHours();
  return ahead === 0 ? "Etc/GMT" : `Etc/GMT${ahead > 0 ? "-" : "+"}${Math.abs(ahead)}`;
})();
const ADMIN: Person = { name: "Ops", email: "ops@example.com", role: "admin", chats: ["telegram"] };

/**
 * One job per agent, three codex jobs, and a codex budget that the real capture's 2,468 tokens a
 * run reach at the second run (4,936 of 4,000).
 */
const CONFIG = `jobs:
  c: { job: s, agent: claude, when: { every: 1d } }
  o1: { job: s, agent: codex, when: { every: 1d } }
  o2: { job: s, agent: codex, when: { every: 1d } }
  o3: { job: s, agent: codex, when: { every: 1d } }
  g: { job: s, agent: gemini, when: { every: 1d } }
cron:
  notify: { desktop: false, daemon: { email: ops@example.com } }
  metrics_file: ~/.teleclaude/metrics/cron.prom
  budget:
    codex: { daily_tokens: 4000 }
`;

async function spendingAgents(sandbox: Sandbox): Promise<void> {
  await writeConfig(sandbox, CONFIG, ["s"]);
  // Exit 0 with no stdout given: each prints its real CLI's captured success (success_tool).
  for (const agent of ["claude", "codex", "gemini"]) {
    await writeFakeAgent(sandbox.bin, agent, { kind: "exit", code: 0 });
  }
}

/** The local midnight that ends today in `ZONE`, as the views write it (`YYYY-MM-DD 00:00`). */
function nextMidnight(): string {
  const today = new Intl.DateTimeFormat("en-CA", { timeZone: ZONE }).format(new Date());
  const [year, month, day] = today.split("-").map(Number) as [number, number, number];
  return `${new Date(Date.UTC(year, month - 1, day + 1)).toISOString().slice(0, 10)} 00:00`;
}

Deno.test("each run's cost or tokens, as the real CLIs report them, is recorded, shown and counted; a budget holds codex back", async (t) => {
  await using sandbox = await makeSandbox({ tz: ZONE });
  await using daemon = startFakeDaemon(sandbox.socket, "healthy", { people: [ADMIN] });
  await spendingAgents(sandbox);
  const midnight = nextMidnight();
  const tick = await runCli(sandbox, []);
  assert.equal(tick.code, 0, tick.stdout + tick.stderr);
  assert.equal(nextMidnight(), midnight, "the test ran at about noon in its zone");

  await t.step("the state keeps each run's usage and each agent's tally of the day", async () => {
    const state = await readStateFile(sandbox);
    assert.deepEqual(state.jobs.c!.usage, {
      turns: 2,
      cost_usd: 0.00004,
      input_tokens: 200,
      output_tokens: 40,
    });
    assert.deepEqual(state.jobs.o1!.usage, { turns: 1, input_tokens: 2400, output_tokens: 68 });
    assert.deepEqual(state.jobs.g!.usage, { turns: 2, input_tokens: 2000, output_tokens: 40 });
    assert.equal(state.jobs.o3, undefined, "o3 never started");
    const spend = state.spend as Record<string, { day: { usd: number; tokens: number } }>;
    assert.deepEqual(
      Object.fromEntries(Object.entries(spend).map(([agent, tally]) => [agent, tally.day.tokens])),
      { claude: 240, codex: 4936, gemini: 2040 },
    );
    assert.equal(spend.claude!.day.usd, 0.00004);
    assert.match(tick.stdout, /event=job_deferred job=o3 agent=codex until=\S+ reason=budget/);
  });

  await t.step("--history shows what each run spent; --json has the agent's figures", async () => {
    const history = await runCli(sandbox, ["--history"]);
    assert.equal(history.code, 0, history.stderr);
    const lines = history.stdout.trimEnd().split("\n");
    assert.match(lines[0]!, /\bSPEND\b/);
    const spendOf = (job: string) => lines.find((line) => line.includes(` ${job} `))!;
    assert.match(spendOf("c"), /\$0\.00004/);
    assert.match(spendOf("o1"), /2,468 tokens/);
    assert.match(spendOf("o2"), /2,468 tokens/);
    assert.match(spendOf("g"), /2,040 tokens/);
    const json = JSON.parse((await runCli(sandbox, ["--history", "--json"])).stdout) as {
      job: string;
      usage?: Record<string, number>;
    }[];
    assert.deepEqual(json.find((entry) => entry.job === "c")!.usage, {
      turns: 2,
      cost_usd: 0.00004,
      input_tokens: 200,
      output_tokens: 40,
    });
    assert.deepEqual(json.find((entry) => entry.job === "g")!.usage?.output_tokens, 40);
  });

  await t.step("--list says today's spend per agent and that o3 waits for its budget", async () => {
    const list = await runCli(sandbox, ["--list"]);
    assert.equal(list.code, 0, list.stderr);
    const o3 = list.stdout.split("\n").find((line) => line.startsWith("o3 "))!;
    assert.match(o3, new RegExp(`deferred until ${midnight} \\(budget\\)`));
    assert.deepEqual(
      list.stdout.trimEnd().split("\n").filter((line) => line.startsWith("spend:")),
      [
        "spend: claude $0.00004 today",
        `spend: codex 4,936 of 4,000 tokens today: daily budget of 4,000 tokens reached, its jobs ` +
        `wait until ${midnight}`,
        "spend: gemini 2,040 tokens today",
      ],
    );
    const rows = JSON.parse((await runCli(sandbox, ["--list", "--json"])).stdout) as {
      name: string;
      deferred: { reason: string } | null;
      agent_spend: { today: { usd: number | null; tokens: number } } | null;
    }[];
    const row = (name: string) => rows.find((candidate) => candidate.name === name)!;
    assert.equal(row("o3").deferred?.reason, "budget");
    assert.equal(row("c").deferred, null);
    assert.deepEqual(row("o3").agent_spend?.today, { usd: null, tokens: 4936 });
    assert.deepEqual(row("c").agent_spend?.today, { usd: 0.00004, tokens: 240 });
  });

  await t.step("--dry-run says why o3 waits, and until when", async () => {
    const dry = await runCli(sandbox, ["--dry-run", "--job", "o3"]);
    assert.equal(
      dry.stdout.trim(),
      `o3: never ran, every 1d: deferred until ${midnight} (budget): codex spent 4,936 tokens ` +
        "of its daily budget of 4,000 tokens",
    );
  });

  await t.step("the metrics count each job's cost and tokens per agent", async () => {
    const text = await Deno.readTextFile(join(sandbox.home, ".teleclaude/metrics/cron.prom"));
    assert.match(
      text,
      /^teleclaude_cron_job_cost_usd_total\{cron_job="c",agent="claude"\} 0\.00004$/m,
    );
    assert.match(text, /^teleclaude_cron_job_tokens_total\{cron_job="o2",agent="codex"\} 2468$/m);
    assert.match(text, /^teleclaude_cron_job_tokens_total\{cron_job="o3",agent="codex"\} 0$/m);
    assert.doesNotMatch(text, /cost_usd_total\{cron_job="o1"/);
  });

  await t.step("a person is told once, however many ticks find the budget reached", async () => {
    const again = await runCli(sandbox, []);
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stdout, /event=job_deferred job=o3 agent=codex until=\S+ reason=budget/);
    await daemon.settled();
    const budget = daemon.notifications.filter((row) =>
      daemon.payloadOf(row).event === "budget.reached"
    );
    assert.equal(budget.length, 1);
    assert.equal(budget[0]!.level, 2);
    assert.equal(budget[0]!.agent_status, "resolved");
    assert.deepEqual(daemon.chats.map((chat) => chat.notification), [budget[0]!.id]);
  });

  await t.step(
    "--force --job runs the job the budget holds back, and its tokens count",
    async () => {
      const forced = await runCli(sandbox, ["--force", "--job", "o3"]);
      assert.equal(forced.code, 0, forced.stderr);
      const state = await readStateFile(sandbox);
      assert.equal(state.jobs.o3!.last_status, "success");
      const spend = state.spend as Record<string, { day: { tokens: number } }>;
      assert.equal(spend.codex!.day.tokens, 3 * 2468);
    },
  );
});
